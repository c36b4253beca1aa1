"""`kpi report`: batches, parameter validation before any kernel, rendering on warm kernels, failure
isolation, skip-unchanged, scope (a person's report holds only that person) and escaping.

One small batch is rendered once per session (``rendered``) against the engine fixture warehouse
(3 stores, 4 people) with a hostile store name and person name; the browser tests reuse it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from kpi_lib.errors import ConfigError, RenderError

REPO = Path(__file__).resolve().parents[1]
EVIL_STORE = '<script>alert("pwned")</script> Store'
EVIL_PERSON = "Cy <img src=x onerror=alert(1)>"
PEOPLE = {"P1": ("Ann", "安"), "P2": ("Bo", "博"), "P3": (EVIL_PERSON, "赛"), "P4": ("Di", "迪")}
PERIOD = "2026-03"

BATCH = """
name: test
timeout: 120
reports:
  - {template: store_performance, entities: stores, ids: [N-US-02], language: en}
  - {template: scorecard, name: person_scorecard, entities: people, ids: [P3]}
  - {template: broken, entities: company}
"""
BROKEN = ["period = None  # required\nlanguage = 'zh'\ncurrency = ''",
          "from kpi_lib import present as p\np.show('<h1 class=\"report-title\">half</h1>')",
          "raise ValueError('template exploded on purpose')"]


def _write_template(path: Path, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, path)


def build_report_project(base: Path) -> Path:
    """Project root: repo parameters + templates, small targets/contracts, fixture warehouse, computed."""
    from conftest import make_project
    from engine_fixtures import REFERENCE, build_tables

    from kpi_lib.compute import run_compute
    from kpi_lib.warehouse import Warehouse

    proj = make_project(base)
    pdir = proj / "parameters"
    shutil.rmtree(pdir / "targets")
    (pdir / "targets").mkdir()
    (pdir / "targets" / "t.yaml").write_text(
        "targets:\n"
        "  - {kpi: gmv, entity_kind: store, entity_id: N-US-02, period: '*', value: 60000}\n"
        "  - {kpi: acos, entity_kind: store, entity_id: N-US-02, period: '*', value: 0.20}\n"
        "  - {kpi: gmv, entity_kind: company, period: '*', value: 150000}\n", encoding="utf-8")
    (pdir / "batches").mkdir(exist_ok=True)
    (pdir / "batches" / "test.yaml").write_text(BATCH, encoding="utf-8")
    _write_template(proj / "templates" / "broken.ipynb", BROKEN)
    tables = build_tables()
    st = tables["stores"]
    st.loc[st["store_id"] == "N-US-02", "store_name"] = EVIL_STORE
    ppl = tables["people"]
    for pid, (en, zh) in PEOPLE.items():
        ppl.loc[ppl["person_id"] == pid, ["name", "name_zh"]] = [en, zh]
    old = os.environ.get("KPI_ROOT")
    os.environ["KPI_ROOT"] = str(proj)
    try:
        wh = Warehouse(proj / "data" / "warehouse")
        with wh.transaction("report fixture") as w:
            for name, df in tables.items():
                w.write(name, df, partition_by=() if name in REFERENCE else None)
        run_compute(wh)
    finally:
        if old is None:
            os.environ.pop("KPI_ROOT", None)
        else:
            os.environ["KPI_ROOT"] = old
    return proj


@pytest.fixture(scope="session")
def report_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report_project(tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="session")
def rendered(report_project: Path) -> dict:
    """The test batch rendered once (2 warm kernels): summary of the run."""
    from kpi_lib.reports import run_batch

    old = os.environ.get("KPI_ROOT")
    os.environ["KPI_ROOT"] = str(report_project)
    try:
        return run_batch("test", period=PERIOD, jobs=2)
    finally:
        if old is None:
            os.environ.pop("KPI_ROOT", None)
        else:
            os.environ["KPI_ROOT"] = old


@pytest.fixture()
def in_project(report_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KPI_ROOT", str(report_project))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return report_project


def _result(summary: dict, report: str) -> dict:
    return next(r for r in summary["results"] if r["report"] == report)


def strip_plotly(html: str) -> str:
    """The page without the embedded plotly.js blob (its base64 can contain any short string)."""
    return re.sub(r'atob\("[^"]*"\)', "", html)


# ---- batch and parameter validation (no kernel) ------------------------------------------------------
def test_every_batch_in_the_repo_is_valid() -> None:
    from kpi_lib.config import load_model
    from kpi_lib.reports import Batch

    files = sorted((REPO / "parameters" / "batches").glob("*.yaml"))
    assert files
    for f in files:
        load_model(f, Batch)


def test_batch_rejects_unknown_keys(tmp_path: Path) -> None:
    from kpi_lib.reports import load_batch

    p = tmp_path / "b.yaml"
    p.write_text("reports:\n  - {template: store_performance, entities: stores, langauge: en}\n")
    with pytest.raises(ConfigError, match="langauge"):
        load_batch(p)


def test_templates_have_one_parameters_cell_and_no_outputs() -> None:
    from kpi_lib.reports import template_parameters

    for t in sorted((REPO / "templates").glob("*.ipynb")):
        nb = nbformat.read(t, as_version=4)
        tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and tagged[0] == 0, t.name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), t.name
        assert len(nb.cells) <= 10, t.name
        declared = template_parameters(t)
        assert {"period", "language", "currency"} <= set(declared), t.name


def test_unknown_and_missing_parameters_fail_before_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    from kpi_lib import reports

    monkeypatch.setattr(reports.KernelWorker, "start", lambda self: pytest.fail("a kernel was started"))
    tpl = REPO / "templates" / "store_performance.ipynb"
    with pytest.raises(RenderError, match="unknown parameter.*stor_id"):
        reports.validate_parameters(tpl, {"stor_id": "X", "period": PERIOD})
    with pytest.raises(RenderError, match="missing parameter.*store_id"):
        reports.validate_parameters(tpl, {"period": PERIOD})
    with pytest.raises(RenderError, match="period"):
        reports.validate_parameters(tpl, {"store_id": "X", "period": "2026-13"})
    with pytest.raises(RenderError, match="language"):
        reports.validate_parameters(tpl, {"store_id": "X", "period": PERIOD, "language": "fr"})
    reports.validate_parameters(tpl, {"store_id": "X", "period": PERIOD, "language": "en"})


def test_batch_with_bad_parameters_fails_whole_plan(in_project: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from kpi_lib import reports

    monkeypatch.setattr(reports.KernelWorker, "start", lambda self: pytest.fail("a kernel was started"))
    b = tmp_path / "bad.yaml"
    b.write_text("reports:\n  - {template: store_performance, entities: stores, parameters: {colour: red}}\n"
                 "  - {template: no_such_template, entities: company}\n")
    with pytest.raises(RenderError) as exc:
        reports.run_batch(b, period=PERIOD, jobs=1)
    msg = str(exc.value)
    assert "colour" in msg and "no_such_template" in msg


def test_plan_expands_entity_sets(in_project: Path) -> None:
    from kpi_lib.reports import load_batch, plan
    from kpi_lib.warehouse import Warehouse

    jobs = plan(load_batch("monthly"), PERIOD, Warehouse())
    by = {}
    for j in jobs:
        by.setdefault(j.report, []).append(j)
    assert len(by["store_performance"]) == 3
    assert len(by["person_scorecard"]) == 4 and len(by["team_scorecard"]) == 2
    assert len(by["executive_overview"]) == 1
    sc = by["person_scorecard"][0]
    assert sc.params["entity_kind"] == "person" and sc.params["period"] == PERIOD
    assert sc.html == in_project / "outputs" / PERIOD / "person_scorecard" / f"{sc.entity}.html"
    only = plan(load_batch("monthly"), PERIOD, Warehouse(), only="store_performance/S-*")
    assert [j.label for j in only] == ["store_performance/S-MY-01"]


# ---- rendering -------------------------------------------------------------------------------------
def test_batch_renders_and_isolates_failure(rendered: dict, report_project: Path) -> None:
    assert rendered["total"] == 3 and rendered["ok"] == 2 and rendered["failed"] == 1
    bad = _result(rendered, "broken")
    assert bad["status"] == "failed" and "template exploded on purpose" in bad["error"]
    out = report_project / "outputs" / PERIOD
    assert (out / "broken" / "company.ipynb").is_file(), "the failing notebook is kept for debugging"
    assert not (out / "broken" / "company.html").exists()
    kept = nbformat.read(out / "broken" / "company.ipynb", as_version=4)
    assert any(o.get("output_type") == "error" for c in kept.cells for o in c.get("outputs", []))
    for rep in ("store_performance", "person_scorecard"):
        r = _result(rendered, rep)
        assert r["status"] == "ok", r
        assert (report_project / "outputs" / r["html"]).is_file()
        assert (report_project / "outputs" / r["ipynb"]).is_file()
        assert 0 < r["html_bytes"] < 5_000_000


def test_manifest_and_index(rendered: dict, report_project: Path) -> None:
    man = json.loads((report_project / "outputs" / PERIOD / "manifest.json").read_text())
    assert man["snapshot"] == rendered["snapshot"] and man["period"] == PERIOD
    run = man["runs"]["store_performance/N-US-02"]
    assert run["params"] == {"period": PERIOD, "language": "en", "store_id": "N-US-02"}
    assert run["status"] == "ok" and run["seconds"] > 0 and run["key"]
    index = (report_project / "outputs" / "index.html").read_text()
    assert 'href="2026-03/store_performance/N-US-02.html"' in index
    # a reader's index: names beside ids (escaped), the failure in the collapsed run details
    assert "N-US-02" in index and "&lt;script&gt;alert" in index and "<script>alert" not in index
    details = index[index.index('<details class="ix-run">'):]
    assert "template exploded on purpose" in details
    assert "template exploded on purpose" not in index[:index.index('<details class="ix-run">')]
    assert "生成失败" in index and "ipynb" not in index[:index.index('<details class="ix-run">')]
    en = (report_project / "outputs" / "index.en.html").read_text()
    assert "Management reports" in en and "failed" in en and "Store performance" in en
    assert run["names"] == {"zh": run["names"]["zh"], "en": EVIL_STORE} and run["status_counts"]


def test_html_has_no_code_no_cdn_and_a_toc(rendered: dict, report_project: Path) -> None:
    r = _result(rendered, "store_performance")
    html = (report_project / "outputs" / r["html"]).read_text(encoding="utf-8")
    body = strip_plotly(html)
    for bad in ("require.js", "requirejs", "MathJax", "cdn.", "https://", "http://", "rd.context", "store_id = ",
                "injected-parameters", "In&nbsp;[", "jp-InputArea"):
        assert bad not in body, bad
    assert html.count("atob(") == 1, "plotly.js is embedded exactly once"
    assert '<nav class="toc">' in body and 'href="#kpi-status"' in body
    for label in ("KPIs against targets", "KPI tree attribution", "Advertising", "Inventory", "Customer service",
                  "Alerts", "Target adjustments", "Data freshness", r["snapshot"]):
        assert label in body, label
    assert "GMV" in body and "¥" in body and "%" in body
    assert 'class="badge badge-' in body


def test_page_body_is_the_exporters(rendered: dict, report_project: Path) -> None:
    """The runner writes the report cells' HTML in nbconvert's layout directly (``direct_body``): put
    through the exporter's own last step (BeautifulSoup), byte for byte what nbconvert writes, for
    every rendered report; a notebook with anything else (markdown, an image) goes to nbconvert."""
    from bs4 import BeautifulSoup

    from kpi_lib.reports.html import HtmlConverter, direct_body

    conv = HtmlConverter()
    for rep in ("store_performance", "person_scorecard"):
        nb = nbformat.read(report_project / "outputs" / _result(rendered, rep)["ipynb"], as_version=4)
        fast = direct_body(nb)
        assert fast is not None and conv.body(nb) == fast
        ref = nbformat.from_dict(nb)
        for cell in ref.cells:
            cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("output_type") != "stream"]
        want, _ = conv.exporter.from_notebook_node(ref)
        assert str(BeautifulSoup(fast, features="html.parser")) == want, rep
        assert fast.count('<div class="output_area">') >= 5
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# x"), nbformat.v4.new_code_cell("1")])
    other.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    assert direct_body(other) is None and "<img" in conv.body(other)


def test_names_are_escaped(rendered: dict, report_project: Path) -> None:
    r = _result(rendered, "store_performance")
    body = strip_plotly((report_project / "outputs" / r["html"]).read_text(encoding="utf-8"))
    assert "<script>alert" not in body
    assert re.search(r"&lt;script&gt;alert\((&quot;|\")pwned(&quot;|\")\)&lt;/script&gt; Store", body)
    p3 = _result(rendered, "person_scorecard")
    body = strip_plotly((report_project / "outputs" / p3["html"]).read_text(encoding="utf-8"))
    assert "赛" in body  # zh report shows name_zh


def test_person_report_contains_only_that_person(rendered: dict, report_project: Path) -> None:
    r = _result(rendered, "person_scorecard")
    html = (report_project / "outputs" / r["html"]).read_text(encoding="utf-8")
    nb = (report_project / "outputs" / r["ipynb"]).read_text(encoding="utf-8")
    for text in (strip_plotly(html), nb):
        for pid, (en, zh) in PEOPLE.items():
            if pid == "P3":
                continue
            for token in (pid, en, zh):
                assert not re.search(rf"(?<![A-Za-z0-9]){re.escape(token)}(?![A-Za-z0-9])", text), (pid, token)


def test_figures_files_beside_the_html(rendered: dict, report_project: Path) -> None:
    """<entity>.figures.json next to every rendered page, none for a failed one; a person's holds only them."""
    out = report_project / "outputs"
    for rep in ("store_performance", "person_scorecard"):
        r = _result(rendered, rep)
        f = out / r["figures"]
        assert f.name == Path(r["html"]).stem + ".figures.json" and f.parent == (out / r["html"]).parent
        figs = json.loads(f.read_text(encoding="utf-8"))
        assert len(figs) == r["n_figures"] > 10
        assert all(set(x) >= {"entity_kind", "entity_id", "period", "kpi", "basis", "value", "complete", "source"}
                   for x in figs)
    store = json.loads((out / _result(rendered, "store_performance")["figures"]).read_text())
    assert {("store", "N-US-02")} <= {(x["entity_kind"], x["entity_id"]) for x in store}
    person = json.loads((out / _result(rendered, "person_scorecard")["figures"]).read_text())
    assert {(x["entity_kind"], x["entity_id"]) for x in person} == {("person", "P3")}
    assert not (out / PERIOD / "broken" / "company.figures.json").exists()


