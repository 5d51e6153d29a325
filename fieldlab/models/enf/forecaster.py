r"""The ENF forecaster: fit latents to the initial field, flow them by the latent ODE, decode.

.. math::

    z_{t_0} = \mathrm{fit}(\nu_{t_0}), \qquad z_{t_k} = \Phi_{t_k - t_0}(z_{t_0}), \qquad
    \hat\nu_{t_k}(x) = f_\theta(x; z_{t_k})

(Knigge, Wessels et al. 2024). Training has two stages:

1. :meth:`ENFForecaster.reconstruction_loss` fits the decoder :math:`f_\theta` and the
   meta-learned initialisation (with its inner learning rates) on single frames: latents are
   fitted on the observed points and the error is measured on a sample of points;
2. :meth:`ENFForecaster.forecast_loss` fits the ODE: latents of the first frame are fitted
   (without gradients: the decoder and initialisation are frozen), flowed over the time grid and
   decoded; the error is measured on the later frames.

:meth:`ENFForecaster.stage_parameters` names what each stage optimises. Values are taken as given;
normalising them is the caller's job.

**Observations.** ``observed`` selects the points a fit may use: ``None`` (all), a boolean mask
``(M,)`` or an index ``(K,)`` shared by the batch (only those points are decoded), or a boolean
mask ``(B, M)`` per field (every point is decoded, the loss is masked).

Shapes: ``coords (M, D)`` (``D`` = 2 on the plane and torus, unit vectors ``D`` = 3 on the
sphere), ``values (B, M, C)``, ``times (K,)``, queries ``(Q, D)``.
"""

from __future__ import annotations

import torch
from torch import nn

from fieldlab.models.enf.decoder import CrossAttentionDecoder
from fieldlab.models.enf.fitting import MetaLearnedFit
from fieldlab.models.enf.geometry import geometry
from fieldlab.models.enf.latents import Latents
from fieldlab.models.enf.ode import LatentODE
from fieldlab.models.enf.options import ENFOptions


