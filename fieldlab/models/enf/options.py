"""Settings of an :class:`~fieldlab.models.enf.forecaster.ENFForecaster`.

The defaults are a mid-sized model for 64 x 64 fields; the paper's exact sizes are not in our
references, so these are our choices: 25 latents (a 5 x 5 layout on the plane and the torus,
a Fibonacci lattice on the sphere), contexts of 32, width 128, 3 inner steps as in the paper, and a Gaussian window of 0.6 latent
spacings (on the CPU test's sine fields 0.6 trained to a lower error than 1.0 in 3 of 3 seeds).
Lengths are in units of the latents' spacing :math:`\\ell` (the domain's extent over
:math:`\\sqrt N`; :math:`\\sqrt{4\\pi/N}` on the sphere), so one setting fits every domain.
:meth:`ENFOptions.small` is the CPU-test preset.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ENFOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n_latents: int = Field(25, ge=1, description="latents N per field")
    latent_dim: int = Field(32, ge=1, description="width d of each context vector")
    hidden: int = Field(128, ge=1, description="width of the decoder and the latent ODE")
    heads: int = Field(2, ge=1, description="attention heads of the decoder (divide hidden)")
    n_fourier: int = Field(32, ge=1, description="random Fourier frequencies of bi-invariants")
    fourier_sigma: float = Field(1.0, gt=0, description="their std, per latent spacing")
    window: float = Field(0.6, gt=0, description="Gaussian window std, in latent spacings")
    inner_steps: int = Field(3, ge=0, description="gradient steps fitting the latents")
    lr_context: float = Field(10.0, gt=0, description="initial inner learning rate, contexts")
    lr_pose: float = Field(0.1, gt=0, description="initial inner learning rate, poses")
    first_order: bool = Field(False, description="first-order meta-gradients (FOMAML)")
    ode_layers: int = Field(3, ge=1, description="message-passing layers of the latent ODE")
    ode_substeps: int = Field(2, ge=1, description="RK4 steps per interval of the time grid")
    nearest: int = Field(
        0, ge=0, description="latents each query attends to, the nearest ones (0: all of them)"
    )
    query_chunk: int = Field(4096, ge=1, description="queries decoded at once")
    equivariant: bool = Field(
        True, description="bi-invariants (True) or absolute positions (the DINo-style ablation)"
    )

    @classmethod
    def small(cls, **overrides: object) -> ENFOptions:
        """A model that trains in seconds on one CPU thread (tests, smoke runs)."""
        base = {
            "n_latents": 9,
            "latent_dim": 16,
            "hidden": 32,
            "heads": 2,
            "n_fourier": 16,
            "ode_layers": 1,
            "ode_substeps": 1,
        }
        return cls(**(base | overrides))
