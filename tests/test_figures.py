"""Figures as data (issue 9): every rendered report writes ``<entity>.figures.json`` beside its HTML, and
the same figure has the same value in every report, equal to the engine's own figure.

One part of the monthly batch (every report kind: the company, the store report of a store without ads or
fee data, the cost diagnostic of a store with every source, a team, a person, a contract, a team review) is rendered once per test session on a copy of the
small demo warehouse; every test reads its files.
"""

from __future__ import annotations

import html as htmllib
import json
import math
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

PERIOD = "2026-11"
STORES = ["WMT-US-01", "AMZ-DE-01"]  # store performance of the first (the demo store without ads), cost diagnostic of the second
PEOPLE = ["P01"]
BATCH = f"""
name: figures-test
timeout: 240
reports:
  - {{template: executive_overview, entities: company}}
  - {{template: cost_diagnostic, entities: company}}
  - {{template: store_performance, entities: stores, ids: {STORES[:1]}}}
  - {{template: cost_diagnostic, name: store_cost_diagnostic, entities: stores, ids: {STORES[1:]}}}
  - {{template: scorecard, name: team_scorecard, entities: teams, ids: [T-AMZ]}}
  - {{template: scorecard, name: person_scorecard, entities: people, ids: {PEOPLE}}}
  - {{template: contract_settlement, entities: contracts, ids: [C-001]}}
  - {{template: team_review, entities: teams, ids: [T-AMZ]}}
"""
ENGINE_KINDS = {"company": None, "store": "store_id", "team": "team_id", "person": "person_id",
                "contract": "contract_id"}


