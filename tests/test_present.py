"""Presentation helpers: number/money/percent formatting, badges, escaping, tables, charts, labels."""

from __future__ import annotations

import json
import re

import pandas as pd
import plotly.graph_objects as go
import pytest

from kpi_lib import present as p
from kpi_lib.errors import RenderError


def test_money_formats() -> None:
    assert p.fmt_money(1234567.4) == "¥1,234,567"
    assert p.fmt_money(-1234.5, "USD", digits=2) == "-$1,234.50"
    assert p.fmt_money(123456, "CNY", "zh", compact=True) == "¥12.3万"
    assert p.fmt_money(2.5e8, "CNY", "zh", compact=True) == "¥2.50亿"
    assert p.fmt_money(123456, "USD", "en", compact=True) == "$123.5k"
    assert p.fmt_money(5, "XYZ") == "XYZ 5"
    for missing in (None, float("nan"), float("inf"), pd.NA):
        assert p.fmt_money(missing) == p.DASH


def test_percent_number_and_units() -> None:
    assert p.fmt_pct(0.1234) == "12.3%"
    assert p.fmt_pct(0.05, 1, signed=True) == "+5.0%"
    assert p.fmt_number(1234.5) == "1,234"  # banker's rounding of .5 is fine for display; no decimals
    assert p.fmt_value(0.25, "pct") == "25.0%"
    assert p.fmt_value(3.456, "ratio") == "3.46×"
    assert p.fmt_value(12.34, "hours", lang="en") == "12.3 h"
    assert p.fmt_value(12.34, "days", lang="zh") == "12.3 天"
    assert p.fmt_value(1000, "money", "EUR", "en") == "€1,000"


def test_labels_zh_en() -> None:
    assert p.t("kpi_status", "zh") == "目标达成与进度"
    assert p.t("kpi_status", "en") == "KPIs against targets"
    assert p.t("not-a-key", "en") == "not-a-key"


@pytest.mark.parametrize("status,zh,en", [("green", "达标", "On track"), ("amber", "有风险", "At risk"),
                                          ("red", "未达标", "Off track"), ("weird", "无目标", "No target")])
def test_badges(status: str, zh: str, en: str) -> None:
    assert zh in p.badge(status, "zh") and en in p.badge(status, "en")
    assert "badge-" in p.badge(status)


def test_table_escapes_values_and_headers_but_not_raw_columns() -> None:
    df = pd.DataFrame({"name": ["<script>x</script>", "a&b"], "v": [1.5, None], "b": [p.badge("red"), ""]})
    html = p.table(df, [("name", "<th>"), ("v", "v"), ("b", "status")], {"v": lambda x: p.fmt_number(x, 1)},
                   raw=["b"])
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html and "a&amp;b" in html
    assert "&lt;th&gt;" in html
    assert 'class="badge badge-red"' in html
    assert '<td class="num">1.5</td>' in html and p.DASH in html
    assert "No data" in p.table(pd.DataFrame(), lang="en")


def test_chart_json_cannot_break_out_of_its_script() -> None:
    fig = p.bar_chart(["</script><script>alert(1)</script>"], [1.0])
    html = p.chart_html(fig, "c1")
    assert html.count("</script>") == 1 and "<script>alert" not in html
    payload = re.search(r"var s=(\{.*\});Plotly", html).group(1)
    assert json.loads(payload)["data"][0]["x"] == ["</script><script>alert(1)</script>"]
    assert "kpiPlot" in html and 'id="c1"' in html


def test_section_and_header_escape() -> None:
    assert p.section("ads", "en", "<p>x</p>") == '<h2 id="ads" class="section">Advertising</h2><p>x</p>'
    h = p.header("<b>T</b>", [("k", "<i>v</i>")])
    assert "<b>T" not in h and "&lt;i&gt;v&lt;/i&gt;" in h


def test_footer_shows_freshness_snapshot_and_time() -> None:
    fr = pd.DataFrame({"source": ["orders"], "latest_date": ["2026-03-31"], "rows": [10]})
    html = p.footer(fr, "abc123", "en")
    assert "Data freshness" in html and "2026-03-31" in html and "abc123" in html and "UTC" in html


def test_charts_use_the_shared_theme() -> None:
    fig = p.line_chart(pd.DataFrame({"period": ["2026-01", "2026-02"], "gmv": [1.0, 2.0]}), "period", {"gmv": "GMV"})
    assert list(fig.layout.colorway) == p.PALETTE
    wf = p.waterfall_chart(["a", "b", "c"], [10, -3, 7], ["absolute", "relative", "total"])
    assert wf.data[0].type == "waterfall"


