"""Label scan over the rendered text of the widget panels (issue 13.5), in zh and in en.

Walks the widget tree (descriptions, button texts, HTML and label values, option labels, placeholders,
accordion and tab titles) and fails on snake_case tokens, module names, file paths, regexes and, in
zh, English words outside an allow-list. Table cells and data-valued dropdowns (store ids, category
names: the user's own data) are not interface words and are skipped; so is the body of the collapsed
"details" accordion, which holds technical text on purpose.
"""

from __future__ import annotations

import html
import re

import ipywidgets as W
import pytest

SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
MODULE = re.compile(r"kpi_lib|\b\w+\.py\b|\bwidgets\.\w+")
PATH = re.compile(r"\b[\w-]+/[\w./<>-]+|\.(?:ya?ml|csv|parquet)\b")
REGEX = re.compile(r"\\[dws]|\[\^|\(\?|\.\*")
ENGLISH = re.compile(r"[A-Za-z][A-Za-z-]{2,}")
ZH_ALLOW = {"ACoS", "TACoS", "SKU", "SKUs", "ASIN", "GMV", "KPI", "ROAS", "CNY", "USD", "EUR", "GBP", "JPY", "THB", "MYR",
            "SGD", "ERP", "SaaS", "English", "Amazon", "Shopee", "Lazada", "TikTok", "Walmart", "eBay", "Shopify",
            "AliExpress", "UTF", "BOM", "Latin"}  # last three: text encodings' proper names (UTF-8, Latin-1)


def _strip(value: str) -> str:
    value = re.sub(r"<td[^>]*>.*?</td>", " ", value, flags=re.DOTALL)  # table cells are data
    value = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", value, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", value))


def widget_texts(w: W.Widget) -> list[str]:
    """Every piece of interface text a person sees in the widget tree ``w``."""
    out: list[str] = []
    if "kpi-details" in getattr(w, "_dom_classes", ()):
        return [str(t) for t in getattr(w, "titles", ()) if t]
    for attr in ("description", "placeholder", "tooltip"):
        v = getattr(w, attr, None)
        if isinstance(v, str) and v:
            out.append(v)
    if isinstance(w, (W.HTML, W.Label, W.HTMLMath)):
        out.append(_strip(w.value or ""))
    if isinstance(w, (W.Dropdown, W.ToggleButtons, W.RadioButtons, W.Select, W.SelectMultiple)) and not getattr(
            w, "data_values", False):
        out.extend(str(lbl) for lbl in w._options_labels)
    for t in getattr(w, "titles", ()) or ():
        if t:
            out.append(str(t))
    for child in getattr(w, "children", ()) or ():
        out.extend(widget_texts(child))
    return [t for t in out if t.strip()]


def problems(texts: list[str], lang: str, data: set[str] = frozenset()) -> list[str]:
    """What is wrong with ``texts`` in ``lang``; ``data`` are the user's own names (store ids, vendors…)."""
    found = []
    for t in texts:
        for word in sorted(data, key=len, reverse=True):
            t = t.replace(word, " ")
        for name, rx in (("snake_case", SNAKE), ("module", MODULE), ("path", PATH), ("regex", REGEX)):
            found += [f"{name}: {m.group(0)!r} in {t[:80]!r}" for m in rx.finditer(t)]
        if lang == "zh":
            found += [f"English in zh: {m.group(0)!r} in {t[:80]!r}" for m in ENGLISH.finditer(t)
                      if m.group(0).rstrip("-") not in ZH_ALLOW]
    return found


def test_scanner_catches_what_it_should():
    assert problems(["amount_rc"], "en") and problems(["see kpi_lib.costs"], "en")
    assert problems(["edit parameters/contracts.yaml"], "en") and problems([r"expected ^\d{4}$"], "en")
    assert problems(["净利润 Net profit"], "zh") and not problems(["ACoS 与 SKU"], "zh")
    html_value = W.HTML("<table><tr><th>店铺</th></tr><tr><td>amount_rc</td></tr></table>")
    assert widget_texts(html_value) == [" 店铺   "] or "amount_rc" not in " ".join(widget_texts(html_value))


