"""Reports a client can read: every word in the reader's language, names beside ids, a summary traceable
to the figures file, charts with titles and units, pages under 1 MB.

One report of every kind is rendered from the demo warehouse (``demo_project``) in zh and in en (the
whole monthly batch with ``KPI_LANG_SCAN_ALL=1``), then the visible text of each page — table cells,
notes, chart titles, axis titles and legends — is scanned for:

- snake_case tokens (``inventory_days``, ``ad_group_optimization``): an internal name shown to a reader;
- internal ids (store, team, person, contract) not accompanied by the entity's name;
- in a zh page, English words outside an allow-list of acronyms sellers use (ACoS, SKU, GMV, …) and the
  names the user's own data gives (store, SKU, contract and people names, action texts);
- in an en page, Chinese text that is not the user's own data (a bank account name as the bank holds it).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from kpi_lib import present as p
from kpi_lib.alerts import AlertConfig, AnomalyConfig, Rule, evaluate_alerts
from kpi_lib.demo import DEMO_TEST_END
from kpi_lib.labels import label

ALLOWED_EN = {"ACoS", "TACoS", "SKU", "SKUs", "ASIN", "CVR", "GMV", "ROAS", "CPC", "CTR", "FBA", "WFS", "ERP", "KPI",
              "LMDI", "BI", "SaaS", "CNY", "USD", "EUR", "MYR", "SGD", "THB", "UTC", "pp", "Listing",
              "AOV", "SWIFT"}
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
CLI_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")  # a command line (`kpi settle --contract …`) on a page
EN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")  # Chinese words and punctuation
SUBSET = [
    {"template": "executive_overview", "entities": "company"},
    {"template": "store_performance", "entities": "stores", "ids": ["WMT-US-01", "AMZ-DE-01"]},
    {"template": "scorecard", "name": "team_scorecard", "entities": "teams", "ids": ["T-AMZ"]},
    {"template": "scorecard", "name": "person_scorecard", "entities": "people", "ids": ["P01"]},
    {"template": "contract_settlement", "entities": "contracts", "ids": ["C-001"]},
    {"template": "cost_diagnostic", "entities": "company"},
    {"template": "cost_diagnostic", "name": "store_cost_diagnostic", "entities": "stores", "ids": ["AMZ-US-01"]},
    {"template": "team_review", "entities": "teams", "ids": ["T-SEA"]},
]


def _in_root(proj: Path):
    class _Root:
        def __enter__(self):
            self.old = os.environ.get("KPI_ROOT")
            os.environ["KPI_ROOT"] = str(proj)

        def __exit__(self, *exc):
            if self.old is None:
                os.environ.pop("KPI_ROOT", None)
            else:
                os.environ["KPI_ROOT"] = self.old

    return _Root()


@pytest.fixture(scope="module")
def pages(demo_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """{lang: {"dir": Path, "summary": run summary, "proj": Path}} for the subset rendered in zh and en."""
    from kpi_lib.reports import run_batch

    proj = tmp_path_factory.mktemp("lang") / "project"
    shutil.copytree(demo_project, proj, ignore=shutil.ignore_patterns("outputs"))
    (proj / "outputs").mkdir()
    batch = proj / "parameters" / "batches" / "language_check.yaml"
    if os.environ.get("KPI_LANG_SCAN_ALL"):
        shutil.copy(proj / "parameters" / "batches" / "monthly.yaml", batch)
    else:
        batch.write_text(yaml.safe_dump({"name": "language_check", "reports": SUBSET}), encoding="utf-8")
    out: dict[str, dict] = {}
    with _in_root(proj):
        for lang in ("zh", "en"):
            summary = run_batch(batch, period=DEMO_TEST_END, jobs=2, language=lang, force=True)
            assert not summary["failed"], [(r["report"], r["entity"], r["error"]) for r in summary["results"]
                                           if r["status"] == "failed"]
            keep = proj / f"outputs-{lang}"
            shutil.copytree(proj / "outputs" / summary["period"], keep)
            out[lang] = {"dir": keep, "summary": summary, "proj": proj}
    return out


# ---- what a reader sees --------------------------------------------------------------------------
def _chart_words(payload: str) -> list[str]:
    """Titles, axis titles and legend names of one embedded plotly figure."""
    spec = json.loads(payload)
    words = [str(tr.get("name") or "") for tr in spec.get("data", [])]
    lay = spec.get("layout", {})
    for v in lay.values():
        if isinstance(v, dict) and isinstance(v.get("title"), dict):
            words.append(str(v["title"].get("text") or ""))
    if isinstance(lay.get("title"), dict):
        words.append(str(lay["title"].get("text") or ""))
    for tr in spec.get("data", []):  # category labels on the axes (store names, cost lines, drivers)
        for axis in ("x", "y"):
            vals = tr.get(axis)
            if isinstance(vals, list) and any(isinstance(v, str) for v in vals):
                assert all(v is not None for v in vals), f"a chart bar without a label: {vals}"
                words += [v for v in vals if isinstance(v, str)]
    return words


def visible_text(page: str) -> str:
    """The words a reader sees: body text without scripts/styles, plus chart titles and legends."""
    charts = re.findall(r"var s=(\{.*?\});Plotly\.newPlot", page, flags=re.DOTALL)
    extra = []
    for c in charts:
        extra += _chart_words(c)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    body = re.sub(r"<[^>]+>", " ", body)
    return html_lib.unescape(body) + "\n" + "\n".join(extra)


def _data_words(proj: Path) -> set[str]:
    """Words that come from the user's own data and parameters (names, action texts): allowed as written."""
    from kpi_lib.warehouse import Warehouse

    words: set[str] = set()
    wh = Warehouse(proj / "data" / "warehouse")
    for table, cols in (("stores", ["store_name"]), ("skus", ["name"]), ("people", ["name"]),
                        ("teams", ["team_name"])):
        if wh.has(table):
            df = wh.read(table)
            for c in cols:
                if c in df:
                    for v in df[c].dropna().astype(str):
                        words |= set(EN_WORD.findall(v)) | set(CJK.findall(v))
    for f in ("contracts.yaml", "actions.yaml", "workbench.yaml", "overheads.yaml", "adjustments.yaml"):
        path = proj / "parameters" / f
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            words |= set(EN_WORD.findall(text)) | set(CJK.findall(text))
    adj = proj / "parameters" / "targets"
    for path in adj.glob("*.yaml") if adj.is_dir() else []:
        words |= set(EN_WORD.findall(path.read_text(encoding="utf-8")))
    return words


