"""A hand-sized warehouse whose target cascade, growth targets and statuses are worked out by hand.

Stores: M1 and M2 (mature, launched 2024-01-01), N1 (new, launched 2026-02-10). GMV by month
(one order per store × month, reporting currency, fx 1):

| month | M1 | M2 | N1 |
|---|---|---|---|
| 2025-01 | 300 | 100 | |
| 2025-02 | 600 | 200 | |
| 2025-03 | 300 | 100 | |
| 2025-04 .. 2025-11 | 100 each | 100 each | |
| 2025-12 | 100 | 200 | |
| 2026-01 | 900 | 500 | |
| 2026-02 | | | 80 |
| 2026-03 (day 5) | 50 | 100 | |

Trailing 12 months before 2026-01: M1 300+600+300+9×100 = 2100, M2 100+200+100+8×100+200 = 1400:
shares 0.6 / 0.4 (median 0.5). Last year's Q1 by month: 400, 800, 400 (seasonality 1/4, 1/2, 1/4).
A cancelled order of 1000 in M1 2025-02 must change nothing (GMV excludes cancelled lines).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from kpi_lib.warehouse import Warehouse

REFERENCE = ("stores", "skus", "sku_costs", "fx_rates", "teams", "people", "assignments", "listings")

M1_2025 = [300, 600, 300] + [100] * 9
M2_2025 = [100, 200, 100] + [100] * 8 + [200]


def _orders() -> pd.DataFrame:
    rows = []
    for i, (g1, g2) in enumerate(zip(M1_2025, M2_2025), start=1):
        rows.append(("M1", f"2025-{i:02d}-10", g1, "delivered"))
        rows.append(("M2", f"2025-{i:02d}-10", g2, "delivered"))
    rows += [("M1", "2025-02-11", 1000, "cancelled"),
             ("M1", "2026-01-15", 900, "delivered"), ("M2", "2026-01-15", 500, "delivered"),
             ("N1", "2026-02-15", 80, "shipped"),
             ("M1", "2026-03-05", 50, "delivered"), ("M2", "2026-03-05", 100, "delivered")]
    return pd.DataFrame([{
        "platform": "amazon", "store_id": s, "marketplace": "US", "order_id": f"{s}-{d}-{st}", "line_id": "L1",
        "sku": "A-1", "order_date": pd.Timestamp(d), "order_ts": pd.Timestamp(d), "status": st, "quantity": 1,
        "currency": "CNY", "gross_sales": float(g), "discounts": 0.0, "tax": 0.0, "shipping_charged": 0.0,
        "fulfillment_channel": "AFN", "ship_date": pd.Timestamp(d), "promised_ship_date": pd.Timestamp(d),
        "fx_rate": 1.0, "gross_sales_rc": float(g), "discounts_rc": 0.0, "tax_rc": 0.0, "shipping_charged_rc": 0.0,
    } for s, d, g, st in rows])


def build_tables() -> dict[str, pd.DataFrame]:
    stores = pd.DataFrame({
        "store_id": ["M1", "M2", "N1"], "store_name": ["Mature 1", "Mature 2", "New 1"],
        "platform": "amazon", "marketplace": "US", "currency": "CNY", "timezone": "America/Los_Angeles",
        "launch_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2026-02-10"]), "team_id": ["T1", "T1", "T2"],
    })
    skus = pd.DataFrame({"sku": ["A-1"], "name": ["a"], "category": ["A"], "unit_cogs": [1.0], "first_leg_cost": [0.0],
                         "duty_rate": [0.0], "cost_currency": "CNY"})
    sku_costs = pd.DataFrame({"sku": ["A-1"], "valid_from": pd.to_datetime(["2024-01-01"]), "unit_cogs": [1.0],
                              "first_leg_cost": [0.0]})
    months = pd.period_range("2024-12", "2026-04", freq="M").strftime("%Y-%m")
    fx = pd.DataFrame({"month": months, "currency": "CNY", "rate": 1.0})
    teams = pd.DataFrame({"team_id": ["T1", "T2"], "team_name": ["Team 1", "Team 2"], "team_name_zh": ["一组", "二组"],
                          "lead_person_id": ["P1", "P2"]})
    people = pd.DataFrame({"person_id": ["P1", "P2"], "name": ["Ann", "Bo"], "name_zh": ["安", "博"],
                           "role": ["manager", "manager"], "email": ["a@x", "b@x"]})
    assignments = pd.DataFrame({"person_id": ["P1", "P1", "P2"], "team_id": ["T1", "T1", "T2"],
                                "store_id": ["M1", "M2", "N1"],
                                "valid_from": pd.to_datetime(["2024-01-01", "2024-01-01", "2026-02-10"]),
                                "valid_to": pd.to_datetime([None, None, None])})
    listings = pd.DataFrame([(s, "A-1", pd.Timestamp("2024-01-01"), pd.NaT) for s in ("M1", "M2", "N1")],
                            columns=["store_id", "sku", "listed_on", "delisted_on"])
    return {"orders": _orders(), "stores": stores, "skus": skus, "sku_costs": sku_costs, "fx_rates": fx,
            "teams": teams, "people": people, "assignments": assignments, "listings": listings}


def make_warehouse(path: Path, tables: dict[str, pd.DataFrame] | None = None) -> Warehouse:
    """The fixture's warehouse (``tables``: a changed copy of :func:`build_tables`)."""
    wh = Warehouse(path)
    with wh.transaction("worked fixture") as w:
        for name, df in (tables if tables is not None else build_tables()).items():
            w.write(name, df, partition_by=() if name in REFERENCE else None)
    return wh


