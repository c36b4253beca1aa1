"""Actions on off-target KPIs (issue 16): model validation, reference checks, atomic round-trip save,
time rules (status as of the period's end, overdue), before/after values against an independent
``metrics.compute`` call, results, scope of a person's report, and `kpi validate` / `kpi alerts`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kpi_lib import actions as A
from kpi_lib.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
PERIOD = "2026-11"  # demo.DEMO_TEST_END


def _action(**kw) -> dict:
    base = {"id": "ACT-1", "title": "Cut bids 15%", "kpi": "acos", "entity_kind": "store", "entity_id": "AMZ-US-02",
            "owner": "P04", "created": "2026-11-04", "due": "2026-11-20"}
    base.update(kw)
    return base


def _write(path: Path, actions: list[dict]) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({"actions": actions}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# ---- model ---------------------------------------------------------------------------------------------
def test_model_rejects_due_before_created_and_names_the_entry(tmp_path: Path) -> None:
    f = _write(tmp_path / "actions.yaml", [_action(), _action(id="ACT-2", due="2026-11-01")])
    with pytest.raises(ConfigError) as e:
        A.load_actions(f)
    text = str(e.value)
    assert "actions.yaml" in text and "actions[1]" in text and "due 2026-11-01 is before created 2026-11-04" in text


@pytest.mark.parametrize("bad, expected", [
    ({"colour": "red"}, "colour"),                                         # unknown key (extra=forbid)
    ({"status": "done"}, "needs status_by and status_at"),                 # who closed it, when
    ({"status": "finished"}, "status"),                                    # open | done | dropped
    ({"entity_id": None}, "entity_id is required"),
    ({"comments": [{"at": "2026-10-01", "by": "P04", "text": "x"}]}, "dated before the action was created"),
    ({"period": "2026-13"}, "period"),
    ({"status": "done", "status_by": "P04", "status_at": "2026-11-01"}, "status_at 2026-11-01 is before created"),
])
def test_model_rejects_bad_entries(tmp_path: Path, bad: dict, expected: str) -> None:
    f = _write(tmp_path / "actions.yaml", [_action(**bad)])
    with pytest.raises(ConfigError) as e:
        A.load_actions(f)
    assert expected in str(e.value) and "actions[0]" in str(e.value)


def test_duplicate_ids_rejected(tmp_path: Path) -> None:
    f = _write(tmp_path / "actions.yaml", [_action(), _action()])
    with pytest.raises(ConfigError, match="duplicate action id"):
        A.load_actions(f)


def test_unknown_owner_kpi_entity_and_author_are_reported(demo_project: Path) -> None:
    ref = demo_project / "data" / "reference"
    acts = [A.Action.model_validate(x) for x in [
        _action(),
        _action(id="ACT-2", owner="P99"),
        _action(id="ACT-3", kpi="gmv_typo"),
        _action(id="ACT-4", entity_id="AMZ-XX-09"),
        _action(id="ACT-5", entity_kind="team", entity_id="T-NOPE"),
        _action(id="ACT-6", comments=[{"at": "2026-11-05", "by": "Q1", "text": "hi"}]),
        _action(id="ACT-7", expected={"kpi": "nope", "value": 1}),
    ]]
    issues = A.validate_actions(acts, "actions.yaml", reference=ref)
    text = "\n".join(issues)
    assert len(issues) == 6, text
    assert "actions.yaml: actions[1] (ACT-2).owner: unknown person 'P99'" in text
    assert "actions[2] (ACT-3).kpi: unknown KPI 'gmv_typo'" in text
    assert "actions[3] (ACT-4).entity_id: unknown store 'AMZ-XX-09'" in text
    assert "actions[4] (ACT-5).entity_id: unknown team 'T-NOPE'" in text
    assert "actions[5] (ACT-6).comments[0].by: unknown person 'Q1'" in text
    assert "actions[6] (ACT-7).expected.kpi" in text
    # without reference data only the KPIs can be checked
    assert len(A.validate_actions(acts, reference=demo_project / "nowhere")) == 2


def test_shipped_demo_actions_are_valid_and_cover_every_status(demo_project: Path) -> None:
    acts = A.load_actions(REPO / "parameters" / "actions.yaml")
    assert A.validate_actions(acts, reference=demo_project / "data" / "reference") == []
    assert {a.status for a in acts} == {"open", "done", "dropped"}
    assert any(a.expected for a in acts if a.status == "done")


def test_kpi_validate_checks_actions(project: Path, demo_project: Path) -> None:
    from kpi_lib.validate import validate_all

    params = project / "parameters"
    assert validate_all(params, reference=demo_project / "data" / "reference") == []
    f = params / "actions.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("owner: P04", "owner: P404", 1), encoding="utf-8")
    issues = "\n".join(validate_all(params, reference=demo_project / "data" / "reference"))
    assert "actions.yaml: actions[" in issues and "owner: unknown person 'P404'" in issues
    f.write_text(f.read_text(encoding="utf-8").replace("due: 2026-09-16", "due: 2026-08-16", 1), encoding="utf-8")
    issues = "\n".join(validate_all(params, reference=project / "no-reference"))
    assert "actions.yaml" in issues and "is before created" in issues


# ---- save ------------------------------------------------------------------------------------------------
def test_save_keeps_comments_and_order_and_refuses_invalid(tmp_path: Path, demo_project: Path) -> None:
    ref = demo_project / "data" / "reference"
    f = tmp_path / "actions.yaml"
    shutil.copy(REPO / "parameters" / "actions.yaml", f)
    before = f.read_bytes()
    acts = A.load_actions(f)
    A.save_actions(acts, f, reference=ref)
    assert f.read_bytes() == before, "saving unchanged actions must not rewrite the file"
    acts = A.update_action(acts, "ACT-2026-014", status="done", status_by="P04", status_at=dt.date(2026, 12, 4))
    new = A.Action.model_validate(_action(id=A.next_id(acts, dt.date(2026, 12, 4)), created="2026-12-04",
                                          due="2026-12-20"))
    assert new.id == "ACT-2026-023"
    A.save_actions([*acts, new], f, reference=ref)
    text = f.read_text(encoding="utf-8")
    assert text.startswith("# Actions on off-target KPIs") and "# ---- review of 2026-10" in text
    again = A.load_actions(f)
    assert [a.id for a in again] == [a.id for a in acts] + [new.id]
    assert next(a for a in again if a.id == "ACT-2026-014").status == "done"
    saved = f.read_bytes()
    bad = A.update_action(again, "ACT-2026-001", owner="P99")
    with pytest.raises(ConfigError, match="P99"):
        A.save_actions(bad, f, reference=ref)
    assert f.read_bytes() == saved, "an invalid list leaves the file as it was"


_ids = st.lists(st.integers(1, 999), min_size=1, max_size=6, unique=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=_ids, days=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 60)), min_size=6, max_size=6),
       statuses=st.lists(st.sampled_from(A.STATUSES), min_size=6, max_size=6),
       title=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=3, max_size=30))
def test_save_load_round_trip(tmp_path: Path, ids, days, statuses, title) -> None:
    """Whatever valid actions are saved load back equal (dates, unicode titles, statuses, comments)."""
    if not title.strip() or len(title.strip()) < 3:
        return
    base = dt.date(2026, 1, 1)
    acts = []
    for n, (d0, dd), s in zip(ids, days, statuses):
        created = base + dt.timedelta(days=d0)
        extra = {} if s == "open" else {"status": s, "status_by": "P01", "status_at": created + dt.timedelta(days=dd)}
        acts.append(A.Action.model_validate(_action(
            id=f"ACT-{n}", title=title, created=created, due=created + dt.timedelta(days=dd), **extra,
            comments=[{"at": created, "by": "P02", "text": title}])))
    f = tmp_path / f"rt-{ids[0]}.yaml"
    A.save_actions(acts, f, reference=tmp_path / "none")
    assert A.load_actions(f) == acts
    A.save_actions(list(reversed(acts)), f, reference=tmp_path / "none")
    assert A.load_actions(f) == list(reversed(acts))


# ---- time rules and results ------------------------------------------------------------------------------
def test_status_as_of_period_end_and_overdue() -> None:
    acts = [A.Action.model_validate(x) for x in [
        _action(id="late", due="2026-11-18"),                                          # open, overdue
        _action(id="closed-later", due="2026-11-18", status="done", status_by="P04", status_at="2026-12-03"),
        _action(id="not-yet-due", due="2026-12-10"),
        _action(id="done-in-nov", status="dropped", status_by="P01", status_at="2026-11-12"),
        _action(id="done-in-oct", created="2026-10-02", due="2026-10-10", status="done", status_by="P04",
                status_at="2026-10-09"),
        _action(id="future", created="2026-12-02", due="2026-12-20"),
    ]]
    df = A.actions_for("company", None, PERIOD, actions=acts, with_values=False).set_index("id")
    assert set(df.index) == {"late", "closed-later", "not-yet-due", "done-in-nov"}
    assert df.loc["late", "overdue"] and df.loc["late", "days_overdue"] == 12
    assert df.loc["closed-later", "status"] == "open" and df.loc["closed-later", "overdue"], "later updates unknown"
    assert not df.loc["not-yet-due", "overdue"]
    assert df.loc["done-in-nov", "group"] == "closed" and df.loc["late", "group"] == "open"
    assert df.loc["late", "last_review"], "period defaults to the month before created (the review's month)"
    late = A.overdue_actions(dt.date(2026, 12, 6), acts)
    assert list(late["id"]) == ["late"]  # closed-later was done on 12-03, future not due


@pytest.mark.parametrize("before, after, expected, direction, result", [
    (0.79, 0.57, 0.60, "down", "met"),          # ACoS at most 60 %: reached
    (0.79, 0.61, 0.60, "down", "not_met"),
    (-10928.0, -10209.0, 0.0, "up", "not_met"),  # profit to break even: target 0 compared directly
    (100.0, 120.0, 110.0, "up", "met"),
    (100.0, 120.0, None, "up", "improved"),
    (100.0, 120.0, None, "down", "no_improvement"),
    (float("nan"), 120.0, None, "up", "incomplete"),  # missing is not zero
    (100.0, float("nan"), 90.0, "up", "incomplete"),
])
def test_judge(before, after, expected, direction, result) -> None:
    assert A.judge(before, after, expected, direction) == result


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_judge_is_direction_symmetric(a: float, b: float) -> None:
    assert A.judge(a, b, None, "down") == A.judge(-a, -b, None, "up")


# ---- figures on the demo -----------------------------------------------------------------------------------
def test_before_after_equal_metrics_compute(demo_env: Path) -> None:
    from kpi_lib.metrics import compute

    df = A.actions_for("team", "T-AMZ", PERIOD).set_index("id")
    closed = df[df["group"] == "closed"]
    assert {"ACT-2026-010", "ACT-2026-011", "ACT-2026-012"} <= set(closed.index)
    # an independent call: every store at once, then pick the action's store and month
    ref = compute(["acos", "net_margin", "net_profit"], by=["store_id"], period="month", start="2026-10",
                  end="2026-11").set_index(["store_id", "period"])
    for aid in ("ACT-2026-010", "ACT-2026-011", "ACT-2026-012"):
        r = closed.loc[aid]
        assert r["before"] == pytest.approx(ref.loc[(r["entity_id"], "2026-10"), r["kpi"]], rel=1e-9)
        assert r["after"] == pytest.approx(ref.loc[(r["entity_id"], "2026-11"), r["kpi"]], rel=1e-9)
    acos = closed.loc["ACT-2026-011"]
    assert acos["result"] == ("met" if acos["after"] <= 0.60 else "not_met")
    prof = closed.loc["ACT-2026-012"]
    assert prof["result"] == ("met" if prof["after"] >= 0 else "not_met")
    assert closed.loc["ACT-2026-013", "result"] == "dropped"
    assert df.loc["ACT-2026-014", "overdue"] and df.loc["ACT-2026-014", "group"] == "open"
    # a store sees its own only; the team also its members' stores
    store = A.actions_for("store", "AMZ-US-02", PERIOD, with_values=False)
    assert set(store["entity_id"]) == {"AMZ-US-02"}


def test_deviations_and_drivers_add_up(demo_env: Path) -> None:
    dev = A.deviations("team", "T-AMZ", PERIOD)
    assert len(dev) and set(dev["status"]) <= {"red", "amber"}
    assert set(dev["entity_id"]) <= {"T-AMZ", "AMZ-US-01", "AMZ-US-02", "AMZ-US-03", "AMZ-DE-01", "P01", "P02",
                                     "P03", "P04"}
    row = dev[(dev["entity_id"] == "AMZ-US-02") & (dev["kpi"] == "acos")]
    assert bool(row["has_action"].iloc[0]) and "ACT-2026-011" in row["action_ids"].iloc[0]
    drv = A.drivers("store", "AMZ-US-02", PERIOD, ["acos", "net_profit"], top=10)
    for kpi in ("acos", "net_profit"):
        g = drv[drv["kpi"] == kpi]
        assert len(g), kpi
        change = g["kpi_value_b"].iloc[0] - g["kpi_value_a"].iloc[0]
        assert g["contribution"].sum() == pytest.approx(change, rel=1e-6, abs=1e-9), kpi  # contributions add up


def test_person_actions_are_scoped(demo_env: Path) -> None:
    """A person's report lists only actions they own or that concern their stores, and names nobody else."""
    from kpi_lib import report_data as rd
    from kpi_lib import review
    from kpi_lib.org import entity_stores

    acts = A.load_actions()
    from kpi_lib.warehouse import Warehouse

    people = Warehouse().read("people")
    names = dict(zip(people["person_id"], people["name_zh"]))
    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    for pid in ("P02", "P03", "P05", "P12"):
        ctx = rd.context("person", pid, PERIOD, "zh")
        html = review.actions_section(ctx)
        mine = set(entity_stores("person", pid, start, end))
        shown = set(re.findall(r"ACT-\d{4}-\d{3}", html))
        allowed = {a.id for a in acts if a.owner == pid or (a.entity_kind == "store" and a.entity_id in mine)}
        assert shown <= allowed, (pid, shown - allowed)
        for other, name in names.items():
            if other != pid:
                assert name not in html, (pid, other)
    p03 = review.actions_section(rd.context("person", "P03", PERIOD, "zh"))
    assert "ACT-2026-010" in p03 and "ACT-2026-011" in p03  # owns 010; 011 concerns AMZ-US-02, P03's store
    assert "ACT-2026-015" not in p03                         # another person's store (SHP-MY-02)


def test_kpi_alerts_lists_overdue_actions(demo_env: Path) -> None:
    from kpi_lib.cli import app

    r = CliRunner().invoke(app, ["alerts", "--actions", "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    today = dt.date.today()
    want = sorted(a.id for a in A.load_actions() if a.status_on(today) == "open" and a.due < today)
    assert sorted(x["id"] for x in got) == want
    r = CliRunner().invoke(app, ["alerts"])
    assert r.exit_code == 0 and (not want or "overdue action" in r.output)
