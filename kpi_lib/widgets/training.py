"""Training walkthrough (zh / en): the three KPI layers, process vs result KPIs, new-store ramps,
force-majeure adjustments and score privacy, each step with a small exercise and a check button.

The text is static; the demo figures shown beside it come from the warehouse when there is one
(company KPIs of the last complete month, stores and their launch dates), so a trainer can point at
real numbers. Without a warehouse the walkthrough still works and says how to get the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as W

from ..config import workbench
from ..definitions import load_catalog
from ..errors import KpiError
from ..labels import label
from ..tree import load_tree
from . import data as wdata
from .common import (
    Panel,
    details_accordion,
    esc,
    fmt_money,
    fmt_num,
    fmt_pct,
    language_toggle,
    message_html,
    open_warehouse,
    table_html,
)


@dataclass(frozen=True)
class Step:
    """One step: its words are the catalog keys ``widget.train.<key>.{title,body,question,option1..3,why}``."""

    key: str
    answer: int  # index of the right option (0-based)
    data: str = ""  # which demo snippet to show next to the text
    n_options: int = 3

    def word(self, part: str, lang: str) -> str:
        return label(f"widget.train.{self.key}.{part}", lang)

    def options(self, lang: str) -> list[str]:
        return [self.word(f"option{i + 1}", lang) for i in range(self.n_options)]


STEPS: list[Step] = [
    Step("layers", 2, data="company"),
    Step("process", 1, data="process"),
    Step("ramp", 1, data="stores"),
    Step("force_majeure", 2),
    Step("privacy", 1),
]

class TrainingWalkthrough(Panel):
    """Step-by-step walkthrough; ``go(i)``, ``next()``, ``prev()``, ``check()``, ``set_language()``."""

    title_text = "Training walkthrough"

    def __init__(self, lang: str | None = None) -> None:
        if lang is None:
            lang = workbench().default_language
        self.steps = STEPS
        self.index = 0
        self.warehouse = open_warehouse()
        self.language = language_toggle(lang)
        self.header = W.HTML()
        self.prev_button = W.Button(icon="arrow-left")
        self.next_button = W.Button(icon="arrow-right")
        self.progress = W.IntProgress(min=0, max=len(STEPS), value=1, layout=W.Layout(width="200px"))
        self.progress_text = W.HTML()
        self.title = W.HTML()
        self.body = W.HTML()
        self.data = W.HTML()
        self.details = W.VBox()
        self.question = W.HTML()
        self.choice = W.RadioButtons(options=[], value=None, layout=W.Layout(width="auto"))
        self.check_button = W.Button(button_style="primary")
        self.feedback = W.HTML()
        self.last_result: bool | None = None
        self._snippets: dict[tuple[str, str], tuple[str, list[str]]] = {}

        self.language.observe(lambda ch: self.set_language(ch["new"]), names="value")
        self.prev_button.on_click(lambda _b: self.prev())
        self.next_button.on_click(lambda _b: self.next())
        self.check_button.on_click(lambda _b: self.check())

        self.widget = W.VBox(
            [
                W.HBox([self.header, self.language], layout=W.Layout(justify_content="space-between")),
                W.HBox([self.prev_button, self.next_button, self.progress, self.progress_text],
                       layout=W.Layout(align_items="center")),
                self.title,
                self.body,
                self.data,
                self.details,
                W.HTML("<hr>"),
                self.question,
                self.choice,
                W.HBox([self.check_button, self.feedback], layout=W.Layout(align_items="center")),
            ]
        )
        self.go(0)

    @property
    def lang(self) -> str:  # type: ignore[override]
        return str(self.language.value)

    @property
    def step(self) -> Step:
        return self.steps[self.index]

    def summary(self) -> str:
        return f"{self._t('widget.train.title')}: {self._t('widget.train.step_of', i=self.index + 1, n=len(self.steps))}"

    def set_language(self, lang: str) -> None:
        """Switch every word (steps, exercise, buttons, demo tables) between zh and en."""
        if self.language.value != lang:
            self.language.value = lang  # observe calls back here
            return
        self._render(keep_choice=True)

    def go(self, index: int) -> None:
        self.index = max(0, min(index, len(self.steps) - 1))
        self.feedback.value = ""
        self.last_result = None
        self._render(keep_choice=False)

    def next(self) -> None:
        self.go(self.index + 1)

    def prev(self) -> None:
        self.go(self.index - 1)

    def check(self, choice: int | None = None) -> tuple[bool | None, str]:
        """Judge the chosen option; returns (right?, explanation) and shows it beside the Check button."""
        if choice is not None:
            self.choice.value = choice
        st = self.step
        if self.choice.value is None:
            self.last_result = None
            text = self._t("widget.train.choose")
            self.feedback.value = message_html(text, "warn")
            return None, text
        right = int(self.choice.value) == st.answer
        self.last_result = right
        verdict = self._t("widget.train.right" if right else "widget.train.wrong")
        why = st.word("why", self.lang)
        if not right:
            why = self._t("widget.train.answer_is", answer=st.options(self.lang)[st.answer]) + why
        self.feedback.value = message_html(f"{verdict} {why}", "ok" if right else "error")
        return right, why

    # -- rendering ---------------------------------------------------------------------------
    def _render(self, keep_choice: bool) -> None:
        lang, st = self.lang, self.step
        self.language.description = self._t("widget.lang")
        self.header.value = f"<h3>{esc(self._t('widget.train.title'))}</h3>"
        self.prev_button.description = self._t("widget.train.prev")
        self.next_button.description = self._t("widget.train.next")
        self.check_button.description = self._t("widget.train.check")
        self.prev_button.disabled = self.index == 0
        self.next_button.disabled = self.index == len(self.steps) - 1
        self.progress.value = self.index + 1
        self.progress_text.value = esc(self._t("widget.train.step_of", i=self.index + 1, n=len(self.steps)))
        self.title.value = f"<h3>{esc(st.word('title', lang))}</h3>"
        self.body.value = f'<p style="max-width:760px;line-height:1.6">{esc(st.word("body", lang))}</p>'
        snippet, tech = self.snippet(st.data) if st.data else ("", [])
        self.data.value = (f"<b>{esc(self._t('widget.train.data'))}</b>{snippet}") if snippet else ""
        self.details.children = (details_accordion("widget.details", tech, lang),) if tech else ()
        self.question.value = f"<b>{esc(self._t('widget.train.exercise'))}:</b> {esc(st.word('question', lang))}"
        old = self.choice.value if keep_choice else None
        self.choice.options = [(o, i) for i, o in enumerate(st.options(lang))]
        self.choice.value = old
        if keep_choice and self.last_result is not None:
            self.check()

    def snippet(self, kind: str) -> tuple[str, list[str]]:
        """(HTML with demo figures for a step in the current language, technical details); cached per
        language. Without a warehouse: the hint to run make demo."""
        key = (kind, self.lang)
        if key in self._snippets:
            return self._snippets[key]
        tech: list[str] = []
        layers = ""
        if kind == "company":
            layers, tech = _layers_html(self.lang)
        if self.warehouse is None:
            html = message_html(label("widget.no_warehouse", self.lang), "warn")
        else:
            try:
                html = _demo_snippet(kind, self.warehouse, self.lang)
            except Exception as exc:  # noqa: BLE001 - the walkthrough must not die on a data problem
                html = message_html(label("widget.train.figures_unavailable", self.lang), "warn")
                tech = [*tech, f"{type(exc).__name__}: {exc}"]
        self._snippets[key] = (layers + html, tech)
        return self._snippets[key]


def _layers_html(lang: str) -> tuple[str, list[str]]:
    """The KPIs of each layer of the project's KPI tree (its file or the default), by their names."""
    try:
        tree, cat = load_tree(), load_catalog()
    except KpiError as exc:
        return message_html(label("widget.train.tree_unavailable", lang), "warn"), [str(exc)]
    rows = []
    for layer in ("top", "middle", "execution"):
        kpis = list(dict.fromkeys(n.kpi for n in tree.nodes if n.layer == layer))
        names = "、".join(cat.name(k, lang) for k in kpis if k in cat.kpis) if lang == "zh" else ", ".join(
            cat.name(k, lang) for k in kpis if k in cat.kpis)
        rows.append(f"<li><b>{esc(label(f'widget.train.layer.{layer}', lang))}</b>: {esc(names)}</li>")
    return f"<ul>{''.join(rows)}</ul>", []