def _ids_and_names(proj: Path, lang: str) -> dict[str, set[str]]:
    from kpi_lib.warehouse import Warehouse

    wh = Warehouse(proj / "data" / "warehouse")
    out: dict[str, set[str]] = {}
    for table, idc, names in (("stores", "store_id", ["store_name"]), ("teams", "team_id", ["team_name", "team_name_zh"]),
                              ("people", "person_id", ["name", "name_zh"])):
        df = wh.read(table)
        for r in df.to_dict("records"):
            out[str(r[idc])] = {str(r[c]) for c in names if c in r and isinstance(r[c], str) and r[c]}
    overheads = yaml.safe_load((proj / "parameters" / "overheads.yaml").read_text(encoding="utf-8"))
    for group in ("staff", "rent", "subscriptions"):
        for item in overheads.get(group) or []:
            out[str(item["id"])] = {p.overhead_name(item["id"], lang)}
    contracts = yaml.safe_load((proj / "parameters" / "contracts.yaml").read_text(encoding="utf-8"))["contracts"]
    for c in contracts:
        out[str(c["id"])] = {str(c.get("name") or ""), str(c.get("name_zh") or c.get("name") or "")}
    return out


def _pages(pages: dict, lang: str) -> list[Path]:
    found = sorted(pages[lang]["dir"].rglob("*.html"))
    assert found, f"no {lang} page rendered"
    return found