# ---- issue 9: changes as readers read them, incomplete figures, badges that show only what happened ----
class _Ctx:
    """The bits of report_data.ReportContext the sections use, with its figure collector."""

    def __init__(self, lang: str = "zh") -> None:
        from kpi_lib.report_data import ReportContext

        self.lang, self.currency, self.fx, self.period, self.kind, self.entity_id = lang, "CNY", 1.0, "2026-11", "store", "S1"
        self.figures: list[dict] = []
        self._rc = ReportContext
        self.prior = lambda n=1: "2026-10"

    def record(self, kpi, value, **kw):  # the real method, bound to this stand-in
        self._rc.record(self, kpi, value, **kw)


def test_changes_read_as_points_for_rates_and_percent_for_money() -> None:
    assert p.fmt_change(3.9, "pp") == "+3.9 pp"
    assert p.fmt_change(-0.04, "pp") == "+0.0 pp"  # never "-0.0"
    assert p.fmt_change(0.17, "%") == "+17.0%"
    assert p.fmt_change(-0.42, "x") == "-0.42 x"
    assert p.fmt_change(float("nan"), "%") == p.DASH
    good, bad = p.change_html(-2.0, "pp", True), p.change_html(2.0, "pp", False)
    assert p.GOOD_COLOR in good and "-2.0 pp" in good and p.BAD_COLOR in bad
    assert p.change_html(0.1, "%", None) == "+10.0%"  # no colour when direction is unknown


def _status_rows() -> pd.DataFrame:
    return pd.DataFrame([
        {"kpi": "acos", "name": "ACoS", "unit": "pct", "actual": float("nan"), "prior": 0.2, "yoy_prior": float("nan"),
         "change": float("nan"), "change_unit": "pp", "change_good": None, "prior_period": "2026-10",
         "yoy_period": "2025-11", "target": 0.25, "expected_to_date": float("nan"), "projection": float("nan"),
         "achievement": float("nan"), "pace_achievement": float("nan"), "status": "incomplete",
         "target_period": "2026-11", "adjusted": False, "complete": False, "missing": "ads",
         "stores_covered": 0, "stores_total": 1, "basis": "order", "source": "kpi_values"},
        {"kpi": "cvr", "name": "转化率", "unit": "pct", "actual": 0.12, "prior": 0.1, "yoy_prior": float("nan"),
         "change": 2.0, "change_unit": "pp", "change_good": True, "prior_period": "2026-10", "yoy_period": "2025-11",
         "target": float("nan"), "expected_to_date": float("nan"), "projection": float("nan"),
         "achievement": float("nan"), "pace_achievement": float("nan"), "status": "none", "target_period": "2026-11",
         "adjusted": False, "complete": True, "missing": "", "stores_covered": 5, "stores_total": 11,
         "basis": "order", "source": "kpi_values"},
    ])


def test_incomplete_kpi_shows_dash_reason_grey_badge_and_is_recorded_incomplete() -> None:
    ctx = _Ctx("zh")
    html = p.kpi_status_section(_status_rows(), ctx)
    assert "— 缺少广告数据" in html and "数据不全" in html and p.STATUS_COLORS["incomplete"] in html
    assert "badge-green" not in html
    assert "转化率：基于11家店铺中的5家" in html  # kpi_lib.changes.coverage_text, the one wording
    assert "+2.0 pp" in html
    acos = [f for f in ctx.figures if f["kpi"] == "acos" and f["period"] == "2026-11"]
    assert acos and all(f["value"] is None and f["complete"] is False for f in acos)
    assert any(f["kpi"] == "acos:target" and f["value"] == 0.25 for f in ctx.figures)
    en = p.kpi_status_section(_status_rows().assign(missing=["ads", "traffic"]), _Ctx("en"))
    assert "— no ads data" in en and "Conversion rate over 5 of 11 stores (missing traffic data)" in en


def test_status_counts_show_only_what_happened() -> None:
    assert p.status_counts_html({"red": 0, "amber": 0, "green": 3}).count("<span") == 1
    assert "未达标" not in p.status_counts_html({"red": 0, "amber": 1, "green": 0})
    assert p.status_counts_html({}) == p.DASH
    assert "数据不全" in p.status_counts_html({"incomplete": 2})


def test_print_header_is_css_safe_and_numbers_pages() -> None:
    css = p.print_header('Store "x" </style><script>', "en")
    assert "</style><script>" not in css and "\\3c /style\\3e " in css and "\\22 x\\22 " in css
    assert 'counter(page) " of " counter(pages)' in css
    assert "counter(pages)" in p.print_header("店", "zh") and "第 " in p.print_header("店", "zh")


