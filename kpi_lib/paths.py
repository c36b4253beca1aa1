"""Project paths, resolved from the project root, never from the working directory.

Jupyter and papermill change the working directory; every path in kpi_lib comes from here. The
root is ``$KPI_ROOT`` when set (tests point it at a temporary copy), otherwise the nearest parent of
the working directory that holds ``parameters/workbench.yaml``, otherwise the checkout this package
lives in.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=32)
def _resolved(path: str) -> Path:
    """``Path(path).resolve()``, once per text: a report asks for paths thousands of times, and each
    resolve walks every component of the path with a system call."""
    return Path(path).resolve()


def root() -> Path:
    """The project root directory."""
    env = os.environ.get("KPI_ROOT")
    if env:  # a relative KPI_ROOT depends on the working directory: resolved each time
        return _resolved(env) if os.path.isabs(env) else Path(env).resolve()
    here = Path.cwd().resolve()
    for p in (here, *here.parents):
        if (p / "parameters" / "workbench.yaml").is_file():
            return p
    return _PACKAGE_ROOT


def parameters_dir() -> Path:
    return root() / "parameters"


def data_dir() -> Path:
    return root() / "data"


def raw_dir() -> Path:
    return data_dir() / "raw"


def reference_dir() -> Path:
    env = os.environ.get("KPI_REFERENCE")
    return Path(env).resolve() if env else data_dir() / "reference"


def warehouse_dir() -> Path:
    env = os.environ.get("KPI_WAREHOUSE")
    return Path(env).resolve() if env else data_dir() / "warehouse"


def outputs_dir() -> Path:
    return root() / "outputs"


def templates_dir() -> Path:
    return root() / "templates"


def notebooks_dir() -> Path:
    return root() / "notebooks"
