"""``all_targets`` and ``load_target_files`` at the edges the seventh session left open: a '*' target in a
warehouse without orders (skipped, the targets after it kept), overrides to 0 of a cascaded team month and of a
cascaded store month, an empty target folder, and a CSV store id spelled "NA" (an id, not a missing value).
Fixture: tests/worked_fixtures.py (T1 = M1 + M2, shares 0.6 / 0.4, last year's Q1 1/4, 1/2, 1/4)."""

from __future__ import annotations

import pytest
from worked_fixtures import build_tables, one_row, project_elsewhere

from kpi_lib.errors import ConfigError
from kpi_lib.targets import TARGET_COLUMNS, all_targets, load_target_files


def test_a_star_target_without_data_months_is_skipped_and_the_next_targets_kept(tmp_path):
    """No orders at all: '*' has no months to expand into (no row), the explicit store target after it stays."""
    tables = build_tables()
    tables["orders"] = tables["orders"].iloc[0:0]
    yaml = ("targets:\n"
            "  - {kpi: gmv, entity_kind: company, period: '*', value: 100}\n"
            "  - {kpi: gmv, entity_kind: store, entity_id: M1, period: '2026-02', value: 50}\n")
    with project_elsewhere(tmp_path, targets_yaml=yaml, tables=tables) as (_, wh):
        tg = all_targets(wh)
    assert tg[["kpi", "entity_kind", "entity_id", "period", "value"]].values.tolist() == [
        ["gmv", "store", "M1", "2026-02", 50.0]]


def test_overrides_to_zero_of_cascaded_rows(tmp_path):
    """T1's 2026-Q1 GMV target 1,000 cascades to M1 150 / 300 / 150 and M2 100 / 200 / 100, with T1's months
    250 / 500 / 250. An override of T1's February to 0 and one of M1's January to 0 replace those rows'
    values (0, not "no override"); the rows around them keep the cascade's numbers."""
    yaml = "targets:\n  - {kpi: gmv, entity_kind: team, entity_id: T1, period: 2026-Q1, value: 1000, cascade: true}\n"
    adjustments = (
        "adjustments:\n"
        "  - {id: Z1, who: me, when: 2026-01-01, why: paused, kind: override_target, kpi: gmv, entity_kind: team,\n"
        "     entity_id: T1, period: '2026-02', value: 0}\n"
        "  - {id: Z2, who: me, when: 2026-01-01, why: paused, kind: override_target, kpi: gmv, entity_kind: store,\n"
        "     entity_id: M1, period: '2026-01', value: 0}\n")
    with project_elsewhere(tmp_path, targets_yaml=yaml, adjustments=adjustments) as (_, wh):
        tg = all_targets(wh)
    feb = one_row(tg, "gmv", "team", "T1", "2026-02")
    assert feb["value"] == 0.0 and feb["method"] == "override Z1"
    assert one_row(tg, "gmv", "team", "T1", "2026-01")["value"] == pytest.approx(250.0)
    jan = one_row(tg, "gmv", "store", "M1", "2026-01")
    assert jan["value"] == 0.0 and jan["method"] == "override Z2"
    assert one_row(tg, "gmv", "store", "M1", "2026-02")["value"] == pytest.approx(300.0)
    assert one_row(tg, "gmv", "store", "M2", "2026-01")["value"] == pytest.approx(100.0)


def test_an_empty_target_folder_gives_no_targets(tmp_path):
    with project_elsewhere(tmp_path) as (root, wh):
        assert load_target_files(root / "parameters" / "targets") == ([], {})
        tg = all_targets(wh)
    assert tg.empty and list(tg.columns)[:len(TARGET_COLUMNS)] == TARGET_COLUMNS


def test_a_csv_store_id_na_is_an_id(tmp_path):
    """A store id "NA" (or a note "N/A") in a targets CSV is text, not a missing value."""
    d = tmp_path / "targets"
    d.mkdir()
    (d / "t.csv").write_text("kpi,entity_kind,entity_id,period,value,note\ngmv,store,NA,2026-02,100,N/A\n",
                             encoding="utf-8")
    (t, src), = load_target_files(d)[0]
    assert (t.entity_id, t.value, t.note, src) == ("NA", 100.0, "N/A", "t.csv")


def test_an_override_to_zero_of_a_cascading_target_cascades_zero(tmp_path):
    """T1's 2026-Q1 target 1,000 overridden to 0 (a paused team): the Q1 row reads 0 and so does every store ×
    month row cascaded from it (the cascade splits the overridden value, not the file's)."""
    yaml = "targets:\n  - {kpi: gmv, entity_kind: team, entity_id: T1, period: 2026-Q1, value: 1000, cascade: true}\n"
    adjustments = (
        "adjustments:\n"
        "  - {id: Z0, who: me, when: 2026-01-01, why: paused, kind: override_target, kpi: gmv, entity_kind: team,\n"
        "     entity_id: T1, period: 2026-Q1, value: 0}\n")
    with project_elsewhere(tmp_path, targets_yaml=yaml, adjustments=adjustments) as (_, wh):
        tg = all_targets(wh)
    q1 = one_row(tg, "gmv", "team", "T1", "2026-Q1")
    assert q1["value"] == 0.0 and q1["method"] == "override Z0"
    stores = tg[(tg["entity_kind"] == "store") & (tg["kpi"] == "gmv")]
    assert len(stores) == 6 and (stores["value"] == 0.0).all()
    assert one_row(tg, "gmv", "team", "T1", "2026-02")["value"] == 0.0


def test_a_csvs_bad_rows_are_named_by_file_row_and_column(tmp_path):
    """Every bad row of a targets CSV ("q1 targets.csv": a name with a space) is reported at once, each by file,
    spreadsheet row (the header is row 1) and column, then what was expected."""
    d = tmp_path / "targets"
    d.mkdir()
    (d / "q1 targets.csv").write_text("kpi,entity_kind,entity_id,period,value\n"
                                      "gmv,store,M1,2026-02,abc\ngmv,store,M1,2026-03,5\ngmv,shop,M1,2026-02,1\n",
                                      encoding="utf-8")
    with pytest.raises(ConfigError, match="q1 targets.csv: 2 problem") as err:
        load_target_files(d)
    issues = err.value.issues
    assert len(issues) == 2
    assert issues[0].startswith("q1 targets.csv: row 2: value: ") and "number" in issues[0]
    assert issues[1].startswith("q1 targets.csv: row 4: entity_kind: ") and "'store'" in issues[1]