def test_charts_carry_title_unit_and_printed_values() -> None:
    fig = p.bar_chart(["a", "b"], [1234.0, -56.0], title="GMV", fmt=lambda v: p.fmt_money(v), y_title="¥")
    spec = fig.to_plotly_json()
    assert spec["layout"]["title"]["text"] == "GMV" and spec["data"][0]["text"] == ["¥1,234", "-¥56"]
    wf = p.waterfall_chart(["start", "step", "end"], [100.0, -30.0, 70.0], ["absolute", "relative", "total"],
                           title="W", y_title=p.unit_title("money", "USD", "en"))
    assert list(wf.to_plotly_json()["data"][0]["text"]) == ["¥100", "-¥30", "¥70"]
    assert wf.to_plotly_json()["layout"]["yaxis"]["title"]["text"] == "Amount ($)"
    assert p.unit_title("pct", lang="zh") == "百分比（%）"


def test_an_empty_series_is_a_note_not_a_flat_line() -> None:
    fig = p.line_chart(pd.DataFrame({"period": ["2026-01", "2026-02"], "ad_spend": [None, None]}), "period",
                       {"ad_spend": "Ad spend"}, title="Ads")
    assert "Plotly.newPlot" not in p.chart_or_note(fig, [None, None], "Ads", "en")
    assert "No data for this period" in p.chart_or_note(fig, [0.0, 0.0], "Ads", "en")
    assert "Plotly.newPlot" in p.chart_or_note(fig, [0.0, 3.0], "Ads", "en")


def test_a_trace_the_partial_plotly_bundle_lacks_is_refused() -> None:
    with pytest.raises(RenderError, match="heatmap"):
        p.chart_html(go.Figure(go.Heatmap(z=[[1, 2]])))
    assert len(p.plotly_js()) < 1_300_000 and "waterfall" in p.plotly_js()


def test_no_negative_zero_anywhere() -> None:
    assert p.fmt_pct(-0.0000001) == "0.0%" and p.fmt_money(-0.4) == "¥0" and p.fmt_number(-0.04, 1) == "0.0"
    assert p.fmt_change(-0.004, "pp", 2) == "+0.00 pp" and p.fmt_change(-0.0001, "%") == "+0.0%"
    assert p.fmt_value(7.0, "money", per_unit=True) == "¥7.00" and p.fmt_value(7.4, "money") == "¥7"


def test_money_axes_speak_the_printed_amounts_words() -> None:
    """A zh waterfall of ¥6,017,000 net sales shows ticks ¥0 … ¥600万, not plotly's 6M, in the words of its
    bar labels (¥601.7万); the extent is the running total (600万 − 150万 − 50万 = 400万), so the ticks stop
    at the highest level a bar reaches. Worked: span 0..6,017,000 → raw step 1,203,400 → nice step 2,000,000
    (1, 2, 2.5, 5 × 10^6) → ticks 0, 2M, 4M, 6M, 8M (the last covers 6.017M)."""
    wf = p.waterfall_chart(["净销售额", "费用", "广告", "利润"], [6_017_000.0, -1_500_000.0, -500_000.0, 4_017_000.0],
                           ["absolute", "relative", "relative", "total"], currency="CNY", lang="zh")
    y = wf.to_plotly_json()["layout"]["yaxis"]
    assert list(y["tickvals"]) == [0, 2_000_000, 4_000_000, 6_000_000, 8_000_000]
    assert list(y["ticktext"]) == ["¥0", "¥200万", "¥400万", "¥600万", "¥800万"]
    assert wf.to_plotly_json()["data"][0]["text"][0] == "¥601.7万"
    # en: the same amounts in k / M; a negative level (a loss) is inside the ticks
    en = p.waterfall_chart(["a", "b"], [1_000.0, -3_500.0], ["absolute", "relative"], currency="USD", lang="en")
    y = en.to_plotly_json()["layout"]["yaxis"]
    assert list(y["ticktext"]) == ["-$3k", "-$2k", "-$1k", "$0", "$1k"] and min(y["tickvals"]) <= -2_500
    # a line chart in money gets the same ticks; a percent one keeps its % format; a flat zero series is left alone
    df = pd.DataFrame({"period": ["2026-01", "2026-02"], "gmv": [250_000.0, 1_250_000.0]})
    ln = p.line_chart(df, "period", {"gmv": "GMV"}, currency="CNY", lang="zh").to_plotly_json()["layout"]["yaxis"]
    # span 0..1,250,000 → raw step 250,000 → nice step 2.5 × 10^5
    assert list(ln["ticktext"]) == ["¥0", "¥25万", "¥50万", "¥75万", "¥100万", "¥125万"]
    pct = p.line_chart(df, "period", {"gmv": "GMV"}, percent=True).to_plotly_json()["layout"]["yaxis"]
    assert "tickvals" not in pct and pct["tickformat"] == ".0%"
    flat = p.bar_chart(["a"], [0.0], currency="CNY").to_plotly_json()["layout"].get("yaxis", {})
    assert "tickvals" not in flat
    assert p.money_tick(25_000, "CNY", "zh") == "¥2.5万" and p.money_tick(2_500_000, "USD", "en") == "$2.50M"
    # ticks under one unit apart keep cents (a CPC axis): 0.00, 0.25 … not ¥0, ¥0, ¥1
    cpc = p.bar_chart(["a", "b"], [0.4, 1.1], currency="USD", lang="en").to_plotly_json()["layout"]["yaxis"]
    assert list(cpc["ticktext"])[:3] == ["$0.00", "$0.25", "$0.50"]


