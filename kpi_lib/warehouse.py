"""The Parquet warehouse: atomic snapshots, table I/O and a DuckDB connection over them.

Layout::

    data/warehouse/
      CURRENT                      name of the live snapshot (replaced atomically)
      snapshots/<id>/<table>/store_id=<S>/part-0.parquet     partitioned canonical tables
      snapshots/<id>/<table>.parquet                         small tables (manifest, kpi_values…)
      snapshots/<id>/snapshot.json                           id, parent, created_at, content hash

A write opens a transaction: a staging snapshot is made by hard-linking the live one (cheap), the
changed tables are written into it, and only when everything succeeded is the staging directory
renamed and ``CURRENT`` swapped with ``os.replace``. A crash at any point leaves ``CURRENT`` naming
the previous, complete snapshot; stale staging directories are removed by the next transaction.
Hive-style partitions keep the road open to Spark or Trino reading the same files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from . import paths
from .errors import WarehouseError
from .periods import month_of, months_between, previous_full_month
from .schemas import DATE, TABLES, TS, empty_frame

KEEP_SNAPSHOTS = 3


def sql_type(kind: str) -> str | None:
    """The DuckDB type of a canonical column kind (kpi_lib.schemas), None for an unknown kind."""
    return {DATE: "DATE", TS: "TIMESTAMP", "int64": "BIGINT", "float64": "DOUBLE", "string": "VARCHAR"}.get(kind)




class Warehouse:
    """A warehouse directory; reads always see the live snapshot."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.warehouse_dir()

    @classmethod
    def of(cls, warehouse: Warehouse | str | Path | None = None) -> Warehouse:
        """``warehouse`` itself when it is a Warehouse, else the warehouse at that path (None: the default)."""
        return warehouse if isinstance(warehouse, Warehouse) else cls(warehouse)

    # -- snapshots ---------------------------------------------------------------------------
    @property
    def snapshots_dir(self) -> Path:
        return self.path / "snapshots"

    def current_id(self) -> str | None:
        cur = self.path / "CURRENT"
        if not cur.is_file():
            return None
        sid = cur.read_text().strip()
        return sid if sid and (self.snapshots_dir / sid).is_dir() else None

    @property
    def current(self) -> Path:
        sid = self.current_id()
        if sid is None:
            raise WarehouseError(f"no warehouse at {self.path}: run `kpi ingest data/raw` first")
        return self.snapshots_dir / sid

    def exists(self) -> bool:
        return self.current_id() is not None

    def info(self) -> dict:
        """Contents of snapshot.json of the live snapshot."""
        p = self.current / "snapshot.json"
        return json.loads(p.read_text()) if p.is_file() else {}

    def snapshot_hash(self) -> str:
        """Hash identifying the data the figures come from (manifest of ingested files + reference).

        Two warehouses built from the same files have the same hash, whatever the order or time of
        ingestion; settlements and reports quote it so both parties can reproduce a figure.
        """
        return str(self.info().get("content_hash", ""))

    # -- reading -----------------------------------------------------------------------------
    def table_location(self, name: str) -> Path | None:
        return _table_location(self.current, name)

    def has(self, name: str) -> bool:
        return self.exists() and self.table_location(name) is not None

    def scan_sql(self, name: str) -> str:
        """A DuckDB FROM-clause expression reading the table (empty-safe via schema)."""
        loc = self.table_location(name)
        if loc is None:
            raise WarehouseError(f"table {name!r} is not in the warehouse {self.path}")
        return _scan_sql(loc)

    def read(self, name: str, where: str | None = None) -> pd.DataFrame:
        """A whole table as pandas (optionally filtered with a SQL condition). A small one-file table
        (stores, assignments, people…) read whole is read once per process and file version: the
        caller gets its own copy."""
        if not self.has(name):
            if name in TABLES:
                return empty_frame(name)
            raise WarehouseError(f"table {name!r} is not in the warehouse {self.path}")
        loc = self.table_location(name)
        key = table_file_key(loc) if where is None and loc is not None else None
        hit = _READ_CACHE.get(key) if key is not None else None  # a dict read is atomic
        if hit is not None:
            return hit.copy(deep=True)
        sql = f"SELECT * FROM {self.scan_sql(name)}" + (f" WHERE {where}" if where else "")
        con = scratch_cursor()
        try:
            df = con.sql(sql).df()
        finally:
            con.close()
        if key is not None:
            with _READ_LOCK:
                while len(_READ_CACHE) >= _READ_CACHE_SIZE:
                    _READ_CACHE.pop(next(iter(_READ_CACHE)))
                _READ_CACHE[key] = df.copy(deep=True)
        return df

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table of the live snapshot (a cursor on the process's
        shared database of that snapshot, :func:`snapshot_cursor`; closing it keeps the views)."""
        return snapshot_cursor(self.current)

    # -- data range --------------------------------------------------------------------------
    def order_dates(self) -> tuple[dt.date | None, dt.date | None]:
        """First and last order date (marketplace-local) of the live snapshot; (None, None) without orders."""
        con = self.connect()
        try:
            lo, hi = con.execute("SELECT min(CAST(order_date AS DATE)), max(CAST(order_date AS DATE)) FROM orders").fetchone()
        finally:
            con.close()
        return lo, hi

    def last_order_date(self) -> dt.date | None:
        """The last order date of the live snapshot (None without orders)."""
        return self.order_dates()[1]

    def last_month(self) -> str:
        """The month of the last order: the default reporting month (without orders, the month before today's)."""
        d = self.last_order_date()
        return previous_full_month() if d is None else month_of(d)

    def data_months(self) -> list[str]:
        """Every YYYY-MM month from the first to the last order date (the months with data)."""
        return months_between(*self.order_dates())

    # -- writing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, note: str = "") -> Iterator[WarehouseWriter]:
        """Stage a new snapshot from the live one; publish it atomically only on success."""
        self.snapshots_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.snapshots_dir.glob(".staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        parent = self.current_id()
        sid = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        staging = self.snapshots_dir / f".staging-{sid}"
        if parent is not None:
            shutil.copytree(self.snapshots_dir / parent, staging, copy_function=os.link)
        else:
            staging.mkdir()
        writer = WarehouseWriter(staging)
        try:
            yield writer
            info = {
                "id": sid,
                "parent": parent,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "note": note,
                "content_hash": _content_hash(staging),
                "schemas": _schemas_record(staging, self.snapshots_dir / parent if parent else None),
            }
            (staging / "snapshot.json").unlink(missing_ok=True)
            (staging / "snapshot.json").write_text(json.dumps(info, indent=2))
            _fsync_dir(staging)
            final = self.snapshots_dir / sid
            staging.rename(final)
            tmp = self.path / f"CURRENT.{sid}.tmp"
            tmp.write_text(sid + "\n")
            with tmp.open("rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path / "CURRENT")
            _fsync_dir(self.path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._prune()

    def _prune(self) -> None:
        live = self.current_id()
        snaps = sorted(p for p in self.snapshots_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
        for old in snaps[:-KEEP_SNAPSHOTS]:
            if old.name != live:
                shutil.rmtree(old, ignore_errors=True)


class WarehouseWriter:
    """Writes tables into a staging snapshot (never into the live one)."""

    def __init__(self, staging: Path) -> None:
        self.path = staging

    def write(self, name: str, df: pd.DataFrame, partition_by: tuple[str, ...] | None = None) -> None:
        """Replace table ``name`` with ``df``; canonical tables are partitioned by store_id."""
        self.drop(name)
        t = TABLES.get(name)
        if partition_by is None:
            partition_by = t.partition_by if t else ()
        con = duckdb.connect()
        try:
            con.register("df", df)
            casts = []
            kinds = t.all_columns if t else {}
            for c in df.columns:
                k = sql_type(kinds.get(c, ""))
                casts.append(f'CAST("{c}" AS {k}) AS "{c}"' if k else f'"{c}"')
            select = f"SELECT {', '.join(casts)} FROM df"
            if partition_by and len(df):
                target = self.path / name
                con.execute(
                    f"COPY ({select}) TO '{target.as_posix()}' "
                    f"(FORMAT parquet, PARTITION_BY ({', '.join(partition_by)}), OVERWRITE_OR_IGNORE)"
                )
            else:
                target = self.path / f"{name}.parquet"
                con.execute(f"COPY ({select}) TO '{target.as_posix()}' (FORMAT parquet)")
        finally:
            con.close()

    def write_sql(self, name: str, con: duckdb.DuckDBPyConnection, select: str,
                  partition_by: tuple[str, ...] = ()) -> None:
        """Replace table ``name`` with the result of a SQL query run on ``con``."""
        self.drop(name)
        if partition_by:
            target = self.path / name
            con.execute(f"COPY ({select}) TO '{target.as_posix()}' (FORMAT parquet, PARTITION_BY ({', '.join(partition_by)}))")
            if not target.exists():  # empty result: keep an unpartitioned empty file with the schema
                con.execute(f"COPY ({select}) TO '{(self.path / f'{name}.parquet').as_posix()}' (FORMAT parquet)")
        else:
            con.execute(f"COPY ({select}) TO '{(self.path / f'{name}.parquet').as_posix()}' (FORMAT parquet)")

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table of the staging snapshot (what is written so far)."""
        return connect_snapshot(self.path)

    def drop(self, name: str) -> None:
        d = self.path / name
        if d.is_dir():
            shutil.rmtree(d)
        (self.path / f"{name}.parquet").unlink(missing_ok=True)


#: whole small tables read by this process: (file, inode, size, mtime) -> frame. A published snapshot's
#: files are never rewritten (a write is a new snapshot), and the key changes with the file anyway.
_READ_CACHE: dict[tuple[str, int, int, int], pd.DataFrame] = {}
_READ_CACHE_SIZE = 32
_READ_LOCK = threading.Lock()
SMALL_TABLE_BYTES = 4 << 20  # one-file tables up to this size are kept (reference and org tables: kB)


def table_file_key(loc: Path) -> tuple[str, int, int, int] | None:
    """(file, inode, size, mtime) of a one-file table up to :data:`SMALL_TABLE_BYTES`: the identity of its
    content, the key of what is kept from it (None for a bigger or partitioned table: not kept)."""
    try:
        st = loc.stat()
    except OSError:
        return None
    if not loc.is_file() or st.st_size > SMALL_TABLE_BYTES:
        return None
    return str(loc), st.st_ino, st.st_size, st.st_mtime_ns


def _table_location(base: Path, name: str) -> Path | None:
    d = base / name
    if d.is_dir() and any(d.rglob("*.parquet")):
        return d
    f = base / f"{name}.parquet"
    return f if f.is_file() else None


def _scan_sql(loc: Path, union_by_name: bool = True) -> str:
    if loc.is_dir():
        return (f"read_parquet('{loc.as_posix()}/**/*.parquet', hive_partitioning=true, "
                f"union_by_name={'true' if union_by_name else 'false'})")
    return f"read_parquet('{loc.as_posix()}')"


_ONE_SCHEMA: dict[str, bool] = {}  # table directory of a published snapshot -> _one_schema (never rewritten)


def _files_signature(loc: Path) -> str | None:
    """The identity of a partitioned table's files: names, inodes and sizes (None: no Parquet file). A
    snapshot's unchanged tables are hard links of its parent's (same inodes); a table written or rewritten
    has new files."""
    files = sorted(loc.rglob("*.parquet"))
    if not files:
        return None
    h = hashlib.sha1()
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(loc).as_posix()}\0{st.st_ino}\0{st.st_size}\n".encode())
    return h.hexdigest()


def _recorded_schemas(snapshot: Path) -> dict[str, dict]:
    """``{table: {"one": bool, "files": signature}}`` recorded in a snapshot's snapshot.json ({} before)."""
    p = snapshot / "snapshot.json"
    try:
        rec = json.loads(p.read_text()).get("schemas") if p.is_file() else None
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


def _schemas_record(staging: Path, parent: Path | None) -> dict[str, dict]:
    """Whether each partitioned table of a staged snapshot has one schema (:func:`_one_schema`), recorded
    at publish so that opening the snapshot reads no Parquet footers (≈ 0.2–0.7 s of CPU per process on the
    scale-1 demo). A table whose files are the parent's (same signature) keeps the parent's answer."""
    before = _recorded_schemas(parent) if parent is not None else {}
    out: dict[str, dict] = {}
    con: duckdb.DuckDBPyConnection | None = None
    try:
        for d in sorted(x for x in staging.iterdir() if x.is_dir()):
            sig = _files_signature(d)
            if sig is None:
                continue
            old = before.get(d.name)
            if isinstance(old, dict) and old.get("files") == sig and isinstance(old.get("one"), bool):
                out[d.name] = old
                continue
            con = con or duckdb.connect()
            out[d.name] = {"one": _read_one_schema(con, d), "files": sig}
    finally:
        if con is not None:
            con.close()
    return out


def _one_schema(con: duckdb.DuckDBPyConnection, loc: Path, recorded: dict[str, dict]) -> bool:
    """Whether every Parquet file of the partitioned table ``loc`` has the same columns, in the same
    order, with the same types. Then ``union_by_name`` changes nothing, and without it DuckDB binds
    a query from one file's schema instead of opening every file's (≈ 100 → 5 ms per bind of the
    scale-1 demo's orders, paid by every query and DESCRIBE).

    Kept per directory of a published snapshot (its files never change): reading every file's footer
    is most of the cost of opening a snapshot (≈ 0.6 s of CPU on the scale-1 demo's 1,100 parts), so a
    published snapshot's answer comes from ``recorded`` (:func:`_recorded_schemas`, written at publish)
    when it has one, and a process that opens the same snapshot twice asks once."""
    published = not loc.parent.name.startswith(".")  # staging snapshots are ".staging-<id>"
    key = str(loc)
    if published and key in _ONE_SCHEMA:
        return _ONE_SCHEMA[key]
    rec = recorded.get(loc.name) if published else None
    same = rec["one"] if isinstance(rec, dict) and isinstance(rec.get("one"), bool) else _read_one_schema(con, loc)
    if published:
        _ONE_SCHEMA[key] = same
    return same


def _read_one_schema(con: duckdb.DuckDBPyConnection, loc: Path) -> bool:
    rows = con.execute("SELECT file_name, name, type, converted_type, logical_type, scale, precision, "
                       f"repetition_type, num_children FROM parquet_schema('{loc.as_posix()}/**/*.parquet')").fetchall()
    per_file: dict[str, list[tuple]] = {}
    for r in rows:
        per_file.setdefault(r[0], []).append(tuple(r[1:]))
    schemas = list(per_file.values())
    return all(s == schemas[0] for s in schemas[1:])


def connect_snapshot(base: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per table of the snapshot directory ``base``.

    Canonical tables absent from the snapshot exist as empty views, so queries never fail on a
    missing source.
    """
    con = duckdb.connect()
    names = {p.name for p in base.iterdir() if p.is_dir()} | {p.stem for p in base.glob("*.parquet")}
    present = set()
    recorded = _recorded_schemas(base)  # read once for every table
    for name in sorted(names):
        loc = _table_location(base, name)
        if loc is not None:
            union = loc.is_file() or not _one_schema(con, loc, recorded)
            con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM {_scan_sql(loc, union_by_name=union)}')
            present.add(name)
    for name, t in TABLES.items():
        if name not in present:
            cols = ", ".join(f'CAST(NULL AS {sql_type(k) or "VARCHAR"}) AS "{c}"' for c, k in t.all_columns.items())
            con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT {cols} WHERE false')
    return con


#: published snapshots whose views this process keeps (the newest ones; a new snapshot gets new views)
KEEP_CONNECTIONS = 2
_SHARED: dict[tuple[str, int], duckdb.DuckDBPyConnection] = {}
_SHARED_PID = [os.getpid()]
_SHARED_LOCK = threading.Lock()
_ABANDONED: list[dict] = []  # a forked child's copies of the parent's databases: never touched, never closed


def _own_databases() -> None:
    """Forget (without touching) databases inherited from a parent process; call with the lock held."""
    if _SHARED_PID[0] != os.getpid():  # forked: the parent's databases are not ours to use
        _ABANDONED.append(dict(_SHARED))
        _SHARED.clear()
        _SHARED_PID[0] = os.getpid()


def scratch_cursor() -> duckdb.DuckDBPyConnection:
    """A new connection (cursor) to this process's one in-memory DuckDB database without views, for
    queries naming their Parquet files: opening a database costs ≈ 20 ms of CPU, a cursor ≈ 0.1 ms."""
    with _SHARED_LOCK:
        _own_databases()
        db = _SHARED.get(("", 0))
        if db is None:
            db = _SHARED[("", 0)] = duckdb.connect()
        return db.cursor()


def snapshot_cursor(base: Path) -> duckdb.DuckDBPyConnection:
    """A new connection (a DuckDB cursor) to this process's one in-memory database over the published
    snapshot ``base``, whose views (:func:`connect_snapshot`) are built once per snapshot instead of
    once per call (≈ 0.3 s each on the scale-1 demo).

    Isolation: the database is keyed by the snapshot directory and its modification time (a table
    added or removed is a new database); a new snapshot is a new directory. Temporary tables, settings
    and registered frames belong to the cursor, so callers keep closing what they get. Only for
    snapshots that are no longer written (staging snapshots use :func:`connect_snapshot`)."""
    base = Path(base)
    key = (str(base.resolve()), base.stat().st_mtime_ns)
    with _SHARED_LOCK:
        _own_databases()
        db = _SHARED.get(key)
        if db is None:
            db = connect_snapshot(base)
            db.execute("SET parquet_metadata_cache = true")
            # dropped, not closed: a cursor handed out earlier keeps its database alive
            snaps = [k for k in _SHARED if k[0]]
            for old in [k for k in snaps if k[0] == key[0]] + snaps[: max(0, len(snaps) - KEEP_CONNECTIONS + 1)]:
                _SHARED.pop(old, None)
            _SHARED[key] = db
        return db.cursor()


def _content_hash(snapshot: Path) -> str:
    """sha256 over the manifest (file hashes and counts) and reference tables, order independent."""
    h = hashlib.sha256()
    man = snapshot / "manifest.parquet"
    if man.is_file():
        con = duckdb.connect()
        try:
            rows = con.sql(
                f"SELECT sha256, rows_loaded, rows_quarantined, rows_duplicate FROM read_parquet('{man.as_posix()}') "
                "ORDER BY sha256"
            ).fetchall()
        finally:
            con.close()
        for r in rows:
            h.update(repr(r).encode())
    ref = snapshot / "reference_hashes.json"
    if ref.is_file():
        h.update(ref.read_bytes())
    if not man.is_file() and not ref.is_file():
        # written without `kpi ingest` (a fixture, a hand-made warehouse): hash the table files
        # themselves, so two different warehouses never quote the same (empty-input) hash
        for f in sorted(x for x in snapshot.rglob("*") if x.is_file() and x.name != "snapshot.json"):
            h.update(f.relative_to(snapshot).as_posix().encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def connect(warehouse: Warehouse | str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """Shortcut: a DuckDB connection over the live snapshot of ``warehouse`` (default project one)."""
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    return wh.connect()