def _observe(
    coords: torch.Tensor, values: torch.Tensor, observed: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(coords, values, weights)`` restricted to what ``observed`` allows (module docstring)."""
    b, m = values.shape[:2]
    if coords.shape[0] != m:
        raise ValueError(f"coords has {coords.shape[0]} points but values has {m}")
    if observed is None:
        return coords, values, None
    if observed.dtype == torch.bool and observed.shape == (b, m) and observed.ndim == 2:
        if not observed.any(1).all():
            raise ValueError("every field needs at least one observed point")
        return coords, values, observed.to(values.dtype)
    if observed.ndim != 1:
        raise ValueError(
            f"observed must be a mask (M,) or (B, M) or an index (K,), got {tuple(observed.shape)}"
        )
    index = observed.nonzero()[:, 0] if observed.dtype == torch.bool else observed
    if index.numel() == 0:
        raise ValueError("observed selects no point: the latents need at least one")
    return coords.index_select(0, index), values.index_select(1, index), None


class ENFForecaster(nn.Module):
    """Equivariant neural field forecaster on ``domain`` ("plane", "torus" or "sphere").

    ``extent``: side of the plane's data square, period of the torus, 1 for the unit sphere;
    ``channels``: fields per point.
    """

    def __init__(
        self,
        domain: str,
        extent: float,
        channels: int,
        options: ENFOptions | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        opts = options or ENFOptions()
        self.options, self.channels = opts, channels
        self.geometry = geom = geometry(domain, extent)
        self.scale = scale = geom.spacing(opts.n_latents)
        self.decoder = CrossAttentionDecoder(
            geom,
            channels,
            opts.latent_dim,
            opts.hidden,
            opts.heads,
            opts.n_fourier,
            opts.fourier_sigma,
            scale,
            opts.window * scale,
            opts.equivariant,
            seed,
            opts.nearest,
        )
        self.init = MetaLearnedFit(
            geom,
            opts.n_latents,
            opts.latent_dim,
            scale,
            opts.inner_steps,
            opts.lr_context,
            opts.lr_pose,
            opts.first_order,
            use_frame=opts.equivariant,
        )
        self.ode = LatentODE(
            geom,
            opts.latent_dim,
            opts.hidden,
            opts.ode_layers,
            opts.n_fourier,
            opts.fourier_sigma,
            scale,
            opts.equivariant,
            seed,
        )

    def stage_parameters(self, stage: int) -> list[nn.Parameter]:
        """Stage 1: decoder and meta-learned initialisation; stage 2: the latent ODE."""
        if stage == 1:
            return [*self.decoder.parameters(), *self.init.parameters()]
        if stage == 2:
            return list(self.ode.parameters())
        raise ValueError(f"training has stages 1 and 2, got {stage}")

    def fit_latents(
        self, coords: torch.Tensor, values: torch.Tensor, observed: torch.Tensor | None = None
    ) -> Latents:
        """Latents ``(B, N, ·)`` of fields ``values (B, M, C)`` from their observed points."""
        coords, values, weights = _observe(coords, values, observed)
        return self.init(self.decoder, coords, values, weights)

    def decode(self, latents: Latents, coords: torch.Tensor) -> torch.Tensor:
        """The fields at ``coords (Q, D)``: ``(B, Q, C)``, in chunks of ``query_chunk``."""
        chunk = self.options.query_chunk
        parts = [self.decoder(latents, q) for q in coords.split(chunk)]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def forecast(
        self,
        coords_obs: torch.Tensor,
        values_obs: torch.Tensor,
        times: torch.Tensor,
        coords_query: torch.Tensor,
        observed: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Fields ``(B, K, Q, C)`` at ``times (K,)`` (``times[0]``: the observation's time)."""
        z = self.ode(self.fit_latents(coords_obs, values_obs, observed), times, self._substeps)
        b, k = z.poses.shape[:2]
        flat = Latents(z.poses.flatten(0, 1), z.contexts.flatten(0, 1))
        return self.decode(flat, coords_query).unflatten(0, (b, k))

    @property
    def _substeps(self) -> int:
        return self.options.ode_substeps

    def reconstruction_loss(
        self,
        coords: torch.Tensor,
        fields: torch.Tensor,
        sample: torch.Tensor | None = None,
        observed: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Stage 1: MSE on the ``sample`` points (index ``(K,)``, all if None) of fields
        ``(B, M, C)`` decoded from latents fitted on the ``observed`` points (default: the
        sample)."""
        z = self.fit_latents(coords, fields, sample if observed is None else observed)
        if sample is not None:
            coords, fields = coords.index_select(0, sample), fields.index_select(1, sample)
        return ((self.decode(z, coords) - fields) ** 2).mean()

    def forecast_loss(
        self,
        coords: torch.Tensor,
        trajectories: torch.Tensor,
        times: torch.Tensor,
        sample: torch.Tensor | None = None,
        observed: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Stage 2: MSE of frames ``1..T-1`` of ``trajectories (B, T, M, C)`` at ``times (T,)``,
        on the ``sample`` points, forecast from latents fitted to frame 0's ``observed`` points
        (without gradients: only the ODE learns)."""
        if trajectories.shape[1] != times.shape[0] or times.shape[0] < 2:
            raise ValueError(
                f"trajectories has {trajectories.shape[1]} frames and times {times.shape[0]}: "
                "they must agree, with at least 2"
            )
        with torch.no_grad():
            z0 = self.fit_latents(coords, trajectories[:, 0], observed)
        z = self.ode(z0, times, self._substeps)
        later = Latents(z.poses[:, 1:].flatten(0, 1), z.contexts[:, 1:].flatten(0, 1))
        target = trajectories[:, 1:]
        if sample is not None:
            coords, target = coords.index_select(0, sample), target.index_select(2, sample)
        pred = self.decode(later, coords).unflatten(0, target.shape[:2])
        return ((pred - target) ** 2).mean()
