"""Interactive figures (plotly): the only part of plantar that imports plotly.

Every function takes analyses (or a trial) and returns a
:class:`plotly.graph_objects.Figure`; none shows it. Maps have axes in mm with
equal aspect and a pressure colour bar in kPa; figures are kept light to embed
many of them in one report (heatmaps cropped and rounded, compact arrays, no
template). The numbers behind them (aligned steps, the mean step, gait lines,
the butterfly) come from :mod:`plantar.geometry` and :mod:`plantar.analyze`.
"""

from .animation import pressure_animation
from .balance import sway_figure
from .charts import butterfly, force_curves, symmetry_bars
from .cohort import pixel_map
from .maps import compare_maps, peak_pressure_map, sensor_map, walk_footprints

__all__ = [
    "butterfly",
    "compare_maps",
    "force_curves",
    "peak_pressure_map",
    "pixel_map",
    "pressure_animation",
    "sensor_map",
    "sway_figure",
    "symmetry_bars",
    "walk_footprints",
]
