"""The few calls the onboarding panel makes into the mapping reader (kpi_lib.ingest.readers.mapping).

Kept in one place so the panel does not depend on the mapping module's internals: ``build`` turns
the panel's choices into the mapping YAML data, ``preview`` parses the first rows with it, ``save``
validates and writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import IngestError


def _module() -> Any:
    try:
        from ..ingest.readers import mapping
    except ImportError as exc:  # pragma: no cover - only while the mapping reader is missing
        raise IngestError(f"the mapping reader is not available ({exc})") from None
    return mapping


def build(opts: dict[str, Any], path: Path | None) -> dict[str, Any]:
    """Mapping YAML data from the panel's choices (keys the mapping model does not know are dropped)."""
    return {k: v for k, v in opts.items() if v not in (None, "", [], {})}


def preview(path: Path, mapping: dict[str, Any], store_id: str | None) -> tuple[pd.DataFrame, list[str]]:
    m = _module()
    res = m.preview(path, mapping)
    return _frame_and_issues(res)


def save(mapping: dict[str, Any], target: Path) -> Path:
    m = _module()
    return Path(m.save_mapping(mapping, target))


def _frame_and_issues(res: Any) -> tuple[pd.DataFrame, list[str]]:
    if isinstance(res, tuple) and len(res) == 2:
        frame, issues = res
        return frame, [str(i) for i in issues]
    frame = getattr(res, "rows", None)
    if frame is None:
        frame = getattr(res, "frame", pd.DataFrame())
    issues = getattr(res, "issues", None) or [
        f"row {q.source_row}: {q.column + ': ' if q.column else ''}{q.reason}" for q in getattr(res, "quarantine", [])
    ]
    return frame, [str(i) for i in issues]
