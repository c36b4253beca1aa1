"""Scorecard sections: score, its explanation, the bonus line by line."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .blocks import cards, note, section, table, unavailable
from .charts import bar_chart, chart_or_note, unit_title
from .fmt import (
    DASH,
    STATUS_LABELS,
    badge,
    esc,
    fmt_money,
    fmt_number,
    fmt_pct,
    fmt_value,
    is_missing,
    missing_reason,
    t,
)
from .sections import cell_value, record_figure

__all__ = ['open_names', 'scorecard_section']

























def _curve_text(card: Any, lang: str) -> str:
    pts = {c.at: c.payout for c in getattr(card, "curve", [])} or {"threshold": 50, "target": 100, "maximum": 150}
    thr, tg, mx = pts.get("threshold", 50), pts.get("target", 100), pts.get("maximum", 150)
    return t("scorecard.curve", lang).format(threshold=f"{thr:g}", target=f"{tg:g}", maximum=f"{mx:g}")


def _score_explanation(card: Any, lines: pd.DataFrame, lang: str) -> str:
    """Why the total is what it is: above 100 (stretch), capped lines, a gate that capped the total."""
    out = []
    sep = t("punct.list", lang)
    total = float(card.total)
    over = lines[(lines["payout_pct"] > 100) & (lines["weight"] > 0)]
    if total > 100 and len(over):
        out.append(t("scorecard.above_100", lang).format(total=f"{total:.1f}", names=sep.join(over["name"])))
    capped = lines[(lines["weight"] > 0) & (lines["payout_pct"] >= lines["cap"]) & (lines["payout_pct"] > 100)]
    if len(capped):
        out.append(t("scorecard.capped", lang).format(names=sep.join(capped["name"])))
    if getattr(card, "gated", False):
        red = lines[lines["gate_red"]]
        names = sep.join(red["name"])
        cap = getattr(card, "gate_cap", None)
        un = getattr(card, "uncapped_total", None)
        out.append(t("scorecard.gated", lang).format(names=names, uncapped=f"{un:.1f}", cap=f"{cap:g}")
                   if cap is not None and un is not None else t("scorecard.gated_short", lang).format(names=names))
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
    opened = list(getattr(card, "open", []) or [])
    record_figure(ctx, "score", card.total, unit="points", basis=None, source="scorecard", complete=not opened)
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
    if opened:  # missing is not zero: no total, no bonus, and the page says which lines wait for data
        head = cards([(t("score", lang), t("score.pending", lang), None)] + (
            [(t("score.bonus", lang), t("score.pending", lang), None)] if getattr(card, "bonus_withheld", False)
            else []), lang)
    else:
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
    return section(key, lang, head + _open_text(card, lines, lang) + note(_curve_text(card, lang))
                   + _score_explanation(card, lines, lang) + tbl
                   + _target_sources(lines, lang) + _bonus_table(card, ctx)
                   + chart_or_note(fig, list(lines["weighted_points"]), title, lang))


def open_names(card: Any, lines: pd.DataFrame | None, lang: str) -> str:
    """'净利润（缺少广告数据）、净利率（缺少广告数据）': the card's open lines by name and why."""
    names = {} if lines is None or "name" not in lines else dict(zip(lines["kpi"].astype(str), lines["name"]))
    parts = []
    for o in getattr(card, "open", []) or []:
        why = missing_reason(o.get("missing", ""), lang) or t("missing.unknown", lang)
        parts.append(t("score.open_line", lang).format(name=names.get(o["kpi"], o["kpi"]), why=why))
    return t("punct.list", lang).join(parts)


def _open_text(card: Any, lines: pd.DataFrame, lang: str) -> str:
    """Why the card has no total yet: the open lines, the points scored so far, the bonus withheld."""
    if not getattr(card, "open", None):
        return ""
    prov = getattr(card, "provisional_total", None)
    text = t("scorecard.open", lang).format(lines=open_names(card, lines, lang),
                                            known=fmt_number(prov, 1) if not is_missing(prov) else DASH)
    if getattr(card, "bonus_withheld", False):
        text += t("scorecard.bonus_withheld", lang)
    return f'<p class="note score-open">{esc(text)}</p>'


def _target_sources(lines: pd.DataFrame, lang: str) -> str:
    """Where each line's target comes from when it is not the entity's target in the target plan."""
    if "target_source" not in lines:
        return ""
    sep = t("punct.list", lang)
    own = lines[(lines["target_source"] == "scorecards.yaml") & (lines["weight"] > 0)]
    ly = lines[lines["target_source"].astype(str).str.startswith("last_year")]
    out = []
    if len(own):
        out.append(t("scorecard.target_from_card", lang).format(names=sep.join(own["name"])))
    for r in ly.itertuples():
        g = str(r.target_source).split("+", 1)[1]
        out.append(t("scorecard.target_growth", lang).format(name=r.name, growth=f"{float(g):.0%}"))
    return "".join(f'<p class="note target-source">{esc(x)}</p>' for x in out)


