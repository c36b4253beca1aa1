"""A warehouse that answers a widget's many small queries from one in-memory DuckDB connection.

The KPI engine opens a fresh connection per query (one view per Parquet table); a widget that asks
for six settlement statements runs ~36 queries, each re-creating the views and re-reading Parquet.
``CachedWarehouse`` is a :class:`~kpi_lib.warehouse.Warehouse` of the same directory whose
``connect()`` hands out one shared connection per live snapshot, with the snapshot's tables copied
into memory on first use (when the snapshot is small enough; else the shared connection keeps the
Parquet views).
Figures are unchanged (same SQL, same data); ``refresh()`` drops the copy, and a new snapshot
(``kpi compute``, a new ingest) is picked up automatically because the cache is keyed by snapshot id.

The shared connection also keeps the *results* of read-only statements (``SELECT``, ``WITH``,
``DESCRIBE``) by their SQL text: a panel that asks the engine the same question again (a slider that
only rescales a target, switching back to a contract, a filter set back) gets the answer without
running the query. Any other statement (the engine's ``CREATE TEMP TABLE _org`` / ``_contracts``)
forgets every kept result first, so a kept result is always the one DuckDB would give now. Counters
``executed`` and ``reused`` (on :attr:`CachedWarehouse.stats`) let tests check that an interaction
did not query again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ..warehouse import Warehouse, connect_snapshot

MATERIALIZE_LIMIT_BYTES = 400 * 1024 * 1024  # Parquet bytes of a snapshot copied into memory at most


class _SharedConnection:
    """A DuckDB connection whose ``close()`` does nothing (the cache owns it).

    With ``materialize`` the snapshot's tables are copied into memory lazily: before a statement runs,
    every snapshot table its SQL names and not yet copied is copied (a table of many small Parquet
    partitions is then read once per panel instead of once per query)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, materialize: bool) -> None:
        self._con = con
        self._pending: set[str] = set()
        if materialize:
            self._pending = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW' "
                "AND table_schema = 'main'").fetchall()}
        self._names = re.compile(r"\b(" + "|".join(sorted(map(re.escape, self._pending), key=len, reverse=True))
                                 + r")\b") if self._pending else None
        self.copied: list[str] = []
        self.results: dict[str, dict[str, Any]] = {}  # SQL text -> {fetch method: result}
        self.executed = 0  # statements run against DuckDB
        self.reused = 0  # statements answered from kept results

    def _ensure(self, sql: Any) -> None:
        if self._names is None or not isinstance(sql, str):
            return
        for name in sorted({m.group(1) for m in self._names.finditer(sql)} & self._pending):
            _materialize(self._con, name)
            self._pending.discard(name)
            self.copied.append(name)

    def execute(self, sql: Any, *args: Any, **kw: Any) -> Any:
        """Run ``sql``; a read-only statement without parameters is answered from kept results when it ran
        before on this snapshot (see module docstring)."""
        self._ensure(sql)
        cacheable = isinstance(sql, str) and not args and not kw and _READ_ONLY.match(sql) is not None
        if not cacheable:
            if not (isinstance(sql, str) and _HARMLESS.match(sql)):  # a display setting reads nothing
                self.results.clear()  # a write (temp table, view): no kept result is trusted any more
                self.executed += 1
            return self._con.execute(sql, *args, **kw)
        kept = self.results.get(sql)
        if kept:
            self.reused += 1
            return _KeptResult(self, sql, kept, None)
        self.executed += 1
        live = self._con.execute(sql)  # errors surface here, as without the cache
        self.results[sql] = kept = {}
        return _KeptResult(self, sql, kept, live)

    def sql(self, sql: Any, *args: Any, **kw: Any) -> Any:
        self._ensure(sql)
        return self._con.sql(sql, *args, **kw)

    def close(self) -> None:
        """Kept open: the next query of the widget reuses it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


_READ_ONLY = re.compile(r"^\s*(SELECT|WITH|DESCRIBE)\b", re.IGNORECASE)
_HARMLESS = re.compile(r"^\s*SET\s+enable_progress_bar\b", re.IGNORECASE)
_FETCHES = ("df", "fetchdf", "fetchall", "fetchone", "fetch_df", "arrow", "fetch_arrow_table", "fetchnumpy")


class _KeptResult:
    """The result of a read-only statement: each fetch method's answer is kept (copied out on every use)."""

    def __init__(self, owner: _SharedConnection, sql: str, kept: dict[str, Any], live: Any) -> None:
        self._owner, self._sql, self._kept, self._live = owner, sql, kept, live

    def _fetch(self, method: str, *args: Any) -> Any:
        key = f"{method}{args!r}"
        if key not in self._kept:
            live = self._live
            if live is None:  # another fetch form of a kept statement: run it once more
                live = self._owner._con.execute(self._sql)
                self._owner.executed += 1
            self._live = None  # a live result can be fetched once
            self._kept[key] = getattr(live, method)(*args)
        value = self._kept[key]
        if isinstance(value, pd.DataFrame):
            return value.copy()
        return list(value) if isinstance(value, list) else value

    def __getattr__(self, name: str) -> Any:
        if name in _FETCHES:
            return lambda *args: self._fetch(name, *args)
        live = self._live if self._live is not None else self._owner._con.execute(self._sql)
        return getattr(live, name)


def _snapshot_bytes(base: Path) -> int:
    return sum(p.stat().st_size for p in base.rglob("*.parquet"))


def _materialize(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Replace the view ``name`` by an in-memory table with the same rows and columns."""
    con.execute(f'CREATE TABLE "__m_{name}" AS SELECT * FROM "{name}"')
    con.execute(f'DROP VIEW "{name}"')
    con.execute(f'ALTER TABLE "__m_{name}" RENAME TO "{name}"')


class CachedWarehouse(Warehouse):
    """The same warehouse, with one shared in-memory connection per snapshot (see module docstring)."""

    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__(path)
        self._key: str | None = None
        self._con: _SharedConnection | None = None
        self._reads: dict[tuple[str, str | None], pd.DataFrame] = {}
        self.materialized = False

    @classmethod
    def of(cls, wh: Warehouse | None) -> CachedWarehouse | None:
        """A cached view of ``wh`` (None stays None; a CachedWarehouse is returned as is)."""
        if wh is None or isinstance(wh, CachedWarehouse):
            return wh
        return cls(wh.path)

    def refresh(self) -> None:
        """Forget the in-memory copy (the next query reads the live snapshot again)."""
        if self._con is not None:
            self._con._con.close()
        self._key, self._con, self._reads = None, None, {}

    def connect(self) -> Any:
        sid = self.current_id()
        if self._con is None or sid != self._key:
            self.refresh()
            base = self.current
            con = connect_snapshot(base)
            self.materialized = _snapshot_bytes(base) <= MATERIALIZE_LIMIT_BYTES
            self._key, self._con = sid, _SharedConnection(con, self.materialized)
        return self._con

    @property
    def stats(self) -> dict[str, int]:
        """Statements run against DuckDB and answered from kept results, on the current snapshot."""
        con = self._con
        return {"executed": con.executed if con else 0, "reused": con.reused if con else 0}

    def read(self, name: str, where: str | None = None) -> pd.DataFrame:
        """A whole table as pandas, answered from the shared connection and kept per snapshot."""
        if not self.has(name):
            return super().read(name, where)
        con = self.connect()  # also drops reads of an older snapshot
        key = (name, where)
        if key not in self._reads:
            self._reads[key] = con.sql(f'SELECT * FROM "{name}"' + (f" WHERE {where}" if where else "")).df()
        return self._reads[key].copy()
