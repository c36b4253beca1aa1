"""The catalog: every KPI of KPI_CATALOG.md, user additions/overrides in parameters/kpis.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpi_lib.definitions import BUILTIN_KPIS, MEASURES, load_catalog
from kpi_lib.errors import ConfigError, DefinitionError

CATALOG_MD_IDS = ["gmv", "refunds", "net_sales", "orders", "units", "aov", "sessions", "cvr", "ad_spend", "ad_sales", "acos", "roas", "tacos", "cpc", "ctr", "cogs", "first_leg", "platform_fees", "fulfillment_fees", "storage_fees", "contribution", "net_profit", "gross_margin", "net_margin", "return_rate", "inventory_days", "inventory_turnover", "sell_through", "stockout_rate", "aged_inventory_share", "active_sku_rate", "first_response_hours", "response_24h_rate", "dispute_days", "negative_review_hours", "new_listings", "ad_optimizations", "late_shipment_rate"]


def test_every_catalog_kpi_ships_with_names_unit_direction():
    ids = {k.id: k for k in BUILTIN_KPIS}
    for k in CATALOG_MD_IDS:
        assert k in ids, k
        d = ids[k]
        assert d.zh and d.en and d.unit and d.direction in ("up", "down")
    assert ids["acos"].direction == "down" and ids["gmv"].direction == "up"
    assert ids["first_response_hours"].aggregation == "median"
    assert ids["orders"].aggregation == "distinct"
    assert MEASURES["median_first_response_hours"].kind == "median"
    load_catalog(Path("/nonexistent.yaml")).check()


def test_user_kpis_add_and_override(tmp_path):
    p = tmp_path / "kpis.yaml"
    p.write_text("kpis:\n  - {id: ad_share, zh: 广告占比, en: Ad share, unit: pct, direction: up, formula: ad_sales / gmv}\n"
                 "  - {id: acos, en: Advertising cost of sales}\n", encoding="utf-8")
    c = load_catalog(p)
    assert c.get("ad_share").formula == "ad_sales / gmv"
    assert c.get("acos").en == "Advertising cost of sales" and c.get("acos").formula == "ad_spend / ad_sales"
    assert c.name("acos", "zh") == "广告成本销售比"


def test_unknown_key_names_file_and_key(tmp_path):
    p = tmp_path / "kpis.yaml"
    p.write_text("kpis:\n  - {id: x1, zh: a, en: b, unit: pct, direction: up, formula: gmv, colour: red}\n")
    with pytest.raises(ConfigError) as e:
        load_catalog(p)
    assert "kpis.yaml" in str(e.value) and "kpis[0].colour" in str(e.value)


def test_bad_user_formula_names_file_and_kpi(tmp_path):
    p = tmp_path / "kpis.yaml"
    p.write_text("kpis:\n  - {id: x2, zh: a, en: b, unit: pct, direction: up, formula: \"__import__('os')\"}\n")
    with pytest.raises(DefinitionError) as e:
        load_catalog(p)
    assert "kpis.yaml" in str(e.value) and "x2" in str(e.value)
    p.write_text("kpis:\n  - {id: x3, zh: a, en: b, unit: pct, direction: up}\n")
    with pytest.raises(DefinitionError, match=r"kpis\[0\]\.formula"):
        load_catalog(p)


def test_shipped_kpis_yaml_is_valid():
    root = Path(__file__).resolve().parents[1]
    c = load_catalog(root / "parameters" / "kpis.yaml")
    assert "ad_sales_share" in c.kpis