@pytest.fixture(scope="session")
def pack(demo_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Render the batch once on a copy of the demo project; {summary, root, figures: {report/entity: [...]}}."""
    import os

    from kpi_lib.reports import run_batch

    root = tmp_path_factory.mktemp("figures") / "project"
    shutil.copytree(demo_project, root, ignore=shutil.ignore_patterns("outputs"))
    (root / "outputs").mkdir()
    # the templates under test are this checkout's
    shutil.copytree(Path(__file__).resolve().parents[1] / "templates", root / "templates", dirs_exist_ok=True)
    (root / "parameters" / "batches" / "figures_test.yaml").write_text(BATCH, encoding="utf-8")
    old = {k: os.environ.get(k) for k in ("KPI_ROOT", "KPI_WAREHOUSE")}
    os.environ["KPI_ROOT"] = str(root)
    os.environ.pop("KPI_WAREHOUSE", None)
    try:
        summary = run_batch("figures_test", period=PERIOD, jobs=2, force=True)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    out = root / "outputs"
    figures = {}
    for r in summary["results"]:
        if r["status"] == "ok" and r.get("figures"):
            figures[f'{r["report"]}/{r["entity"]}'] = json.loads((out / r["figures"]).read_text(encoding="utf-8"))
    return {"summary": summary, "root": root, "out": out, "figures": figures}


def ctx_prior(period: str) -> str:
    from kpi_lib.metrics import shift_period

    return shift_period(period, -1)


def _html(pack: dict, label: str) -> str:
    r = next(r for r in pack["summary"]["results"] if f'{r["report"]}/{r["entity"]}' == label)
    return (pack["out"] / r["html"]).read_text(encoding="utf-8")


def _text(html: str) -> str:
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", html)))


def _same(a: float | None, b: float | None, unit: str) -> bool:
    if a is None or b is None:
        return a is None and b is None
    # settlements and waterfalls are rounded to cents, line by line, so that their lines add up exactly:
    # a subtotal (contribution, net profit) then differs from the unrounded engine figure by at most half a
    # cent per line it adds (19 waterfall lines: < 0.10); every page shows the same yuan
    tol = {"money": 0.10, "pct": 1e-6}.get(unit, 1e-9)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=tol)


def test_every_report_writes_its_figures(pack: dict) -> None:
    s = pack["summary"]
    assert s["failed"] == 0, [r["error"] for r in s["results"] if r["status"] == "failed"]
    assert len(pack["figures"]) == s["total"] == 2 + 2 + 1 + len(PEOPLE) + 1 + 1
    fields = {"entity_kind", "entity_id", "period", "kpi", "basis", "value", "complete", "source"}
    for label, figs in pack["figures"].items():
        assert figs, label
        assert all(fields <= set(f) for f in figs), label
        assert all(f["value"] is None or math.isfinite(f["value"]) for f in figs), label
        assert all(f["complete"] is False for f in figs if f["value"] is None), label
    # headline figures are there, each with its basis
    exe = pack["figures"]["executive_overview/company"]
    keys = {(f["entity_kind"], f["kpi"], f["basis"]) for f in exe if f["period"] == PERIOD}
    assert {("company", "net_profit", "order"), ("company", "net_margin", "order"), ("store", "net_profit", "order"),
            ("company", "net_sales", "order")} <= keys
    cost = pack["figures"]["cost_diagnostic/company"]
    assert {"net_sales", "refunds", "net_profit", "contribution"} <= {f["kpi"] for f in cost}


def test_the_same_figure_has_one_value_in_every_report(pack: dict) -> None:
    # a roll-up over part of the stores is its own figure (the page says so): coverage is part of the key;
    # a figure whose section does not know its coverage is the engine's figure for the grain (kpi_values)
    base: dict[tuple, list] = defaultdict(list)
    for label, figs in pack["figures"].items():
        for f in figs:
            base[(f["entity_kind"], f["entity_id"], f["period"], f["kpi"], f["basis"])].append((f, label))
    groups: dict[tuple, list] = defaultdict(list)
    for k, items in base.items():
        ref = {f["stores_covered"] for f, _ in items if f["source"] == "kpi_values" and f["stores_covered"] is not None}
        for f, label in items:
            cov = f["stores_covered"] if f["stores_covered"] is not None else (min(ref) if ref else None)
            groups[(*k, cov)].append((f["value"], f.get("unit", ""), label, f["source"]))
    shared = {k[:5] for k, v in groups.items() if len({lb for _, _, lb, _ in v}) > 1}
    assert len(shared) > 10  # the pack really repeats figures across reports, among them:
    assert {("company", "", PERIOD, "net_profit", "order"), ("store", STORES[1], PERIOD, "net_profit", "order"),
            ("company", "", PERIOD, "net_sales", "order"),
            ("company", "", ctx_prior(PERIOD), "net_margin", "order"), ("store", STORES[0], PERIOD, "gmv", "order"),
            ("store", STORES[0], PERIOD, "net_profit:target", None)} <= shared, sorted(shared)
    bad = []
    for k, v in groups.items():
        first = v[0]
        for other in v[1:]:
            if not _same(first[0], other[0], first[1]):
                bad.append((k, sorted({(x[0], x[2], x[3]) for x in v}, key=str)))
                break
    assert not bad, "\n".join(map(str, bad[:15]))


def test_figures_equal_the_engine(pack: dict) -> None:
    """Every KPI figure of an entity × month equals an independent engine call (metrics.compute_long):
    the value (missing when the engine has none) and the completeness flag. Figures over another store
    set than the engine's own (the waterfall is over the stores complete for net profit) say so by
    their stores_covered and are compared with that call."""
    import os

    from kpi_lib.definitions import load_catalog
    from kpi_lib.metrics import compute_long
    from kpi_lib.warehouse import Warehouse

    os.environ["KPI_ROOT"] = str(pack["root"])
    try:
        cat = load_catalog()
        want: dict[tuple, dict] = defaultdict(lambda: defaultdict(list))
        for figs in pack["figures"].values():
            for f in figs:
                if (f["entity_kind"] in ENGINE_KINDS and f["kpi"] in cat.kpis and f["basis"] in ("order", "posted")
                        and re.match(r"^\d{4}-\d{2}$", f["period"])):
                    want[(f["entity_kind"], f["entity_id"], f["basis"])][(f["period"], f["kpi"])].append(f)
        assert len(want) >= 6
        wh = Warehouse(pack["root"] / "data" / "warehouse")
        checked, bad = 0, []
        # one engine call per entity kind and basis (every entity of the kind at once)
        calls: dict[tuple, list] = defaultdict(list)
        for ek, eid, basis in want:
            calls[(ek, basis)].append(eid)
        eng: dict[tuple, object] = {}
        for (ek, basis), ids in calls.items():
            figs_k = [f for eid in ids for f in want[(ek, eid, basis)]]
            kpis = sorted({k for _, k in figs_k})
            periods = sorted({p for p, _ in figs_k})
            dim = ENGINE_KINDS[ek]
            df = compute_long(kpis, by=[dim] if dim else [], period="month", start=periods[0], end=periods[-1],
                              filters={dim: sorted(ids)} if dim else None, warehouse=wh, basis=basis)
            for r in df.to_dict("records"):
                eid = str(r[dim]) if dim else ""
                eng[(ek, eid, basis, r["period"], r["kpi"])] = r
        for (ek, eid, basis), figs in want.items():
            for (per, k), fs in figs.items():
                r = eng.get((ek, eid, basis, per, k))
                v = None if r is None or r["value"] is None or math.isnan(r["value"]) else float(r["value"])
                for f in fs:
                    if f["stores_covered"] is not None and r is not None and f["stores_covered"] != r["stores_covered"]:
                        continue  # another store set, named on the page (checked in the consistency test)
                    checked += 1
                    done = bool(r["complete"]) and v is not None if r is not None else False
                    if not _same(f["value"], v, f.get("unit", "")) or f["complete"] != done:
                        bad.append((ek, eid, per, k, f["value"], f["complete"], v, done, f["source"]))
        assert checked > 100
        assert not bad, "\n".join(map(str, bad[:15]))
    finally:
        os.environ.pop("KPI_ROOT", None)


def test_a_person_sees_only_their_own_figures(pack: dict) -> None:
    for pid in PEOPLE:
        figs = pack["figures"][f"person_scorecard/{pid}"]
        assert {(f["entity_kind"], f["entity_id"]) for f in figs} == {("person", pid)}
    team = pack["figures"]["team_scorecard/T-AMZ"]
    assert {(f["entity_kind"], f["entity_id"]) for f in team} == {("team", "T-AMZ")}


def test_incomplete_figures_are_marked_in_the_figures_and_on_the_page(pack: dict) -> None:
    figs = pack["figures"]["store_performance/WMT-US-01"]
    now = {f["kpi"]: f for f in figs if f["period"] == PERIOD and f["entity_kind"] == "store"}
    incomplete = [k for k, f in now.items() if not f["complete"]]
    assert "acos" in incomplete, "the demo's Walmart store has no ads export (the deliberate gap)"
    text = _text(_html(pack, "store_performance/WMT-US-01"))
    assert "— 缺少" in text and "数据不全" in text
    for k in incomplete:  # never a number: the status row shows the dash and no green badge
        assert now[k]["value"] is None
    page = _html(pack, "store_performance/WMT-US-01")
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.DOTALL):
        if "— 缺少" in row:
            assert "badge-green" not in row
    # the executive overview's ranking marks the store instead of ranking it on missing figures
    exe = {(f["entity_id"], f["kpi"]): f for f in pack["figures"]["executive_overview/company"]
           if f["entity_kind"] == "store" and f["period"] == PERIOD}
    assert not exe[("WMT-US-01", "acos")]["complete"] and exe[("WMT-US-01", "acos")]["value"] is None


def test_scorecard_bonus_is_shown_line_by_line_and_adds_up(pack: dict) -> None:
    checked = 0
    for pid in PEOPLE:
        figs = {f["kpi"]: f["value"] for f in pack["figures"][f"person_scorecard/{pid}"]}
        if figs.get("bonus") is None:
            continue
        lines = {k: v for k, v in figs.items() if k.startswith("bonus:")}
        assert lines and sum(lines.values()) == pytest.approx(figs["bonus"], abs=0.005)
        text = _text(_html(pack, f"person_scorecard/{pid}"))
        rows = re.findall(r"([\d.]+)% × ([\d.]+)% × ¥([\d,.]+) = ¥([-\d,.]+)", text)
        assert len(rows) >= len([k for k in lines if k != "bonus:gate"])
        for w, pay, pool, amt in rows:  # the payout is shown to 0.01 %
            pool_v = float(pool.replace(",", ""))
            assert float(w) / 100 * float(pay) / 100 * pool_v == pytest.approx(
                float(amt.replace(",", "")), abs=pool_v * float(w) / 100 * 0.00005 + 0.005)
        total = re.search(r"(?:奖金合计|Bonus total) ¥([-\d,.]+)", text)
        assert total and float(total.group(1).replace(",", "")) == pytest.approx(figs["bonus"], abs=0.005)
        assert "得分规则" in text and "封顶" in text
        checked += 1
    assert checked >= 1


# Engine noise: costs.unit_economics and scorecards sum in DuckDB in a varying order, so their last
# digit differs between ANY two runs (three fresh processes, no cache: three hashes), and a line rounded
# to cents can flip at a half cent (duties 3765.39 / 3765.40 seen). The reports whose figures all come
# from kpi_values / kpi_status (what the cache slices) must be byte-identical; the others are compared
# figure by figure (1e-9 relative, one cent for money).
BYTE_EQUAL = {"store_performance", "executive_overview"}


def test_batch_cache_gives_the_same_figures_byte_for_byte(pack: dict) -> None:
    """Compute once (the batch cache the runner prepares) changes where a report reads its figures,
    never the figures: the same batch rendered without the cache writes identical figures files."""
    import os

    from kpi_lib.reports import run_batch

    root, out = pack["root"], pack["out"]
    assert pack["summary"].get("prepare_seconds") is not None, "the batch ran without its cache"
    with_cache = {r["figures"]: (out / r["figures"]).read_bytes() for r in pack["summary"]["results"]
                  if r["status"] == "ok" and r.get("figures")}
    old = {k: os.environ.get(k) for k in ("KPI_ROOT", "KPI_WAREHOUSE")}
    os.environ["KPI_ROOT"] = str(root)
    os.environ.pop("KPI_WAREHOUSE", None)
    try:
        plain = run_batch("figures_test", period=PERIOD, jobs=2, force=True, cache=False)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert "prepare_seconds" not in plain and plain["failed"] == 0
    assert len(with_cache) >= 8  # every report kind
    for rel, data in with_cache.items():
        now = (out / rel).read_bytes()
        if rel.split("/")[1] in BYTE_EQUAL:
            assert now == data, f"{rel}: figures differ with and without the batch cache"
            continue
        a, b = json.loads(data), json.loads(now)
        assert [{k: v for k, v in f.items() if k != "value"} for f in a] == \
            [{k: v for k, v in f.items() if k != "value"} for f in b], rel
        for fa, fb in zip(a, b):
            # money sums are exact (DECIMAL, in a fixed order: tests/test_money_sums.py), so a figure with and
            # without the cache is the same number; a ratio may differ in its last bit only
            assert fa["value"] == fb["value"] or math.isclose(fa["value"], fb["value"], rel_tol=1e-12, abs_tol=0), \
                (rel, fa, fb)
    # the cache is a working file of the run, not an output
    assert not (out / PERIOD / ".batch-cache").exists()
