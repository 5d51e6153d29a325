"""A dataset card's forecasting task: which saved frames are inputs, how far ahead the target is.

A card's task names context and target frames (slice semantics over the saved frames). A model
sees one frame and predicts the frame ``horizon`` saved frames later:

- target after the context (EGNN: context 30..30, target 40): the input is the last context frame
  and ``horizon = target.start - (context.stop - 1)`` (10);
- target overlapping the context (NRI: context 0..48, target 1..48; the PDE cards: context 0..1,
  target 1..20): ``horizon = target.start - context.start`` (1), one-step prediction.

With ``all_frames`` every frame ``t`` with ``t + horizon`` saved becomes an input frame. Every kind
of data reads its task here.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldlab.catalog.card import Card
from fieldlab.errors import TrainingError


@dataclass(frozen=True)
class TaskFrames:
    """Which saved frames are inputs, and how far ahead the target lies."""

    inputs: tuple[int, ...]
    horizon: int

    @property
    def task_input(self) -> int:
        """The input frame of the published task (the last of ``inputs`` when not ``all_frames``)."""
        return self.inputs[-1]


def task_frames(card: Card, n_frames: int, *, all_frames: bool = False) -> TaskFrames:
    """The input frames and horizon of ``card``'s task over ``n_frames`` saved frames.

    Raises:
        TrainingError: the card has no task, or the dataset lacks the frames the task needs.
    """
    task = card.task
    if task is None:
        raise TrainingError(
            f"dataset {card.name!r} has no forecasting task (its card has no 'task' with context "
            "and target frames), so it cannot be used to train or evaluate a forecaster"
        )
    last = task.context.stop - 1
    if task.target.start > last:
        horizon, first = task.target.start - last, last
    else:
        horizon, first = task.target.start - task.context.start, task.context.start
    if horizon <= 0:
        raise TrainingError(
            f"dataset {card.name!r}: its task's target (frame {task.target.start}) does not lie "
            f"after its context (frame {task.context.start}); nothing to forecast"
        )
    if first + horizon >= n_frames:
        raise TrainingError(
            f"dataset {card.name!r} has {n_frames} saved frames but its task needs frame "
            f"{first + horizon} (input frame {first}, horizon {horizon})"
        )
    inputs = tuple(range(n_frames - horizon)) if all_frames else (first,)
    return TaskFrames(inputs, horizon)
