"""Fixed costs a report batch no longer pays per call (issue 15.1), each checked against the slow way.

- ``Warehouse.connect`` hands out cursors on one DuckDB database per published snapshot (views built
  once), with snapshot isolation: a new snapshot, or a table added in place, is a new database;
  ``Warehouse.read`` reads through one scratch database per process. Results equal a fresh database's.
- ``present.charts.set_theme``: the same figure JSON as plotly's ``update_layout(template=...)``.
- ``config.read_yaml`` with libyaml: the same data as PyYAML's own loader for every parameter file,
  and PyYAML's own message for a broken file.
- ``kpi report`` start-up: jsonschema's IRI grammar (rfc3987_syntax) is not built at import, and an
  IRI is still validated by it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import yaml

from kpi_lib import warehouse as whm
from kpi_lib.config import read_yaml
from kpi_lib.errors import ConfigError
from kpi_lib.present.charts import set_theme, style_figure
from kpi_lib.warehouse import Warehouse

REPO = Path(__file__).resolve().parent.parent


def _publish(wh: Warehouse, **tables: pd.DataFrame) -> None:
    with wh.transaction("test") as w:
        for name, df in tables.items():
            w.write(name, df, partition_by=())


@pytest.fixture()
def wh(tmp_path: Path) -> Warehouse:
    w = Warehouse(tmp_path / "wh")
    _publish(w, skus=pd.DataFrame({"sku": ["A", "B"], "unit_cogs": [1.5, 2.0]}))
    return w


def test_views_are_built_once_per_snapshot(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Path] = []
    real = whm.connect_snapshot
    monkeypatch.setattr(whm, "connect_snapshot", lambda base: built.append(base) or real(base))
    for _ in range(3):
        con = wh.connect()
        con.execute("CREATE TEMP TABLE _mine AS SELECT 1 AS x")  # the engine's temp tables: per cursor
        assert con.execute("SELECT count(*), sum(unit_cogs) FROM skus").fetchone() == (2, 3.5)
        con.close()
    assert len(built) == 1
    # a new snapshot is a new database that sees the new rows; the old cursor's database is untouched
    old = wh.connect()
    _publish(wh, skus=pd.DataFrame({"sku": ["A", "B", "C"], "unit_cogs": [1.5, 2.0, 4.0]}))
    assert wh.connect().execute("SELECT count(*) FROM skus").fetchone() == (3,)
    assert old.execute("SELECT count(*) FROM skus").fetchone() == (2,)
    assert len(built) == 2


def test_a_table_added_in_place_is_seen(wh: Warehouse) -> None:
    assert wh.connect().execute("SELECT count(*) FROM skus").fetchone() == (2,)
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 'S1' AS store_id, 'T1' AS team_id) TO '{wh.current / 'extra_table.parquet'}' "
                "(FORMAT parquet)")
    con.close()
    assert wh.connect().execute("SELECT team_id FROM extra_table").fetchall() == [("T1",)]


def test_read_equals_a_fresh_database(wh: Warehouse) -> None:
    fresh = duckdb.connect()
    want = fresh.sql(f"SELECT * FROM read_parquet('{wh.current / 'skus.parquet'}') WHERE unit_cogs > 1.6").df()
    fresh.close()
    got = wh.read("skus", where="unit_cogs > 1.6")
    pd.testing.assert_frame_equal(got, want)
    assert wh.read("skus").shape == (2, 2)


def test_set_theme_gives_plotlys_figure_json() -> None:
    def fig() -> go.Figure:
        return go.Figure(go.Bar(x=["a", "b"], y=[1, 2], text=["1", "2"]))

    plain = fig()
    plain.update_layout(template="plotly_white")
    assert json.dumps(set_theme(fig()).to_plotly_json(), sort_keys=True, default=str) == \
        json.dumps(plain.to_plotly_json(), sort_keys=True, default=str)
    styled = style_figure(fig(), "t", y_title="¥")
    assert styled.layout.template.layout.paper_bgcolor == pio.templates["plotly_white"].layout.paper_bgcolor
    # a re-registered template is the one used
    saved = pio.templates["plotly_white"]
    try:
        changed = go.layout.Template(saved)
        changed.layout.paper_bgcolor = "#123456"
        pio.templates["plotly_white"] = changed
        assert set_theme(fig()).layout.template.layout.paper_bgcolor == "#123456"
    finally:
        pio.templates["plotly_white"] = saved
    assert set_theme(fig()).layout.template.layout.paper_bgcolor == saved.layout.paper_bgcolor


def test_read_yaml_equals_pyyaml(tmp_path: Path) -> None:
    files = sorted((REPO / "parameters").rglob("*.yaml"))
    assert len(files) > 5
    for f in files:
        assert read_yaml(f) == yaml.safe_load(f.read_text(encoding="utf-8")), f
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\n  b: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: line 2, column 4: invalid YAML: mapping values are not "
                                          r"allowed here"):
        read_yaml(bad)


def test_report_start_up_defers_the_iri_grammar() -> None:
    code = (
        "import sys\nimport kpi_lib.reports, nbformat, jsonschema\n"
        "assert 'rfc3987_syntax.syntax_helpers' not in sys.modules, 'grammar built at import'\n"
        "v = jsonschema.Draft7Validator({'format': 'iri'}, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)\n"
        "print(v.is_valid('http://例え.jp/a?b=c'), v.is_valid('http://a b'), v.is_valid('no scheme'))\n"
        "assert 'rfc3987_syntax.syntax_helpers' in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["True", "False", "False"]


# ---- the batch cache in stages, and reports queued as their stage is written ------------------------
PERIOD = "2026-11"


def test_batch_cache_stages_list_what_is_ready(demo_project: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from kpi_lib import report_data as rd

    monkeypatch.setenv("KPI_ROOT", str(demo_project))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    subjects = [("store", "AMZ-DE-01"), ("person", "P01"), ("contract", "C-001")]
    needs = {("store", "AMZ-DE-01"): {"actions", "costs"}, ("person", "P01"): {"actions", "scorecards"},
             ("contract", "C-001"): {"contracts"}}
    staged = tmp_path / "staged"
    seen = []
    for stage in rd.prepare_batch_stages(subjects, PERIOD, staged, warehouse=Warehouse(), needs=needs):
        meta = json.loads((staged / rd.CACHE_META).read_text(encoding="utf-8"))
        seen.append((stage, *(len(meta[k]) for k in ("actions", "costs", "scorecards", "contracts"))))
    assert seen == [("tables", 0, 0, 0, 0), ("actions", 2, 0, 0, 0), ("costs", 2, 1, 0, 0),
                    ("scorecards", 2, 1, 1, 0), ("contracts", 2, 1, 1, 1)]
    assert list(rd.BATCH_STAGES) == [s for s, *_ in seen]
    # the same cache as prepared in one go
    whole = tmp_path / "whole"
    rd.prepare_batch(subjects, PERIOD, whole, warehouse=Warehouse(), needs=needs)
    names = sorted(p.name for p in staged.iterdir())
    assert names == sorted(p.name for p in whole.iterdir()) and not [n for n in names if n.endswith(".tmp")]
    a, b = (json.loads((d / rd.CACHE_META).read_text(encoding="utf-8")) for d in (staged, whole))
    assert {k: v for k, v in a.items() if k != "token"} == {k: v for k, v in b.items() if k != "token"}
    for f in names:
        if f.endswith(".parquet"):
            pd.testing.assert_frame_equal(pd.read_parquet(staged / f), pd.read_parquet(whole / f), rtol=1e-9)


def test_a_report_is_queued_once_its_stage_is_written() -> None:
    import concurrent.futures as cf
    from types import SimpleNamespace

    from kpi_lib.reports import run as run_mod

    current = ["tables"]
    queued: list[tuple[str, str]] = []

    class Pool:
        def submit(self, fn: object, job: SimpleNamespace, *args: object) -> cf.Future:
            queued.append((job.template, current[0]))
            f: cf.Future = cf.Future()
            f.set_result(job)
            return f

    def stages() -> Iterator[str]:
        for s in ("actions", "costs", "scorecards"):
            current[0] = s
            yield s

    todo = [SimpleNamespace(template=t) for t in
            ("scorecard", "cost_diagnostic", "store_performance", "executive_overview", "team_review", "custom")]
    done = run_mod._run_local(Pool(), todo, 10.0, "", False, None, PERIOD, stages())
    assert len(done) == len(todo)
    assert queued == [("executive_overview", "tables"), ("custom", "tables"), ("store_performance", "actions"),
                      ("team_review", "actions"), ("cost_diagnostic", "costs"), ("scorecard", "scorecards")]
