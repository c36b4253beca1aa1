"""Target cascade and growth targets against numbers worked out by hand (tests/worked_fixtures.py).

The cascade rescales its rows to the parent, so "sums to the parent" holds whatever the weights:
these tests pin every store × month value instead.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from worked_fixtures import make_project, make_warehouse

from kpi_lib.targets import all_targets, cascade


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("worked"), targets_yaml=(
        "targets:\n"
        "  - {kpi: gmv, entity_kind: company, period: 2026-Q1, growth: 0.1, cascade: true, ramp_months: 3}\n"
        "  - {kpi: gmv, entity_kind: store, entity_id: M1, period: 2026-02, growth: 0.25}\n"))
    mp = pytest.MonkeyPatch()
    mp.setenv("KPI_ROOT", str(root))
    wh = make_warehouse(root / "data" / "warehouse")
    mp.setenv("KPI_WAREHOUSE", str(wh.path))
    yield root, wh
    mp.undo()


def _values(c) -> dict[tuple[str, str], float]:
    return {(r.entity_id, r.period): r.value for r in c.itertuples()}


def test_cascade_store_by_month_hand_worked(env):
    _, wh = env
    c = cascade({"kpi": "gmv", "entity_kind": "company", "period": "2026-Q1", "value": 12000.0}, wh, ramp_months=3)
    # weights: mature share (M1 0.6, M2 0.4) × last-year month share (1/4, 1/2, 1/4);
    # N1 (launched 2026-02-10): not launched in January; cold start = median mature share 0.5 ×
    # ramp (age + 1) / 3 × month share: February 0.5 × 1/3 × 1/2 = 1/12, March 0.5 × 2/3 × 1/4 = 1/12.
    # Σ weights = 0.6 + 0.4 + 1/6 = 7/6 → each value = weight × 12000 × 6/7
    want = {("M1", "2026-01"): 10800 / 7, ("M1", "2026-02"): 21600 / 7, ("M1", "2026-03"): 10800 / 7,
            ("M2", "2026-01"): 7200 / 7, ("M2", "2026-02"): 14400 / 7, ("M2", "2026-03"): 7200 / 7,
            ("N1", "2026-01"): 0.0, ("N1", "2026-02"): 6000 / 7, ("N1", "2026-03"): 6000 / 7}
    got = _values(c)
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-9), k
    m = c.set_index(["entity_id", "period"])["method"]
    assert m[("N1", "2026-01")] == "not launched"
    assert m[("N1", "2026-02")].startswith("cold-start ramp 1/3") and m[("N1", "2026-03")].startswith("cold-start ramp 2/3")
    assert "share 0.600" in m[("M1", "2026-01")] and "seasonality of 2025-01..2025-03" in m[("M1", "2026-01")]


def test_cascade_with_the_default_six_month_ramp(env):
    _, wh = env
    c = cascade({"kpi": "gmv", "entity_kind": "company", "period": "2026-Q1", "value": 13000.0}, wh)
    # N1: February 0.5 × 1/6 × 1/2 = 1/24, March 0.5 × 2/6 × 1/4 = 1/24; Σ weights = 1 + 1/12 = 13/12
    # → value = weight × 13000 × 12/13 = weight × 12000
    got = _values(c)
    assert got[("M1", "2026-02")] == pytest.approx(0.3 * 12000)
    assert got[("M2", "2026-03")] == pytest.approx(0.1 * 12000)
    assert got[("N1", "2026-02")] == pytest.approx(12000 / 24)
    assert got[("N1", "2026-03")] == pytest.approx(12000 / 24)


def test_cascade_without_last_year_uses_calendar_days(env):
    _, wh = env
    c = cascade({"kpi": "gmv", "entity_kind": "company", "period": "2025-Q1", "value": 9000.0}, wh)
    # no data before 2025: month weights by days 31/90, 28/90, 31/90; no trailing history, so both
    # stores launched by then get the same weight (N1 launches after the period: not a row)
    got = _values(c)
    assert set(got) == {(s, m) for s in ("M1", "M2") for m in ("2025-01", "2025-02", "2025-03")}
    for s in ("M1", "M2"):
        assert got[(s, "2025-01")] == pytest.approx(4500 * 31 / 90)
        assert got[(s, "2025-02")] == pytest.approx(4500 * 28 / 90)
        assert got[(s, "2025-03")] == pytest.approx(4500 * 31 / 90)
    assert c["method"].str.contains("calendar days").all()


def test_team_cascade_only_its_stores(env):
    _, wh = env
    c = cascade({"kpi": "gmv", "entity_kind": "team", "entity_id": "T1", "period": "2026-Q1", "value": 1000.0}, wh)
    # T1 = M1 + M2: shares 0.6 / 0.4 of their own trailing history, seasonality 1/4, 1/2, 1/4
    got = _values(c)
    assert set(got) == {(s, m) for s in ("M1", "M2") for m in ("2026-01", "2026-02", "2026-03")}
    assert got[("M1", "2026-02")] == pytest.approx(300.0) and got[("M2", "2026-01")] == pytest.approx(100.0)


def test_growth_targets_against_last_year(env):
    _, wh = env
    tg = all_targets(wh).set_index(["entity_kind", "entity_id", "period", "kpi"])
    # company Q1 2026 = last year's Q1 GMV (400 + 800 + 400 = 1600; the cancelled 1000 is no GMV) × 1.1
    q1 = tg.loc[("company", "", "2026-Q1", "gmv")]
    assert q1["value"] == pytest.approx(1760.0) and q1["method"] == "2025-Q1 × (1 +10%)"
    # its months: the cascade's month sums (weights worked above, Σ 7/6): Jan 3/14, Feb 1/2, Mar 2/7 of 1760
    assert tg.loc[("company", "", "2026-01", "gmv"), "value"] == pytest.approx(1760 * 3 / 14)
    assert tg.loc[("company", "", "2026-02", "gmv"), "value"] == pytest.approx(880.0)
    assert tg.loc[("company", "", "2026-03", "gmv"), "value"] == pytest.approx(1760 * 2 / 7)
    assert tg.loc[("store", "N1", "2026-03", "gmv"), "value"] == pytest.approx(1760 * 0.5 / 7)
    # a store month: M1 February 2025 was 600 → 600 × 1.25 = 750; the file target wins over the cascade
    m1 = tg.loc[("store", "M1", "2026-02", "gmv")]
    assert m1["value"] == pytest.approx(750.0) and m1["method"] == "2025-02 × (1 +25%)"


def test_fixture_is_what_the_docstring_says(env):
    """The hand numbers above rest on these monthly GMVs (an independent pandas sum of the orders)."""
    from worked_fixtures import build_tables

    o = build_tables()["orders"]
    o = o[o["status"] != "cancelled"]
    by = o.groupby(["store_id", o["order_date"].dt.strftime("%Y-%m")])["gross_sales_rc"].sum()
    assert by[("M1", "2025-02")] == 600 and by[("M2", "2025-12")] == 200
    assert sum(by[("M1", f"2025-{i:02d}")] for i in range(1, 13)) == 2100
    assert sum(by[("M2", f"2025-{i:02d}")] for i in range(1, 13)) == 1400


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.sampled_from(["2026-Q1", "2025-Q1", "2026-02"]),
       st.integers(min_value=1, max_value=12))
def test_cascade_property_any_sign_keeps_proportions(env, value, period, ramp):
    """Zero and negative targets too (a loss budget): the rows sum to the parent, share its sign, and
    keep the same proportions as the worked positive case."""
    _, wh = env
    c = cascade({"kpi": "gmv", "entity_kind": "company", "period": period, "value": value}, wh, ramp_months=ramp)
    assert c["value"].sum() == pytest.approx(value, rel=1e-9, abs=1e-6)
    assert ((c["value"] * (1 if value >= 0 else -1)) >= -1e-6).all()
    ref = cascade({"kpi": "gmv", "entity_kind": "company", "period": period, "value": 1.0}, wh, ramp_months=ramp)
    assert list(c["value"]) == pytest.approx([v * value for v in ref["value"]], rel=1e-9, abs=1e-6)
