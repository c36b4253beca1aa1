"""One raw file as a work unit: read it in a worker, stage the result on disk, load it back.

``kpi ingest --executor dask`` (or any ``kpi_lib.executors`` executor) runs :func:`stage_file` once
per raw file. The unit detects the reader, reads the file and writes what it found into its own
folder of a staging directory on the warehouse's filesystem (every worker must see that path):
one Parquet file per canonical table (Arrow types as the reader made them; a table Arrow cannot
represent is pickled instead) and ``meta.pkl`` with the counts, quarantine, reconciliation and
version, written last. Every file is written to a temporary name and renamed, so a killed worker
never leaves a half-written result: a folder without ``meta.pkl`` is not a result. The main
process loads each staged file with :func:`load_staged` and continues exactly as the in-process
run (validate, FX, de-duplicate, latest version wins, one atomic snapshot).
"""

from __future__ import annotations

import os
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .base import ReadResult, Store
from .registry import detect_and_read

META = "meta.pkl"


@dataclass(frozen=True)
class StageUnit:
    """One raw file to read: its path, the store it belongs to, and its staging folder."""

    path: str
    store: dict
    out_dir: str


@dataclass(frozen=True)
class Staged:
    """What a unit returns: the reader's name, or the file's error, and where its result is."""

    path: str
    reader: str | None
    error: str | None
    out_dir: str | None


def store_fields(s: dict) -> dict:
    """A reference/stores.csv row as the plain strings ``Store(**…)`` takes (picklable)."""
    return {k: str(s.get(k, "") if not isinstance(s.get(k), pd.Timestamp) else s[k].date())
            for k in ("store_id", "platform", "marketplace", "currency", "timezone", "launch_date", "team_id", "store_name")}


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _write_table(folder: Path, name: str, df: pd.DataFrame) -> str:
    """Write one table as Parquet (or pickle when Arrow cannot hold it); returns the file name."""
    try:
        table = pa.Table.from_pandas(df)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError, TypeError):
        fname = f"{name}.pkl"
        _atomic_write_bytes(folder / fname, pickle.dumps(df, protocol=pickle.HIGHEST_PROTOCOL))
        return fname
    fname = f"{name}.parquet"
    tmp = folder / f".{fname}.{os.getpid()}.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, folder / fname)
    return fname


def stage_file(unit: StageUnit) -> Staged:
    """Work unit: detect and read one raw file; stage its tables and counts in ``unit.out_dir``."""
    store = Store(**unit.store)
    reader_name, res, err = detect_and_read(Path(unit.path), store)
    if err is not None or res is None:
        return Staged(unit.path, reader_name, err, None)
    folder = Path(unit.out_dir)
    shutil.rmtree(folder, ignore_errors=True)  # a retried unit starts clean
    folder.mkdir(parents=True)
    files = {name: _write_table(folder, name, df) for name, df in res.tables.items() if df is not None}
    meta = {
        "tables": files, "rows_read": res.rows_read, "quarantine": res.quarantine,
        "expected_money": res.expected_money, "money_columns": res.money_columns,
        "exported_at": res.exported_at, "notes": res.notes,
        # Arrow-backed text columns (Parquet's pandas metadata brings them back Python-backed)
        "arrow_text": {name: [c for c in df.columns if isinstance(df[c].dtype, pd.StringDtype)
                              and df[c].dtype.storage == "pyarrow"]
                       for name, df in res.tables.items() if df is not None},
    }
    _atomic_write_bytes(folder / META, pickle.dumps(meta, protocol=pickle.HIGHEST_PROTOCOL))
    return Staged(unit.path, reader_name, None, str(folder))


def load_staged(out_dir: str | Path) -> ReadResult:
    """The ReadResult a unit staged (tables read back with their pandas types)."""
    folder = Path(out_dir)
    meta = pickle.loads((folder / META).read_bytes())
    tables: dict[str, pd.DataFrame] = {}
    for name, fname in meta["tables"].items():
        p = folder / fname
        if fname.endswith(".pkl"):
            tables[name] = pd.read_pickle(p)
            continue
        df = pq.read_table(p).to_pandas()
        arrow_text = meta.get("arrow_text", {}).get(name, [])
        if arrow_text:
            df = df.astype({c: pd.StringDtype("pyarrow") for c in arrow_text})
        tables[name] = df
    return ReadResult(
        tables=tables, rows_read=meta["rows_read"], quarantine=meta["quarantine"],
        expected_money=meta["expected_money"], money_columns=meta["money_columns"],
        exported_at=meta["exported_at"], notes=meta["notes"],
    )
