"""The ingest pipeline: raw exports → validated canonical tables in an atomic warehouse snapshot.

For every file under ``RAW_DIR/<store_id>/**``:

1. the store's platform, currency and time zone come from reference/stores.csv;
2. a reader is chosen by sniffing the file's header and content (``registry.readers()``);
3. the reader returns canonical rows (source currency, marketplace-local dates) and the rows it
   could not parse (quarantined with reason);
4. rows are validated with pandera (all failures of a file at once) plus sanity checks (future
   date, before 2000); failing source rows are quarantined with the original values. Quarantine is
   only for rows that cannot be parsed or break the schema: a SKU missing from reference/skus.csv
   is a *master-data gap*, not a bad row — the row loads, the SKU is registered in ``sku_registry``
   and the gap (share of sales without master data or without a unit cost) is in ``data_gaps``;
5. money is converted once to the reporting currency with the month's FX rate (recorded in
   ``fx_rate``); a missing rate is an error naming currency and month;
6. rows are de-duplicated on natural keys (plus the occurrence number of an identical key inside a
   file, so legitimately repeated lines survive) against the warehouse and the other files, and
   **the latest version wins**: each file has a version — the export's own generation time when
   the reader knows it (``ReadResult.exported_at``), else the file's modification time; ties go to
   the file ingested later. When a row's natural key is already loaded:

   - same values → the new row is a *duplicate* (the loaded row stays, with its lineage); from a newer
     export, the loaded row's ``row_confirmed`` records that version, which its key then has: an older
     export read later is superseded by it, as by the newer export itself;
   - different values, newer version → the new row replaces the loaded one, which is removed and
     counted as *superseded* in its own file's counts (also when that file came in an earlier run:
     its manifest row is updated);
   - different values, older version → the new row is *superseded* on arrival.

   Every replacement writes one ``change_history`` row per changed column (table, store, natural
   key, column, old → new value, old → new file, the versions), so history keeps both versions;
7. counts are recorded per file: ``rows_read = rows_loaded + rows_quarantined + rows_duplicate +
   rows_superseded`` (a source row counts once: loaded if any of its rows is live, else superseded
   if one of its rows lost to a newer version, else duplicate), with the file's money
   reconciliation (over all its rows, live or not), in the manifest inside the snapshot;
8. derived tables are rebuilt from the canonical tables in the same transaction, in one place
   (``_derived_tables``): source-of-record tables, ``sku_registry``, ``data_gaps``, ``coverage``.

Everything is written in one ``Warehouse.transaction()``: a crash leaves the previous snapshot live.
A file whose sha256 is already in the manifest is not read again, so re-ingesting changes nothing.
Memory stays per file: row keys are kept per table and store (key → version, value hash), loaded
lazily from the staging snapshot's Parquet and dropped when the next store starts.

Size (≈1,200 lines, one job): the ingest transaction — detect, read, validate, FX, dedup, versions,
master-data gaps, reconciliation and the atomic snapshot — shares one staging state; the steps are
named functions in file order (the key index of de-duplication is in ``rowkeys``, its hashes in
``hashing``). Next split when it grows: versions/dedup into their own module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandera.errors as pa_errors
import pyarrow as pa
import pyarrow.compute as pc
from pandas.util import hash_array

from .. import paths
from ..config import workbench
from ..coverage import build_coverage
from ..errors import IngestError, KpiError
from ..executors import Executor, make_executor
from ..money import money_sum
from ..reference import SPECS, Reference, load_reference, reference_hashes_json
from ..schemas import (
    CHANGE_HISTORY_COLUMNS,
    DATE,
    FLT,
    INT,
    MANIFEST_COLUMNS,
    QUARANTINE_COLUMNS,
    TABLES,
    TS,
    conform,
    const_text,
    pandera_schema,
)
from ..warehouse import Warehouse, WarehouseWriter, sql_type
from .ads_record import rebuild_ads
from .base import QuarantineRow, ReadResult, Store
from .hashing import combine, hash_rows
from .registry import detect, detect_and_read, readers  # noqa: F401 - detect/readers: public names here too
from .rowkeys import DUPLICATE, LOADED, SUPERSEDED, SeenKeys
from .staging import Staged, StageUnit, load_staged, stage_file, store_fields

REFERENCE_FACTS = ("tickets", "activities")  # reference CSVs that are fact tables
#: bookkeeping columns stored with every canonical row: natural key (+ occurrence) hash, the
#: version of the file it came from (µs since 1970 UTC), a hash of its canonical values, and the version
#: of the newest later export that repeated it unchanged (null when none did: the key's version in
#: later conflicts is the larger of the two)
ROW_META = {"row_key": "int64", "row_version": "int64", "row_hash": "int64", "row_confirmed": "int64"}


@dataclass
class FileResult:
    """What happened to one file (one line of the summary, one row of the manifest)."""

    path: str
    store_id: str | None
    reader: str | None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_superseded: int = 0  # rows replaced by a newer version of the same natural key
    reconciliation: dict | None = None
    error: str | None = None
    sha256: str = ""
    unchanged: bool = False
    min_date: str | None = None
    max_date: str | None = None
    exported_at: str | None = None  # the export's own generation time, when the reader knows it
    version: int = 0  # microseconds since 1970 UTC: exported_at, else the file's mtime
    version_basis: str = ""  # 'exported_at' | 'mtime'

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("sha256", "min_date", "max_date", "version"):
            d.pop(k)
        return d


@dataclass
class IngestSummary:
    files: list[FileResult] = field(default_factory=list)
    warehouse: str = ""
    snapshot: str | None = None
    seconds: float = 0.0
    coverage: pd.DataFrame | None = None  # the snapshot's coverage table (store × month × source)
    data_gaps: list[dict] = field(default_factory=list)  # per store: SKUs and sales share lacking master/cost
    changes: int = 0  # change_history rows written by this run

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.error]

    @property
    def quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def exit_code(self, strict: bool = False) -> int:
        if self.errors:
            return 2
        if strict and self.quarantined:
            return 1
        return 0

    def to_json(self) -> dict:
        cov = [] if self.coverage is None else [
            {k: (None if pd.isna(v) else (str(v)[:10] if k.endswith("_date") else v)) for k, v in r.items()}
            for r in self.coverage.to_dict("records")
        ]
        return {"files": [f.to_json() for f in self.files], "warehouse": self.warehouse, "snapshot": self.snapshot,
                "coverage": cov, "data_gaps": self.data_gaps, "changes": self.changes}


# ---------------------------------------------------------------------------------------------
def discover(raw_dir: Path) -> list[tuple[str, Path]]:
    """(store_id, file) pairs under RAW_DIR/<store_id>/**, skipping hidden and ``_``-prefixed names."""
    out = []
    for store_dir in sorted(p for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        for f in sorted(store_dir.rglob("*")):
            rel = f.relative_to(store_dir)
            if f.is_file() and not any(part.startswith((".", "_", "~$")) for part in rel.parts):
                out.append((store_dir.name, f))
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_one(args: tuple[str, str, dict]) -> tuple[str, ReadResult | None, str | None, str | None]:
    """Worker: detect and read one file. Returns (path, result, reader name, error)."""
    path_s, _store_id, store_d = args
    reader_name, res, err = detect_and_read(Path(path_s), Store(**store_d))
    return path_s, res, reader_name, err


# ---------------------------------------------------------------------------------------------
class _Prepared:
    """One file's rows after validation and FX, before de-duplication."""

    def __init__(self, fr: FileResult, tables: dict[str, pd.DataFrame], quarantine: pd.DataFrame,
                 rows: np.ndarray, expected: float | None, money: list[tuple[str, str, float]]) -> None:
        self.fr = fr
        self.tables = tables
        self.quarantine = quarantine
        self.rows = rows  # all data source_rows of the file (accounted)
        self.expected = expected
        self.money = money
        self.version = fr.version
        # rows of this file that replaced a loaded row / lost to a newer loaded row, per table
        self.replaced: dict[str, pd.DataFrame] = {}
        self.lost: dict[str, pd.DataFrame] = {}
        # keys (store_id, row_key) of loaded rows this file repeated unchanged with a newer version, per table
        self.confirmed: dict[str, pd.DataFrame] = {}


class _Columns:
    """A reader's frame with columns set beside it (``new``) instead of into it: setting a column of a
    pandas frame costs ~0.3 ms, and ``conform`` builds a new frame anyway. Scalars other than text
    (which ``const_text`` leaves as they are) are set into a shallow copy of the frame, as before."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.new: dict[str, pd.Series] = {}
        self._copied = False

    def __contains__(self, col: str) -> bool:
        return col in self.new or col in self.df.columns

    def __getitem__(self, col: str) -> pd.Series:
        return self.new[col] if col in self.new else self.df[col]

    def __setitem__(self, col: str, value: object) -> None:
        if isinstance(value, pd.Series):
            self.new[col] = value
            return
        if not self._copied:
            self.df, self._copied = self.df.copy(deep=False), True  # (never written into the reader's frame)
        self.new.pop(col, None)
        self.df[col] = value

    def frame(self) -> pd.DataFrame:
        """The frame whose columns ``new`` replaces or adds to (for ``conform(…, extra=new)``)."""
        return self.df


def _all_missing(s: pd.Series) -> bool:
    """``s.isna().all()`` of a non-empty column (decided by ``_missing``)."""
    m = _missing(s)
    return m is not None and bool(m.all())


def _fx_frame(ref: Reference) -> pd.DataFrame:
    fx = ref.tables["fx_rates"][["month", "currency", "rate"]].copy()
    fx["month_key"] = fx["month"].str.slice(0, 4).astype(int) * 100 + fx["month"].str.slice(5, 7).astype(int)
    return fx[["currency", "month_key", "rate"]].rename(columns={"rate": "fx_rate"})


def _quarantine_frame(table: str, store_id: str, reader: str, source_file: str, rows: list[QuarantineRow]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=list(QUARANTINE_COLUMNS))
    return pd.DataFrame(
        {
            "table": table, "store_id": store_id, "reader": reader, "source_file": source_file,
            "source_row": [q.source_row for q in rows], "column": [q.column for q in rows],
            "reason": [q.reason for q in rows],
            "raw": [json.dumps(q.raw, ensure_ascii=False, default=str) for q in rows],
        }
    )


def prepare(fr: FileResult, res: ReadResult, store: dict, ref: Reference, fx: pd.DataFrame,
            today: dt.date, rc: str | None = None) -> _Prepared:
    """Validate, check references, convert money; quarantine failing source rows. ``rc``: the
    reporting currency (read from the workbench settings when not given; an ingest reads it once)."""
    rc = workbench().reporting_currency if rc is None else rc
    qrows: list[QuarantineRow] = list(res.quarantine)
    tables: dict[str, pd.DataFrame] = {}
    for name, df in res.tables.items():
        if name not in TABLES:
            raise IngestError(f"reader {fr.reader} produced unknown table {name!r}")
        t = TABLES[name]
        if df is None or df.empty:
            continue
        # the columns set here go to conform beside the reader's frame (``extra``), not into it
        extra = _Columns(df)
        for k in ("platform", "store_id", "marketplace"):
            if k in t.columns and (k not in extra or _all_missing(extra[k])):
                extra[k] = const_text(store.get(k, ""), df.index)
        extra["store_id"] = const_text(store["store_id"], df.index)
        if "currency" in t.columns:
            if "currency" not in extra:
                extra["currency"] = const_text(store["currency"], df.index)
            cur = currency_codes(extra["currency"], store["currency"])
            wrong = cur != store["currency"]
            if wrong.any():
                row = int(df.loc[wrong, "source_row"].iloc[0]) if "source_row" in df.columns else 0
                raise IngestError(
                    f"{fr.path}: row {row}, column currency: {cur[wrong].iloc[0]!r} contradicts store "
                    f"{store['store_id']} whose currency is {store['currency']} (reference/stores.csv)"
                )
            extra["currency"] = cur
        extra["source_file"] = const_text(fr.path, df.index)
        src = extra["source_row"].astype("int64").to_numpy()
        # (copy=False: columns already canonical are shared with the reader's frame, which nothing writes into)
        df = conform(extra.frame(), dict(t.columns) | {"source_file": "string", "source_row": "int64"},
                     copy=False, extra=extra.new)
        # pandera: every failure of the file at once (run only when a vectorised pre-check of the
        # same schema finds a row that fails: pandera then words the reasons)
        try:
            schema = _schema(name)
            if _schema_may_fail(schema, df):
                schema.validate(df, lazy=True)
        except pa_errors.SchemaErrors as exc:
            fc = exc.failure_cases
            fc = fc[fc["index"].notna()]
            for idx, grp in fc.groupby("index", sort=False):
                g = grp.iloc[0]
                col = str(g.get("column") or "")
                check = str(g.get("check") or "")
                if "not_nullable" in check or check == "None":
                    reason = f"{col} is required but empty or unparseable"
                else:
                    reason = f"{col} {g.get('failure_case')!r} fails: {check}"
                qrows.append(QuarantineRow(int(df.at[idx, "source_row"]), reason, col, {}))
        # reference checks
        if t.date_column:
            qrows += _date_checks(df, t.date_column, today)
        # a SKU missing from reference/skus.csv is a master-data gap, not a bad row: it loads
        # (sku_registry / data_gaps report it; see _derived_tables)
        del src
        tables[name] = df
    qdf = _quarantine_frame("", store["store_id"], fr.reader or "", fr.path, qrows)
    # attach the raw values for rows that failed validation (the reader already did for parse errors)
    bad_rows = np.unique(qdf["source_row"].astype("int64").to_numpy()) if len(qdf) else np.array([], "int64")
    out: dict[str, pd.DataFrame] = {}
    for name, df in tables.items():
        t = TABLES[name]
        if len(bad_rows):
            isbad = pd.Series(np.isin(df["source_row"].to_numpy(dtype="int64"), bad_rows), index=df.index)
            if isbad.any() and len(qdf):
                raw_by_row = (
                    df.loc[isbad].drop_duplicates("source_row").set_index("source_row")
                    .astype("string").fillna("").to_dict("index")
                )
                need = qdf["raw"].isin(["{}", ""]) & qdf["source_row"].isin(list(raw_by_row))
                qdf.loc[need, "raw"] = qdf.loc[need, "source_row"].map(
                    lambda r, raw=raw_by_row: json.dumps(raw.get(int(r), {}), ensure_ascii=False, default=str)
                )
                qdf.loc[need & (qdf["table"] == ""), "table"] = name
            df = df.loc[~isbad].copy()
        if df.empty:
            continue
        if t.money:
            mk = _month_keys(df[t.date_column])
            # the currency text per distinct value (``astype(str)`` of every cell, done once per code)
            codes, uniq = pd.factorize(df["currency"], use_na_sentinel=True)
            cur_text = np.array([str(u) for u in uniq] + [str(pd.NA)], dtype=object)
            is_rc = (cur_text == rc)[codes]
            if is_rc.all():
                rate = pd.Series(1.0, index=df.index)
            else:
                rate = pd.Series(np.where(is_rc, 1.0, _fx_rates(cur_text, codes, mk, fx)), index=df.index)
                if rate.isna().any():
                    key = pd.DataFrame({"currency": cur_text[codes], "month_key": mk})
                    miss = key[rate.isna().to_numpy()].drop_duplicates().head(3)
                    what = "; ".join(f"{c} {m // 100}-{m % 100:02d}" for c, m in zip(miss["currency"], miss["month_key"]))
                    raise IngestError(
                        f"{fr.path}: no FX rate for {what} in reference/fx_rates.csv "
                        f"(add month,currency,rate rows converting to {rc})"
                    )
            df["fx_rate"] = rate.astype("float64")
            fx_rate = df["fx_rate"].to_numpy()
            for m in t.money:
                df[f"{m}_rc"] = _rc_values(df[m], fx_rate)
        out[name] = df
    qdf.loc[qdf["table"] == "", "table"] = next(iter(res.tables), "")
    return _Prepared(fr, out, qdf, np.arange(0), res.expected_money, res.money_columns)


_Y2000 = np.datetime64("2000-01-01", "ms")


def _date_checks(df: pd.DataFrame, col: str, today: dt.date) -> list[QuarantineRow]:
    """The rows whose date ``col`` is after tomorrow (in the future) or before 2000, as quarantine
    rows (the future ones first, each in row order). A ``datetime64[ms]`` column (what ``conform``
    makes of every date) is compared in numpy (NaT compares false: a missing date passes), the
    Timestamps built only for failing rows; any other column by ``_date_checks_pandas``."""
    d = df[col]
    if d.dtype != np.dtype("datetime64[ms]"):
        return _date_checks_pandas(df, col, today)
    v = d.to_numpy()
    limit = (pd.Timestamp(today) + pd.Timedelta(days=1)).as_unit("ms").to_datetime64()
    out: list[QuarantineRow] = []
    for at, what in ((np.flatnonzero(v > limit), "is in the future"), (np.flatnonzero(v < _Y2000), "is before 2000")):
        if len(at):
            src = df["source_row"].iloc[at]
            out += [QuarantineRow(int(r), f"{col} {x.date()} {what}", col) for r, x in zip(src, d.iloc[at])]
    return out


def _date_checks_pandas(df: pd.DataFrame, col: str, today: dt.date) -> list[QuarantineRow]:
    """``_date_checks`` with pandas operators (the reference of the tests; columns not ``datetime64[ms]``)."""
    d = df[col]
    out: list[QuarantineRow] = []
    fut = d.notna() & (d > pd.Timestamp(today) + pd.Timedelta(days=1))
    for r, v in zip(df.loc[fut, "source_row"], d[fut]):
        out.append(QuarantineRow(int(r), f"{col} {v.date()} is in the future", col))
    old = d.notna() & (d < pd.Timestamp("2000-01-01"))
    for r, v in zip(df.loc[old, "source_row"], d[old]):
        out.append(QuarantineRow(int(r), f"{col} {v.date()} is before 2000", col))
    return out


def _rc_values(amount: pd.Series, fx_rate: np.ndarray) -> np.ndarray | pd.Series:
    """``(amount * fx_rate).round(6)``: money in the reporting currency. A float64 column in numpy
    (what pandas' operators run on it), anything else by pandas."""
    if amount.dtype == np.dtype("float64") and fx_rate.dtype == np.dtype("float64"):
        return np.round(amount.to_numpy() * fx_rate, 6)
    return (amount * pd.Series(fx_rate, index=amount.index)).round(6)


def _fx_lookup(key: pd.DataFrame, fx: pd.DataFrame) -> np.ndarray:
    """The ``fx_rate`` of each (currency, month_key) row of ``key`` (NaN where ``fx`` has none): the
    left merge of ``key`` with ``fx``, done once per distinct pair (a file holds a few)."""
    cur_codes, cur_uniq = pd.factorize(key["currency"])
    pair = cur_codes.astype("int64") * 1_000_000 + key["month_key"].to_numpy(dtype="int64")
    codes, uniq = pd.factorize(pair)
    pairs = pd.DataFrame({"currency": np.asarray(cur_uniq, dtype=object)[uniq // 1_000_000],
                          "month_key": uniq % 1_000_000})
    rates = pairs.merge(fx, on=["currency", "month_key"], how="left")["fx_rate"].to_numpy(dtype="float64")
    if len(rates) != len(pairs):
        raise IngestError("reference/fx_rates.csv: more than one rate for a currency and month")
    return rates[codes]


def _fx_rates(cur_text: np.ndarray, codes: np.ndarray, mk: np.ndarray, fx: pd.DataFrame) -> np.ndarray:
    """``_fx_lookup`` of the rows' (currency, month_key) given as factorized currency codes (``codes``
    into ``cur_text``, -1 = its last entry) and month keys: the distinct pairs are found on integers,
    without a text per row."""
    code = np.where(codes < 0, len(cur_text) - 1, codes).astype("int64")
    mk = np.asarray(mk, dtype="int64")
    if len(mk) and (mk.min() < 0 or mk.max() >= 1_000_000):  # (years past 9999: one text per row)
        return _fx_lookup(pd.DataFrame({"currency": cur_text[code], "month_key": mk}), fx)
    pair_codes, pairs = pd.factorize(code * 1_000_000 + mk)
    index = _fx_index(fx)
    rates = np.empty(len(pairs), dtype="float64")
    for i, (cur, month) in enumerate(zip(cur_text[pairs // 1_000_000].tolist(), (pairs % 1_000_000).tolist())):
        r = index.get((cur, month), np.nan)
        if r is None:  # what the merge of _fx_lookup finds: two rows of fx for one pair
            raise IngestError("reference/fx_rates.csv: more than one rate for a currency and month")
        rates[i] = r
    return rates[pair_codes]


_FX_INDEX: list[tuple[pd.DataFrame, dict]] = []  # (the fx frame, its index): one ingest's frame at a time


def _fx_index(fx: pd.DataFrame) -> dict:
    """``(currency, month_key) → fx_rate`` of the ``fx`` frame (None for a pair it holds twice), built
    once per frame: looking up a file's few pairs in it replaces a pandas merge per table × file."""
    if not _FX_INDEX or _FX_INDEX[0][0] is not fx:
        index: dict = {}
        rates = fx["fx_rate"].to_numpy(dtype="float64").tolist()
        for cur, month, rate in zip(fx["currency"].tolist(), fx["month_key"].to_numpy(dtype="int64").tolist(), rates):
            index[(cur, month)] = None if (cur, month) in index else rate
        _FX_INDEX[:] = [(fx, index)]
    return _FX_INDEX[0][1]


def _month_keys(d: pd.Series) -> np.ndarray:
    """``year * 100 + month`` of each date (int64). A ``datetime64[ms]`` column without missing dates:
    each row's day (floored) looks up a table of the days from the first to the last date, built
    with numpy's month unit (calendar arithmetic once per day, not per row); else pandas' ``.dt``
    fields (which fail on a missing date, as before)."""
    v = d.to_numpy()
    if len(v) and v.dtype == np.dtype("datetime64[ms]") and not np.isnat(v).any():
        days = v.view("int64") // 86_400_000
        lo, hi = int(days.min()), int(days.max())
        if hi - lo < 400_000:  # (about a thousand years)
            m = np.arange(lo, hi + 1).astype("datetime64[D]").astype("datetime64[M]").astype("int64")
            return ((m // 12 + 1970) * 100 + m % 12 + 1)[days - lo]
    return (d.dt.year.astype("int64") * 100 + d.dt.month.astype("int64")).to_numpy()


def currency_codes(s: pd.Series, default: str) -> pd.Series:
    """Currency cells as upper-case codes (empty → ``default``), normalised once per distinct value;
    Arrow-backed text (the canonical type: ``conform`` then keeps the column as it is)."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    norm = [str(u).strip().upper() or default for u in uniq] + [default]
    codes = np.where(codes < 0, len(uniq), codes)  # missing → the last: default
    arr = pa.array(norm, type=pa.large_string()).take(pa.array(codes, type=pa.int64()))
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=s.index)



_SCHEMAS: dict[str, object] = {}


def _schema(name: str):
    """The table's pandera schema, built once per process."""
    if name not in _SCHEMAS:
        _SCHEMAS[name] = pandera_schema(name)
    return _SCHEMAS[name]


def _schema_may_fail(schema, df: pd.DataFrame) -> bool:
    """False only when no row can fail ``schema`` (non-nullable columns without nulls; the checks
    ``>=``, ``<=`` and ``isin`` hold on every non-null value): pandera would find nothing, so it need
    not run. True (run pandera) for any other check or anything this cannot decide."""
    try:
        for col in schema.columns.values():
            if col.name not in df.columns:
                continue
            s = df[col.name]
            nulls = _missing(s)
            if not col.nullable and nulls is not None:
                return True
            if not col.checks:
                continue
            v = s if nulls is None else s[~nulls]
            for chk in col.checks:
                stats = chk.statistics or {}
                if chk.name == "greater_than_or_equal_to":
                    ok = bool((v >= stats["min_value"]).all())
                elif chk.name == "less_than_or_equal_to":
                    ok = bool((v <= stats["max_value"]).all())
                elif chk.name == "isin":
                    ok = bool(v.isin(list(stats["allowed_values"])).all())
                else:
                    return True
                if not ok:
                    return True
    except Exception:  # noqa: BLE001 - undecidable here: let pandera decide
        return True
    return False


def _missing(s: pd.Series) -> np.ndarray | None:
    """The mask of ``s.isna()``, or None when no cell is missing: decided from the Arrow null count
    (Arrow-backed columns) or numpy's NaN/NaT test (float and datetime columns) without pandas'
    per-call overhead; other columns by ``isna``."""
    arr = s.array
    if isinstance(arr, pd.arrays.ArrowExtensionArray):
        if not pa.array(arr).null_count:
            return None
        m = s.isna().to_numpy()
    elif isinstance(s.dtype, np.dtype) and s.dtype.kind in "fmM":
        v = s.to_numpy()
        m = np.isnan(v) if s.dtype.kind == "f" else np.isnat(v)
    else:
        m = s.isna().to_numpy()
    return m if m.any() else None


def _row_keys(df: pd.DataFrame, key: tuple[str, ...], cache: dict[str, np.ndarray] | None = None) -> pd.Series:
    """Natural key hash plus the occurrence number of that key within the file (``cache``: column
    hashes of ``df`` shared with ``_row_hashes``, see ``hash_rows``)."""
    k = hash_rows(df, key, cache)
    occ = _occurrence(df["source_file"], k)
    # = hash_rows of the frame {k, o}: two numpy columns, hashed by hash_array as hash_column would
    with np.errstate(over="ignore"):
        both = combine([np.asarray(hash_array(k), np.uint64), np.asarray(hash_array(occ), np.uint64)], len(k))
    return pd.Series(both.view("int64"), index=df.index)


def _occurrence(files: pd.Series, k: np.ndarray) -> np.ndarray:
    """Occurrence number (0, 1, …) of each row's key hash ``k`` among the earlier rows of its file."""
    codes = None if _one_value(files) else pd.factorize(files)[0]
    # stable: equal (file, key) rows keep their order; one file (the usual case): the keys alone
    order = np.argsort(k, kind="stable") if codes is None else np.lexsort((k, codes))
    sk = k[order]
    start = np.r_[True, sk[1:] != sk[:-1]] if len(k) else np.zeros(0, bool)
    if codes is not None and len(k):
        sc = codes[order]
        start[1:] |= sc[1:] != sc[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(len(k)), 0)) if len(k) else np.zeros(0, np.int64)
    occ = np.empty(len(k), dtype=np.int64)
    occ[order] = np.arange(len(k)) - first
    return occ


def _one_value(s: pd.Series) -> bool:
    """True when every cell of ``s`` is the same value (all missing counts as one value, as in
    ``nunique(dropna=False) <= 1``); Arrow text is compared in C instead of dictionary-encoded."""
    if not len(s):
        return True
    dt = s.dtype
    if isinstance(dt, pd.StringDtype) and dt.storage == "pyarrow":
        arr = pa.array(s.array)
        nulls = arr.null_count
        if nulls:
            return nulls == len(arr)
        return bool(pc.all(pc.equal(arr, arr[0])).as_py())
    return s.nunique(dropna=False) <= 1


# ---------------------------------------------------------------------------------------------
def ingest(
    raw_dir: str | Path | None = None,
    warehouse: Warehouse | str | Path | None = None,
    reference: str | Path | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    today: dt.date | None = None,
    executor: Executor | str | None = None,
    scheduler: str | None = None,
) -> IngestSummary:
    """Ingest every export under ``raw_dir`` into the warehouse; return the per-file summary.

    Files are read in this process (a small process pool of ``jobs``) by default. With ``executor``
    (``"dask"``, ``"local"`` or an executor from ``kpi_lib.executors``; ``scheduler`` = a Dask
    scheduler address, else a LocalCluster) every raw file is one work unit that reads it and stages
    its rows on disk next to the warehouse (``staging.stage_file``); this process then validates,
    de-duplicates and writes the snapshot exactly as in-process, so both give the same warehouse.
    """
    t0 = time.perf_counter()
    raw = Path(raw_dir) if raw_dir else paths.raw_dir()
    if not raw.is_dir():
        raise IngestError(f"raw directory {raw} not found (expected RAW_DIR/<store_id>/<files>)")
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    ref = load_reference(Path(reference) if reference else None)
    fx = _fx_frame(ref)
    today = today or dt.date.today()
    summary = IngestSummary(warehouse=str(wh.path))

    known_store_ids = set(ref.stores["store_id"])
    old_manifest = wh.read("manifest") if wh.has("manifest") else pd.DataFrame(columns=["sha256"])
    seen_sha = {s: r for s, r in zip(old_manifest.get("sha256", []), old_manifest.to_dict("records"))}

    todo: list[tuple[FileResult, Path, dict]] = []
    for store_id, f in discover(raw):
        rel = f.relative_to(raw).as_posix()
        fr = FileResult(path=rel, store_id=store_id, reader=None)
        summary.files.append(fr)
        if store_id not in known_store_ids:
            fr.error = (f"{rel}: folder {store_id!r} is not a store in {ref.directory / 'stores.csv'} "
                        f"(raw files live in RAW_DIR/<store_id>/; known: {', '.join(sorted(known_store_ids))})")
            continue
        fr.sha256 = sha256_file(f)
        prev = seen_sha.get(fr.sha256)
        if prev is not None:  # already in the warehouse: not read again, nothing changes
            fr.unchanged = True
            fr.reader = str(prev.get("reader") or "")
            fr.rows_read = fr.rows_duplicate = int(prev.get("rows_read", 0) or 0)
            continue
        # the same content twice in one run is read twice; its rows then count as duplicates
        todo.append((fr, f, ref.store(store_id)))

    # reference fact tables (tickets, activities) are small: prepared up front
    ref_facts = _reference_facts(ref, today, seen_sha, summary, fx)
    if not todo and not ref_facts and wh.exists() and not _reference_changed(wh, ref) and wh.has("coverage"):
        # nothing new (a warehouse written before derived tables existed gets them once)
        summary.snapshot = wh.current_id()
        _attach_derived(summary, wh)
        summary.seconds = time.perf_counter() - t0
        return summary

    # File by file, in order: read (a bounded window of files in parallel), validate, de-duplicate
    # against the keys seen so far (latest version wins), append the rows as new Parquet parts of
    # the staging snapshot, let go of them. Memory peaks at a few files' rows, whatever the size of
    # the run.
    jobs = jobs or default_jobs()
    own_executor = isinstance(executor, str)
    ex = make_executor(executor, scheduler) if isinstance(executor, str) else executor
    stage_root = wh.path / f".ingest-staging-{uuid.uuid4().hex[:12]}" if ex is not None else None
    try:
        with wh.transaction("ingest") as w:
            results = _read_all(todo, jobs) if ex is None else _read_staged(todo, ex, stage_root)
            _ingest_files(w, wh, ref, fx, today, summary, todo, results, ref_facts, old_manifest, progress)
    finally:
        if stage_root is not None:
            shutil.rmtree(stage_root, ignore_errors=True)
        if own_executor and ex is not None:
            ex.close()
    summary.snapshot = wh.current_id()
    summary.seconds = time.perf_counter() - t0
    return summary


def default_jobs(cores: int | None = None) -> int:
    """Reader processes when ``jobs`` is not given: one per core, at most 4, but none besides this
    process on a machine of 1–2 cores: this process validates, de-duplicates and writes all along, so
    there a second reader process only adds the cost of shipping every file's frames between processes
    (measured at scale 5 on 2 cores: see docs/scale.md)."""
    c = cores if cores is not None else (os.cpu_count() or 1)
    return 1 if c <= 2 else min(c, 4)


def _ingest_files(w: WarehouseWriter, wh: Warehouse, ref: Reference, fx: pd.DataFrame, today: dt.date,
                  summary: IngestSummary, todo: list, results: Iterator, ref_facts: list[_Prepared],
                  old_manifest: pd.DataFrame, progress: Callable[[int, int, str], None] | None) -> None:
    """Inside the ingest transaction: validate, de-duplicate and write every read file, then the
    reference facts, history, ads of record, manifest and derived tables."""
    rc = workbench().reporting_currency  # (once: ~1 ms per call)
    quarantines: list[pd.DataFrame] = []
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    history: list[pd.DataFrame] = []
    removed: list[pd.DataFrame] = []
    existing = SeenKeys(w.path)
    pending = PendingParts(w)
    for done, ((fr, f, store), (_, res, reader_name, err)) in enumerate(results, start=1):
        if progress:
            progress(done, len(todo), fr.path)
        fr.reader = reader_name
        if err:
            fr.error = err.strip().splitlines()[0] if not os.environ.get("KPI_DEBUG") else err
            continue
        assert res is not None
        fr.rows_read = int(res.rows_read)
        _set_version(fr, f, res.exported_at)
        try:
            p = prepare(fr, res, store, ref, fx, today, rc)
        except KpiError as exc:
            fr.error = str(exc)
            continue
        if pending.holds_other_stores(p):
            pending.flush()  # the key index of another store is re-read from the staging Parquet
        _dedup_and_count([p], existing)
        if p.replaced or p.lost or p.confirmed:
            pending.flush()  # the rows this file replaces (or confirms) may be waiting in the buffer
        _apply_versions(w, p, now, history, removed)
        pending.add(p)
        if len(p.quarantine) and not p.fr.error:
            quarantines.append(p.quarantine)
    pending.close()
    facts_seen = SeenKeys(w.path)
    _dedup_and_count(ref_facts, facts_seen)
    for p in ref_facts:
        _apply_versions(w, p, now, history, removed)
    _write_tables(w, ref_facts)
    quarantines += [p.quarantine for p in ref_facts if len(p.quarantine) and not p.fr.error]
    old_manifest = _settle_superseded(w, removed, summary, old_manifest)
    _write_history(w, history)
    summary.changes = int(sum(len(h) for h in history))
    rebuild_ads(w.path)  # ads = the spend of record, one report kind per store × day × campaign
    _write_manifest(w, wh, ref, summary, quarantines, old_manifest, now)
    _derived_tables(w, summary)


def _set_version(fr: FileResult, f: Path, exported_at: dt.datetime | None) -> None:
    """A file's version: the export's own generation time when known, else its modification time."""
    if exported_at is not None:
        ts = pd.Timestamp(exported_at)
        ts = ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
        fr.exported_at = ts.isoformat()
        fr.version = int(ts.value // 1000)
        fr.version_basis = "exported_at"
    else:
        fr.version = int(f.stat().st_mtime_ns // 1000)
        fr.version_basis = "mtime"


def _read_all(todo: list, jobs: int):
    """Yield (item, read result) in order; at most ``2 × jobs`` files read ahead (bounded memory)."""
    if jobs <= 1 or len(todo) <= 8:
        for item in todo:
            yield item, _read_one(_args(item))
        return
    with ProcessPoolExecutor(max_workers=jobs) as ex:
        window: deque = deque()
        it = iter(todo)
        for item in it:
            window.append((item, ex.submit(_read_one, _args(item))))
            if len(window) >= 2 * jobs:
                break
        while window:
            item, fut = window.popleft()
            nxt = next(it, None)
            if nxt is not None:
                window.append((nxt, ex.submit(_read_one, _args(nxt))))
            yield item, fut.result()


def _read_staged(todo: list, ex: Executor, stage_root: Path) -> Iterator:
    """Yield (item, read result) in order, every file read as a work unit on ``ex`` and staged under
    ``stage_root`` (on the warehouse's filesystem); each staged result is loaded, then deleted."""
    units = [StageUnit(str(f), store_fields(s), str(stage_root / f"{i:06d}")) for i, (_, f, s) in enumerate(todo)]
    outcomes = ex.map(stage_file, units, retries=1) if units else []
    for item, unit, oc in zip(todo, units, outcomes):
        if not oc.ok:  # the unit itself failed (e.g. its worker died twice): the file is an error
            yield item, (unit.path, None, None, f"{unit.path}: the read task failed ({oc.error})")
            continue
        st: Staged = oc.value
        if st.error is not None or st.out_dir is None:
            yield item, (st.path, None, st.reader, st.error)
            continue
        res = load_staged(st.out_dir)
        shutil.rmtree(st.out_dir, ignore_errors=True)
        yield item, (st.path, res, st.reader, None)


def _args(item: tuple) -> tuple[str, str, dict]:
    _, f, s = item
    return str(f), s["store_id"], store_fields(s)


def _reference_changed(wh: Warehouse, ref: Reference) -> bool:
    p = wh.current / "reference_hashes.json"
    return not p.is_file() or p.read_text() != reference_hashes_json(ref)


def _reference_facts(ref: Reference, today: dt.date, seen_sha: dict, summary: IngestSummary, fx: pd.DataFrame) -> list[_Prepared]:
    """tickets.csv and activities.csv in data/reference are fact tables: ingest them like exports."""
    out = []
    rc = workbench().reporting_currency
    for name in REFERENCE_FACTS:
        f = ref.directory / f"{name}.csv"
        if not f.is_file():
            continue
        rel = f"reference/{f.name}"
        fr = FileResult(path=rel, store_id=None, reader=f"reference_{name}")
        fr.sha256 = sha256_file(f)
        summary.files.append(fr)
        if fr.sha256 in seen_sha:
            fr.unchanged = True
            fr.rows_read = fr.rows_duplicate = int(seen_sha[fr.sha256].get("rows_read", 0) or 0)
            continue
        try:
            df = pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except Exception as exc:  # noqa: BLE001
            fr.error = f"{f}: cannot be read as CSV ({exc})"
            continue
        fr.rows_read = len(df)
        _set_version(fr, f, None)
        df["source_row"] = np.arange(2, len(df) + 2)
        t = TABLES[name]
        missing = [c for c in t.required if c not in df.columns]
        if missing:
            fr.error = f"{f}: missing column(s) {', '.join(missing)}"
            continue
        q: list[QuarantineRow] = []
        for c, kind in t.columns.items():
            if kind in (DATE, TS) and c in df.columns:
                v = pd.to_datetime(df[c].replace("", None), errors="coerce")
                bad = v.isna() & (df[c] != "")
                q += [QuarantineRow(int(r), f"cannot parse {c}: {x!r} (expected ISO date/time)", c, {c: x})
                      for r, x in zip(df.loc[bad, "source_row"], df.loc[bad, c])]
        unknown = ~df["store_id"].isin(set(ref.stores["store_id"]))
        q += [QuarantineRow(int(r), f"unknown store {x!r} (not in reference/stores.csv)", "store_id", {"store_id": x})
              for r, x in zip(df.loc[unknown, "source_row"], df.loc[unknown, "store_id"])]
        bad_rows = {x.source_row for x in q}
        good = df[~df["source_row"].isin(bad_rows)]
        parts = []
        for sid, g in good.groupby("store_id"):
            store = ref.store(str(sid))
            sub = FileResult(path=rel, store_id=str(sid), reader=fr.reader, version=fr.version)
            res = ReadResult(tables={name: g}, rows_read=len(g))
            parts.append(prepare(sub, res, store, ref, fx, today, rc))
        tables = {name: pd.concat([p.tables[name] for p in parts if name in p.tables], ignore_index=True)} if parts else {}
        qdf = pd.concat([_quarantine_frame(name, "", fr.reader or "", rel, q)] + [p.quarantine for p in parts], ignore_index=True)
        out.append(_Prepared(fr, tables, qdf, np.arange(0), None, []))
    return out


def _row_hashes(df: pd.DataFrame, t, cache: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """A hash of a row's canonical values (lineage and FX columns excluded): equal = same version
    (``cache``: column hashes of ``df`` shared with ``_row_keys``)."""
    cols = [c for c in t.columns if c in df.columns]
    return hash_rows(df, cols, cache).view("int64")


def _dedup_and_count(prepared: list[_Prepared], existing: SeenKeys) -> None:
    """Classify every row against the keys loaded so far and fill the per-file counts.

    A row whose key is new is loaded; with the key already loaded it is a duplicate (same values),
    replaces the loaded row (newer or equal version: it is recorded in ``p.replaced``) or is
    superseded on arrival (older version: ``p.lost``). See the module docstring for the counts.
    """
    status_rows: list[dict[int, list[np.ndarray]]] = [{LOADED: [], DUPLICATE: [], SUPERSEDED: []} for _ in prepared]
    money = [0.0 for _ in prepared]
    for name, t in TABLES.items():
        for i, p in enumerate(prepared):
            df = p.tables.get(name)
            if df is None or not len(df):
                continue
            col_hashes: dict[str, np.ndarray] = {}  # each column hashed once for both
            df["row_key"] = _row_keys(df, t.key, col_hashes)
            df["row_hash"] = _row_hashes(df, t, col_hashes)
            df["row_version"] = np.int64(p.version)
            keys = df["row_key"].to_numpy()
            hashes = df["row_hash"].to_numpy()
            # the rows of each store (in order of first appearance; a file holds one store's rows)
            if _one_value(df["store_id"]):  # one store (the usual case): what factorize would find
                codes, store_ids = np.zeros(len(df), np.int64), [df["store_id"].iloc[0]]
            else:
                codes, store_ids = pd.factorize(df["store_id"], use_na_sentinel=False)
            status = np.zeros(len(df), dtype=np.int8)
            replaces = np.zeros(len(df), dtype=bool)
            confirms = np.zeros(len(df), dtype=bool)
            v = int(p.version)
            for c, sid in enumerate(store_ids):
                at = np.flatnonzero(codes == c) if len(store_ids) > 1 else np.arange(len(df))
                status[at], replaces[at], confirms[at] = existing.get(name, str(sid)).classify(keys[at], hashes[at], v)
            src = df["source_row"].to_numpy(dtype="int64")
            for code in (LOADED, DUPLICATE, SUPERSEDED):
                status_rows[i][code].append(src[status == code])
            for tname, col, sign in p.money:
                if tname == name and col in df.columns:
                    money[i] += sign * float(df[col].sum())
            if replaces.any():
                p.replaced[name] = df.loc[replaces]
            if (status == SUPERSEDED).any():
                p.lost[name] = df.loc[status == SUPERSEDED]
            if confirms.any():
                p.confirmed[name] = df.loc[confirms, ["store_id", "row_key"]]
            if (status != LOADED).any():  # (all loaded, the usual case: no copy)
                p.tables[name] = df.loc[status == LOADED]

    for i, p in enumerate(prepared):
        q_rows = p.quarantine["source_row"].astype("int64").to_numpy() if len(p.quarantine) else np.array([], "int64")
        fr = p.fr
        fr.rows_quarantined, fr.rows_loaded, fr.rows_superseded, fr.rows_duplicate = _source_row_counts(
            status_rows[i], q_rows)
        unaccounted = fr.rows_read - fr.rows_loaded - fr.rows_quarantined - fr.rows_duplicate - fr.rows_superseded
        if unaccounted != 0:
            fr.error = (f"{fr.path}: reader {fr.reader} accounted for {fr.rows_read - unaccounted} of "
                        f"{fr.rows_read} rows (bug in the reader: every row must be loaded or quarantined)")
        if p.expected is not None:
            fr.reconciliation = {
                "expected": round(float(p.expected), 2),
                "loaded": round(money[i], 2),
                "difference": round(float(p.expected) - money[i], 2),
            }
        dates = []
        for name, df in p.tables.items():
            dc = TABLES[name].date_column
            if dc and len(df):
                dates += [df[dc].min(), df[dc].max()]
        dates = [d for d in dates if pd.notna(d)]
        if dates:
            fr.min_date, fr.max_date = str(min(dates).date()), str(max(dates).date())


def _source_row_counts(by_status: dict[int, list[np.ndarray]], quarantined: np.ndarray) -> tuple[int, int, int, int]:
    """(quarantined, loaded, superseded, duplicate) distinct source rows: a source row counts once,
    quarantined before loaded (any of its rows live) before superseded before duplicate. Marks in
    one boolean array over the rows' range (no sorting); set operations when the range is sparse."""
    parts = {code: [a for a in by_status[code] if len(a)] for code in (LOADED, SUPERSEDED, DUPLICATE)}
    every = [a for v in parts.values() for a in v] + ([quarantined] if len(quarantined) else [])
    if not every:
        return 0, 0, 0, 0
    lo = min(int(a.min()) for a in every)
    size = max(int(a.max()) for a in every) - lo + 1
    if size > 4 * sum(len(a) for a in every) + 1_000_000:  # sparse row numbers: sorted sets
        def rows(code: int) -> np.ndarray:
            return np.unique(np.concatenate(parts[code])) if parts[code] else np.array([], "int64")
        q = np.unique(quarantined)
        loaded = np.setdiff1d(rows(LOADED), q)
        sup = np.setdiff1d(np.setdiff1d(rows(SUPERSEDED), loaded), q)
        dups = np.setdiff1d(np.setdiff1d(np.setdiff1d(rows(DUPLICATE), loaded), sup), q)
        return len(q), len(loaded), len(sup), len(dups)

    def mark(arrays: list[np.ndarray]) -> np.ndarray:
        m = np.zeros(size, dtype=bool)
        for a in arrays:
            m[a - lo] = True
        return m

    q = mark([quarantined] if len(quarantined) else [])
    loaded = mark(parts[LOADED]) & ~q
    sup = mark(parts[SUPERSEDED]) & ~loaded & ~q
    dups = mark(parts[DUPLICATE]) & ~loaded & ~sup & ~q
    return int(q.sum()), int(loaded.sum()), int(sup.sum()), int(dups.sum())


def _fmt_values(s: pd.Series, kind: str) -> pd.Series:
    """Values as text for comparison and for change_history (null stays null)."""
    if kind in (DATE, TS):
        d = pd.to_datetime(s, errors="coerce")
        out = d.dt.strftime("%Y-%m-%d" if kind == DATE else "%Y-%m-%dT%H:%M:%S")
    elif kind == INT:
        out = pd.to_numeric(s, errors="coerce").astype("Int64").astype("string")
    elif kind == FLT:
        out = pd.to_numeric(s, errors="coerce").map(lambda x: None if pd.isna(x) else repr(float(x)))
    else:
        out = s.astype("string")
    return out.astype("string").reset_index(drop=True)


def _version_ts(v: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.to_numeric(v, errors="coerce"), unit="us")


def _apply_versions(w: WarehouseWriter, p: _Prepared, now: str, history: list[pd.DataFrame],
                    removed: list[pd.DataFrame]) -> None:
    """Latest version wins: remove the rows this file replaces from the staging Parquet parts, and
    record one change_history row per changed column for every replaced or superseded row.

    Must run before this file's rows are written (they share the replaced rows' keys). Only the
    parts holding a replaced key are rewritten; they are staging copies (hard links are replaced,
    never written through), so the live snapshot is untouched until the transaction publishes.
    """
    if p.fr.error:
        return
    for name, conf in sorted(p.confirmed.items()):
        _confirm_rows(w, name, conf, int(p.version))
    for name in sorted(set(p.replaced) | set(p.lost)):
        t = TABLES[name]
        both = [(p.replaced.get(name), True), (p.lost.get(name), False)]
        # (never concatenate an empty frame: the int64 row keys would become floats)
        inc = pd.concat([df.assign(_won=won) for df, won in both if df is not None and len(df)], ignore_index=True)
        for sid, g, con, parts_sql in _store_parts(w, name, inc):
            old = con.execute(f"SELECT *, filename AS _part FROM {parts_sql} WHERE row_key IN (SELECT k FROM _k)").df()
            won_keys = g.loc[g["_won"], "row_key"].astype("int64")
            drop = old[old["row_key"].isin(won_keys)]
            if len(drop):
                con.register("_d", pd.DataFrame({"k": drop["row_key"].astype("int64").to_numpy()}))
                for part in sorted(set(drop["_part"])):
                    keep = con.execute(f"SELECT count(*) FROM read_parquet('{part}', hive_partitioning=false) "
                                       "WHERE row_key NOT IN (SELECT k FROM _d)").fetchone()[0]
                    if keep:
                        _rewrite_part(con, part, f"SELECT * FROM read_parquet('{part}', hive_partitioning=false) "
                                                 "WHERE row_key NOT IN (SELECT k FROM _d)")
                    else:
                        Path(part).unlink()
                removed.append(pd.DataFrame({
                    "store_id": sid, "source_file": drop["source_file"].astype(str).to_numpy(),
                    "source_row": drop["source_row"].astype("int64").to_numpy(),
                    "row_version": pd.to_numeric(drop["row_version"], errors="coerce").astype("Int64").to_numpy(),
                }))
            history.append(_history_rows(t, sid, g, old, p, now))


def _confirm_rows(w: WarehouseWriter, name: str, conf: pd.DataFrame, version: int) -> None:
    """Record that a newer export (``version``) repeated these loaded rows unchanged: their
    ``row_confirmed`` becomes that version, so an older export read in a later run cannot replace them.
    Only the staging parts holding those keys are rewritten (lineage and counts stay as they are)."""
    for _sid, _g, con, parts_sql in _store_parts(w, name, conf):
        parts = [r[0] for r in con.execute(
            f"SELECT DISTINCT filename FROM {parts_sql} WHERE row_key IN (SELECT k FROM _k) ORDER BY 1").fetchall()]
        for part in parts:
            src = f"read_parquet('{part}', hive_partitioning=false)"
            cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
            new = (f"CASE WHEN row_key IN (SELECT k FROM _k) THEN greatest(coalesce(row_confirmed, {version}), "
                   f"{version}) ELSE row_confirmed END")
            sel = (f"SELECT * REPLACE ({new} AS row_confirmed)" if "row_confirmed" in cols
                   else f"SELECT *, CAST(CASE WHEN row_key IN (SELECT k FROM _k) THEN {version} END AS BIGINT) "
                        "AS row_confirmed")
            _rewrite_part(con, part, f"{sel} FROM {src}")


def _store_parts(w: WarehouseWriter, name: str, rows: pd.DataFrame
                 ) -> Iterator[tuple[str, pd.DataFrame, duckdb.DuckDBPyConnection, str]]:
    """Per store of ``rows`` that has staged parts of table ``name``: the store, its rows, a connection
    holding their keys as table ``_k`` (closed after), and ``read_parquet`` over the store's parts
    (columns by name, each row's file in ``filename``)."""
    for sid, g in rows.groupby(rows["store_id"].astype(str), sort=True):
        files = sorted((w.path / name / f"store_id={sid}").glob("*.parquet"))
        if not files:
            continue
        flist = "[" + ", ".join(f"'{f.as_posix()}'" for f in files) + "]"
        con = duckdb.connect()
        try:
            con.register("_k", pd.DataFrame({"k": g["row_key"].astype("int64").to_numpy()}))
            yield str(sid), g, con, f"read_parquet({flist}, filename=true, hive_partitioning=false, union_by_name=true)"
        finally:
            con.close()


def _rewrite_part(con: duckdb.DuckDBPyConnection, part: str, select: str) -> None:
    """Replace one staged part by ``select`` (a query over it), written to a new file: the part may be a hard
    link of the live snapshot's, which must not be written through."""
    tmp = Path(part).with_suffix(".rewrite")
    con.execute(f"COPY ({select}) TO '{tmp.as_posix()}' (FORMAT parquet)")
    os.replace(tmp, part)


def _history_rows(t, sid: str, inc: pd.DataFrame, old: pd.DataFrame, p: _Prepared, now: str) -> pd.DataFrame:
    """One row per changed column between the loaded (old) and the incoming rows of the same keys."""
    m = inc.reset_index(drop=True).merge(old.reset_index(drop=True), on="row_key", suffixes=("", "__old"))
    if m.empty:
        return pd.DataFrame(columns=list(CHANGE_HISTORY_COLUMNS))
    won = m["_won"].to_numpy(dtype=bool)
    inc_file = pd.Series(p.fr.path, index=m.index).reset_index(drop=True)
    old_file = m["source_file__old"].astype("string").reset_index(drop=True)
    inc_ver = _version_ts(pd.Series(p.version, index=m.index)).reset_index(drop=True)
    old_v = pd.to_numeric(m["row_version__old"], errors="coerce") if "row_version__old" in m.columns \
        else pd.Series(np.nan, index=m.index)
    # a newer export repeated the loaded row: that version (row_confirmed, a column of loaded rows only) is
    # the one it won or lost with
    if "row_confirmed" in old.columns:
        old_v = np.fmax(old_v, pd.to_numeric(m["row_confirmed"], errors="coerce"))
    old_ver = _version_ts(old_v).reset_index(drop=True)
    key_cols = [c for c in t.key if c != "store_id"]
    natural = pd.Series([json.dumps({c: (None if pd.isna(v) else str(v)[:10] if isinstance(v, pd.Timestamp) else str(v))
                                     for c, v in zip(key_cols, vals)}, ensure_ascii=False)
                         for vals in m[key_cols].itertuples(index=False, name=None)])
    out = []
    for c, kind in t.columns.items():
        if c == "store_id" or c in t.key:
            continue
        new_c = m[c] if c in m.columns else pd.Series([None] * len(m))
        old_c = m[f"{c}__old"] if f"{c}__old" in m.columns else pd.Series([None] * len(m))
        a, b = _fmt_values(old_c, kind), _fmt_values(new_c, kind)
        diff = ~((a.isna() & b.isna()) | (a == b).fillna(False)).to_numpy(dtype=bool)
        if not diff.any():
            continue
        out.append(pd.DataFrame({
            "table": t.name, "store_id": sid, "natural_key": natural[diff].to_numpy(), "column": c,
            # old = the losing version, new = the winning one
            "old_value": np.where(won, a, b)[diff], "new_value": np.where(won, b, a)[diff],
            "old_file": np.where(won, old_file, inc_file)[diff], "new_file": np.where(won, inc_file, old_file)[diff],
            "old_version": np.where(won, old_ver, inc_ver)[diff], "changed_at": np.where(won, inc_ver, old_ver)[diff],
            "ingested_at": now,
        }))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=list(CHANGE_HISTORY_COLUMNS))


def _settle_superseded(w: WarehouseWriter, removed: list[pd.DataFrame], summary: IngestSummary,
                       old_manifest: pd.DataFrame) -> pd.DataFrame:
    """Move source rows whose every loaded row was replaced from ``rows_loaded`` to ``rows_superseded``.

    Applies to this run's files (their FileResult) and earlier runs' files (their manifest row,
    returned updated), so each file's counts keep adding up and describe what is live.
    """
    if not removed:
        return old_manifest
    cand = pd.concat(removed, ignore_index=True).drop_duplicates()
    con = w.connect()
    try:
        live = []
        for name in TABLES:
            cols = {r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()}
            if "row_version" in cols:
                live.append(f'SELECT CAST(store_id AS VARCHAR) AS store_id, source_file, source_row, row_version FROM "{name}"')
        con.register("_cand", cand)
        gone = con.execute(
            "SELECT c.source_file, c.row_version, count(*) AS n FROM (SELECT DISTINCT * FROM _cand) c "
            f"WHERE NOT EXISTS (SELECT 1 FROM ({' UNION ALL '.join(live)}) l WHERE l.store_id = c.store_id "
            "AND l.source_file = c.source_file AND l.source_row = c.source_row "
            "AND l.row_version IS NOT DISTINCT FROM c.row_version) GROUP BY 1, 2"
        ).df()
    finally:
        con.close()
    man = old_manifest.copy()
    if len(man):
        for c in ("rows_superseded", "version"):
            if c not in man.columns:
                man[c] = 0 if c == "rows_superseded" else np.nan
        man["rows_superseded"] = pd.to_numeric(man["rows_superseded"], errors="coerce").fillna(0).astype("int64")
    for path, ver, n in gone.itertuples(index=False, name=None):
        ver = None if pd.isna(ver) else int(ver)
        n = int(n)
        mine = [f for f in summary.files if f.path == path and not f.unchanged and not f.error and f.version == ver]
        if mine:
            mine[-1].rows_loaded -= n
            mine[-1].rows_superseded += n
            continue
        if len(man):
            vv = pd.to_numeric(man["version"], errors="coerce")
            hit = (man["path"] == path) & ((vv == ver) if ver is not None else vv.isna())
            if hit.any():
                ix = man.index[hit][-1]
                man.loc[ix, "rows_loaded"] = int(man.loc[ix, "rows_loaded"]) - n
                man.loc[ix, "rows_superseded"] = int(man.loc[ix, "rows_superseded"]) + n
    return man


def _write_history(w: WarehouseWriter, history: list[pd.DataFrame]) -> None:
    """Append this run's changes to ``change_history`` (a folder of parts: nothing old is rewritten)."""
    import uuid

    h = [x for x in history if len(x)]
    if not h:
        return
    df = pd.concat(h, ignore_index=True).reindex(columns=list(CHANGE_HISTORY_COLUMNS))
    d = w.path / "change_history"
    d.mkdir(exist_ok=True)
    con = duckdb.connect()
    try:
        con.register("_h", df)
        cols = ", ".join(f'CAST("{c}" AS {sql_type(k) or "VARCHAR"}) AS "{c}"' for c, k in CHANGE_HISTORY_COLUMNS.items())
        con.execute(f"COPY (SELECT {cols} FROM _h) TO '{(d / f'part-{uuid.uuid4().hex[:12]}.parquet').as_posix()}' "
                    "(FORMAT parquet)")
    finally:
        con.close()


#: loaded rows buffered before a write (1 = one part per file, as before the buffer)
PENDING_ROWS = 200_000


class PendingParts:
    """Loaded rows waiting to be written: one Parquet part per table × store for many files instead
    of one per file (a part per file costs a COPY each and leaves thousands of small parts).

    The staging Parquet must hold every loaded row whenever something reads it, so the caller
    flushes before a file that replaces or supersedes rows (``_apply_versions`` rewrites the
    parts holding them), before a file of another store (``SeenKeys`` re-reads that store's keys
    from Parquet), and at the end; ``add`` flushes by itself past ``max_rows`` (memory bound).
    """

    def __init__(self, w: WarehouseWriter, max_rows: int | None = None) -> None:
        self.w = w
        self.max_rows = PENDING_ROWS if max_rows is None else max_rows
        self.files: list[_Prepared] = []
        self.rows = 0
        self.stores: set[str] = set()
        self.con: duckdb.DuckDBPyConnection | None = None

    def holds_other_stores(self, p: _Prepared) -> bool:
        """True when rows of a store other than ``p``'s stores are waiting."""
        if not self.files:
            return False
        mine = {str(x) for df in p.tables.values() if len(df) for x in pd.unique(df["store_id"])}
        return bool(mine) and mine != self.stores

    def add(self, p: _Prepared) -> None:
        if p.fr.error:
            return
        n = sum(len(df) for df in p.tables.values())
        if not n:
            return
        self.files.append(p)
        self.rows += n
        self.stores |= {str(x) for df in p.tables.values() if len(df) for x in pd.unique(df["store_id"])}
        if self.rows >= self.max_rows:
            self.flush()

    def flush(self) -> None:
        if self.files:
            if self.con is None:
                self.con = _write_connection()
            _write_tables(self.w, self.files, self.con)
        self.files, self.rows, self.stores = [], 0, set()

    def close(self) -> None:
        """Flush, and close the connection."""
        self.flush()
        if self.con is not None:
            self.con.close()
            self.con = None


def _write_connection() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for ``_write_tables``, on one thread: a flush writes at most
    ``PENDING_ROWS`` rows, one or two Parquet row groups per table, which DuckDB's threads barely
    share (measured at scale 5 on 2 cores: the same wall time, ~15 % less CPU than the default)."""
    con = duckdb.connect()
    con.execute("SET threads = 1")
    return con


def _write_tables(w: WarehouseWriter, prepared: list[_Prepared], con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Append the new rows of these files to the staging snapshot as new Parquet parts.

    Each store partition is a folder of parts (hard links of the live snapshot's parts plus the new
    ones), so nothing already written is read or rewritten (except the few parts holding rows a
    newer version replaces: ``_apply_versions``). ``con``: a connection to reuse (opening one
    costs ~0.1 s on a busy machine); without it one is opened for the call.
    """
    own = con is None
    con = _write_connection() if con is None else con
    try:
        for name, t in TABLES.items():
            new = [p.tables[name] for p in prepared if name in p.tables and len(p.tables[name]) and not p.fr.error]
            if not new:
                continue
            df = pd.concat(new, ignore_index=True).reindex(columns=list(t.all_columns) + list(ROW_META))
            con.register("new_rows", df)
            for sid in sorted(df["store_id"].unique()):
                part = w.path / name / f"store_id={sid}"
                part.mkdir(parents=True, exist_ok=True)
                target = part / f"part-{uuid.uuid4().hex[:12]}.parquet"
                con.execute(f"COPY ({_select_cast(t, 'new_rows', f'store_id = {_sql_str(sid)}')}) "
                            f"TO '{target.as_posix()}' (FORMAT parquet)")
            con.unregister("new_rows")
    finally:
        if own:
            con.close()


def _sql_str(v: str) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def _write_manifest(w: WarehouseWriter, wh: Warehouse, ref: Reference, summary: IngestSummary,
                    quarantines: list[pd.DataFrame], old_man: pd.DataFrame | None = None, now: str | None = None) -> None:
    """Manifest, quarantine and reference tables (small: rewritten whole).

    ``old_man`` is the previous manifest with earlier files' counts already updated for rows this
    run superseded (``_settle_superseded``).
    """
    now = now or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    man_rows = []
    for f in summary.files:
        if f.unchanged or f.error or not f.sha256:
            continue
        rec = f.reconciliation or {}
        man_rows.append({
            "path": f.path, "sha256": f.sha256, "store_id": f.store_id or "", "reader": f.reader or "",
            "rows_read": f.rows_read, "rows_loaded": f.rows_loaded, "rows_quarantined": f.rows_quarantined,
            "rows_duplicate": f.rows_duplicate, "expected": rec.get("expected"), "loaded": rec.get("loaded"),
            "difference": rec.get("difference"), "ingested_at": now, "min_date": f.min_date, "max_date": f.max_date,
            "rows_superseded": f.rows_superseded, "exported_at": f.exported_at, "version": f.version,
            "version_basis": f.version_basis,
        })
    if old_man is None:
        old_man = wh.read("manifest") if wh.exists() and wh.has("manifest") else None
    man = pd.DataFrame(man_rows)
    if old_man is not None and len(old_man):
        man = pd.concat([old_man, man], ignore_index=True) if len(man) else old_man
    if len(man):
        man = man.reindex(columns=list(MANIFEST_COLUMNS))
        man["rows_superseded"] = pd.to_numeric(man["rows_superseded"], errors="coerce").fillna(0)
        for c, k in MANIFEST_COLUMNS.items():
            if k == INT:
                man[c] = pd.to_numeric(man[c], errors="coerce").astype("Int64")
            elif k == FLT:
                man[c] = pd.to_numeric(man[c], errors="coerce").astype("float64")
            else:
                man[c] = man[c].astype("string")
        w.write("manifest", man, partition_by=())
    qs = quarantines
    old_q = wh.read("quarantine") if wh.exists() and wh.has("quarantine") else None
    if qs or old_q is not None:
        q = pd.concat(([old_q] if old_q is not None else []) + qs, ignore_index=True)
        q = q.reindex(columns=list(QUARANTINE_COLUMNS))
        q["source_row"] = pd.to_numeric(q["source_row"], errors="coerce").astype("Int64")
        w.write("quarantine", q, partition_by=())
    for stem in SPECS:  # a reference file removed since the last run must not linger in the snapshot
        if stem not in ref.tables:
            w.drop(stem)
    for stem, df in ref.tables.items():
        w.write(stem, df, partition_by=())
    (w.path / "reference_hashes.json").write_text(reference_hashes_json(ref))


# ---------------------------------------------------------------------------------------------
# Derived tables: rebuilt from the canonical tables at the end of every ingest, inside the same
# transaction (so they always describe exactly the snapshot they are in). ONE place builds them.
def _derived_tables(w: WarehouseWriter, summary: IngestSummary | None = None) -> None:
    """Rebuild the post-ingest derived tables in the staging snapshot, in dependency order:

    1. source-of-record tables (e.g. ``ads`` chosen among the ads report kinds): a hook that
       rewrites a canonical table goes FIRST, before the connection below is opened, since
       coverage counts the ``ads`` table;
    2. ``sku_registry`` and ``data_gaps`` (master-data gaps: SKUs first seen in data);
    3. ``coverage`` (store × month × source kind), last: it reads all of the above.

    The coverage and the per-store gap summary are also put on ``summary`` (printed after ingest).
    """
    con = w.connect()
    try:
        _sku_tables(con, w)
        cov = build_coverage(con)
        con.register("_cov", cov)
        w.write_sql("coverage", con, "SELECT CAST(store_id AS VARCHAR) AS store_id, CAST(month AS VARCHAR) AS month, "
                    "CAST(source AS VARCHAR) AS source, CAST(rows AS BIGINT) AS rows, CAST(first_date AS DATE) AS first_date, "
                    "CAST(last_date AS DATE) AS last_date, CAST(share AS DOUBLE) AS share FROM _cov")
        if summary is not None:
            summary.coverage = con.execute("SELECT * FROM _cov").df()
            summary.data_gaps = _records(gap_summary(con, "_gaps"))
    finally:
        con.close()


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in df.to_dict("records")]


# (table, sku expression, date column) of every canonical table that names a SKU
_SKU_SOURCES = (
    ("orders", "sku", "order_date"), ("refunds", "sku", "date"), ("fees", "sku", "date"),
    ("settlement_lines", "sku", "posted_date"), ("ads", "coalesce(nullif(sku, ''), nullif(asin, ''))", "date"),
    ("traffic", "sku", "date"), ("inventory", "sku", "date"),
)


def _sku_tables(con: duckdb.DuckDBPyConnection, w: WarehouseWriter) -> None:
    """``sku_registry``: every store × SKU seen in data (first/last date seen, first file, which
    tables, whether it is in reference/skus.csv and has a unit cost); ``data_gaps``: per store ×
    month, the SKUs without master data (``gap = 'no_master'``) or without a unit cost
    (``'no_cost'``) with their sales (non-cancelled order lines, reporting currency) and share of
    the store's sales that month (null when the month has no sales: missing is not zero)."""
    existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    parts = []
    for table, sku, dcol in _SKU_SOURCES:
        cols = {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
        if dcol not in cols:
            continue
        asin = "asin" if "asin" in cols else "NULL::VARCHAR"
        parts.append(
            f"SELECT CAST(store_id AS VARCHAR) AS store_id, CAST({sku} AS VARCHAR) AS sku, CAST({asin} AS VARCHAR) AS asin, "
            f"CAST({dcol} AS DATE) AS d, source_file, '{table}' AS tbl FROM \"{table}\""
        )
    master = "SELECT CAST(sku AS VARCHAR) AS sku FROM skus" if "skus" in existing else "SELECT NULL::VARCHAR AS sku WHERE false"
    costed = []
    if "sku_costs" in existing:
        costed.append("SELECT CAST(sku AS VARCHAR) AS sku FROM sku_costs WHERE unit_cogs IS NOT NULL")
    if "skus" in existing:
        costed.append("SELECT CAST(sku AS VARCHAR) AS sku FROM skus WHERE unit_cogs IS NOT NULL")
    costed_sql = " UNION ".join(costed) if costed else "SELECT NULL::VARCHAR AS sku WHERE false"
    con.execute(
        "CREATE TEMP TABLE _seen AS SELECT store_id, sku, strftime(d, '%Y-%m') AS month, tbl, max(asin) AS asin, "
        "min(d) AS first_d, max(d) AS last_d, "
        "min(coalesce(strftime(d, '%Y-%m-%d'), '9999-12-31') || '|' || source_file) AS first_key "
        f"FROM ({' UNION ALL '.join(parts)}) WHERE sku IS NOT NULL AND trim(sku) <> '' GROUP BY ALL"
    )
    con.execute(
        "CREATE TEMP TABLE _reg AS SELECT s.store_id, s.sku, max(s.asin) AS asin, min(s.first_d) AS first_seen, "
        "max(s.last_d) AS last_seen, substr(min(s.first_key), 12) AS first_file, "
        "string_agg(DISTINCT s.tbl, ',' ORDER BY s.tbl) AS tables, "
        f"bool_or(m.sku IS NOT NULL) AS in_master, bool_or(c.sku IS NOT NULL) AS has_cost "
        f"FROM _seen s LEFT JOIN (SELECT DISTINCT sku FROM ({master})) m ON m.sku = s.sku "
        f"LEFT JOIN (SELECT DISTINCT sku FROM ({costed_sql})) c ON c.sku = s.sku GROUP BY s.store_id, s.sku"
    )
    w.write_sql("sku_registry", con, "SELECT * FROM _reg ORDER BY store_id, sku")
    con.execute(
        "CREATE TEMP TABLE _gaps AS WITH sales AS (SELECT CAST(store_id AS VARCHAR) AS store_id, strftime(CAST(order_date AS DATE), '%Y-%m') AS month, "
        "CAST(sku AS VARCHAR) AS sku, count(*) AS order_lines, sum(quantity) AS units, "
        f"{money_sum('gross_sales_rc')} AS sales_rc "
        "FROM orders WHERE status IS DISTINCT FROM 'cancelled' GROUP BY ALL), "
        f"tot AS (SELECT store_id, month, {money_sum('sales_rc')} AS month_sales_rc FROM sales GROUP BY ALL), "
        "months AS (SELECT DISTINCT store_id, month, sku FROM _seen WHERE month IS NOT NULL) "
        "SELECT m.store_id, m.month, m.sku, CASE WHEN r.in_master THEN 'no_cost' ELSE 'no_master' END AS gap, "
        "CAST(coalesce(s.order_lines, 0) AS BIGINT) AS order_lines, CAST(coalesce(s.units, 0) AS BIGINT) AS units, "
        "CAST(coalesce(s.sales_rc, 0) AS DOUBLE) AS sales_rc, CAST(t.month_sales_rc AS DOUBLE) AS month_sales_rc, "
        "CASE WHEN t.month_sales_rc <> 0 THEN coalesce(s.sales_rc, 0) / t.month_sales_rc END AS share "
        "FROM months m JOIN _reg r ON r.store_id = m.store_id AND r.sku = m.sku "
        "LEFT JOIN sales s ON s.store_id = m.store_id AND s.month = m.month AND s.sku = m.sku "
        "LEFT JOIN tot t ON t.store_id = m.store_id AND t.month = m.month "
        "WHERE NOT r.in_master OR NOT r.has_cost ORDER BY m.store_id, m.month, m.sku"
    )
    w.write_sql("data_gaps", con, "SELECT * FROM _gaps ORDER BY store_id, month, sku")


def gap_summary(con: duckdb.DuckDBPyConnection, table: str = "data_gaps") -> pd.DataFrame:
    """Per store: SKUs without master data / without cost and the share of all its sales they hold."""
    return con.execute(
        f"WITH tot AS (SELECT CAST(store_id AS VARCHAR) AS store_id, {money_sum('gross_sales_rc')} AS sales FROM orders "
        "WHERE status IS DISTINCT FROM 'cancelled' GROUP BY 1) "
        "SELECT g.store_id, count(DISTINCT CASE WHEN gap = 'no_master' THEN sku END) AS skus_no_master, "
        "count(DISTINCT CASE WHEN gap = 'no_cost' THEN sku END) AS skus_no_cost, "
        "CASE WHEN max(t.sales) <> 0 THEN sum(CASE WHEN gap = 'no_master' THEN sales_rc ELSE 0 END) / max(t.sales) END "
        "AS sales_share_no_master, "
        "CASE WHEN max(t.sales) <> 0 THEN sum(CASE WHEN gap = 'no_cost' THEN sales_rc ELSE 0 END) / max(t.sales) END "
        "AS sales_share_no_cost "
        f"FROM {table} g LEFT JOIN tot t ON t.store_id = g.store_id GROUP BY 1 ORDER BY 1"
    ).df()


def _attach_derived(summary: IngestSummary, wh: Warehouse) -> None:
    """Put the live snapshot's coverage and data-gap summary on the ingest summary (for printing/JSON)."""
    if not wh.exists():
        return
    con = wh.connect()
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        summary.coverage = con.execute("SELECT * FROM coverage").df() if "coverage" in tables else build_coverage(con)
        if "data_gaps" in tables:
            summary.data_gaps = _records(gap_summary(con))
    finally:
        con.close()


def _select_cast(t, src: str, where: str) -> str:
    parts = []
    for c, k in list(t.all_columns.items()) + list(ROW_META.items()):
        if c == "store_id":
            continue  # hive partition column
        parts.append(f'CAST("{c}" AS {sql_type(k) or "VARCHAR"}) AS "{c}"')
    return f"SELECT {', '.join(parts)} FROM {src} WHERE {where}"
