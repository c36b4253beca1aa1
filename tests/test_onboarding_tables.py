"""The onboarding panel maps any canonical table: pick ``ads``, map its columns, preview, save, re-read."""

from __future__ import annotations

from pathlib import Path

import pytest

ADS_CSV = ("Day,Campaign,Ad set,Impressions,Clicks,Cost,Purchases,Purchase value\n"
           "2026-03-01,Prospecting,Broad,12000,150,45.10,3,120.00\n"
           "2026-03-01,Retargeting,Visitors 30d,3000,60,12.40,2,80.50\n"
           "2026-03-02,Prospecting,Broad,11000,140,oops,1,30\n")


@pytest.fixture
def ads_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from kpi_lib.ingest.registry import REGISTRY

    # built-ins only: no mapping of the repo or of another test applies
    monkeypatch.setattr(REGISTRY, "_readers", REGISTRY.builtin_readers())
    for f in (project / "parameters" / "mappings").glob("*"):
        f.unlink()
    raw = project / "data" / "raw" / "SFY-US-01"
    raw.mkdir(parents=True)
    (raw / "google_ads.csv").write_text(ADS_CSV, encoding="utf-8")
    ref = project / "data" / "reference"
    ref.mkdir(parents=True)
    (ref / "stores.csv").write_text("store_id,store_name,platform,marketplace,currency,timezone,launch_date,team_id\n"
                                    "SFY-US-01,Direct,shopify,US,USD,America/New_York,2021-01-01,T-DTC\n", encoding="utf-8")
    (ref / "fx_rates.csv").write_text("month,currency,rate\n2026-03,USD,7.1\n2026-03,CNY,1\n", encoding="utf-8")
    return project


def test_onboarding_maps_an_ads_export_saves_and_rereads(ads_project: Path) -> None:
    from kpi_lib.ingest.base import Store
    from kpi_lib.ingest.readers.mapping import MAPPABLE_TABLES, load_mapping, reader_from_mapping
    from kpi_lib.widgets import DataOnboarding

    app = DataOnboarding(lang="en")
    assert [v for _label, v in app.table.options] == list(MAPPABLE_TABLES)
    app.store_folder.value = "SFY-US-01"  # files are grouped by store folder
    app.file.value = next(v for label, v in app.file.options if label.endswith("google_ads.csv"))
    assert app.recognised == []
    app.table.value = "ads"
    # the dropdowns are the ads table's fields; required ones are starred
    assert {"campaign", "impressions", "clicks", "spend", "ad_sales"} <= set(app.field_dropdowns)
    assert "order_id" not in app.field_dropdowns and app.required_fields() == {"date", "spend"}
    assert app.field_dropdowns["spend"].description == "Ad spend *"
    assert app.field_dropdowns["date"].value == "Day" and app.field_dropdowns["spend"].value == "Cost"  # guessed
    app.set_field("campaign", "Campaign")
    app.set_field("ad_group", "Ad set")
    app.set_field("ad_sales", "Purchase value")
    app.set_field("ad_orders", "Purchases")
    frame = app.preview_mapping()
    assert frame["spend"].tolist() == [45.1, 12.4] and frame["campaign"].tolist() == ["Prospecting", "Retargeting"]
    assert any("row 4" in i and "Cost" in i for i in app.preview_issues), app.preview_issues

    app.mapping_name.value = "google_ads_daily"
    assert app.save_mapping() is None  # open preview issues: the first click asks "save anyway?"
    assert not (ads_project / "parameters" / "mappings" / "google_ads_daily.yaml").exists()
    target = app.save_mapping(confirmed=True)
    assert target == ads_project / "parameters" / "mappings" / "google_ads_daily.yaml"
    m = load_mapping(target)
    assert m.table == "ads" and m.columns["spend"] == "Cost" and m.columns["ad_group"] == "Ad set"
    assert app.recognised == ["google_ads_daily"]  # the saved mapping now recognises the file
    res = reader_from_mapping(target).read(ads_project / "data" / "raw" / "SFY-US-01" / "google_ads.csv",
                                           Store("SFY-US-01", "shopify", "US", "USD", "America/New_York"))
    assert res.tables["ads"]["spend"].sum() == pytest.approx(57.5) and len(res.quarantine) == 1

    summary = app.run_ingest()
    f = summary.files[0]
    assert (f.reader, f.rows_read, f.rows_loaded, f.rows_quarantined) == ("google_ads_daily", 3, 2, 1)
    assert f.reconciliation == {"expected": 57.5, "loaded": 57.5, "difference": 0.0}


def test_onboarding_fee_table_without_required_fields_is_not_saved(ads_project: Path) -> None:
    from kpi_lib.widgets import DataOnboarding

    app = DataOnboarding(lang="en")
    app.store_folder.value = "SFY-US-01"  # files are grouped by store folder
    app.file.value = next(v for label, v in app.file.options if label.endswith("google_ads.csv"))
    app.table.value = "fees"
    app.mapping_name.value = "not_fees"
    app.set_field("date", "Day")
    assert app.save_mapping() is None and app.status.kind == "error"
    assert not (ads_project / "parameters" / "mappings" / "not_fees.yaml").exists()
    app.fees_text.value = "Cost = advertising"  # a wide fee export: the column is the fee
    assert app.required_fields() == {"date"}
    assert app.save_mapping(confirmed=True) is not None
