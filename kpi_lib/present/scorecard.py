"""Scorecard sections: score, its explanation, the bonus line by line."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .blocks import cards, note, section, table, unavailable
from .charts import bar_chart, chart_or_note, unit_title
from .fmt import STATUS_LABELS, badge, esc, fmt_money, fmt_number, fmt_pct, fmt_value, is_missing, t
from .sections import cell_value, record_figure

__all__ = ['scorecard_section']

























def _curve_text(card: Any, lang: str) -> str:
    pts = {c.at: c.payout for c in getattr(card, "curve", [])} or {"threshold": 50, "target": 100, "maximum": 150}
    thr, tg, mx = pts.get("threshold", 50), pts.get("target", 100), pts.get("maximum", 150)
    if lang == "zh":
        return (f"得分规则：100 分 = 每项指标恰好达到目标。每项指标的得分率：低于门槛值为 0%，门槛值 {thr:g}%，"
                f"目标 {tg:g}%，挑战值 {mx:g}%，其间按直线计算；超过挑战值不再增加（封顶 {mx:g}%，个别指标另设封顶见表）。")
    return (f"How the score works: 100 points = every KPI exactly on target. Each KPI pays 0% below its threshold, "
            f"{thr:g}% at the threshold, {tg:g}% at the target and {mx:g}% at the maximum, linear in between; nothing "
            f"more above the maximum (capped at {mx:g}%, or the line's own cap shown in the table).")


def _score_explanation(card: Any, lines: pd.DataFrame, lang: str) -> str:
    """Why the total is what it is: above 100 (stretch), capped lines, a gate that capped the total."""
    out = []
    total = float(card.total)
    over = lines[(lines["payout_pct"] > 100) & (lines["weight"] > 0)]
    if total > 100 and len(over):
        names = "、".join(over["name"]) if lang == "zh" else ", ".join(over["name"])
        out.append(f"总分 {total:.1f} 超过 100：{names} 超过目标，进入挑战区间（得分率高于 100%）。" if lang == "zh" else
                   f"The total {total:.1f} is above 100 because {names} beat their target (stretch zone, payout above 100%).")
    capped = lines[(lines["weight"] > 0) & (lines["payout_pct"] >= lines["cap"]) & (lines["payout_pct"] > 100)]
    if len(capped):
        names = "、".join(capped["name"]) if lang == "zh" else ", ".join(capped["name"])
        out.append(f"{names} 已达封顶得分率，超出部分不再计分。" if lang == "zh" else
                   f"{names} reached the payout cap: performance beyond it earns nothing more.")
    if getattr(card, "gated", False):
        red = lines[lines["gate_red"]]
        names = "、".join(red["name"]) if lang == "zh" else ", ".join(red["name"])
        cap = getattr(card, "gate_cap", None)
        un = getattr(card, "uncapped_total", None)
        out.append((f"门槛指标 {names} 未达门槛值，总分由 {un:.1f} 封顶为 {cap:g} 分。" if lang == "zh" else
                    f"Gate KPI {names} is worse than its threshold: the total is capped from {un:.1f} to {cap:g} points.")
                   if cap is not None and un is not None else (f"门槛指标 {names} 未达门槛值，总分封顶。" if lang == "zh"
                                                               else f"Gate KPI {names} is red: the total is capped."))
    return "".join(f'<p class="note score-why">{esc(x)}</p>' for x in out)


def _bonus_table(card: Any, ctx: Any) -> str:
    """weight × payout × pool = amount per KPI, the total equal to the bonus shown."""
    lang = ctx.lang
    bl = card.bonus_lines() if hasattr(card, "bonus_lines") else pd.DataFrame()
    if bl is None or bl.empty:
        return ""
    d = bl.copy()
    d["name"] = d["label_zh" if lang == "zh" else "label_en"]
    m = lambda v: fmt_money(None if is_missing(v) else float(v) / ctx.fx, ctx.currency, lang, 2)
    d["formula"] = [(f"{fmt_number(w, 0)}% × {fmt_number(p, 2)}% × {m(pool)} = {m(a)}" if not is_missing(w)
                     else f"{m(a)}") for w, p, pool, a in zip(d["weight"], d["payout_pct"], d["pool"], d["amount"])]
    d["amt"] = [m(a) for a in d["amount"]]
    for r in d.to_dict("records"):
        record_figure(ctx, f'bonus:{r["kpi"]}', r["amount"], unit="money", basis=None, source="scorecard.bonus_lines",
             converted=False)
    total = pd.DataFrame([{"name": t("score.bonus_total", lang), "formula": "",
                           "amt": m(float(card.bonus))}])
    title = t("score.bonus_title", lang)
    return f"<h3>{esc(title)}</h3>" + table(pd.concat([d, total], ignore_index=True),
                                           [("name", t("kpi", lang)), ("formula", t("score.formula", lang)),
                                            ("amt", t("value", lang))], lang=lang, cls="kpi-table bonus-table")


def scorecard_section(card: Any, lines: pd.DataFrame | None, ctx: Any, key: str = "score") -> str:
    """Total score with its explanation (curve and cap, stretch above 100, gate), one row per KPI (weight,
    threshold/target/maximum, cap, actual, payout, points) and the bonus line by line."""
    lang = ctx.lang
    if isinstance(card, str) or card is None:
        return section(key, lang, unavailable(lang, str(card or "")))
    d = lines.copy()
    for c, dflt in (("cap", 150.0), ("floor", 0.0)):
        if c not in d:
            d[c] = dflt
    for c, dflt in (("complete", True), ("missing", ""), ("stores_covered", None), ("stores_total", None)):
        if c not in d:
            d[c] = dflt
    for r in d.to_dict("records"):
        record_figure(ctx, str(r["kpi"]), r["actual"], unit=r["unit"], source="scorecard", complete=r["complete"],
             stores_covered=r["stores_covered"], stores_total=r["stores_total"])
        if not is_missing(r["target"]):
            record_figure(ctx, f'{r["kpi"]}:target', r["target"], unit=r["unit"], basis=None, source="scorecard")
    record_figure(ctx, "score", card.total, unit="points", basis=None, source="scorecard")
    if getattr(card, "bonus", None) is not None:
        record_figure(ctx, "bonus", card.bonus, unit="money", basis=None, source="scorecard", converted=False)
    # achievement-based lines (basis: achievement) carry threshold/maximum as ratios of the target
    ratio = [u in ("money", "count") and not is_missing(a) and not is_missing(b) and abs(a) <= 5 and abs(b) <= 5
             for u, a, b in zip(d["unit"], d["threshold"], d["maximum"])]
    for c in ("threshold", "maximum"):
        d[c] = [fmt_pct(v, 0) if r else fmt_value(v, u, ctx.currency, lang) for v, u, r in zip(d[c], d["unit"], ratio)]
    d["actual"] = [cell_value(r, "actual", ctx) for r in d.to_dict("records")]
    d["target"] = [fmt_value(v, u, ctx.currency, lang) for v, u in zip(d["target"], d["unit"])]
    d["gate_txt"] = [(badge("red", lang).replace(esc(STATUS_LABELS["red"][1 if lang == "en" else 0]),
                                                 t("score.gate_breached", lang)) if red else
                      (t("score.gate_kpi", lang))) if g else ""
                     for g, red in zip(d["gate"], d["gate_red"])]
    d["cap_txt"] = [fmt_number(c, 0) + "%" for c in d["cap"]]
    head = cards([(t("score", lang), f"{card.total:.1f} / 100", "red" if card.gated else None)] + (
        [(t("score.bonus", lang), fmt_money(card.bonus / ctx.fx, ctx.currency, lang, 2), None)]
        if getattr(card, "bonus", None) is not None else []), lang)
    tbl = table(d, [("name", t("kpi", lang)), ("weight", t("weight", lang)), ("threshold", t("score.threshold", lang)),
                    ("target", t("target", lang)), ("maximum", t("score.maximum", lang)),
                    ("cap_txt", t("score.payout_cap", lang)),
                    ("actual", t("actual", lang)), ("achievement", t("achievement", lang)),
                    ("payout_pct", t("score.payout", lang)), ("weighted_points", t("weighted", lang)),
                    ("gate_txt", t("gate", lang))],
                {"weight": lambda v: fmt_number(v, 0) + "%", "achievement": lambda v: fmt_pct(v, 0),
                 "payout_pct": lambda v: fmt_number(v, 1) + "%", "weighted_points": lambda v: fmt_number(v, 1)},
                raw=["gate_txt"], lang=lang)
    title = t("chart.score", lang)
    fig = bar_chart(list(lines["name"]), list(lines["weighted_points"]), title=title, horizontal=True,
                    fmt=lambda v: fmt_number(v, 1), y_title=unit_title("points", ctx.currency, lang))
    return section(key, lang, head + note(_curve_text(card, lang)) + _score_explanation(card, lines, lang) + tbl
                   + _target_sources(lines, lang) + _bonus_table(card, ctx)
                   + chart_or_note(fig, list(lines["weighted_points"]), title, lang))


def _target_sources(lines: pd.DataFrame, lang: str) -> str:
    """Where each line's target comes from when it is not the entity's target in the target plan."""
    if "target_source" not in lines:
        return ""
    sep = "、" if lang == "zh" else ", "
    own = lines[(lines["target_source"] == "scorecards.yaml") & (lines["weight"] > 0)]
    ly = lines[lines["target_source"].astype(str).str.startswith("last_year")]
    out = []
    if len(own):
        out.append(f"{sep.join(own['name'])} 的目标取自考核表（目标体系中没有该团队/人员此指标本期的目标）"
                   if lang == "zh" else f"{sep.join(own['name'])}: target from the scorecard (the target plan has none "
                                        "for this entity and month)")
    for r in ly.itertuples():
        g = str(r.target_source).split("+", 1)[1]
        out.append(f"{r.name} 的目标 = 去年同期 × (1 + {float(g):.0%})（目标体系中没有本期目标）" if lang == "zh" else
                   f"{r.name}: target = same month last year × (1 + {float(g):.0%}) (no target in the plan)")
    return "".join(f'<p class="note target-source">{esc(x)}</p>' for x in out)