def _demo_snippet(kind: str, wh: Any, lang: str) -> str:
    """The demo table of a step: headers from the catalogs, money with currency, rates as %."""
    if kind == "stores":
        stores = wdata.stores_frame(wh)
        if stores.empty:
            return ""
        view = stores.sort_values("launch_date", ascending=False).rename(columns={"store_id": "store", "team_id": "team"})
        kinds = {c: "text" for c in ("store", "platform", "marketplace", "launch_date", "team") if c in view}
        heads = {c: label(f"widget.col.{c}", lang) for c in kinds}
        return (f"<div><i>{esc(label('widget.train.stores_caption', lang))}</i></div>"
                + table_html(view, kinds, heads, "", lang, 12))
    cat = load_catalog()
    kpis = ["gmv", "net_sales", "net_margin"] if kind == "company" else ["gmv", "tacos", "return_rate", "gross_margin"]
    df = wdata.company_last_months(kpis, wh, months=3)
    if df.empty:
        return message_html(label("widget.no_rows", lang), "info")
    currency = workbench().reporting_currency
    head = "".join(f'<th style="padding:2px 12px">{esc(h)}</th>' for h in [label("widget.col.period", lang)] +
                   [cat.name(k, lang) for k in kpis if k in df])
    body = []
    for r in df.to_dict("records"):
        cells = [f'<td style="padding:2px 12px">{esc(str(r["period"]))}</td>']
        for k in kpis:
            if k not in df:
                continue
            unit = cat.get(k).unit
            v = r[k]
            text = fmt_money(v, currency) if unit == "money" else fmt_pct(v) if unit in ("pct", "ratio") else fmt_num(v)
            cells.append(f'<td style="text-align:right;padding:2px 12px">{esc(text) or "–"}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div><i>{esc(label('widget.train.company_months', lang))}</i></div>"
            f'<table class="kpi-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')
