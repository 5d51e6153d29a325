r"""How well a learned field matches the true one, on the points particles visit.

For learned vectors :math:`\hat F_k` and true vectors :math:`F_k` at the same points:

- ``mse``: :math:`\frac{1}{M D} \sum_k |\hat F_k - F_k|^2`;
- ``cosine``: mean over points of :math:`\hat F_k \cdot F_k / (|\hat F_k| |F_k|)` (1 for a
  perfect direction everywhere; points where either vector vanishes count as 0);
- ``relative_error``: :math:`\sum_k |\hat F_k - F_k|^2 / \sum_k |F_k|^2`.

Fields are compared per unit charge (or mass): a forecaster whose force on particle :math:`i` is
:math:`s_i F_\theta(x_i)` learns :math:`F_\theta` on the scale of the true field per unit
:math:`s`, so no factor is fitted here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class FieldScore:
    mse: float
    cosine: float
    relative_error: float

    def as_metrics(self, prefix: str = "field") -> dict[str, float]:
        return {f"{prefix}_{k}": v for k, v in asdict(self).items()}


def score_field(learned: np.ndarray, true: np.ndarray) -> FieldScore:
    """Score ``learned`` against ``true``, both ``(M, D)``."""
    learned = np.asarray(learned, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    if learned.shape != true.shape:
        raise ValueError(
            f"learned field {learned.shape} and true field {true.shape} differ in shape"
        )
    norms = np.linalg.norm(learned, axis=-1) * np.linalg.norm(true, axis=-1)
    dots = (learned * true).sum(-1)
    cos = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    err = ((learned - true) ** 2).sum()
    return FieldScore(
        mse=float(err / learned.size),
        cosine=float(cos.mean()),
        relative_error=float(err / max((true**2).sum(), np.finfo(float).tiny)),
    )
