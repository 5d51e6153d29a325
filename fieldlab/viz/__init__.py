"""Figures: trajectories now; fields and rollouts as the models land."""

from fieldlab.viz.trajectories import plot_trajectories

__all__ = ["plot_trajectories"]
