"""KPI Workbench library: ingest platform exports, compute KPIs, costs, targets, scorecards and settlements.

The small public API is re-exported here; everything else is reachable by module
(``kpi_lib.metrics``, ``kpi_lib.tree``, ``kpi_lib.costs`` …). Imports are lazy so that
``import kpi_lib`` stays cheap in report kernels and the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import (
    ConfigError,
    DefinitionError,
    IngestError,
    KpiError,
    RenderError,
    SettlementError,
    TargetError,
    WarehouseError,
)

__version__ = "0.1.0"

_LAZY = {
    "Warehouse": ("warehouse", "Warehouse"),
    "ingest": ("ingest.pipeline", "ingest"),
    "compute": ("metrics", "compute"),
    "load_catalog": ("definitions", "load_catalog"),
    "load_tree": ("tree", "load_tree"),
    "attribute": ("tree", "attribute"),
    "evaluate_targets": ("targets", "evaluate"),
    "waterfall": ("costs", "waterfall"),
    "unit_economics": ("costs", "unit_economics"),
    "score": ("scorecard", "score"),
    "settle": ("settlement", "settle"),
}

__all__ = [  # noqa: PLE0604 - the lazy names are strings too (keys of _LAZY)
    "KpiError", "ConfigError", "IngestError", "DefinitionError", "TargetError", "SettlementError",
    "RenderError", "WarehouseError", *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        mod, attr = _LAZY[name]
        return getattr(import_module(f".{mod}", __name__), attr)
    raise AttributeError(f"module 'kpi_lib' has no attribute {name!r}")