def _problems(text: str, lang: str, data_words: set[str], ids: dict[str, set[str]]) -> list[str]:
    out = []
    for tok in sorted(set(SNAKE.findall(text))):
        out.append(f"snake_case {tok!r}")
    for tok in sorted(set(CLI_FLAG.findall(text))):
        out.append(f"command-line flag {tok!r}")
    for ident, names in ids.items():
        for m in re.finditer(rf"(?<![\w-]){re.escape(ident)}(?![\w-])", text):
            around = text[max(0, m.start() - 80): m.end() + 80]
            if not any(n and n in around for n in names):
                out.append(f"id {ident!r} without its name: …{around.strip()[:120]}…")
                break
    text = re.sub(r"\b[0-9a-f]{8,64}\b", " ", text)  # the data snapshot hash (explained beside it)
    if lang == "zh":
        for ident in ids:  # ids are checked above; their letters are not English words
            text = text.replace(ident, " ")
        for w in sorted(set(EN_WORD.findall(text))):
            if w not in ALLOWED_EN and w not in data_words and not re.fullmatch(r"[A-Z]{1,3}\d*|[xk]|M|d|h", w):
                out.append(f"English word {w!r} in a zh page")
    else:  # an English page: no Chinese outside the user's own data (names as the data gives them)
        for w in sorted(set(CJK.findall(text))):
            if not any(w in d for d in data_words):
                out.append(f"Chinese text {w!r} in an en page")
    return out


def test_label_scan_zh_and_en(pages: dict) -> None:
    """No snake_case, no bare id, no stray English in zh pages — on every rendered page in both languages."""
    failures = []
    for lang in ("zh", "en"):
        proj = pages[lang]["proj"]
        data_words, ids = _data_words(proj), _ids_and_names(proj, lang)
        for page in _pages(pages, lang):
            probs = _problems(visible_text(page.read_text(encoding="utf-8")), lang, data_words, ids)
            failures += [f"{lang} {page.parent.name}/{page.name}: {x}" for x in probs]
    assert not failures, f"{len(failures)} findings:\n" + "\n".join(failures[:60])


def test_the_scan_catches_internal_words() -> None:
    """The scanner itself: raw alert text, slugs and a bare id are caught; names beside ids are not."""
    ids = {"AMZ-DE-01": {"Homeware Hub DE"}, "management-staff": {"管理层与财务人员"}}
    bad = "<td>gmv robust z-score +6.0 vs trailing 6 periods</td><td>management-staff</td><td>inventory_days</td>" \
          "<td>AMZ-DE-01</td>"
    probs = _problems(visible_text(bad), "zh", set(), ids)
    assert any("inventory_days" in x for x in probs)
    assert any("'robust'" in x for x in probs) and any("AMZ-DE-01" in x for x in probs)
    assert any("management-staff" in x for x in probs)
    cmd = _problems(visible_text("<p>运行 <code>kpi settle --contract C-001 --period 2026-11</code></p>"), "zh", set(), {})
    assert any("'--contract'" in x for x in cmd) and any("'--period'" in x for x in cmd)
    assert _problems(visible_text("<td>2026-10 – 2026-11</td><td>−12.5%</td>"), "zh", set(), {}) == []
    assert any("'未达标'" in x for x in _problems(visible_text("<td>GMV 未达标</td>"), "en", {"GMV"}, {}))
    assert _problems(visible_text("<td>Account name 深圳北风增长营销有限公司</td>"), "en", {"深圳北风增长营销有限公司"}, {}) == []
    good = "<td>Homeware Hub DE（AMZ-DE-01）</td><td>广告成本销售比 ACoS 为 31.2%</td>"
    assert _problems(visible_text(good), "zh", {"Homeware", "Hub", "DE"}, ids) == []


# ---- the summary is traceable to the figures file ------------------------------------------------
H2_ID = re.compile(r'<h2\b[^>]*\bid="([^"]+)"')
NUMBER = re.compile(r"[+-]?-?[¥$€£]?\d[\d,]*(?:\.\d+)?\s?(?:%|pp)?")


def _parse(tok: str) -> tuple[float, str, int] | None:
    t = tok.strip()
    kind = "pct" if t.endswith("%") else "pp" if t.endswith("pp") else "money" if re.search(r"[¥$€£]", t) else ""
    if not kind:
        return None
    num = re.sub(r"[^\d.\-+]", "", t.replace(",", ""))
    digits = len(num.split(".")[1]) if "." in num else 0
    return float(num), kind, digits


def _traceable(value: float, kind: str, digits: int, figures: list[dict]) -> bool:
    for f in figures:
        v = f.get("value")
        if v is None:
            continue
        cands = []
        if kind == "money":
            cands = [abs(v)]
        elif kind == "pct":
            cands = [abs(v) * 100]
        elif kind == "pp":
            cands = [abs(v), abs(v) * 100]
        if any(round(c, digits) == round(abs(value), digits) for c in cands):
            return True
    return False


