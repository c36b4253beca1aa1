"""Loading and validating YAML under parameters/ with pydantic models (the shared base of kpi_lib.spec).

Every YAML model forbids unknown keys, so a misspelt key is an error that names its path in the
file (``contracts.yaml: contracts[1].terms.cap: extra inputs are not permitted``) instead of being
silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

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


#: libyaml's safe loader when PyYAML was built with it (≈ 9× faster, the same constructors)
FAST_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error becomes a ConfigError naming file and line.

    Parsed with libyaml when available; a document it rejects is parsed again by PyYAML's own
    loader, so the error message is PyYAML's as before."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
        if FAST_SAFE_LOADER is not None:
            try:
                return yaml.load(text, Loader=FAST_SAFE_LOADER)
            except yaml.YAMLError:
                pass
        return yaml.safe_load(text)
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


def workbench() -> Any:
    """The validated workbench settings (``kpi_lib.spec.workbench.Workbench``, cached per file version)."""
    # in-function import: kpi_lib.spec builds on this module (StrictModel), a real cycle
    from .spec import workbench as workbench_spec

    return workbench_spec.current()

