"""docs/scale.md, beyond one machine: the engine's DuckDB SQL transpiled to Spark SQL with sqlglot.

pyspark is not installed (too heavy for CI), so the plan is tested as far as it can be here: the
real query ``metrics.compute`` sends to DuckDB for a KPI set (captured from the warehouse connection
on the demo warehouse) transpiles to Spark SQL without unsupported constructs, and the Spark text,
read back by sqlglot's Spark dialect and written as DuckDB again, returns the same rows as the
original query on the same warehouse (so the transpilation keeps the meaning, not just the syntax).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import pandas as pd
import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

KPIS = ["gmv", "net_sales", "orders", "aov", "refunds"]


class _Capture:
    """A DuckDB connection that records every SQL text it executes."""

    def __init__(self, con: Any, seen: list[str]) -> None:
        self._con, self._seen = con, seen

    def execute(self, sql: str, *args: Any, **kw: Any) -> Any:
        self._seen.append(sql)
        return self._con.execute(sql, *args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._con.close()


@pytest.fixture(scope="module")
def kpi_query(demo_project: Path) -> tuple[str, Any]:
    """The largest SELECT the engine runs for KPIS by store and month, and a connection to replay it."""
    import os

    from kpi_lib.metrics import compute
    from kpi_lib.warehouse import Warehouse

    old = os.environ.get("KPI_ROOT")
    os.environ["KPI_ROOT"] = str(demo_project)
    try:
        wh = Warehouse(demo_project / "data" / "warehouse")
        seen: list[str] = []
        orig = Warehouse.connect
        Warehouse.connect = lambda self, *a, **k: _Capture(orig(self, *a, **k), seen)  # type: ignore[method-assign]
        try:
            compute(KPIS, by=["store_id"], period="month", start="2026-09", end="2026-11", warehouse=wh)
        finally:
            Warehouse.connect = orig  # type: ignore[method-assign]
        con = wh.connect()
    finally:
        if old is None:
            os.environ.pop("KPI_ROOT", None)
        else:
            os.environ["KPI_ROOT"] = old
    selects = [s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH")) and "GROUP BY" in s.upper()]
    assert selects, "the engine ran no aggregate query"
    return max(selects, key=len), con


def test_kpi_query_transpiles_to_spark_and_keeps_its_meaning(kpi_query: tuple[str, Any]) -> None:
    sql, con = kpi_query
    spark = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)[0]
    assert "GROUP BY" in spark.upper() and spark != sql
    # Spark SQL read back and written for DuckDB: the same rows as the engine's own query
    back = sqlglot.transpile(spark, read="spark", write="duckdb", unsupported_level=ErrorLevel.RAISE)[0]

    def rows(q: str) -> pd.DataFrame:
        df = con.execute(q).df()
        return df.sort_values(list(df.columns)).reset_index(drop=True)

    want, got = rows(sql), rows(back)
    assert len(want) > 0
    pd.testing.assert_frame_equal(want, got, check_dtype=False, rtol=1e-12)