def test_unchanged_inputs_are_skipped_and_force_rerenders(rendered: dict, in_project: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from kpi_lib import reports

    started = []
    monkeypatch.setattr(reports.KernelWorker, "start", lambda self: started.append(1) or pytest.fail("kernel"))
    again = reports.run_batch("test", period=PERIOD, jobs=2, only="store_performance/*")
    assert again["skipped"] == 1 and again["ok"] == 0 and not started
    man = reports.read_manifest(PERIOD)
    assert man["runs"]["broken/company"]["status"] == "failed", "other reports' entries are kept"


def test_report_data_scopes_and_currency(in_project: Path) -> None:
    from kpi_lib import report_data as rd

    ctx = rd.context("store", "A-US-01", PERIOD, "en")
    usd = rd.context("store", "A-US-01", PERIOD, "en", "USD")
    a, b = rd.kpi_status(ctx).set_index("kpi"), rd.kpi_status(usd).set_index("kpi")
    assert b.loc["gmv", "actual"] == pytest.approx(a.loc["gmv", "actual"] / 7.1)
    assert b.loc["acos", "actual"] == pytest.approx(a.loc["acos", "actual"])
    with pytest.raises(RenderError, match="unknown store"):
        rd.context("store", "NOPE", PERIOD, "en")
    with pytest.raises(RenderError, match="currency"):
        rd.context("store", "A-US-01", PERIOD, "en", "XYZ")
    with pytest.raises(RenderError, match="entity kind"):
        rd.context("store", "A-US-01", PERIOD, "en", kinds=("team", "person"))
    fr = rd.freshness(ctx)
    assert {"orders", "ads", "tickets"} <= set(fr["source"])
    assert fr.set_index("source").loc["orders", "latest_date"] == "2026-03-31"
    acts = rd.activities(rd.context("person", "P3", PERIOD, "en"))
    assert acts.empty  # the fixture's activities all belong to P1
    assert rd.activities(rd.context("person", "P1", PERIOD, "en"))["count"].sum() > 0


def test_cli_report_exit_code(rendered: dict, in_project: Path) -> None:
    from typer.testing import CliRunner

    from kpi_lib.cli import app

    res = CliRunner().invoke(app, ["report", "--batch", "test", "--period", PERIOD, "--json"])
    assert res.exit_code == 1, res.output  # the broken template is still failing (skips the others)
    data = json.loads(res.stdout)
    assert data["failed"] == 1 and data["skipped"] == 2
    res = CliRunner().invoke(app, ["report", "--batch", "test", "--period", "2026-3"])
    out = res.output + (res.stderr if res.stderr_bytes is not None else "")
    assert res.exit_code == 1 and "YYYY-MM" in out


def test_a_run_over_its_timeout_fails_alone(in_project: Path, tmp_path: Path) -> None:
    from kpi_lib.reports import run_batch

    _write_template(in_project / "templates" / "slow.ipynb",
                    ["period = None\nlanguage = 'zh'\ncurrency = ''\nseconds = 0",
                     ("import time\ntime.sleep(seconds)\nfrom kpi_lib import present as p\n"
                      "p.show('<h1 class=\"report-title\">slow</h1>')")])
    b = tmp_path / "slow.yaml"
    b.write_text("reports:\n  - {template: slow, name: slow, entities: company, parameters: {seconds: 60}}\n"
                 "  - {template: slow, name: quick, entities: company}\n")
    res = run_batch(b, period=PERIOD, jobs=1, timeout=3)
    slow, quick = _result(res, "slow"), _result(res, "quick")
    assert slow["status"] == "failed" and "timeout" in slow["error"] and slow["seconds"] < 30
    assert quick["status"] == "ok", "the next report runs on a restarted kernel"


# ---- Dask: one report per task on a LocalCluster of two worker processes ------------------------------
KILL_TEMPLATE = ["period = None  # required\nlanguage = 'zh'\ncurrency = ''\nmode = 'once'",
                 "from kpi_lib import present as p\np.show('<h1 class=\"report-title\">worker killer</h1>')",
                 ("import os, signal, pathlib\n"
                 "marker = pathlib.Path(os.environ['KPI_ROOT']) / f'killed-{mode}'\n"
                 "if mode == 'always' or not marker.exists():\n"
                 "    marker.touch()\n"
                 "    os.kill(os.getppid(), signal.SIGKILL)  # the kernel's parent: the Dask worker process\n"),
                 "p.show('<p>survived</p>')"]
DASK_BATCH = """
name: dask-test
timeout: 120
reports:
  - {template: store_performance, name: dask_store, entities: stores, ids: [N-US-02], language: en}
  - {template: scorecard, name: dask_person, entities: people, ids: [P3]}
  - {template: killer, name: kill_once, entities: company, parameters: {mode: once}}
"""
# in a batch of its own: a worker it kills would also count against whatever task was queued there
# (distributed's allowed-failures is per task, and a dying worker marks all its tasks suspicious)
DASK_KILL_BATCH = """
name: dask-kill
timeout: 120
reports:
  - {template: killer, name: kill_always, entities: company, parameters: {mode: always}}
"""
_GENERATED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")


def test_dask_batch_equals_in_process_and_survives_killed_workers(rendered: dict, in_project: Path) -> None:
    """Two Dask worker processes render what the in-process run rendered (HTML equal once the generation
    time is masked, figures equal); a worker killed mid-report is retried on another worker; a report
    that kills every worker it runs on fails cleanly (manifest says why), and nothing is half-written."""
    import dask

    from kpi_lib.reports import run_batch

    _write_template(in_project / "templates" / "killer.ipynb", KILL_TEMPLATE)
    (in_project / "parameters" / "batches" / "dask_test.yaml").write_text(DASK_BATCH, encoding="utf-8")
    (in_project / "parameters" / "batches" / "dask_kill.yaml").write_text(DASK_KILL_BATCH, encoding="utf-8")
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        s = run_batch("dask_test", period=PERIOD, jobs=2, force=True, executor="dask", retries=0)
        k = run_batch("dask_kill", period=PERIOD, jobs=2, force=True, executor="dask", retries=0)
    res = {r["report"]: r for r in s["results"] + k["results"]}
    out = in_project / "outputs"
    for ours, theirs in (("dask_store", "store_performance"), ("dask_person", "person_scorecard")):
        assert res[ours]["status"] == "ok", res[ours]
        a = _result(rendered, theirs)
        html_a = (out / a["html"]).read_text(encoding="utf-8")
        html_b = (out / res[ours]["html"]).read_text(encoding="utf-8")
        assert _GENERATED.sub("T", html_a) == _GENERATED.sub("T", html_b)
        assert (out / a["figures"]).read_bytes() == (out / res[ours]["figures"]).read_bytes()
    assert res["kill_once"]["status"] == "ok" and "survived" in (out / res["kill_once"]["html"]).read_text()
    assert res["kill_always"]["status"] == "failed" and "KilledWorker" in res["kill_always"]["error"]
    assert not (out / PERIOD / "kill_always" / "company.html").exists()
    man = json.loads((out / PERIOD / "manifest.json").read_text())
    assert man["runs"]["kill_always/company"]["status"] == "failed" and man["executor"] == "dask"
    assert not list(out.rglob("*.tmp")), "a half-written file was left behind"


SHELL_KILL_BATCH = """
name: shell-kill
timeout: 120
reports:
  - {template: killer, name: shell_killed, entities: company, parameters: {mode: self}}
  - {template: store_performance, name: after_kill, entities: stores, ids: [N-US-02], language: en}
"""
SELF_KILL_TEMPLATE = [KILL_TEMPLATE[0], KILL_TEMPLATE[1],
                      "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)  # the shell worker itself", KILL_TEMPLATE[3]]


def test_shell_engine_survives_a_killed_worker_and_equals_the_kernel_engine(rendered: dict, in_project: Path) -> None:
    """The default engine (IPython shells in worker processes): a report whose worker process dies fails
    alone (the manifest says why, nothing half-written) and the next report runs on a new worker; the
    kernel engine renders the shell engine's page byte for byte (generation time masked)."""
    from kpi_lib.reports import run_batch

    _write_template(in_project / "templates" / "killer.ipynb", SELF_KILL_TEMPLATE)
    (in_project / "parameters" / "batches" / "shell_kill.yaml").write_text(SHELL_KILL_BATCH, encoding="utf-8")
    s = run_batch("shell_kill", period=PERIOD, jobs=1, force=True, engine="shell")
    res = {r["report"]: r for r in s["results"]}
    assert res["shell_killed"]["status"] == "failed" and "worker" in res["shell_killed"]["error"], res["shell_killed"]
    assert res["after_kill"]["status"] == "ok", res["after_kill"]
    out = in_project / "outputs"
    assert not (out / PERIOD / "shell_killed" / "company.html").exists()
    assert not list(out.rglob("*.tmp")), "a half-written file was left behind"
    shell_html = (out / res["after_kill"]["html"]).read_text(encoding="utf-8")
    k = run_batch("shell_kill", period=PERIOD, jobs=1, force=True, engine="kernel", only="after_kill")
    kernel_html = (out / k["results"][0]["html"]).read_text(encoding="utf-8")
    assert k["results"][0]["status"] == "ok" and _GENERATED.sub("T", shell_html) == _GENERATED.sub("T", kernel_html)
    with pytest.raises(RenderError, match="engine"):
        run_batch("shell_kill", period=PERIOD, jobs=1, engine="thread")


# ---- compute once: the batch cache (no kernel) ------------------------------------------------------
def test_batch_cache_holds_exactly_the_subjects_rows_and_is_ignored_when_stale(
        in_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    from kpi_lib import report_data as rd
    from kpi_lib.warehouse import Warehouse

    wh = Warehouse(in_project / "data" / "warehouse")
    subjects = [("store", "N-US-02"), ("person", "P3"), ("company", "company")]
    cache = tmp_path / "cache"
    counts = rd.prepare_batch(subjects, PERIOD, cache, warehouse=wh)
    con = duckdb.connect()
    try:  # independent count: the subjects' rows in the warehouse table
        want = con.execute(f"SELECT count(*) FROM {wh.scan_sql('kpi_values')} WHERE (entity_kind = 'store' AND "
                           "entity_id = 'N-US-02') OR (entity_kind = 'person' AND entity_id = 'P3') OR "
                           "(entity_kind = 'company' AND coalesce(entity_id, '') = '')").fetchone()[0]
    finally:
        con.close()
    assert counts["kpi_values"] == want > 0
    ctx = rd.context("store", "N-US-02", PERIOD, "en", warehouse=wh)
    plain = {n: f(ctx).to_json() for n, f in (("status", rd.kpi_status), ("attr", rd.attribution))}
    monkeypatch.setenv(rd.BATCH_CACHE_ENV, str(cache))
    sliced = rd.entity_rows(ctx, "kpi_values", "store", "N-US-02")
    assert len(sliced) < len(rd.table(ctx, "kpi_values")) and set(sliced["entity_id"]) == {"N-US-02"}
    assert {n: f(ctx).to_json() for n, f in (("status", rd.kpi_status), ("attr", rd.attribution))} == plain
    # an entity the batch did not plan: the whole table, never an empty slice
    assert len(rd.entity_rows(ctx, "kpi_values", "store", "N-US-01")) == len(rd.table(ctx, "kpi_values"))
    # a cache from another snapshot is never read
    meta = json.loads((cache / rd.CACHE_META).read_text())
    meta["snapshot_id"] = "another"
    (cache / rd.CACHE_META).write_text(json.dumps(meta))
    os.utime(cache / rd.CACHE_META, ns=(1, 1))
    assert rd._batch_cache(ctx) is None
    assert len(rd.entity_rows(ctx, "kpi_values", "store", "N-US-02")) == len(rd.table(ctx, "kpi_values"))


def test_batch_cache_slices_equal_the_filtered_table_for_any_subjects(in_project: Path, tmp_path: Path) -> None:
    """Invariant (hypothesis): for any set of subjects, each cached slice is exactly the warehouse
    table's rows of that entity, in the table's order, with the same columns and types."""
    import pandas as pd
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from kpi_lib import report_data as rd
    from kpi_lib.warehouse import Warehouse

    wh = Warehouse(in_project / "data" / "warehouse")
    kv = wh.read("kpi_values")
    kv_id = kv["entity_id"].fillna("").astype(str)
    pool = sorted({(k, e) for k, e in zip(kv["entity_kind"].astype(str), kv_id)})

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(pool), min_size=1, max_size=6, unique=True))
    def check(subjects: list[tuple[str, str]]) -> None:
        cache = tmp_path / "c"
        counts = rd.prepare_batch(subjects, PERIOD, cache, warehouse=wh)
        slices = rd._entity_slices(str(cache / "kpi_values.parquet"), "hyp-" + str(subjects))
        assert sum(len(s) for s in slices.values()) == counts["kpi_values"]
        for k, e in subjects:
            want = kv[(kv["entity_kind"] == k) & (kv_id == e)].reset_index(drop=True)
            got = slices[(k, e)].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, want)

    check()


