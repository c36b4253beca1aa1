"""Alert rules, robust anomaly detection, `kpi compute` / `kpi alerts` / `kpi status` end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from engine_fixtures import make_project, make_warehouse
from typer.testing import CliRunner

from kpi_lib.alerts import AlertConfig, detect_anomalies, evaluate_alerts, open_alerts
from kpi_lib.cli import app


def test_robust_z_flags_a_spike_not_noise():
    rng = np.random.default_rng(3)
    s = pd.Series(100 + rng.normal(0, 2, 24))
    s.iloc[18] = 160
    flags = detect_anomalies(s, window=12, z=4.0)
    assert flags.iloc[18] and flags.sum() == 1


def _kv(values, kpi="gmv", eid="S1"):
    periods = [f"2026-{m:02d}" for m in range(1, len(values) + 1)]
    return pd.DataFrame({"entity_kind": "store", "entity_id": eid, "period_kind": "month", "period": periods,
                         "kpi": kpi, "value": values})


def test_rules():
    kv = pd.concat([_kv([0.2, 0.4, 0.5], "acos"), _kv([30, 50, 90], "inventory_days"),
                    _kv([0.05, 0.05, 0.04, 0.05, 0.05, 0.12], "return_rate")])
    st = pd.DataFrame({"kpi": "gmv", "entity_kind": "store", "entity_id": "S1", "period": ["2026-01", "2026-02", "2026-03"],
                       "achievement": [0.8, 0.7, 0.85], "pace_achievement": [0.8, 0.7, 0.85]})
    cfg = AlertConfig.model_validate({"rules": [
        {"id": "acos", "kind": "threshold", "kpi": "acos", "op": ">", "value": 0.35},
        {"id": "cover", "kind": "inventory_cover", "lead_time_days": 30, "safety_days": 14},
        {"id": "spike", "kind": "return_rate_spike", "factor": 1.5, "window": 4},
        {"id": "behind", "kind": "consecutive_below_target", "kpi": "gmv", "periods": 3, "below": 0.9, "severity": "high"},
    ], "anomaly": None})
    a = evaluate_alerts(kv, st, cfg)
    got = set(zip(a["rule_id"], a["period"]))
    assert {("acos", "2026-02"), ("acos", "2026-03"), ("cover", "2026-01"), ("spike", "2026-06"),
            ("behind", "2026-03")} == got
    assert a["opened_on"].is_monotonic_decreasing
    assert set(a.loc[a["period"] == "2026-06", "state"]) == {"open"}
    assert set(a.loc[a["rule_id"] == "cover", "state"]) == {"closed"}


@pytest.fixture()
def project(tmp_path, monkeypatch):
    root = make_project(tmp_path)
    monkeypatch.setenv("KPI_ROOT", str(root))
    monkeypatch.setenv("KPI_WAREHOUSE", str(root / "data" / "warehouse"))
    make_warehouse(root / "data" / "warehouse")
    (root / "parameters" / "targets" / "t.yaml").write_text(
        "targets:\n  - {kpi: gmv, entity_kind: company, period: latest_quarter, growth: 0.1, cascade: true}\n"
        "  - {kpi: acos, entity_kind: store, entity_id: A-US-01, period: '*', value: 0.2}\n", encoding="utf-8")
    (root / "parameters" / "alerts.yaml").write_text(
        "rules:\n  - {id: acos-high, kind: threshold, kpi: acos, op: '>', value: 0.2}\n"
        "  - {id: behind, kind: consecutive_below_target, kpi: acos, periods: 2}\n", encoding="utf-8")
    return root


def test_cli_compute_status_alerts(project):
    r = CliRunner().invoke(app, ["compute", "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "kpi_values" in r.output and "GMV" in r.output and "2026-03" in r.output
    from kpi_lib.warehouse import Warehouse
    wh = Warehouse()
    kv = wh.read("kpi_values")
    assert set(kv["entity_kind"]) == {"company", "platform", "store", "team", "person", "contract"}
    assert {"numerator", "denominator", "period_kind"} <= set(kv.columns)
    st = wh.read("kpi_status")
    assert {"green", "amber", "red"} & set(st["status"])
    r = CliRunner().invoke(app, ["alerts", "--json"])
    assert r.exit_code == 0, r.output
    alerts = json.loads(r.output)
    assert alerts and all(a["state"] == "open" for a in alerts)
    assert [a["opened_on"] for a in alerts] == sorted([a["opened_on"] for a in alerts], reverse=True)
    assert len(open_alerts(include_closed=True)) >= len(alerts)
    r = CliRunner().invoke(app, ["status", "--entity-kind", "store", "--entity-id", "A-US-01", "--json"])
    assert r.exit_code == 0, r.output
    rows = {x["kpi"]: x for x in json.loads(r.output)}
    assert rows["acos"]["status"] in ("green", "amber", "red")


def test_cli_compute_without_warehouse_is_one_red_line(tmp_path, monkeypatch):
    root = make_project(tmp_path)
    monkeypatch.setenv("KPI_ROOT", str(root))
    monkeypatch.setenv("KPI_WAREHOUSE", str(root / "nowhere"))
    r = CliRunner().invoke(app, ["compute"])
    assert r.exit_code == 1
    assert "kpi ingest" in r.output