def test_the_amber_status_and_the_alerts_section_are_different_words() -> None:
    """A store ranked "预警 1" above a section "预警: 本期没有预警规则被触发" reads as a contradiction: the amber
    status (a KPI near its target) and the alert rules are different things and must be named apart."""
    from kpi_lib.labels import label

    for lang in ("zh", "en"):
        assert label("status.amber", lang) not in label("alerts", lang)
        assert label("status.amber", lang) not in label("no_alerts", lang)


def test_partial_coverage_figures_align_as_numbers_and_the_tree_table_is_indented() -> None:
    """'26.1% (10/11)' is a number (right-aligned like the others), 'Homeware (US)' is not; the attribution
    table indents each node under its parent (one em space per level) and marks partial coverage."""
    df = pd.DataFrame({"v": ["26.1% (10/11)", "¥343,775 (10/11)", "Homeware (US)"]})
    html = p.table(df, [("v", "v")])
    assert html.count('<td class="num">') == 2 and "<td class=\"\">Homeware (US)</td>" in html

    class Ctx:
        lang, currency, fx = "en", "CNY", 1.0

    attr = pd.DataFrame({
        "node": ["net_profit", "ad_spend", "tacos"], "kpi": ["net_profit", "ad_spend", "tacos"],
        "parent": [None, "net_profit", "ad_spend"], "name": ["Net profit", "Ad spend", "TACoS"],
        "unit": ["money", "money", "pct"], "value_a": [900.0, 100.0, 0.1], "value_b": [1320.0, 180.0, 0.12],
        "contribution": [420.0, -80.0, -24.8], "share": [1.0, -0.19, -0.059],
        "complete_b": [False, True, True], "stores_covered_b": [10, None, None], "stores_total_b": [11, None, None]})
    from kpi_lib.present.attribution import _attr_table

    out = _attr_table(attr, Ctx(), "money")
    assert ">Net profit<" in out and ">\u2003Ad spend<" in out and ">\u2003\u2003TACoS<" in out
    assert "¥1,320 (10/11)" in out and "¥900 (10/11)" not in out  # only the month that is partial


def test_chinese_text_has_no_space_between_two_chinese_characters() -> None:
    """A template's '{kpi} 的目标' filled with 净利润率 reads '净利润率的目标'; beside Latin letters and digits
    the space stays ('ACoS 的目标', '为 31.2%'); a zh report page is tidied, an en page is not."""
    from kpi_lib.labels import tidy_zh
    from kpi_lib.reports.html import page

    assert tidy_zh("净利润率 的目标取自考核表") == "净利润率的目标取自考核表"
    assert tidy_zh("ACoS 的目标，为 31.2%，净利润 2026-10") == "ACoS 的目标，为 31.2%，净利润 2026-10"
    body = '<h1 class="report-title">评分卡</h1><p>销售额、净利润率 超过目标</p>'
    assert "净利润率超过目标" in page(body, "zh") and "净利润率 超过目标" in page(body, "en")


def test_the_label_catalog_reads_the_same_with_libyaml_as_with_pyyaml() -> None:
    """The catalog is parsed with libyaml (fast) when present; every key and text equals PyYAML's own parse."""
    from pathlib import Path

    import yaml

    from kpi_lib.labels import catalog

    plain: dict[str, dict[str, str]] = {}
    for path in sorted(Path(p.__file__).parent.parent.joinpath("labels").glob("*.yaml")):
        for key, entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            plain[str(key)] = {lang: str(entry[lang]) for lang in ("zh", "en")}
    assert catalog() == plain and len(plain) > 500
