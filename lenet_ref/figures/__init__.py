"""The book's figures, drawn by code from ``lenet_ref.spec`` so that they cannot drift from
the networks.

Each figure is one function that returns a matplotlib ``Figure``; the numbers it draws come
from a small function without matplotlib (``shape_walk``, ``receptive_fields``,
``window_starts``...) that the tests check against ``spec`` and the layers. matplotlib is
imported only when a figure is drawn, so importing this package costs nothing.

- ``network``: the whole network as the paper's Fig. 2 draws it; receptive fields by depth.
- ``convolution``: one cross-correlation's sliding window; padding and stride; one C3 unit.
- ``maps``: one digit's feature maps through every layer.
- ``runs``: training and test error over the passes (the paper's Fig. 5) from metrics files;
  the curvature an SDLM run's steps used.
"""

from .convolution import (
    c3_unit_figure,
    cross_correlation_figure,
    output_size,
    padding_stride_figure,
    window_starts,
)
from .maps import feature_maps_figure, layer_outputs
from .network import Plane, network_figure, receptive_field_figure, receptive_fields, shape_walk
from .runs import (
    checkpoint_factors,
    curvature_figure,
    curvature_passes,
    error_curves_figure,
    implementation_twins,
    load_runs,
    run_summary,
    runs_text,
)

__all__ = [
    "Plane",
    "c3_unit_figure",
    "checkpoint_factors",
    "curvature_figure",
    "curvature_passes",
    "cross_correlation_figure",
    "error_curves_figure",
    "feature_maps_figure",
    "implementation_twins",
    "layer_outputs",
    "load_runs",
    "network_figure",
    "output_size",
    "padding_stride_figure",
    "receptive_field_figure",
    "receptive_fields",
    "run_summary",
    "runs_text",
    "shape_walk",
    "window_starts",
]