@pytest.fixture
def cost_explorer(demo_env, monkeypatch):
    from kpi_lib.widgets.cost_explorer import CostExplorer

    monkeypatch.setenv("KPI_HEADLESS", "1")
    app = CostExplorer(lang="zh")
    app.store.value = app.stores["store_id"].astype(str).iloc[0]
    return app


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_cost_explorer_words_are_for_people(cost_explorer, lang):
    app = cost_explorer
    app.set_language(lang)
    texts = widget_texts(app.widget)
    assert texts and app.status.kind != "error"
    data = set(app.stores["store_id"].astype(str)) | set(app.item_names.values()) | set(app.categories)
    assert problems(texts, lang, data) == []
    app.alloc_basis.value = "headcount"  # the what-if wording too
    assert problems(widget_texts(app.widget), lang, data) == []


PANELS = ["ContractSimulator", "DataOnboarding", "TargetSetting", "TreeDesigner", "ActionsReview",
          "TrainingWalkthrough"]


def _user_data(app) -> set[str]:
    """The user's own names a panel shows (store ids, contract and action titles…): data, not interface words."""
    from kpi_lib import actions
    from kpi_lib.widgets.data import stores_frame

    data = set(stores_frame(getattr(app, "warehouse", None))["store_id"].astype(str))
    for c in getattr(app, "contracts", []) or []:
        data |= {c.id, c.name or "", c.client or "", c.provider or "", getattr(c.fee, "name", None) or ""}
    if type(app).__name__ == "ActionsReview":
        for a in actions.load_actions():
            data |= {a.id, a.title, a.owner, *(cm.text for cm in a.comments)}
    return {d for d in data if d}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("panel", PANELS)
def test_every_panel_words_are_for_people(panel, lang, demo_env, monkeypatch):
    """Each panel on the demo company, opened in one language and switched to the other: no snake_case,
    module names, paths or regexes, and no English in zh (beyond the allow-list)."""
    from kpi_lib import widgets

    monkeypatch.setenv("KPI_HEADLESS", "1")
    other = "en" if lang == "zh" else "zh"
    app = getattr(widgets, panel)(lang=other)
    app.set_language(lang)
    texts = widget_texts(app.widget)
    assert len(texts) > 10
    assert problems(texts, lang, _user_data(app)) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_training_every_step_in_both_languages(lang, demo_env, monkeypatch):
    from kpi_lib.widgets import TrainingWalkthrough

    monkeypatch.setenv("KPI_HEADLESS", "1")
    app = TrainingWalkthrough(lang=lang)
    for i in range(len(app.steps)):
        app.go(i)
        app.check(0)
        assert problems(widget_texts(app.widget), lang, _user_data(app)) == [], app.step.key


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_onboarding_with_a_file_selected(lang, demo_env, monkeypatch):
    """A recognised export selected, previewed with the mapping form: still words for people."""
    from kpi_lib.widgets import DataOnboarding

    monkeypatch.setenv("KPI_HEADLESS", "1")
    app = DataOnboarding(lang=lang)
    store = next(iter(app.by_store))
    app.store_folder.value = store
    app.file.value = app.file.options[1][1]
    app.preview_mapping()
    assert app.recognised
    assert problems(widget_texts(app.widget), lang, _user_data(app)) == []


def test_actions_review_names_people_not_bare_ids(demo_env, monkeypatch):
    """The selected action's owner reads "P05 · 名字" like the pickers, not the bare id."""
    from kpi_lib.widgets import ActionsReview

    monkeypatch.setenv("KPI_HEADLESS", "1")
    app = ActionsReview(lang="zh")
    shown = next((a for a in app.actions if a.id == app.action.value), None)
    assert shown is not None and shown.owner
    who = {v: lbl for lbl, v in app.owner.options}
    assert " · " in who[shown.owner] and who[shown.owner] in app.action_html.value
