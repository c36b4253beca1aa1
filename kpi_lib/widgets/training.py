"""Training walkthrough (zh / en): the three KPI layers, process vs result KPIs, new-store ramps,
force-majeure adjustments and score privacy, each step with a small exercise and a check button.

The text is static; the demo figures shown beside it come from the warehouse when there is one
(company KPIs of the last complete month, stores and their launch dates), so a trainer can point at
real numbers. Without a warehouse the walkthrough still works and says how to get the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W

from .. import paths
from ..config import workbench
from ..definitions import load_catalog
from ..errors import KpiError
from ..tree import load_tree
from . import data as wdata
from .common import NO_WAREHOUSE, Panel, df_html, esc, message_html, open_warehouse


@dataclass(frozen=True)
class Exercise:
    question: dict[str, str]
    options: dict[str, list[str]]
    answer: int
    why: dict[str, str]  # explanation shown with the verdict (right or wrong)


@dataclass(frozen=True)
class Step:
    key: str
    title: dict[str, str]
    body: dict[str, str]
    exercise: Exercise
    data: str = ""  # which demo snippet to show next to the text
    extra: dict[str, Any] = field(default_factory=dict)


STEPS: list[Step] = [
    Step(
        "layers",
        {"zh": "1. KPI 的三个层级", "en": "1. The three KPI layers"},
        {
            "zh": "顶层（季度销售额 GMV、净利润率）回答“公司赚不赚钱”；中层（店铺销售额、广告 ACoS、库存周转）"
            "回答“哪个店铺、哪个环节拉动或拖累了结果”；执行层（上新数量、广告组优化次数、差评处理时效）"
            "是每个人每天能直接控制的动作。上层指标的差距可以分解到下层驱动因素（树上的加法、乘法、比率关系）。",
            "en": "The top layer (quarterly GMV, net profit margin) answers 'does the company make money'; the "
            "middle layer (store sales, ad ACoS, inventory turnover) answers 'which store or lever moved the "
            "result'; the execution layer (new listings, ad-group optimizations, negative-review handling time) "
            "holds the actions a person controls every day. A gap at the top is attributed to the drivers "
            "below it through the tree's additive, multiplicative and ratio relations.",
        },
        Exercise(
            {"zh": "“广告组优化次数”属于哪一层？", "en": "Which layer does 'ad-group optimizations' belong to?"},
            {"zh": ["顶层", "中层", "执行层"], "en": ["Top", "Middle", "Execution"]},
            2,
            {
                "zh": "它是运营人员每天可以直接完成的动作，所以属于执行层；它通过 ACoS（中层）影响净利润（顶层）。",
                "en": "It is an action an operator completes directly, so it is an execution KPI; it moves ACoS "
                "(middle), which moves net profit (top).",
            },
        ),
        data="company",
    ),
    Step(
        "process",
        {"zh": "2. 过程指标与结果指标", "en": "2. Process KPIs next to result KPIs"},
        {
            "zh": "只考核 GMV 会鼓励“烧广告冲量”：销售额上去了，利润率、退货率和广告健康度却在恶化。"
            "结果指标（GMV、净利润）告诉你发生了什么，过程指标（毛利率、退货率、ACoS、上新、响应时效）"
            "告诉你为什么、以及下个月会怎样。每个结果指标旁边都应该有能提前预警的过程指标。",
            "en": "Scoring GMV alone rewards buying volume with ads: sales rise while margin, return rate and ad "
            "health deteriorate. Result KPIs (GMV, net profit) say what happened; process KPIs (gross margin, "
            "return rate, ACoS, new listings, response time) say why and what next month will look like. "
            "Every result KPI needs process KPIs beside it that warn early.",
        },
        Exercise(
            {
                "zh": "某店铺 GMV 同比 +30%，但 TACoS 从 8% 升到 18%、退货率翻倍。应该怎么评价？",
                "en": "A store's GMV is +30% year on year, but TACoS rose from 8% to 18% and the return rate "
                "doubled. How should it be judged?",
            },
            {
                "zh": ["很好，GMV 达成了", "需要警惕：增长靠广告换来，利润可能在下降", "无法判断，数据不足"],
                "en": ["Great, GMV is on target", "Warning: growth was bought with ads, profit is likely falling",
                       "Cannot tell, not enough data"],
            },
            1,
            {
                "zh": "TACoS 上升 10 个百分点意味着每 100 元销售多花 10 元广告，加上翻倍的退货，贡献利润很可能下降——"
                "这正是只看结果指标会漏掉的。",
                "en": "Ten more points of TACoS is 10 more in ads per 100 of sales; with doubled returns the "
                "contribution margin very likely fell — exactly what looking at results alone misses.",
            },
        ),
        data="process",
    ),
    Step(
        "ramp",
        {"zh": "3. 新店铺的爬坡目标", "en": "3. Ramp targets for new stores"},
        {
            "zh": "新店铺没有历史、没有评价、没有广告数据，用成熟店铺的目标去考核它必然“全红”，也会让人放弃。"
            "目标分解时，开业不满 N 个月的店铺使用爬坡（冷启动）曲线：例如第 1 个月为成熟店铺水平的 20%，"
            "第 2 个月 40%，依次递增，直到达到成熟水平。",
            "en": "A new store has no history, no reviews and no ad data; judging it against a mature store's "
            "target paints it red and demotivates its team. When targets are cascaded, stores younger than N "
            "months get a ramp (cold-start) curve instead: e.g. 20% of the mature level in month 1, 40% in "
            "month 2, rising until it is mature.",
        },
        Exercise(
            {
                "zh": "上个月刚开业的店铺，这个月的 GMV 目标应该怎么定？",
                "en": "A store launched last month: how should this month's GMV target be set?",
            },
            {
                "zh": ["和同平台成熟店铺一样", "按爬坡曲线取成熟水平的一部分", "不设目标"],
                "en": ["The same as a mature store on the platform", "A ramp share of the mature level",
                       "No target at all"],
            },
            1,
            {
                "zh": "爬坡目标既给新店铺一个可达成、可考核的目标，又不会把成熟店铺的标准强加给它；不设目标则无法管理。",
                "en": "A ramp target is reachable and still measurable; a mature target is unfair, and no target "
                "means the store is not managed.",
            },
        ),
        data="stores",
    ),
    Step(
        "force_majeure",
        {"zh": "4. 不可抗力的调整", "en": "4. Adjustments for force majeure"},
        {
            "zh": "断货、店铺被暂停、平台故障、物流停运——这些不是运营人员能控制的。系统允许在 "
            "parameters/adjustments.yaml 中记录手工调整（谁、何时、为什么）：把受影响的天数从考核中剔除，"
            "或者覆盖目标。每份报告都会列出影响其数字的调整，保证透明、可审计。",
            "en": "Stock-outs, a suspended store, a platform outage, a halted carrier — none of these are the "
            "operator's doing. Manual adjustments are recorded in parameters/adjustments.yaml with who, when "
            "and why: exclude the affected days from a KPI's evaluation, or override a target. Every report "
            "lists the adjustments that touched its figures, so they stay transparent and auditable.",
        },
        Exercise(
            {
                "zh": "店铺因平台审核被暂停 10 天，销售额未达标。正确的做法是？",
                "en": "A store was suspended for 10 days by a platform review and missed its sales target. "
                "What is right?",
            },
            {
                "zh": ["直接判红，规则就是规则", "私下把目标改低，不做记录", "记录一条调整：剔除这 10 天，注明原因和审批人"],
                "en": ["Mark it red, rules are rules", "Quietly lower the target without a record",
                       "Record an adjustment excluding those 10 days, with the reason and who approved it"],
            },
            2,
            {
                "zh": "不可抗力应剔除，但必须留痕：谁、何时、为什么。悄悄改目标会破坏信任，一刀切判红则不公平。",
                "en": "Force majeure should be excluded, but with a trail: who, when, why. A silent change breaks "
                "trust; marking it red is unfair.",
            },
        ),
    ),
    Step(
        "privacy",
        {"zh": "5. 为什么每个人只看到自己的得分", "en": "5. Why people see only their own scores"},
        {
            "zh": "个人考核报告只包含本人负责店铺（按任职时间段）的数据和本人的得分。公开所有人的分数会引发攀比和"
            "相互指责，也可能泄露薪酬信息；团队层面的汇总报告面向管理层。调岗的同事在每个团队只按其在岗期间计算。",
            "en": "A person's scorecard shows only the data of the stores assigned to them (for the dates they "
            "held them) and their own score. Publishing everyone's scores invites comparison and blame and can "
            "leak pay information; team roll-ups are for management. Someone who moved team is counted in each "
            "team only for their time there.",
        },
        Exercise(
            {
                "zh": "P05 年中从亚马逊组调到东南亚组。她的年度得分中，亚马逊店铺的数据应计算到什么时候？",
                "en": "P05 moved from the Amazon team to the SEA team mid-year. Up to when do the Amazon stores "
                "count in her annual score?",
            },
            {
                "zh": ["全年都算", "只算到调岗日期（valid_to）", "完全不算"],
                "en": ["The whole year", "Up to her move date (valid_to)", "Not at all"],
            },
            1,
            {
                "zh": "人员的店铺归属按 assignments 的 valid_from / valid_to 逐日确定，所以亚马逊店铺只计算到调岗当日。",
                "en": "A person's stores are taken day by day from the assignments' valid_from / valid_to, so the "
                "Amazon stores count only until the move.",
            },
        ),
    ),
]

UI = {
    "zh": {"prev": "上一步", "next": "下一步", "check": "检查答案", "right": "✔ 正确。", "wrong": "✘ 不对。",
           "choose": "请先选择一个答案。", "exercise": "练习", "data": "演示数据"},
    "en": {"prev": "Previous", "next": "Next", "check": "Check", "right": "✔ Right.", "wrong": "✘ Not quite.",
           "choose": "Choose an answer first.", "exercise": "Exercise", "data": "Demo data"},
}


class TrainingWalkthrough(Panel):
    """Step-by-step walkthrough; ``go(i)``, ``next()``, ``prev()``, ``check()``, ``set_language()``."""

    def __init__(self, lang: str | None = None) -> None:
        if lang is None:

            lang = workbench().default_language
        self.steps = STEPS
        self.index = 0
        self.warehouse = open_warehouse()
        self.language = W.ToggleButtons(options=[("中文", "zh"), ("English", "en")], value=lang)
        self.prev_button = W.Button(icon="arrow-left")
        self.next_button = W.Button(icon="arrow-right")
        self.progress = W.IntProgress(min=1, max=len(STEPS), value=1, layout=W.Layout(width="200px"))
        self.title = W.HTML()
        self.body = W.HTML()
        self.data = W.HTML()
        self.question = W.HTML()
        self.choice = W.RadioButtons(options=[], value=None, layout=W.Layout(width="auto"))
        self.check_button = W.Button(button_style="primary")
        self.feedback = W.HTML()
        self.last_result: bool | None = None
        self._snippets: dict[str, str] = {}

        self.language.observe(lambda ch: self.set_language(ch["new"]), names="value")
        self.prev_button.on_click(lambda _b: self.prev())
        self.next_button.on_click(lambda _b: self.next())
        self.check_button.on_click(lambda _b: self.check())

        self.widget = W.VBox(
            [
                W.HBox([self.language, self.prev_button, self.next_button, self.progress]),
                self.title,
                self.body,
                self.data,
                W.HTML("<hr>"),
                self.question,
                self.choice,
                W.HBox([self.check_button]),
                self.feedback,
            ]
        )
        self.go(0)

    @property
    def lang(self) -> str:
        return str(self.language.value)

    @property
    def step(self) -> Step:
        return self.steps[self.index]

    def set_language(self, lang: str) -> None:
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
        """Judge the chosen option; returns (right?, explanation) and shows it."""
        if choice is not None:
            self.choice.value = choice
        ui = UI[self.lang]
        ex = self.step.exercise
        if self.choice.value is None:
            self.last_result = None
            self.feedback.value = message_html(ui["choose"], "warn")
            return None, ui["choose"]
        right = int(self.choice.value) == ex.answer
        self.last_result = right
        verdict = ui["right"] if right else ui["wrong"]
        why = ex.why[self.lang]
        if not right:
            correct = ex.options[self.lang][ex.answer]
            why = (f"正确答案：{correct}。" if self.lang == "zh" else f"The answer is: {correct}. ") + why
        self.feedback.value = message_html(f"{verdict} {why}", "ok" if right else "error")
        return right, why

    # -- rendering ---------------------------------------------------------------------------
    def _render(self, keep_choice: bool) -> None:
        lang, ui, st = self.lang, UI[self.lang], self.step
        self.prev_button.description = ui["prev"]
        self.next_button.description = ui["next"]
        self.check_button.description = ui["check"]
        self.prev_button.disabled = self.index == 0
        self.next_button.disabled = self.index == len(self.steps) - 1
        self.progress.value = self.index + 1
        self.title.value = f"<h3>{esc(st.title[lang])}</h3>"
        self.body.value = f'<p style="max-width:760px;line-height:1.6">{esc(st.body[lang])}</p>'
        snippet = self.snippet(st.data) if st.data else ""
        self.data.value = (f"<b>{esc(ui['data'])}</b>{snippet}") if snippet else ""
        self.question.value = f"<b>{esc(ui['exercise'])}:</b> {esc(st.exercise.question[lang])}"
        old = self.choice.value if keep_choice else None
        self.choice.options = [(o, i) for i, o in enumerate(st.exercise.options[lang])]
        self.choice.value = old
        if keep_choice and self.last_result is not None:
            self.check()

    def snippet(self, kind: str) -> str:
        """HTML with demo figures for a step (cached); a hint when there is no warehouse."""
        if kind in self._snippets:
            return self._snippets[kind]
        layers = _layers_html(self.lang) if kind == "company" else ""
        if self.warehouse is None:
            html = message_html(NO_WAREHOUSE.format(path=paths.warehouse_dir()), "warn")
        else:
            try:
                html = _demo_snippet(kind, self.warehouse)
            except Exception as exc:  # noqa: BLE001 - the walkthrough must not die on a data problem
                html = message_html(f"(demo figures unavailable: {exc})", "warn")
        self._snippets[kind] = layers + html
        return layers + html


def _layers_html(lang: str) -> str:
    """The KPIs of each layer of the project's KPI tree (parameters/kpi_tree.yaml or the default)."""

    try:
        tree, cat = load_tree(), load_catalog()
    except KpiError as exc:
        return message_html(f"(KPI tree unavailable: {exc})", "warn")
    names = {"zh": {"top": "顶层", "middle": "中层", "execution": "执行层"},
             "en": {"top": "Top", "middle": "Middle", "execution": "Execution"}}[lang]
    rows = []
    for layer in ("top", "middle", "execution"):
        kpis = list(dict.fromkeys(n.kpi for n in tree.nodes if n.layer == layer))
        label = ", ".join(f"{cat.name(k, lang) if k in cat.kpis else k}" for k in kpis)
        rows.append(f"<li><b>{esc(names[layer])}</b>: {esc(label)}</li>")
    return f"<ul>{''.join(rows)}</ul>"


def _demo_snippet(kind: str, wh: Any) -> str:
    if kind == "stores":
        stores = wdata.stores_frame(wh)
        if stores.empty:
            return ""
        cols = [c for c in ("store_id", "platform", "marketplace", "launch_date", "team_id") if c in stores]
        return df_html(stores[cols].sort_values("launch_date", ascending=False), max_rows=12)
    kpis = ["gmv", "net_sales", "net_margin"] if kind == "company" else ["gmv", "tacos", "return_rate", "gross_margin"]
    df = wdata.company_last_months(kpis, wh, months=3)
    return df_html(df, float_format="{:,.3f}")
