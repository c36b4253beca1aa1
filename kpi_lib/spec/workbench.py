"""parameters/workbench.yaml: company name, reporting currency, default language.

:func:`kpi_lib.config.workbench` returns the validated settings (cached per file version).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from .. import paths
from ..config import StrictModel
from ._base import Context, Issue, Spec


class Workbench(StrictModel):
    """parameters/workbench.yaml"""

    company_name: str = "Company"
    company_name_zh: str | None = None
    reporting_currency: str = Field("CNY", min_length=3, max_length=3, description="ISO code of the reporting currency")
    default_language: str = Field("zh", pattern="^(zh|en)$")


SPEC: Spec[Workbench] = Spec("workbench", Workbench, "workbench.yaml")


def load(path: Path | None = None) -> Workbench:
    """parameters/workbench.yaml (defaults when the file does not exist)."""
    return SPEC.load(path)


def validate(obj: Workbench, context: Context | None = None) -> list[Issue]:
    """Model issues (the workbench names no other file's ids)."""
    return SPEC.validate(obj, context)


def save(obj: Workbench, path: Path | None = None, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)


@lru_cache(maxsize=8)
def _cached(path: str, mtime: float) -> Workbench:
    return SPEC.load(Path(path))


def current() -> Workbench:
    """The validated workbench settings of the project (cached per file version)."""
    p = paths.parameters_dir() / "workbench.yaml"
    if not p.is_file():
        return Workbench()
    return _cached(str(p), p.stat().st_mtime)
