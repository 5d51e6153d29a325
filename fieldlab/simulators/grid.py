r"""Time stepping and saved frames of grid (PDE) simulators.

A grid simulator takes ``warmup_steps`` steps of size ``dt`` that are not saved, then
``n_steps - 1`` more, saving one frame every ``sample_every`` of them (the frame at the end of the
warm-up is not saved, as particle systems do not save their initial state). Frame
:math:`k = 1 .. F`, :math:`F = \lfloor (n_steps - 1) / sample\_every \rfloor`, is step
:math:`w + k s` at time :math:`(w + k s)\, dt` from the initial condition. ``n_steps`` and
``sample_every`` mean what they mean for particles, so a card counts the frames of either kind the
same way.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class GridParams(BaseModel):
    """Parameters every grid simulator has: the step and which steps are saved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dt: float = Field(gt=0.0, description="integration step")
    n_steps: int = Field(ge=2, description="steps after the warm-up, including the first")
    sample_every: int = Field(1, ge=1, description="save one frame every this many steps")
    warmup_steps: int = Field(0, ge=0, description="steps taken before the saved window")

    @model_validator(mode="after")
    def _at_least_one_frame(self) -> GridParams:
        if self.n_steps <= self.sample_every:
            raise ValueError(
                f"n_steps ({self.n_steps}) must exceed sample_every ({self.sample_every}) "
                "to save at least one frame"
            )
        return self

    @property
    def n_frames(self) -> int:
        """Saved frames per simulation."""
        return (self.n_steps - 1) // self.sample_every

    @property
    def total_steps(self) -> int:
        """Steps taken in all: the warm-up and up to the last saved frame."""
        return self.warmup_steps + self.n_frames * self.sample_every

    def frame_times(self) -> np.ndarray:
        """``(time,)`` physical time of each saved frame, rounded to 12 decimals."""
        steps = self.warmup_steps + self.sample_every * np.arange(1, self.n_frames + 1)
        return np.round(steps * self.dt, 12)


def cell_centres(lo: float, hi: float, n: int) -> np.ndarray:
    """``(n,)`` centres of ``n`` equal cells covering ``[lo, hi]``: ``lo + (i + 1/2) h``."""
    h = (hi - lo) / n
    return lo + (np.arange(n) + 0.5) * h
