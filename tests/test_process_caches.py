"""What a report worker keeps between reports (issue 15: a report's own work is formatting): whole small
warehouse tables, validated parameter files, the org assignments, the project root, the waterfall of the
batch's rows and an entity's monthly KPI rows. Each is read again when its source changes, and no caller
can change what the next one gets.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import make_project, make_warehouse

from kpi_lib import paths
from kpi_lib.warehouse import SMALL_TABLE_BYTES, Warehouse, table_file_key


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "proj")
    monkeypatch.setenv("KPI_ROOT", str(root))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return root


def test_a_small_table_is_read_once_per_version_and_each_caller_gets_its_own_copy(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    with wh.transaction() as w:
        w.write("teams", pd.DataFrame({"team_id": ["T1", "T2"], "team_name": ["One", "Two"]}))
    for _ in range(2):  # the first read and a kept one: each caller's changes stay its own
        first = wh.read("teams")
        first.loc[0, "team_name"] = "changed by a caller"
        first["extra"] = 1
    again = wh.read("teams")
    assert again["team_name"].tolist() == ["One", "Two"] and "extra" not in again
    # a new snapshot (a new file): the new rows, not the kept ones
    with wh.transaction() as w:
        w.write("teams", pd.DataFrame({"team_id": ["T3"], "team_name": ["Three"]}))
    assert wh.read("teams")["team_id"].tolist() == ["T3"]
    # a filtered read is never taken from what was kept
    assert wh.read("teams", where="team_id = 'T9'").empty
    loc = wh.table_location("teams")
    assert table_file_key(loc) is not None and table_file_key(loc)[0] == str(loc)


def test_only_small_one_file_tables_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = Warehouse(tmp_path / "wh")
    with wh.transaction() as w:
        w.write("teams", pd.DataFrame({"team_id": ["T1"], "team_name": ["One"]}))
        w.write("orders_like", pd.DataFrame({"store_id": ["S1", "S2"], "x": [1, 2]}), partition_by=("store_id",))
    assert table_file_key(wh.table_location("orders_like")) is None  # partitioned: a directory
    monkeypatch.setattr("kpi_lib.warehouse.SMALL_TABLE_BYTES", 10)
    assert table_file_key(wh.table_location("teams")) is None  # above the size kept
    assert SMALL_TABLE_BYTES >= 1 << 20


def test_a_parameter_file_is_validated_again_when_it_changes_and_callers_get_copies(project: Path) -> None:
    from kpi_lib.spec import scorecards as sc_spec

    path = paths.parameters_dir() / "scorecards.yaml"
    path.write_text("scorecards:\n  - {id: a, applies_to: team, kpis: [{kpi: gmv, weight: 100, threshold: 1, "
                    "target: 2, maximum: 3}]}\n", encoding="utf-8")
    for _ in range(2):  # the first load and a kept one
        sc_spec.SPEC.load().scorecards[0].id = "edited in memory"
    assert sc_spec.SPEC.load().scorecards[0].id == "a"
    path.write_text(path.read_text(encoding="utf-8").replace("id: a,", "id: bb,"), encoding="utf-8")
    assert sc_spec.SPEC.load().scorecards[0].id == "bb"


def test_assignments_are_worked_out_once_per_table_version(project: Path) -> None:
    from kpi_lib import org

    wh = make_warehouse(project.parent / "wh")
    for _ in range(2):  # the first answer and a kept one
        a = org.assignments(wh)
        a.loc[a.index[0], "team_id"] = "NOPE"
    b = org.assignments(wh)
    assert "NOPE" not in set(b["team_id"].dropna()) and len(b) == len(a)
    with wh.transaction() as w:  # a new assignments table: read again
        w.write("assignments", wh.read("assignments").iloc[:1])
    assert len(org.assignments(wh)) == 1


def test_the_root_follows_kpi_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "b")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "a"))
    assert paths.root() == (tmp_path / "a").resolve()
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "link"))
    assert paths.root() == (tmp_path / "b").resolve()  # resolved, as before
    monkeypatch.setenv("KPI_ROOT", "a")  # relative: to the working directory of the moment
    monkeypatch.chdir(tmp_path)
    assert paths.root() == (tmp_path / "a").resolve()
    monkeypatch.chdir(tmp_path / "b")
    assert paths.root() == (tmp_path / "b" / "a").resolve()


def test_the_waterfall_of_the_same_rows_is_built_once_and_copied() -> None:
    from kpi_lib import costs

    kpis = costs.WATERFALL_KPIS
    rows = pd.DataFrame({"period": "2026-11", "kpi": kpis, "value": [100.0 - i for i in range(len(kpis))],
                         "complete": True, "missing": "", "stores_covered": 1, "stores_total": 1})
    built = []
    real = costs._waterfall_from_totals

    def counting(*a, **k):
        built.append(1)
        return real(*a, **k)

    costs._waterfall_from_totals = counting
    try:
        for _ in range(2):  # the first waterfall and a kept one
            a = costs.waterfall("store", "S1", "2026-11", rows=rows, warehouse="/nonexistent")
            a.loc[0, "amount_rc"] = -1.0
        b = costs.waterfall("store", "S1", "2026-11", rows=rows, warehouse="/nonexistent")
        assert len(built) == 1 and b.loc[0, "amount_rc"] != -1.0
        costs.waterfall("store", "S1", "2026-11", rows=rows.copy(), warehouse="/nonexistent")  # other rows
        costs.waterfall("store", "S2", "2026-11", rows=rows, warehouse="/nonexistent")  # another entity
        assert len(built) == 3
    finally:
        costs._waterfall_from_totals = real


def test_an_answer_is_kept_for_the_same_object_only_and_the_oldest_leaves_first() -> None:
    from kpi_lib.memo import ByObject

    kept = ByObject(2)
    a, b, c = pd.DataFrame({"x": [1]}), pd.DataFrame({"x": [1]}), pd.DataFrame({"x": [2]})
    assert kept.put(a, "k", value=1) == 1 and kept.get(a, "k") == 1
    assert kept.get(b, "k") is None and kept.get(a, "other") is None  # an equal frame is not the same one
    kept.put(b, "k", value=2)
    kept.put(c, "k", value=3)  # a third: the oldest (a) leaves
    assert kept.get(a, "k") is None and (kept.get(b, "k"), kept.get(c, "k")) == (2, 3)
