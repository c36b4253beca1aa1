"""The ingest pipeline: raw exports → validated canonical tables in an atomic warehouse snapshot.

For every file under ``RAW_DIR/<store_id>/**``:

1. the store's platform, currency and time zone come from reference/stores.csv;
2. a reader is chosen by sniffing the file's header and content (``base.readers()``);
3. the reader returns canonical rows (source currency, marketplace-local dates) and the rows it
   could not parse (quarantined with reason);
4. rows are validated with pandera (all failures of a file at once) plus reference checks (unknown
   SKU, future date); failing source rows are quarantined with the original values;
5. money is converted once to the reporting currency with the month's FX rate (recorded in
   ``fx_rate``); a missing rate is an error naming currency and month;
6. rows are de-duplicated on natural keys (plus the occurrence number of an identical key inside a
   file, so legitimately repeated lines survive) against the warehouse and the other files;
7. counts are recorded per file: ``rows_read = rows_loaded + rows_quarantined + rows_duplicate``,
   with the file's money reconciliation, in the manifest inside the snapshot.

Everything is written in one ``Warehouse.transaction()``: a crash leaves the previous snapshot live.
A file whose sha256 is already in the manifest is not read again, so re-ingesting changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pandera.errors as pa_errors

from .. import paths
from ..config import workbench
from ..errors import IngestError, KpiError
from ..reference import Reference, load_reference, reference_hashes_json
from ..schemas import DATE, QUARANTINE_COLUMNS, TABLES, TS, conform, pandera_schema
from ..warehouse import Warehouse, WarehouseWriter
from .ads_record import rebuild_ads
from .base import QuarantineRow, ReadResult, Reader, Store, file_head, readers

REFERENCE_FACTS = ("tickets", "activities")  # reference CSVs that are fact tables


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
    reconciliation: dict | None = None
    error: str | None = None
    sha256: str = ""
    unchanged: bool = False
    min_date: str | None = None
    max_date: str | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("sha256")
        d.pop("min_date")
        d.pop("max_date")
        return d


@dataclass
class IngestSummary:
    files: list[FileResult] = field(default_factory=list)
    warehouse: str = ""
    snapshot: str | None = None
    seconds: float = 0.0

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
        return {"files": [f.to_json() for f in self.files], "warehouse": self.warehouse, "snapshot": self.snapshot}


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


def detect(path: Path, store: Store) -> Reader:
    """The reader that recognises this file (by header and content) for the store's platform."""
    head = file_head(path)
    if not head.raw:
        raise IngestError(f"{path}: file is empty (expected a platform export with a header row)")
    if head.xlsx_rows is None and not head.text.strip():
        raise IngestError(f"{path}: not a text or xlsx file (binary content); expected CSV/TSV/xlsx")
    candidates = readers()
    for r in candidates:
        if r.platforms and store.platform not in r.platforms:
            continue
        try:
            ok = r.sniff(head)
        except Exception:  # noqa: BLE001 - a sniffer failing means "not mine"
            ok = False
        if ok:
            return r
    expected = ", ".join(sorted({r.name for r in candidates if not r.platforms or store.platform in r.platforms}))
    first = head.lines[0][:120] if head.lines else (str(head.xlsx_rows[0])[:120] if head.xlsx_rows else "")
    raise IngestError(
        f"{path}: no reader recognises this file for a {store.platform} store "
        f"(header starts {first!r}); expected one of: {expected}; "
        "for a new export add a mapping in parameters/mappings/"
    )


