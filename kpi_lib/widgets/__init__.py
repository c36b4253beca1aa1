"""ipywidgets panels behind the notebooks; importable and testable without a browser.

Each panel is a class whose ``widget`` attribute is the root box a notebook displays; its controls
are attributes and its callbacks are methods, so tests drive them by setting ``.value`` and calling
the methods. Panels save only through kpi_lib's validating ``save_*`` functions.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ActionsReview": "actions_review",
    "DataOnboarding": "onboarding",
    "TreeDesigner": "tree_designer",
    "TargetSetting": "target_setting",
    "CostExplorer": "cost_explorer",
    "ContractSimulator": "contract_simulator",
    "TrainingWalkthrough": "training",
    "headless": "common",
}

__all__ = [
    "ActionsReview", "ContractSimulator", "CostExplorer", "DataOnboarding", "TargetSetting", "TrainingWalkthrough",
    "TreeDesigner", "headless",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
