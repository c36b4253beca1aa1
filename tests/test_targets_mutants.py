"""Targets paths their tests never ran (issue 11), worked by hand: seasonal pacing, incomplete status,
a quarter's target as the sum of its month targets, override adjustments, growth targets without last
year's data, cascades that cannot run, adjustment and CSV validation. Data: ``tests/worked_fixtures.py``
(stores M1, M2 of team T1 with GMV from 2025-01, N1 of team T2 from 2026-02; nothing before 2025).
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from pydantic import ValidationError
from worked_fixtures import make_project, make_warehouse

from kpi_lib.errors import ConfigError, TargetError
from kpi_lib.targets import (
    Adjustment,
    all_targets,
    cascade,
    load_target_files,
    pacing,
    status_of,
    target_for,
    target_row,
)

TARGETS = """
targets:
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: '2026-04', value: 10}
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: '2026-05', value: 20}
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: '2026-06', value: 30}
  - {kpi: gmv, entity_kind: store, entity_id: M2, period: '2026-04', value: 5}
  - {kpi: gmv, entity_kind: store, entity_id: M2, period: '2026-05', value: 5}
  - {kpi: gmv, entity_kind: store, entity_id: M2, period: '2026-06', value: 7}
  - {kpi: gmv, entity_kind: store, entity_id: N1, period: '2026-04', value: 9}
  - {kpi: aov, entity_kind: store, entity_id: M1, period: '2026-04', value: 1}
  - {kpi: aov, entity_kind: store, entity_id: M1, period: '2026-05', value: 1}
  - {kpi: aov, entity_kind: store, entity_id: M1, period: '2026-06', value: 1}
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: '2025-01', growth: 0.5}
  - {kpi: gmv, entity_kind: team, entity_id: T9, period: '2026-04', value: 100, cascade: true}
"""
ADJUSTMENTS = """
adjustments:
  - {id: OV1, who: me, when: 2026-01-01, why: new plan, kind: override_target, kpi: gmv, entity_kind: store,
     entity_id: M2, period: '2026-06', value: 70}
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("tm"), targets_yaml=TARGETS)
    (root / "parameters" / "adjustments.yaml").write_text(ADJUSTMENTS, encoding="utf-8")
    mp = pytest.MonkeyPatch()
    mp.setenv("KPI_ROOT", str(root))
    wh = make_warehouse(root / "data" / "warehouse")
    mp.setenv("KPI_WAREHOUSE", str(wh.path))
    yield root, wh
    mp.undo()


def test_quarter_target_is_the_sum_of_its_month_targets(env) -> None:
    _, wh = env
    # M1: 10 + 20 + 30 = 60; M2: 5 + 5 + 70 (June overridden by OV1, not 7) = 80
    assert target_for("gmv", "store", "M1", "2026-Q2", wh) == 60.0
    assert target_for("gmv", "store", "M2", "2026-Q2", wh) == 80.0
    r = target_row("gmv", "store", "M1", "2026-Q2", wh)
    assert r == {"kpi": "gmv", "entity_kind": "store", "entity_id": "M1", "period": "2026-Q2", "value": 60.0,
                 "cascade": False, "source": "months", "method": "sum of 3 month targets", "parent": ""}
    # N1 has April only: no quarter target (missing is not a partial sum)
    assert target_for("gmv", "store", "N1", "2026-Q2", wh) is None
    # a ratio KPI's quarter is not the sum of its months
    assert target_for("aov", "store", "M1", "2026-04", wh) == 1.0
    assert target_for("aov", "store", "M1", "2026-Q2", wh) is None
    # a year needs all twelve months
    assert target_for("gmv", "store", "M1", "2026", wh) is None


def test_override_growth_without_data_and_skipped_cascade(env) -> None:
    _, wh = env
    df = all_targets(wh)
    row = df[(df["entity_id"] == "M2") & (df["period"] == "2026-06") & (df["kpi"] == "gmv")]
    assert len(row) == 1 and row["value"].iloc[0] == 70.0 and row["method"].iloc[0] == "override OV1"
    warnings = df.attrs["warnings"]
    # growth for 2025-01 needs 2024-01 GMV, which does not exist: a warning and no row
    assert any("target gmv store M1 2025-01: growth needs data for 2024-01" in w for w in warnings), warnings
    assert df[(df["entity_id"] == "M1") & (df["period"] == "2025-01")].empty
    # team T9 has no stores: its own row stays, its cascade is skipped with the reason
    assert any(w.startswith("t.yaml: cascade skipped: cannot cascade team:T9:2026-04: the entity has no stores")
               for w in warnings), warnings
    t9 = df[df["entity_id"] == "T9"]
    assert list(t9["value"]) == [100.0] and list(t9["source"]) == ["t.yaml"]


def test_cascade_errors(env) -> None:
    _, wh = env
    with pytest.raises(TargetError, match="target gmv company 2026-Q2: no value to cascade"):
        cascade({"kpi": "gmv", "entity_kind": "company", "period": "2026-Q2", "growth": 0.1}, wh)
    with pytest.raises(TargetError, match="cannot cascade team:T9:2026-04: the entity has no stores in 2026-04"):
        cascade({"kpi": "gmv", "entity_kind": "team", "entity_id": "T9", "period": "2026-04", "value": 1.0}, wh)
    # a growth value passed in is cascaded: T2 = N1 alone takes all of it
    c = cascade({"kpi": "gmv", "entity_kind": "team", "entity_id": "T2", "period": "2026-04", "growth": 0.1}, wh,
                value=42.0)
    assert list(zip(c["entity_id"], c["period"], c["value"])) == [("N1", "2026-04", 42.0)]