def _read_one(args: tuple[str, str, dict]) -> tuple[str, ReadResult | None, str | None, str | None]:
    """Worker: detect and read one file. Returns (path, result, reader name, error)."""
    path_s, store_id, store_d = args
    path = Path(path_s)
    store = Store(**store_d)
    try:
        reader = detect(path, store)
        res = reader.read(path, store)
        return path_s, res, reader.name, None
    except KpiError as exc:
        return path_s, None, None, str(exc)
    except Exception as exc:  # noqa: BLE001 - unreadable input must not stop the other files
        if os.environ.get("KPI_DEBUG"):
            raise
        return path_s, None, None, f"{path}: cannot be read ({type(exc).__name__}: {exc})\n" + traceback.format_exc(limit=3)


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
            today: dt.date) -> _Prepared:
    """Validate, check references, convert money; quarantine failing source rows."""
    rc = workbench().reporting_currency
    qrows: list[QuarantineRow] = list(res.quarantine)
    known_skus = ref.known_skus()
    tables: dict[str, pd.DataFrame] = {}
    for name, df in res.tables.items():
        if name not in TABLES:
            raise IngestError(f"reader {fr.reader} produced unknown table {name!r}")
        t = TABLES[name]
        if df is None or df.empty:
            continue
        df = df.copy()
        for k in ("platform", "store_id", "marketplace"):
            if k in t.columns and (k not in df.columns or df[k].isna().all()):
                df[k] = store.get(k, "")
        df["store_id"] = store["store_id"]
        if "currency" in t.columns:
            if "currency" not in df.columns:
                df["currency"] = store["currency"]
            cur = df["currency"].fillna(store["currency"]).astype(str).str.strip().str.upper()
            cur = cur.where(cur != "", store["currency"])
            wrong = cur != store["currency"]
            if wrong.any():
                row = int(df.loc[wrong, "source_row"].iloc[0]) if "source_row" in df.columns else 0
                raise IngestError(
                    f"{fr.path}: row {row}, column currency: {cur[wrong].iloc[0]!r} contradicts store "
                    f"{store['store_id']} whose currency is {store['currency']} (reference/stores.csv)"
                )
            df["currency"] = cur
        df["source_file"] = fr.path
        src = df["source_row"].astype("int64").to_numpy()
        df = conform(df, dict(t.columns) | {"source_file": "string", "source_row": "int64"})
        # pandera: every failure of the file at once
        try:
            pandera_schema(name).validate(df, lazy=True)
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
            d = df[t.date_column]
            fut = d.notna() & (d > pd.Timestamp(today) + pd.Timedelta(days=1))
            for r, v in zip(df.loc[fut, "source_row"], d[fut]):
                qrows.append(QuarantineRow(int(r), f"{t.date_column} {v.date()} is in the future", t.date_column))
            old = d.notna() & (d < pd.Timestamp("2000-01-01"))
            for r, v in zip(df.loc[old, "source_row"], d[old]):
                qrows.append(QuarantineRow(int(r), f"{t.date_column} {v.date()} is before 2000", t.date_column))
        if known_skus is not None and name in ("orders", "refunds") and "sku" in df.columns:
            sk = df["sku"]
            unknown = sk.notna() & (sk != "") & ~sk.isin(known_skus)
            for r, v in zip(df.loc[unknown, "source_row"], sk[unknown]):
                qrows.append(QuarantineRow(int(r), f"unknown SKU {v!r} (not in reference/skus.csv)", "sku"))
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
                    lambda r: json.dumps(raw_by_row.get(int(r), {}), ensure_ascii=False, default=str)
                )
                qdf.loc[need & (qdf["table"] == ""), "table"] = name
            df = df.loc[~isbad].copy()
        if df.empty:
            continue
        if t.money:
            dcol = t.date_column
            mk = df[dcol].dt.year.astype("int64") * 100 + df[dcol].dt.month.astype("int64")
            cur = df["currency"].astype(str)
            if (cur == rc).all():
                rate = pd.Series(1.0, index=df.index)
            else:
                key = pd.DataFrame({"currency": cur.to_numpy(), "month_key": mk.to_numpy()})
                rate = key.merge(fx, on=["currency", "month_key"], how="left")["fx_rate"]
                rate.index = df.index
                rate = rate.where(cur != rc, 1.0)
                if rate.isna().any():
                    miss = key[rate.isna().to_numpy()].drop_duplicates().head(3)
                    what = "; ".join(f"{c} {m // 100}-{m % 100:02d}" for c, m in zip(miss["currency"], miss["month_key"]))
                    raise IngestError(
                        f"{fr.path}: no FX rate for {what} in reference/fx_rates.csv "
                        f"(add month,currency,rate rows converting to {rc})"
                    )
            df["fx_rate"] = rate.astype("float64")
            for m in t.money:
                df[f"{m}_rc"] = (df[m] * df["fx_rate"]).round(6)
        out[name] = df
    qdf.loc[qdf["table"] == "", "table"] = next(iter(res.tables), "")
    return _Prepared(fr, out, qdf, np.arange(0), res.expected_money, res.money_columns)