def test_attribution_rows_are_parts_of_the_roots_change(in_project: Path) -> None:
    """Every row of a report's attribution is its part of net profit's change: at every level the children
    (residual included) add up to their parent's row, and the parts of a cost subtracted from profit carry
    the cost's sign toward profit (their sum is the cost's own row, not minus it)."""
    import numpy as np

    from kpi_lib import report_data as rd

    attr = rd.attribution(rd.context("company", None, PERIOD, "en"))
    root = attr.iloc[0]
    assert root["share"] == 1.0 and np.isclose(root["contribution"], root["value_b"] - root["value_a"])
    checked = 0
    for node, kids in attr[attr["relation"] != "informational"].groupby("parent"):
        parent = attr[attr["node"] == node]
        if parent.empty or parent["relation"].iloc[0] == "informational" or kids["contribution"].isna().any():
            continue
        assert kids["contribution"].sum() == pytest.approx(float(parent["contribution"].iloc[0]), rel=1e-9, abs=1e-6)
        checked += 1
    assert checked >= 3
    costs = attr[(attr["relation"] == "additive") & (attr["parent"] == root["node"])
                 & (attr["value_b"] > attr["value_a"]) & (attr["contribution"] < 0)]
    assert not costs.empty  # a cost that rose reads negative toward profit …
    for node in costs["node"]:  # … and so do its parts, together
        kids = attr[(attr["parent"] == node) & (attr["relation"] != "informational")]
        if not kids.empty and kids["contribution"].notna().all():
            assert kids["contribution"].sum() < 0


def test_a_contract_is_named_in_the_readers_language(in_project: Path) -> None:
    """contracts.yaml's name_zh names a contract in Chinese reports, subjects and statements; English ones
    keep name; a contract without name_zh is named by name in both."""
    from kpi_lib import report_data as rd
    from kpi_lib.settlement import load_contracts
    from kpi_lib.warehouse import Warehouse

    wh = Warehouse(in_project / "data" / "warehouse")
    contracts = {c.id: c for c in load_contracts()}
    named = [c for c in contracts.values() if c.name_zh]
    assert named, "the demo contracts carry Chinese names"
    c = named[0]
    assert rd.entity_name(wh, "contract", c.id, "zh") == c.name_zh != c.name
    assert rd.entity_name(wh, "contract", c.id, "en") == c.name
    assert rd.entity_name(wh, "contract", "NO-SUCH", "zh") is None