@contextlib.contextmanager
def project_elsewhere(tmp: Path, targets_yaml: str = "", adjustments: str | None = None,
                      tables: dict[str, pd.DataFrame] | None = None) -> Iterator[tuple[Path, Warehouse]]:
    """A project root as ``KPI_ROOT`` without a warehouse of its own, and the fixture warehouse elsewhere
    (a step that loses its ``warehouse`` argument fails or finds nothing); the environment restored after."""
    root = make_project(tmp / "project", targets_yaml=targets_yaml)
    if adjustments is not None:
        (root / "parameters" / "adjustments.yaml").write_text(adjustments, encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("KPI_ROOT", str(root))
    mp.delenv("KPI_WAREHOUSE", raising=False)
    try:
        yield root, make_warehouse(tmp / "elsewhere", tables)
    finally:
        mp.undo()


def make_project(root: Path, targets_yaml: str = "") -> Path:
    p = root / "parameters"
    (p / "targets").mkdir(parents=True, exist_ok=True)
    (p / "workbench.yaml").write_text("reporting_currency: CNY\n", encoding="utf-8")
    if targets_yaml:
        (p / "targets" / "t.yaml").write_text(targets_yaml, encoding="utf-8")
    return root


def one_row(df: pd.DataFrame, kpi: str, kind: str, eid: str, period: str) -> pd.Series:
    """The one row of a targets or status frame for ``kpi``, entity and period (asserted unique)."""
    hit = df[(df["kpi"] == kpi) & (df["entity_kind"] == kind) & (df["entity_id"] == eid) & (df["period"] == period)]
    assert len(hit) == 1, (kpi, kind, eid, period, len(hit))
    return hit.iloc[0]


def order_lines_like(line: pd.Series, rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """One order line per (store, day, gross sales), copied from ``line`` with that store, a new order id
    and every date of the line on that day."""
    extra = []
    for store, day, gross in rows:
        r = line.copy()
        d = pd.Timestamp(day)
        r[["store_id", "order_id", "order_date", "order_ts", "ship_date", "promised_ship_date"]] = [
            store, f"{store}-{day}-x", d, d, d, d]
        r[["gross_sales", "gross_sales_rc"]] = [gross, gross]
        extra.append(r)
    return pd.DataFrame(extra)


def catalog_plus(name: str, like: str):
    """The project's KPI catalog plus ``name``: a copy of KPI ``like`` under another id (a KPI only a catalog
    passed in knows: a step that drops its ``catalog`` argument fails to find it)."""
    from kpi_lib.definitions import Catalog, load_catalog

    base = load_catalog()
    return Catalog({**base.kpis, name: base.kpis[like].model_copy(update={"id": name})}, base.measures)
