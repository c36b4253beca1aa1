"""What every Amazon report reader shares: canonical frames, the bad-row collector, the
currency check against the store, header matching."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ....errors import IngestError
from ....schemas import STR, TABLES, conform, const_text
from ...base import (
    FileHead,
    QuarantineRow,
    Store,
    normalize_header,
)
from ...frames import LINE

PLATFORM = "amazon"

#: the orders, inventory, business and ads readers' column work over Arrow columns (``ingest.arrowcols``,
#: once per distinct value where values repeat); False runs their pandas path, the reference
#: ``tests/test_ingest_amazon_fast.py`` compares them with
FAST = True


def table_columns(table: str) -> dict[str, str]:
    return dict(TABLES[table].columns) | {"source_row": "int64"}


def table_frame(table: str, data: dict[str, object], index: pd.Index) -> pd.DataFrame:
    """``data`` (columns or scalars on ``index``) as the canonical frame of ``table``, on a fresh
    RangeIndex. A text scalar becomes an Arrow column at once; the frame in between is not copied
    (``conform`` builds a new one)."""
    cols = table_columns(table)
    data = {k: (const_text(v, index) if cols.get(k) == STR else v) for k, v in data.items()}
    out = conform(pd.DataFrame(data, index=index, copy=False), cols)
    out.index = pd.RangeIndex(len(out))  # = reset_index(drop=True), without copying every column
    return out


def quarantine_rows(
    df: pd.DataFrame, mask: pd.Series, reason: pd.Series, column: pd.Series, raw_cols: list[str]
) -> list[QuarantineRow]:
    out = []
    if not mask.any():
        return out
    sub = df.loc[mask]
    recs = sub[[c for c in raw_cols if c in sub.columns]].astype(object).to_dict("records")
    for line, why, col, rec in zip(sub[LINE].tolist(), reason[mask].tolist(), column[mask].tolist(), recs):
        clean = {
            k: (
                None
                if v is None or (isinstance(v, float) and np.isnan(v))
                else (v if isinstance(v, (int, float, str)) else str(v))
            )
            for k, v in rec.items()
        }
        out.append(QuarantineRow(source_row=int(line), reason=str(why), column=str(col or ""), raw=clean))
    return out


def first_bad_rows(df: pd.DataFrame, bad: Any, raw_cols: list[str]) -> tuple[np.ndarray, list[QuarantineRow]]:
    """(mask of the rows that pass, the quarantine rows of the others) for ``bad``, an
    ``arrowcols.FirstBad`` collected over ``df``'s rows (the Arrow paths' :func:`quarantine_rows`)."""
    ok = ~bad.mask
    if ok.all():
        return ok, []
    reason, column = bad.reasons()
    return ok, quarantine_rows(df, pd.Series(bad.mask, index=df.index), reason.set_axis(df.index),
                               column.set_axis(df.index), raw_cols)


class BadRows:
    """Collects the first failing column and reason per row."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series(pd.NA, index=index, dtype="object")
        self.column = pd.Series(pd.NA, index=index, dtype="object")

    def add(
        self, mask: pd.Series, column: str, reason: str, raw: pd.Series | None = None, suffix: str = ""
    ) -> None:
        """Mark rows of ``mask`` (unless already bad); the reason is ``reason + raw value + suffix``."""
        hit = mask.fillna(False).astype(bool) & self.reason.isna()
        if hit.any():
            if raw is None:
                self.reason[hit] = reason
            else:
                self.reason[hit] = [
                    f"{reason}{v}{suffix}" for v in raw[hit].astype(object).fillna("").tolist()
                ]
            self.column[hit] = column

    def cannot_parse(self, mask: pd.Series, column: str, raw: pd.Series, expected: str) -> None:
        self.add(mask, column, f"cannot parse {column}: '", raw, f"' (expected {expected})")

    @property
    def mask(self) -> pd.Series:
        return self.reason.notna()


def header_keys(head: FileHead, sep: str) -> list[str]:
    if not head.lines:
        return []
    return [normalize_header(h).strip('"') for h in head.lines[0].split(sep)]


def check_currency(path: Path, column: str, found: pd.Series | list[str], store: Store) -> None:
    vals = sorted({str(v).strip().upper() for v in found if str(v).strip()})
    other = [v for v in vals if v != store.currency.upper()]
    if other:
        raise IngestError(
            f"{path}: column {column!r} says currency {', '.join(other)} but store {store.store_id} is "
            f"in {store.currency}; put the file under the right store or fix stores.csv"
        )


CURRENCY_SYMBOLS = {
    "₹": "INR",
    "€": "EUR",
    "£": "GBP",
    "rs.": "INR",
    "rs": "INR",
    "aed": "AED",
    "inr": "INR",
    "cad": "CAD",
    "usd": "USD",
    "eur": "EUR",
    "gbp": "GBP",
    "sar": "SAR",
    "jpy": "JPY",
    "mxn": "MXN",
    "sgd": "SGD",
    "aud": "AUD",
}


def header_currency(header: str) -> str | None:
    m = re.search(r"\(([^()#%]+)\)\s*$", header.strip())
    return CURRENCY_SYMBOLS.get(m.group(1).strip().lower()) if m else None


def store_columns(store: Store) -> dict[str, object]:
    return {
        "platform": PLATFORM,
        "store_id": store.store_id,
        "marketplace": store.marketplace,
        "currency": store.currency,
    }


def find_column(keys: list[str], *patterns: str) -> int | None:
    for p in patterns:
        rx = re.compile(p)
        for i, k in enumerate(keys):
            if rx.fullmatch(k):
                return i
    return None
