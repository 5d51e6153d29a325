"""Every figure fieldlab draws, one function per kind of figure.

- :mod:`.trajectories`: simulated particle trajectories (``fieldlab simulate --plot``);
- :mod:`.grid_frames`: simulated grid fields, frame by frame;
- :mod:`.forecasts`: predicted against true particle trajectories;
- :mod:`.grid_forecasts`: predicted against true grid fields along a rollout;
- :mod:`.curves`: rollout error per step, conservation drift;
- :mod:`.fields`: true, learned and error force fields, and their comparison across runs;
- :mod:`.cybloids`: mean squared displacement and paths of programmed colloids.

Figures are :class:`matplotlib.figure.Figure` objects built without pyplot's global state, so
they can be drawn in threads, tests and servers, and are not accumulated by long runs.
"""

from fieldlab.viz.trajectories import plot_trajectories

__all__ = ["plot_trajectories"]
