"""Loading and validating YAML under parameters/ with pydantic models.

Every YAML model forbids unknown keys, so a misspelt key is an error that names its path in the
file (``contracts.yaml: contracts[1].terms.cap: extra inputs are not permitted``) instead of being
silently ignored.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import paths
from .errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every YAML model: unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid")


def format_validation_error(source: str, err: ValidationError) -> list[str]:
    """One line per pydantic error: ``file: a.b[2].c: message``."""
    lines = []
    for e in err.errors():
        loc = ""
        for part in e["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        lines.append(f"{source}: {loc or '<root>'}: {e['msg']}")
    return lines


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error becomes a ConfigError naming file and line."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None


def load_model(path: Path, model: type[M], data: Any = None) -> M:
    """Validate ``data`` (or the YAML at ``path``) against ``model``; all issues in one ConfigError."""
    if data is None:
        data = read_yaml(path)
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as err:
        issues = format_validation_error(path.name, err)
        raise ConfigError(f"{path}: {len(issues)} problem(s)", issues) from None


def dump_yaml(data: Any, path: Path) -> None:
    """Write YAML atomically (temp file + rename), keeping key order and unicode readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, sort_keys=False, allow_unicode=True)
    tmp.replace(path)


class Workbench(StrictModel):
    """parameters/workbench.yaml"""

    company_name: str = "Company"
    company_name_zh: str | None = None
    reporting_currency: str = Field("CNY", min_length=3, max_length=3, description="ISO code of the reporting currency")
    default_language: str = Field("zh", pattern="^(zh|en)$")


@lru_cache(maxsize=8)
def _workbench_cached(path: str, mtime: float) -> Workbench:
    return load_model(Path(path), Workbench)


def workbench() -> Workbench:
    """The validated workbench settings (cached per file version)."""
    p = paths.parameters_dir() / "workbench.yaml"
    if not p.is_file():
        return Workbench()
    return _workbench_cached(str(p), p.stat().st_mtime)
