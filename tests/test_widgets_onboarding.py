"""Onboarding as a new user meets it (issue 13.6): files grouped by store, upload into a store's
folder (atomic, refuses a clash), guesses reset per file, and the next step after ingest."""

from __future__ import annotations

import pytest
from test_widgets import ERP_ROWS, isolated_readers, raw_project, wproject  # noqa: F401 - fixtures

from kpi_lib.errors import ConfigError
from kpi_lib.widgets import onboarding as ob


def test_upload_saves_atomically_into_the_store_folder_and_refuses_a_clash(raw_project):  # noqa: F811
    app = ob.DataOnboarding(lang="en")
    app.upload_store.value = "LZD-TH-01"
    content = ("\r\n".join(ERP_ROWS) + "\r\n").encode("gb18030")
    dest = app.upload_file("erp_orders_2.csv", content, "LZD-TH-01")
    raw = raw_project / "data" / "raw"
    assert dest == raw / "LZD-TH-01" / "erp_orders_2.csv" and dest.read_bytes() == content
    assert app.status.kind == "ok" and app.status.widget in app.upload_bar.widget.children
    assert not list((raw / "LZD-TH-01").glob(".upload-*"))  # no temporary file left behind
    assert app.file.value == str(dest) and app.store_folder.value == "LZD-TH-01"
    assert "LZD-TH-01 · 2 file(s)" in [lbl for lbl, _v in app.store_folder.options]

    # the same name again: refused, the first file untouched
    assert app.upload_file("erp_orders_2.csv", b"other bytes", "LZD-TH-01") is None
    assert app.status.kind == "error" and "already has a file of this name" in app.status.text
    assert dest.read_bytes() == content
    # no store, or a hidden name (ingest would skip it): refused
    with pytest.raises(ConfigError):
        ob.save_upload("", "x.csv", b"1", raw)
    with pytest.raises(ConfigError):
        ob.save_upload("LZD-TH-01", ".hidden.csv", b"1", raw)
    assert not app.upload_bar.is_busy and not app.upload.disabled


def test_guesses_reset_per_file(raw_project):  # noqa: F811
    app = ob.DataOnboarding(lang="en")
    erp = raw_project / "data" / "raw" / "LZD-TH-01" / "erp_orders.csv"
    app.choose(erp)
    assert "已完成 = delivered" in app.status_map.value
    app.fees_text.value = "运费 = shipping_label"
    app.set_field("order_id", "平台订单号")  # a hand choice for this file
    other = raw_project / "data" / "raw" / "AMZ-US-01" / "all_orders_report.txt"
    app.choose(other)
    # nothing of the ERP file's mapping is carried over to the Amazon file
    assert "已完成" not in app.status_map.value and app.fees_text.value == ""
    assert all(d.value in ("", *app.columns) for d in app.field_dropdowns.values())
    assert app.field_dropdowns["order_id"].value != "平台订单号"
    app.choose(erp)
    assert app.field_dropdowns["order_id"].value == "订单编号"  # fresh guess again, not the hand choice
    # a second file with the same header: still fresh guesses, not the first file's hand choices
    twin = erp.with_name("erp_orders_copy.csv")
    twin.write_bytes(erp.read_bytes())
    app = ob.DataOnboarding(lang="en")
    app.choose(erp)
    app.set_field("order_id", "平台订单号")
    app.currency_column.value = ""
    app.choose(twin)
    assert app.field_dropdowns["order_id"].value == "订单编号" and app.currency_column.value == "币种"


def test_after_ingest_the_next_step_is_offered_and_runs(raw_project, monkeypatch):  # noqa: F811
    app = ob.DataOnboarding(lang="en")
    assert app.next_button.layout.display == "none"
    calls = []
    monkeypatch.setattr(ob, "run_compute", lambda: calls.append(1) or {"ok": True})
    summary = app.run_ingest()
    assert summary is not None and "Next: compute KPIs" in app.status.text
    assert app.next_button.layout.display != "none"
    assert app.status.widget in app.ingest_bar.widget.children  # the message sits beside Ingest
    assert app.run_next() == {"ok": True} and calls == [1] and app.status.kind == "ok"
    assert app.next_button.layout.display == "none"


def test_mapping_form_hidden_for_a_recognised_file_behind_a_toggle(raw_project):  # noqa: F811
    app = ob.DataOnboarding(lang="en")
    amazon = raw_project / "data" / "raw" / "AMZ-US-01" / "all_orders_report.txt"
    erp = raw_project / "data" / "raw" / "LZD-TH-01" / "erp_orders.csv"
    app.choose(amazon)
    assert app.recognised  # a built-in reader knows it: it needs no mapping
    assert app.mapping_section.layout.display == "none" and not app.mapping_shown()
    assert app.show_mapping.layout.display != "none" and app.show_mapping.description == "Show column mapping"
    app.show_mapping.value = True  # the user asks for the form anyway (e.g. to map a similar ERP export)
    assert app.mapping_section.layout.display != "none" and app.mapping_shown()
    # a file no reader knows: the form is shown and there is nothing to toggle
    app.choose(erp)
    assert not app.recognised and app.mapping_shown()
    assert app.mapping_section.layout.display != "none" and app.show_mapping.layout.display == "none"
    # back to the recognised file: hidden again (the toggle starts off for every file)
    app.choose(amazon)
    assert app.mapping_section.layout.display == "none" and app.show_mapping.value is False
    app.set_language("zh")
    assert app.show_mapping.description == "显示列映射"