def test_summary_opens_each_report_and_every_number_is_in_the_figures_file(pages: dict) -> None:
    for lang in ("zh", "en"):
        for page in _pages(pages, lang):
            text = page.read_text(encoding="utf-8")
            m = re.search(r'<section class="summary">(.*?)</section>', text, flags=re.DOTALL)
            assert m, f"{lang} {page}: no summary"
            sections = H2_ID.findall(text)
            assert sections and sections[0] == "summary", f"{page}: the summary is not the first section: {sections[:3]}"
            sentences = re.findall(r"<li>(.*?)</li>", m.group(1), flags=re.DOTALL)
            assert 1 <= len(sentences) <= 5, (page, sentences)
            figures = json.loads(page.with_name(page.stem + ".figures.json").read_text(encoding="utf-8"))
            for s in sentences:
                for tok in NUMBER.findall(html_lib.unescape(s)):
                    parsed = _parse(tok)
                    if parsed is None:
                        continue
                    assert _traceable(*parsed, figures), f"{lang} {page.name}: {tok!r} in {s!r} is not in the figures"


def test_summary_numbers_check_catches_an_invented_number() -> None:
    figs = [{"value": 23632.7, "unit": "money"}, {"value": 0.362, "unit": "pct"}]
    assert _traceable(*_parse("¥23,633"), figs) and _traceable(*_parse("+36.2%"), figs)
    assert not _traceable(*_parse("¥23,700"), figs) and not _traceable(*_parse("12.0%"), figs)


# ---- charts and page weight ----------------------------------------------------------------------
def test_every_chart_has_a_title_and_a_unit_or_a_no_data_note(pages: dict) -> None:
    for lang in ("zh", "en"):
        for page in _pages(pages, lang):
            text = page.read_text(encoding="utf-8")
            for payload in re.findall(r"var s=(\{.*?\});Plotly\.newPlot", text, flags=re.DOTALL):
                spec = json.loads(payload)
                lay = spec["layout"]
                assert (lay.get("title") or {}).get("text"), f"{page}: a chart without a title"
                axes = [v for k, v in lay.items() if k.startswith(("xaxis", "yaxis")) and isinstance(v, dict)]
                units = [((a.get("title") or {}).get("text") or "") for a in axes]
                assert any(units), f"{page}: chart {lay['title']['text']!r} names no unit"
                for tr in spec["data"]:
                    if tr.get("type") in ("bar", "waterfall"):
                        assert tr.get("text"), f"{page}: bars of {lay['title']['text']!r} carry no printed values"


def test_a_store_without_ads_shows_a_note_not_an_empty_chart(pages: dict) -> None:
    page = pages["zh"]["dir"] / "store_performance" / "WMT-US-01.html"
    text = page.read_text(encoding="utf-8")
    starts = {m.group(1): m.start() for m in H2_ID.finditer(text)}
    ads = text[starts["ads"]:starts["inventory"]]
    assert len(ads) > 200 and label("chart.no_data", "zh") in ads and "Plotly.newPlot" not in ads


def test_self_contained_pages_stay_under_one_megabyte(pages: dict) -> None:
    sizes = {f"{lang}/{pg.parent.name}/{pg.name}": pg.stat().st_size for lang in ("zh", "en") for pg in _pages(pages, lang)}
    too_big = {k: v for k, v in sizes.items() if v >= 1_000_000}
    assert not too_big, too_big


def test_zh_and_en_pages_differ_only_in_words(pages: dict) -> None:
    """The same figures in both languages (the figures files agree)."""
    for page in _pages(pages, "zh"):
        rel = page.relative_to(pages["zh"]["dir"])
        zh = json.loads(page.with_name(page.stem + ".figures.json").read_text(encoding="utf-8"))
        en_page = pages["en"]["dir"] / rel
        en = json.loads(en_page.with_name(en_page.stem + ".figures.json").read_text(encoding="utf-8"))
        key = lambda f: (f["kpi"], f["period"], f["entity_id"], f["basis"])
        zv = {key(f): f["value"] for f in zh}
        ev = {key(f): f["value"] for f in en}
        common = set(zv) & set(ev)
        # (rel 1e-4: DuckDB's parallel sums may differ in the last digits between two runs)
        assert common and all(zv[k] == pytest.approx(ev[k], rel=1e-4) for k in common if zv[k] is not None), rel