def _row_keys(df: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    """Natural key hash plus the occurrence number of that key within the file."""
    k = pd.util.hash_pandas_object(df[list(key)], index=False)
    occ = k.groupby([df["source_file"].to_numpy(), k.to_numpy()]).cumcount()
    return pd.Series(
        pd.util.hash_pandas_object(pd.DataFrame({"k": k.to_numpy(), "o": occ.to_numpy()}), index=False).to_numpy(),
        index=df.index,
    ).astype("int64")


# ---------------------------------------------------------------------------------------------
def ingest(
    raw_dir: str | Path | None = None,
    warehouse: Warehouse | str | Path | None = None,
    reference: str | Path | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    today: dt.date | None = None,
) -> IngestSummary:
    """Ingest every export under ``raw_dir`` into the warehouse; return the per-file summary."""
    import time

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
    if not todo and not ref_facts and wh.exists() and not _reference_changed(wh, ref):
        summary.snapshot = wh.current_id()
        summary.seconds = time.perf_counter() - t0
        return summary

    # File by file, in order: read (a bounded window of files in parallel), validate, de-duplicate
    # against the keys seen so far, append the rows as new Parquet parts of the staging snapshot,
    # let go of them. Memory peaks at a few files' rows, whatever the size of the run.
    existing = _SeenKeys(wh)
    jobs = jobs or min(os.cpu_count() or 1, 4)
    quarantines: list[pd.DataFrame] = []
    with wh.transaction("ingest") as w:
        for done, ((fr, f, store), (_, res, reader_name, err)) in enumerate(_read_all(todo, jobs), start=1):
            if progress:
                progress(done, len(todo), fr.path)
            fr.reader = reader_name
            if err:
                fr.error = err.strip().splitlines()[0] if not os.environ.get("KPI_DEBUG") else err
                continue
            assert res is not None
            fr.rows_read = int(res.rows_read)
            try:
                p = prepare(fr, res, store, ref, fx, today)
            except KpiError as exc:
                fr.error = str(exc)
                continue
            _dedup_and_count([p], existing)
            _write_tables(w, [p])
            if len(p.quarantine) and not p.fr.error:
                quarantines.append(p.quarantine)
        _dedup_and_count(ref_facts, _SeenKeys(wh))
        _write_tables(w, ref_facts)
        quarantines += [p.quarantine for p in ref_facts if len(p.quarantine) and not p.fr.error]
        rebuild_ads(w.path)  # ads = the spend of record, one report kind per store × day × campaign
        _write_manifest(w, wh, ref, summary, quarantines)
    summary.snapshot = wh.current_id()
    summary.seconds = time.perf_counter() - t0
    return summary


def _read_all(todo: list, jobs: int):
    """Yield (item, read result) in order; at most ``2 × jobs`` files read ahead (bounded memory)."""
    if jobs <= 1 or len(todo) <= 8:
        for item in todo:
            yield item, _read_one(_args(item))
        return
    from collections import deque

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


def _args(item: tuple) -> tuple[str, str, dict]:
    _, f, s = item
    return str(f), s["store_id"], _store_kwargs(s)


def _store_kwargs(s: dict) -> dict:
    return {k: str(s.get(k, "") if not isinstance(s.get(k), pd.Timestamp) else s[k].date())
            for k in ("store_id", "platform", "marketplace", "currency", "timezone", "launch_date", "team_id", "store_name")}


def _reference_changed(wh: Warehouse, ref: Reference) -> bool:
    p = wh.current / "reference_hashes.json"
    return not p.is_file() or p.read_text() != reference_hashes_json(ref)


def _reference_facts(ref: Reference, today: dt.date, seen_sha: dict, summary: IngestSummary, fx: pd.DataFrame) -> list[_Prepared]:
    """tickets.csv and activities.csv in data/reference are fact tables: ingest them like exports."""
    out = []
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
            sub = FileResult(path=rel, store_id=str(sid), reader=fr.reader)
            res = ReadResult(tables={name: g}, rows_read=len(g))
            parts.append(prepare(sub, res, store, ref, fx, today))
        tables = {name: pd.concat([p.tables[name] for p in parts if name in p.tables], ignore_index=True)} if parts else {}
        qdf = pd.concat([_quarantine_frame(name, "", fr.reader or "", rel, q)] + [p.quarantine for p in parts], ignore_index=True)
        out.append(_Prepared(fr, tables, qdf, np.arange(0), None, []))
    return out


class _SeenKeys:
    """Row keys already in the warehouse or loaded earlier in this run, per table and store.

    Keys include the store, so only the current store's keys are kept (files come grouped by
    store): hash-set look-ups make de-duplication linear in the rows, and memory is one store's keys.
    """

    def __init__(self, wh: Warehouse) -> None:
        self.live = wh.current if wh.exists() else None
        self.store: str | None = None
        self.sets: dict[tuple[str, str], set[int]] = {}

    def get(self, table: str, store_id: str) -> set[int]:
        if store_id != self.store:
            self.sets = {k: v for k, v in self.sets.items() if k[1] == store_id}
            self.store = store_id
        key = (table, store_id)
        if key not in self.sets:
            self.sets[key] = self._load(table, store_id)
        return self.sets[key]

    def _load(self, table: str, store_id: str) -> set[int]:
        if self.live is None:
            return set()
        part = self.live / table / f"store_id={store_id}"
        if not part.is_dir() or not any(part.glob("*.parquet")):
            return set()
        import duckdb

        con = duckdb.connect()
        try:
            cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{part.as_posix()}/*.parquet')").fetchall()}
            if "row_key" not in cols:
                return set()
            keys = con.execute(f"SELECT row_key FROM read_parquet('{part.as_posix()}/*.parquet')").fetchnumpy()["row_key"]
        finally:
            con.close()
        return set(np.asarray(keys, dtype="int64").tolist())


def _dedup_and_count(prepared: list[_Prepared], existing: _SeenKeys) -> None:
    """Mark duplicate rows (against the warehouse and earlier files) and fill the per-file counts.

    Vectorised per table: the row keys of all files are concatenated in file order, so a row is a
    duplicate when its key is already in the warehouse or appeared earlier in the run.
    """
    loaded_rows: list[list[np.ndarray]] = [[] for _ in prepared]
    dup_rows: list[list[np.ndarray]] = [[] for _ in prepared]
    money = [0.0 for _ in prepared]
    for name, t in TABLES.items():
        parts = [(i, p.tables[name]) for i, p in enumerate(prepared) if name in p.tables and len(p.tables[name])]
        if not parts:
            continue
        for _, df in parts:
            df["row_key"] = _row_keys(df, t.key)
        keys = np.concatenate([df["row_key"].to_numpy() for _, df in parts])
        stores = np.concatenate([df["store_id"].astype(str).to_numpy() for _, df in parts])
        dup = pd.Series(keys).duplicated(keep="first").to_numpy()
        for sid in pd.unique(stores):
            at = np.flatnonzero(stores == sid)
            seen = existing.get(name, str(sid))
            k = keys[at].tolist()
            dup[at] |= np.fromiter((x in seen for x in k), dtype=bool, count=len(k))
            seen.update(keys[at][~dup[at]].tolist())
        start = 0
        for i, df in parts:
            d = dup[start:start + len(df)]
            start += len(df)
            src = df["source_row"].to_numpy(dtype="int64")
            dup_rows[i].append(src[d])
            loaded_rows[i].append(src[~d])
            for tname, col, sign in prepared[i].money:
                if tname == name and col in df.columns:
                    money[i] += sign * float(df[col].sum())
            prepared[i].tables[name] = df.loc[~d]
    for i, p in enumerate(prepared):
        q_rows = np.unique(p.quarantine["source_row"].astype("int64").to_numpy()) if len(p.quarantine) else np.array([], "int64")
        loaded = np.unique(np.concatenate(loaded_rows[i])) if loaded_rows[i] else np.array([], "int64")
        dups = np.unique(np.concatenate(dup_rows[i])) if dup_rows[i] else np.array([], "int64")
        loaded = np.setdiff1d(loaded, q_rows)
        dups = np.setdiff1d(np.setdiff1d(dups, loaded), q_rows)
        fr = p.fr
        fr.rows_quarantined = len(q_rows)
        fr.rows_loaded = len(loaded)
        fr.rows_duplicate = len(dups)
        unaccounted = fr.rows_read - fr.rows_loaded - fr.rows_quarantined - fr.rows_duplicate
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


def _write_tables(w: WarehouseWriter, prepared: list[_Prepared]) -> None:
    """Append the new rows of these files to the staging snapshot as new Parquet parts.

    Each store partition is a folder of parts (hard links of the live snapshot's parts plus the new
    ones), so nothing already written is read or rewritten.
    """
    import uuid

    import duckdb

    for name, t in TABLES.items():
        new = [p.tables[name] for p in prepared if name in p.tables and len(p.tables[name]) and not p.fr.error]
        if not new:
            continue
        df = pd.concat(new, ignore_index=True).reindex(columns=list(t.all_columns) + ["row_key"])
        con = duckdb.connect()
        try:
            con.register("new_rows", df)
            for sid in sorted(df["store_id"].unique()):
                part = w.path / name / f"store_id={sid}"
                part.mkdir(parents=True, exist_ok=True)
                target = part / f"part-{uuid.uuid4().hex[:12]}.parquet"
                con.execute(f"COPY ({_select_cast(t, 'new_rows', f'store_id = {_sql_str(sid)}')}) "
                            f"TO '{target.as_posix()}' (FORMAT parquet)")
        finally:
            con.close()


def _sql_str(v: str) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def _write_manifest(w: WarehouseWriter, wh: Warehouse, ref: Reference, summary: IngestSummary,
                    quarantines: list[pd.DataFrame]) -> None:
    """Manifest, quarantine and reference tables (small: rewritten whole)."""
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
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
        })
    old_man = wh.read("manifest") if wh.exists() and wh.has("manifest") else None
    man = pd.DataFrame(man_rows)
    if old_man is not None and len(old_man):
        man = pd.concat([old_man, man], ignore_index=True) if len(man) else old_man
    if len(man):
        w.write("manifest", man, partition_by=())
    qs = quarantines
    old_q = wh.read("quarantine") if wh.exists() and wh.has("quarantine") else None
    if qs or old_q is not None:
        q = pd.concat(([old_q] if old_q is not None else []) + qs, ignore_index=True)
        q = q.reindex(columns=list(QUARANTINE_COLUMNS))
        q["source_row"] = pd.to_numeric(q["source_row"], errors="coerce").astype("Int64")
        w.write("quarantine", q, partition_by=())
    for stem, df in ref.tables.items():
        w.write(stem, df, partition_by=())
    (w.path / "reference_hashes.json").write_text(reference_hashes_json(ref))




def _select_cast(t, src: str, where: str) -> str:
    from ..warehouse import _sql_type

    parts = []
    for c, k in list(t.all_columns.items()) + [("row_key", "int64")]:
        if c == "store_id":
            continue  # hive partition column
        parts.append(f'CAST("{c}" AS {_sql_type(k) or "VARCHAR"}) AS "{c}"')
    return f"SELECT {', '.join(parts)} FROM {src} WHERE {where}"
