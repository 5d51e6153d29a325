r"""Equivariant neural fields for space-time continuous PDE forecasting (ENF; Knigge, Wessels
et al. 2024, "Space-Time Continuous PDE Forecasting using Equivariant Neural Fields").

A field at time :math:`t` is a latent point cloud :math:`z_t = \{(p_i, c_i)\}_{i=1}^N`: poses on
the domain, moved by its symmetry group (translations of the plane and the torus, rotations of
the sphere), and invariant context vectors. A cross-attention decoder answers any query
coordinate from bi-invariants of (query, pose); the latents of an observed field come from 3
gradient steps from a meta-learned initialisation (no encoder); an equivariant neural ODE flows
them in time. With ``ENFOptions(equivariant=False)`` absolute positions replace the bi-invariants
(the conditional-neural-field ablation, DINo's family).

One concept per module: :mod:`.geometry` (domains, bi-invariants, frames), :mod:`.embedding`
(random Fourier features), :mod:`.graph` (the DGL graphs, as index tensors), :mod:`.decoder`,
:mod:`.fitting` (meta-learned latent fitting), :mod:`.ode` (latent dynamics),
:mod:`.forecaster`.

API (``coords (M, D)``; ``D`` = 2, or unit vectors with ``D`` = 3 on the sphere)::

    model = ENFForecaster("torus", 1.0, channels=1, options=ENFOptions())
    z = model.fit_latents(coords, values, observed=None)      # values (B, M, C) -> Latents
    model.decode(z, queries)                                  # (B, Q, C)
    model.forecast(coords, values, times, queries)            # (B, K, Q, C), times (K,)
    model.reconstruction_loss(coords, fields, sample)         # stage 1, fields (B, M, C)
    model.forecast_loss(coords, trajectories, times, sample)  # stage 2, (B, T, M, C), (T,)
    model.stage_parameters(1)                                 # what each stage optimises

``observed`` is a mask ``(M,)`` or index ``(K,)`` shared by the batch, or a mask ``(B, M)``;
``sample`` an index ``(K,)`` of the points a loss is measured on.
"""

from fieldlab.models.enf.decoder import CrossAttentionDecoder
from fieldlab.models.enf.fitting import MetaLearnedFit
from fieldlab.models.enf.forecaster import ENFForecaster
from fieldlab.models.enf.geometry import (
    DOMAINS,
    Geometry,
    Plane,
    Sphere,
    Torus,
    UnknownDomainError,
    geometry,
)
from fieldlab.models.enf.latents import Latents
from fieldlab.models.enf.ode import LatentODE
from fieldlab.models.enf.options import ENFOptions

__all__ = [
    "DOMAINS",
    "CrossAttentionDecoder",
    "ENFForecaster",
    "ENFOptions",
    "Geometry",
    "LatentODE",
    "Latents",
    "MetaLearnedFit",
    "Plane",
    "Sphere",
    "Torus",
    "UnknownDomainError",
    "geometry",
]