def test_words_come_from_the_catalog() -> None:
    """Alert, fee and exit-clause sentences read as sentences in both languages."""
    row = {"kind": "threshold", "kpi": "acos", "value": 0.312, "threshold": 0.25, "op": ">"}
    assert p.alert_sentence(row, "zh") == "广告成本销售比 为 31.2%，高于预警线 25.0%。" or "31.2%" in p.alert_sentence(row, "zh")
    assert "above the alert line of 25.0%" in p.alert_sentence(row, "en")
    an = {"kind": "anomaly", "kpi": "gmv", "value": 60000.0, "threshold": 3.5, "window": 6, "base": 20000.0}
    assert "明显高于前 6 个月" in p.alert_sentence(an, "zh") and "¥20,000" in p.alert_sentence(an, "zh")
    fee = {"performance": {"kind": "achievement_tiers", "pool": "70000", "mode": "retroactive",
                           "tiers": [{"from": "0.8", "rate": "0.5"}, {"from": "1.2", "rate": "1.4"}]}}
    m = lambda v: p.fmt_money(v, "CNY", "zh", 2)
    line = {"name": "performance", "amount": "98000.00", "basis": "", "rate": "1.4"}
    txt = p.fee_formula(line, fee, {"achievement": "1.238128"}, [line], "zh", m)
    assert txt.startswith("达成率 123.8% 落在 ≥120% 档") and "¥70,000.00" in txt and "140.0%" in txt
    ex = {"defined": True, "below": "0.8", "periods": 3, "consecutive_below": 0, "triggered": False}
    assert p.exit_clause_sentence(ex, "zh").endswith("退出条件未触发。")
    assert "not triggered" in p.exit_clause_sentence(ex, "en")
    assert p.overhead_name("bi-tool", "en") != "bi-tool" and p.activity_name("price_change", "zh") == "调价"
    assert p.fmt_pct(-0.00001) == "0.0%" and p.fmt_change(-0.00001, "pp", 2) == "+0.00 pp"
    assert p.fmt_value(7.234, "money", per_unit=True) == "¥7.23"


def test_negative_break_even_acos_reads_not_reachable() -> None:
    class Ctx:
        lang, currency, kind, entity_id, period, fx = "zh", "CNY", "company", "", "2026-11", 1.0

        def record(self, *a, **k):
            pass

    df = pd.DataFrame([{"sku": "HK-1", "name": "x", "units": 3, "net_sales": 100.0, "contribution": -5.0,
                        "contribution_per_unit": -1.666, "break_even_acos": -0.111, "acos": 0.2}])
    html = p.unit_economics_section(df, Ctx())
    assert "-11.1%" not in html and label("not_reachable", "zh") in html and "-¥1.67" in html


def test_alerts_carry_the_fields_a_sentence_needs() -> None:
    """An anomaly keeps its trailing window, median and z-score; a threshold alert its comparison; the
    sentence uses them (median worked by hand: trailing 100, 102, 98, 101, 99, 100 → 100)."""
    kv = pd.DataFrame({"entity_kind": "store", "entity_id": "S1", "kpi": "gmv",
                       "period": [f"2026-0{i}" for i in range(1, 8)],
                       "value": [100.0, 102.0, 98.0, 101.0, 99.0, 100.0, 160.0]})
    cfg = AlertConfig(rules=[Rule(id="r1", kind="threshold", kpi="gmv", op=">", value=150.0, severity="high")],
                      anomaly=AnomalyConfig(kpis=["gmv"], window=6, z=3.5))
    al = evaluate_alerts(kv, config=cfg)
    an = al[al["kind"] == "anomaly"].iloc[0]
    assert an["window"] == 6 and an["base"] == pytest.approx(100.0) and an["score"] > 3.5 and an["op"] == ">"
    th = al[al["kind"] == "threshold"].iloc[0]
    assert th["op"] == ">" and th["threshold"] == 150.0
    assert p.alert_sentence(an.to_dict(), "zh") == "销售额 为 ¥160，明显高于前 6 个月的常态（中位数 ¥100），请核实原因。"
    assert p.alert_sentence(th.to_dict(), "en") == "GMV is ¥160, above the alert line of ¥150."
