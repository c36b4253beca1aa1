"""The calls the onboarding panel makes into the mapping reader (kpi_lib.ingest.readers.mapping).

A mapping may target any canonical table the reader supports (``mapping.MAPPABLE_TABLES``: orders,
fees, refunds, ads, traffic, inventory); ``preview`` returns that table's rows.

``preview`` parses the first rows with a mapping (the mapping module's own ``preview``); ``save``
validates a mapping with the mapping module's model and reader (``reader_from_mapping``, the same
validation ``kpi validate`` and ingest apply), writes it through ``kpi_lib.spec.mappings``, then registers the user
mappings again so an ingest in the same session recognises the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..ingest.base import Store
from ..ingest.readers import mapping as m
from ..spec import mappings as mappings_spec


def preview(path: Path, mapping: dict[str, Any], store: dict[str, Any] | None) -> tuple[pd.DataFrame, list[str]]:
    st = None
    if store:
        st = Store(store_id=str(store["store_id"]), platform=str(store.get("platform", "")),
                   marketplace=str(store.get("marketplace", "")), currency=str(store.get("currency", "")),
                   timezone=str(store.get("timezone") or "UTC"))
    frame, issues = m.preview(path, mapping, st)
    return frame, [str(i) for i in issues]


def save(mapping: dict[str, Any], target: Path) -> Path:
    reader = m.reader_from_mapping(mapping)  # ConfigError listing every issue; nothing written
    mappings_spec.save(reader.mapping, target)  # validated, round-trip (an edited file keeps its comments), atomic
    m.register_user_mappings(target.parent)
    return target
