"""Serving a logged fieldlab forecaster through ``mlflow.pyfunc``, whatever its kind of data.

:class:`ServedForecaster` reads the artifact ``forecaster.pt`` with
``torch.load(weights_only=True)`` (:func:`~fieldlab.training.checkpoint.load_weights`: it holds
plain values and tensors; a file that would run code when unpickled is refused), finds its kind of data (the payload's ``kind``, else the logged
model's config, else ``particles`` for models logged before payloads named their kind) and asks
that kind's problem to rebuild and serve it (:meth:`~fieldlab.training.problem.ProblemClass.restore`,
:meth:`~fieldlab.training.problem.ProblemClass.serve`; the inputs and outputs are documented in
:mod:`fieldlab.training.particles.serving` and :mod:`fieldlab.training.grid.serving`).
"""

from __future__ import annotations

from typing import Any

from mlflow.pyfunc import PythonModel

from fieldlab.errors import TrainingError
from fieldlab.training.checkpoint import load_weights
from fieldlab.training.problem import KINDS


class ServedForecaster(PythonModel):
    """Serves a forecaster of any registered kind of data (see the module docstring)."""

    _skip_type_hint_validation = True  # inputs are checked against the logged signature

    def load_context(self, context: Any) -> None:
        payload = load_weights(context.artifacts["forecaster"])
        kind = payload.get("kind") or (context.model_config or {}).get("kind", "particles")
        if kind not in KINDS:
            raise TrainingError(
                f"this model forecasts {kind!r} data, which this fieldlab cannot serve; "
                f"known kinds: {', '.join(KINDS)}"
            )
        self.problem = KINDS[kind].problem()
        self.forecaster = self.problem.restore(payload)

    def predict(self, context, model_input, params=None):
        """The forecaster's prediction (untyped: MLflow checks the logged signature)."""
        return self.problem.serve(self.forecaster, model_input)


# Models logged by fieldlab 0.1 run a copy of an older serving file that imports these names.
ForecasterModel = GridForecasterModel = ServedForecaster