def test_pacing_seasonal_curve() -> None:
    curve = pd.Series([0.02 * (i + 1) for i in range(30)])  # 2 % of the month per day, cumulative
    # 10 days in: the curve says 20 % (calendar would say 10/30)
    p = pacing("gmv", 300.0, 3000.0, "2026-11", dt.date(2026, 11, 10), method="seasonal", curve=curve)
    assert p["elapsed_share"] == pytest.approx(0.2) and p["expected_to_date"] == pytest.approx(600.0)
    assert p["projection"] == pytest.approx(1500.0)
    # a curve shorter than the days elapsed: its last point (30 → 60 % at day 30 of 30 holds)
    short = pd.Series([0.1, 0.25])
    assert pacing("gmv", 1.0, 100.0, "2026-11", dt.date(2026, 11, 20), method="seasonal",
                  curve=short)["elapsed_share"] == pytest.approx(0.25)
    # a curve point that is 0 or NaN: the calendar share (10/30)
    for bad in (0.0, float("nan")):
        c = curve.copy()
        c.iloc[9] = bad
        assert pacing("gmv", 1.0, 30.0, "2026-11", dt.date(2026, 11, 10), method="seasonal",
                      curve=c)["elapsed_share"] == pytest.approx(10 / 30)
    # calendar method ignores the curve; before the period nothing elapsed: no projection
    assert pacing("gmv", 1.0, 30.0, "2026-11", dt.date(2026, 11, 10), curve=curve)["elapsed_share"] == pytest.approx(1 / 3)
    before = pacing("gmv", 0.0, 30.0, "2026-11", dt.date(2026, 10, 20), method="seasonal", curve=curve)
    assert before["elapsed_share"] == 0.0 and before["expected_to_date"] == 0.0 and math.isnan(before["projection"])
    after = pacing("gmv", 25.0, 30.0, "2026-11", dt.date(2026, 12, 20))
    assert after["elapsed_share"] == 1.0 and after["projection"] == 25.0


def test_status_incomplete_and_none() -> None:
    assert status_of(1.5, complete=False) == "incomplete"
    assert status_of(float("nan"), complete=False) == "incomplete"
    assert status_of(None) == "none"  # type: ignore[arg-type]
    assert status_of(float("inf")) == "none"
    assert status_of(0.9) == "amber" and status_of(0.8999) == "red"


def test_adjustment_validation() -> None:
    base = {"id": "A", "who": "me", "when": "2026-01-01", "why": "because"}
    with pytest.raises(ValidationError, match="exclude_days needs start <= end"):
        Adjustment.model_validate({**base, "kind": "exclude_days", "start": "2026-02-10", "end": "2026-02-09"})
    with pytest.raises(ValidationError, match="exclude_days needs start <= end"):
        Adjustment.model_validate({**base, "kind": "exclude_days", "start": "2026-02-10"})
    assert Adjustment.model_validate({**base, "kind": "exclude_days", "start": "2026-02-10", "end": "2026-02-10"})
    for missing in ("value", "period", "kpi"):
        d = {**base, "kind": "override_target", "kpi": "gmv", "period": "2026-02", "value": 1.0}
        d.pop(missing)
        with pytest.raises(ValidationError, match="override_target needs kpi, period and value"):
            Adjustment.model_validate(d)
    with pytest.raises(ValidationError):
        Adjustment.model_validate({**base, "kind": "override_target", "kpi": "gmv", "period": "2026-13", "value": 1})


def test_csv_target_errors_name_file_and_row(tmp_path) -> None:
    d = tmp_path / "targets"
    d.mkdir()
    (d / "a.csv").write_text("kpi,entity_kind,entity_id,period,value\n"
                             "gmv,store,M1,2026-04,10\n"
                             "gmv,store,,2026-04,10\n"
                             "gmv,company,,2026-04,\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_target_files(d)
    assert str(e.value).startswith(f"{d / 'a.csv'}: 2 problem(s)")
    issues = e.value.issues if hasattr(e.value, "issues") else e.value.args[1]
    assert [i.split(":")[0:2] for i in issues] == [["a.csv", " row 3"], ["a.csv", " row 4"]]
    assert "entity_id is required for entity_kind store" in issues[0]
    assert "give exactly one of value or growth" in issues[1]
    # no directory: no targets, no thresholds
    assert load_target_files(tmp_path / "absent") == ([], {})


def test_target_for_reads_the_given_warehouse(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # '*' = every month with orders in *that* warehouse (kept outside the project's default path)
    root = make_project(tmp_path / "p", targets_yaml="targets:\n  - {kpi: gmv, entity_kind: company, period: '*', value: 5}\n")
    monkeypatch.setenv("KPI_ROOT", str(root))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    wh = make_warehouse(tmp_path / "elsewhere")
    assert target_for("gmv", "company", None, "2025-06", wh) == 5.0  # company: no entity id
    assert target_for("gmv", "company", "", "2026-03", wh) == 5.0
    assert target_for("gmv", "company", None, "2026-04", wh) is None  # no orders in April 2026
    # a year of twelve month targets is their sum (2025: 12 × 5); 2026 has three months only
    assert target_for("gmv", "company", None, "2025", wh) == 60.0
    assert target_for("gmv", "company", None, "2026", wh) is None
    assert target_for("gmv", "company", None, "2025-Q3", wh) == 15.0
