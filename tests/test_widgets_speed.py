"""Contract simulator on cached figures (issue 13.4): the same fees as `kpi settle`, and edits, saves and
switching back never query the warehouse again; the busy state is shown and released.

Uses the shared demo project (its contracts file is copied into a private project first, since Save writes).
"""

from __future__ import annotations

import shutil

import pytest

from kpi_lib import settlement
from kpi_lib.widgets import contract_simulator as cs
from kpi_lib.widgets.cache import CachedWarehouse


@pytest.fixture
def sim_project(demo_project, tmp_path, monkeypatch):
    proj = tmp_path / "project"
    shutil.copytree(demo_project / "parameters", proj / "parameters")
    monkeypatch.setenv("KPI_ROOT", str(proj))
    monkeypatch.setenv("KPI_WAREHOUSE", str(demo_project / "data" / "warehouse"))
    monkeypatch.setenv("KPI_REFERENCE", str(demo_project / "data" / "reference"))
    monkeypatch.setenv("KPI_HEADLESS", "1")
    return proj


def test_simulator_fees_equal_settle_and_queries_are_cached(sim_project, monkeypatch):
    calls: list[str] = []  # engine queries: one gmv_rows per contract, or gmv_figures without rows
    real, real_rows = settlement.gmv_figures, settlement.gmv_rows

    def counting(contract, period, warehouse=None, rows=None):
        if rows is None:
            calls.append(period)
        return real(contract, period, warehouse, rows=rows)

    def counting_rows(contract, start, end, warehouse=None):
        calls.append(f"{start}..{end}")
        return real_rows(contract, start, end, warehouse)

    monkeypatch.setattr(cs, "gmv_figures", counting)
    monkeypatch.setattr(settlement, "gmv_figures", counting)  # settlement.gmv_window's own calls
    monkeypatch.setattr(settlement, "gmv_rows", counting_rows)
    app = cs.ContractSimulator()
    assert isinstance(app.warehouse, CachedWarehouse)
    ids = [c.id for c in app.contracts]
    assert "C-002" in ids
    app.contract.value = "C-002"
    rec = app.recent_frame
    assert len(rec) and app.status.kind != "error"
    opened = list(calls)  # the panel's queries (settle() below makes its own)
    # base + commission on net GMV: the amount field is the base fee, and the contract's stores are listed first
    from kpi_lib.labels import label

    assert app.fee_at_target.description == label("widget.sim.base_fee", app.lang)
    saved = settlement.get_contract("C-002")
    assert list(app.stores.options[:len(saved.stores)]) == sorted(saved.stores)
    # C-002 (commission above a threshold) opens with the fee `kpi settle` gives, period by period
    for row in rec.itertuples():
        st = settlement.settle("C-002", row.period)
        assert row.saved_terms_fee == pytest.approx(float(st.total), abs=0.005)
        assert row.net_gmv == pytest.approx(float(st.kpis["net_gmv"]), abs=0.005)
        assert row.difference == pytest.approx(0.0, abs=0.005)  # no edit, no difference
    # every period shown, its exit-clause history and last year's (growth target) from ONE query per
    # contract opened (the panel opens on the first contract, then C-002)
    assert len(opened) == 2 and all(".." in c for c in opened), opened

    # switching back and forth, editing fee terms and sliders: no new warehouse query
    app.contract.value = ids[0]
    app.contract.value = "C-002"
    n = len(calls)
    app.exit_below.value = 0.55
    app.recent_n.value = max(1, app.recent_n.value - 1)
    assert len(calls) == n
    assert not app.load_bar.is_busy and not app.contract.disabled and app.load_bar.last_seconds > 0


def test_simulator_save_is_busy_then_reports_beside_the_button(sim_project, monkeypatch):
    app = cs.ContractSimulator()
    cid = app.contract.value
    seen = []
    real_save = cs._save_contract

    def watching(data, path, replace):
        seen.append((app.save_button.disabled, app.contract.disabled, app.bar.spinner.value))
        return real_save(data, path, replace)

    monkeypatch.setattr(cs, "_save_contract", watching)
    before = (sim_project / "parameters" / "contracts.yaml").read_bytes()
    assert not app.read_only, app.read_only_reasons  # the first demo contract is fully editable
    assert app.save() is True
    disabled_save, disabled_switch, spinner = seen[0]
    assert disabled_save and disabled_switch and "working" not in spinner and spinner  # "saving…" text shown
    assert not app.save_button.disabled and app.bar.spinner.value == ""
    assert app.status.widget in app.bar.widget.children  # the message sits next to the Save button
    assert (sim_project / "parameters" / "contracts.yaml").read_bytes() == before  # no edit, same bytes
    assert app.contract.value == cid
