"""The summary a report opens with: 3–5 sentences generated from the page's own figures.

Deterministic templates (zh and en, in ``kpi_lib/labels/summary.yaml``), no free text: each sentence
picks figures from the data the report shows (KPI status rows, the KPI tree attribution, alerts, the
settlement statement, the cost waterfall) and records every number it prints on the report context, so
each one is in ``<entity>.figures.json`` (``tests/test_report_language.py`` checks it). The sentences say
what moved most and why (the attribution's largest drivers), which targets are missed, which figures are
incomplete (and for lack of which data), and what needs attention (open alerts).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..labels import label
from .attribution import named_attribution
from .blocks import section
from .fmt import esc, fmt_change, fmt_money, fmt_pct, is_missing, missing_reason
from .scorecard import open_names
from .sections import figure_text, record_figure
from .words import alert_sentence

__all__ = ['HEADLINE_KPIS', 'MAX_SENTENCES', 'contract_summary', 'cost_summary', 'score_sentence', 'scorecard_summary', 'summary_block', 'summary_section', 'summary_sentences']






HEADLINE_KPIS = ("gmv", "net_profit", "net_margin")
MAX_SENTENCES = 5
MATERIAL = 0.05  # a driver named in the summary moves the figure by at least this share of its change


def _sep(lang: str) -> str:
    return label("punct.list", lang)


def _row_map(status: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    if status is None or len(status) == 0 or "kpi" not in status:
        return {}
    return {str(r["kpi"]): r for r in status.to_dict("records")}


def _headline(rows: Mapping[str, Mapping[str, Any]], ctx: Any, kpis: Sequence[str]) -> str | None:
    """'本月 GMV 为 ¥23,633，较上月 +36.2%；净利润为 -¥27,673。' (complete figures only)."""
    lang = ctx.lang
    parts = []
    for k in kpis:
        r = rows.get(k)
        if r is None or is_missing(r.get("actual")) or not bool(r.get("complete", True)):
            continue
        val = figure_text(r["actual"], r["unit"], ctx, k)
        record_figure(ctx, k, r["actual"], unit=r["unit"], basis=r.get("basis", "order"), complete=r.get("complete", True),
             source=r.get("source", "kpi_values"), stores_covered=r.get("stores_covered"),
             stores_total=r.get("stores_total"))
        chg = r.get("change")
        if not is_missing(chg):
            unit = str(r.get("change_unit") or "%")
            record_figure(ctx, f"{k}:change", chg, unit="pp" if unit == "pp" else ("ratio" if unit == "x" else "pct"),
                 basis=r.get("basis", "order"), source="summary")
            parts.append(label("summary.kpi_change", lang).format(kpi=r["name"], value=val,
                                                                  change=fmt_change(chg, unit)))
        else:
            parts.append(label("summary.kpi_value", lang).format(kpi=r["name"], value=val))
        if len(parts) == 2:
            break
    if not parts:
        return None
    return label("summary.headline", lang).format(period=ctx.period, items=label("punct.clause", lang).join(parts))


def _drivers(attr: pd.DataFrame | None, ctx: Any, top: int = 2) -> str | None:
    """What moved the tree's root most vs the prior month, and the largest driver against the move."""
    if attr is None or len(attr) == 0 or "contribution" not in attr:
        return None
    lang = ctx.lang
    attr = named_attribution(attr, lang)
    root = attr.iloc[0]
    if is_missing(root.get("value_a")) or is_missing(root.get("value_b")):
        return None
    unit = str(root.get("root_unit") or root.get("unit") or "money")
    delta = float(root["value_b"]) - float(root["value_a"])
    kids = attr[(attr["parent"] == root["node"]) & attr["contribution"].notna()].copy()
    if kids.empty or delta == 0:
        return None
    rk = str(root["kpi"])
    record_figure(ctx, f"{rk}:change_abs", delta, unit=unit, basis=None, source="summary.attribution")
    same = kids[(kids["contribution"] * math.copysign(1, delta)) > 0]
    same = same.reindex(same["contribution"].abs().sort_values(ascending=False).index).head(top)
    # a second driver only when it matters (≥ 5 % of the move): "+¥5 from overheads" beside +¥2.1M reads as noise
    same = same[(same["contribution"].abs() >= MATERIAL * abs(delta)) | (same.index == same.index[0])] if len(same) else same
    against = kids[(kids["contribution"] * math.copysign(1, delta)) < 0]
    against = against.reindex(against["contribution"].abs().sort_values(ascending=False).index).head(1)

    def item(r: Mapping[str, Any]) -> str:
        record_figure(ctx, f'{rk}:driver:{r["kpi"]}', r["contribution"], unit=unit, basis=None, source="summary.attribution")
        return label("punct.paren", lang).format(text=r["name"], note=_signed(r["contribution"], unit, ctx))

    text = label("summary.moved_up" if delta > 0 else "summary.moved_down", lang).format(
        kpi=root["name"], delta=_signed(abs(delta), unit, ctx).lstrip("+"), drivers=_sep(lang).join(item(r) for r in same.to_dict("records")))
    if len(against):
        text += label("summary.against", lang).format(driver=item(against.iloc[0].to_dict()))
    return text + label("punct.end", lang)


def _signed(v: Any, unit: str, ctx: Any) -> str:
    if unit == "money":
        x = float(v)
        return ("+" if x > 0 else "") + fmt_money(x, ctx.currency, ctx.lang)
    if unit == "pct":
        return fmt_change(float(v) * 100, "pp", 1)
    return fmt_change(v, "x")


def _missed(rows: Mapping[str, Mapping[str, Any]], ctx: Any, top: int = 3) -> str | None:
    """Targets missed (red first, then amber) with their achievement; or that every target is met."""
    lang = ctx.lang
    judged = [r for r in rows.values() if r.get("status") in ("red", "amber", "green")]
    if not judged:
        return None
    bad = [r for r in judged if r.get("status") in ("red", "amber")]
    if not bad:
        return label("summary.all_met", lang).format(n=len(judged), name=ctx.name)
    bad.sort(key=lambda r: (r.get("status") != "red", _ach(r) if _ach(r) is not None else 9))
    items = []
    for r in bad[:top]:
        a = _ach(r)
        if a is not None:
            record_figure(ctx, f'{r["kpi"]}:achievement', a, unit="pct", basis=None, source="summary")
            items.append(label("summary.missed_item", lang).format(kpi=r["name"], achievement=fmt_pct(a, 0)))
        else:
            items.append(str(r["name"]))
    reds = sum(1 for r in bad if r.get("status") == "red")
    return label("summary.missed", lang).format(n=len(bad), judged=len(judged), red=reds, name=ctx.name,
                                                items=_sep(lang).join(items))


def _ach(r: Mapping[str, Any]) -> float | None:
    for c in ("pace_achievement", "achievement"):
        v = r.get(c)
        if not is_missing(v):
            return float(v)
    return None


def _incomplete(rows: Mapping[str, Mapping[str, Any]], ctx: Any, top: int = 4) -> str | None:
    """Figures not shown for lack of data, and which data are missing."""
    lang = ctx.lang
    inc = [r for r in rows.values() if not bool(r.get("complete", True))]
    if not inc:
        return None
    sources = sorted({m.strip() for r in inc for m in str(r.get("missing") or "").replace(";", ",").split(",")
                      if m.strip()})
    why = missing_reason(",".join(sources), lang) or label("status.incomplete", lang)
    # a roll-up over the stores that have the data is shown (with n/N); a figure with no value is not
    partial = [r for r in inc if not is_missing(r.get("actual")) and not is_missing(r.get("stores_covered"))
               and not is_missing(r.get("stores_total"))]
    absent = [r for r in inc if r not in partial]
    if absent:
        names = _sep(lang).join(str(r["name"]) for r in absent[:top]) + ("…" if len(absent) > top else "")
        return label("summary.incomplete", lang).format(kpis=names, why=why)
    groups: dict[tuple[int, int], list[str]] = {}
    for r in partial:
        groups.setdefault((int(r["stores_covered"]), int(r["stores_total"])), []).append(str(r["name"]))
    items = label("punct.clause", lang).join(
        label("punct.paren", lang).format(text=f"{_sep(lang).join(n[:top])}{'…' if len(n) > top else ''}", note=f"{c}/{tot}")
        for (c, tot), n in groups.items())
    return label("summary.partial", lang).format(items=items, why=why)


def _attention(alerts: pd.DataFrame | None, ctx: Any) -> str | None:
    """Open alerts: how many, and the most severe one as a sentence."""
    if alerts is None or len(alerts) == 0 or "state" not in alerts:
        return None
    lang = ctx.lang
    open_ = alerts[alerts["state"] == "open"]
    if open_.empty:
        return None
    rank = {"high": 0, "medium": 1, "low": 2}
    top = open_.assign(_r=open_["severity"].map(rank).fillna(3)).sort_values("_r").iloc[0].to_dict()
    record_figure(ctx, f'alert:{top.get("kpi")}', top.get("value"), period=str(top.get("period")), basis=None,
         entity_kind=str(top.get("entity_kind") or ctx.kind), entity_id=str(top.get("entity_id") or ""),
         source="alerts")
    return label("summary.attention", lang).format(n=len(open_), first=alert_sentence(top, lang, ctx.currency, ctx.fx))


def summary_sentences(ctx: Any, status: pd.DataFrame | None = None, attr: pd.DataFrame | None = None,
                      alerts: pd.DataFrame | None = None, headline: Sequence[str] = HEADLINE_KPIS) -> list[str]:
    """The summary's sentences in order (headline, drivers, targets, incomplete data, attention), at most 5."""
    rows = _row_map(status)
    out = [_headline(rows, ctx, headline), _drivers(attr, ctx), _missed(rows, ctx), _incomplete(rows, ctx),
           _attention(alerts, ctx)]
    return [s for s in out if s][:MAX_SENTENCES]


def summary_block(sentences: Sequence[str], ctx: Any) -> str:
    """The summary as the page's first section (a short list under the heading '摘要' / 'Summary')."""
    if not sentences:
        sentences = [label("summary.nothing", ctx.lang)]
    items = "".join(f"<li>{esc(s)}</li>" for s in sentences)
    return '<section class="summary">' + section("summary", ctx.lang, f"<ul>{items}</ul>") + "</section>"


def summary_section(ctx: Any, status: pd.DataFrame | None = None, attr: pd.DataFrame | None = None,
                    alerts: pd.DataFrame | None = None, headline: Sequence[str] = HEADLINE_KPIS) -> str:
    """The opening summary of a store, company, team or person report (see :func:`summary_sentences`)."""
    return summary_block(summary_sentences(ctx, status, attr, alerts, headline), ctx)


def score_sentence(card: Any, lines: pd.DataFrame | None, ctx: Any) -> str | None:
    """'总分 99.5 / 100，奖金 ¥11,941.97；得分率最低：净利润率（0.0%）。' from the scorecard."""
    if card is None or isinstance(card, str) or not hasattr(card, "total"):
        return None
    lang = ctx.lang
    if getattr(card, "open", None):  # no total and no bonus on incomplete actuals: say which lines wait
        record_figure(ctx, "score", card.total, unit="points", basis=None, source="scorecard", complete=False)
        return label("summary.score_open", lang).format(lines=open_names(card, lines, lang)) + label("punct.end", lang)
    record_figure(ctx, "score", card.total, unit="points", basis=None, source="scorecard")
    text = label("summary.score", lang).format(score=f"{float(card.total):.1f}")
    if getattr(card, "bonus", None) is not None:
        record_figure(ctx, "bonus", card.bonus, unit="money", basis=None, source="scorecard", converted=False)
        text += label("summary.bonus", lang).format(bonus=fmt_money(float(card.bonus) / ctx.fx, ctx.currency, lang, 2))
    if lines is not None and len(lines) and "payout_pct" in lines:
        weighted = lines[(lines["weight"] > 0) & lines["payout_pct"].notna()]
        # "the lowest" only when the lines differ: every line at the 150 % cap has no lowest worth naming
        if len(weighted) and weighted["payout_pct"].min() < weighted["payout_pct"].max():
            low = weighted.sort_values("payout_pct").iloc[0]
            record_figure(ctx, f'{low["kpi"]}:payout', float(low["payout_pct"]) / 100, unit="pct", basis=None,
                 source="scorecard")
            text += label("summary.lowest", lang).format(kpi=low["name"], payout=fmt_pct(float(low["payout_pct"]) / 100))
    return text + label("punct.end", lang)


def scorecard_summary(card: Any, lines: pd.DataFrame | None, ctx: Any, status: pd.DataFrame | None = None,
                      alerts: pd.DataFrame | None = None) -> str:
    """A person's or team's summary: the score and bonus first, then the KPI sentences."""
    first = score_sentence(card, lines, ctx)
    rest = summary_sentences(ctx, status, None, alerts)
    return summary_block(([first] if first else []) + rest[:MAX_SENTENCES - 1], ctx)


def _fee_sentence(stmt: Mapping[str, Any], total: float, m: Any, ctx: Any) -> str:
    """The fee due: the statement's subtotal, tax (when the contract sets one), total due and due date."""
    lang, src = ctx.lang, "settlement.settle"
    record_figure(ctx, "fee_total", total, unit="money", basis=None, source=src, converted=False)
    tax = stmt.get("tax") or None
    due_total = float(stmt.get("total_due") or total)
    record_figure(ctx, "fee_total_due", due_total, unit="money", basis=None, source=src, converted=False)
    if tax:
        amount = float(tax.get("amount") or 0)
        record_figure(ctx, "fee_tax", amount, unit="money", basis=None, source=src, converted=False)
        name = tax.get("label_en" if lang == "en" else "label_zh") or label("settlement.tax_default", lang)
        key = "summary.contract_fee_tax_included" if tax.get("fees_are") == "gross" else "summary.contract_fee_tax"
        text = label(key, lang).format(subtotal=m(total), tax=name, tax_amount=m(amount), total=m(due_total))
    else:
        text = label("summary.contract_fee", lang).format(total=m(due_total))
    due = (stmt.get("payment") or {}).get("due_date")
    return label("summary.contract_due", lang).format(sentence=text, due=due) if due else text


def contract_summary(stmt: Any, ctx: Any, status: pd.DataFrame | None = None) -> str:
    """The settlement's summary: net GMV against target, the fee due, the exit clause; incomplete data."""
    lang = ctx.lang
    out: list[str] = []
    if isinstance(stmt, Mapping):
        k = stmt.get("kpis", {})

        def num(v: Any) -> float | None:
            return None if v in (None, "None", "") else float(v)

        net, target, ach, total = num(k.get("net_gmv")), num(k.get("target")), num(k.get("achievement")), \
            num(stmt.get("total"))
        m = lambda v: fmt_money(None if v is None else v / ctx.fx, ctx.currency, lang, 2)
        src = "settlement.settle"
        if net is not None:
            record_figure(ctx, "net_gmv", net, unit="money", basis=str(k.get("basis") or "order"), source=src, converted=False)
            if target is not None and ach is not None:
                record_figure(ctx, "net_gmv:target", target, unit="money", basis=None, source=src, converted=False)
                record_figure(ctx, "net_gmv:achievement", ach, unit="pct", basis=None, source=src)
                out.append(label("summary.contract_gmv", lang).format(net=m(net), target=m(target),
                                                                      achievement=fmt_pct(ach, 1)))
            else:
                out.append(label("summary.contract_gmv_no_target", lang).format(net=m(net)))
        if total is not None:
            out.append(_fee_sentence(stmt, total, m, ctx))
        ex = stmt.get("exit_clause") or {}
        if ex.get("defined"):
            key = "summary.exit_triggered" if ex.get("triggered") else (
                "summary.exit_watch" if int(ex.get("consecutive_below") or 0) > 0 else "summary.exit_clear")
            out.append(label(key, lang).format(run=ex.get("consecutive_below", 0), periods=ex.get("periods")))
    rows = _row_map(status)
    for s in (_missed(rows, ctx), _incomplete(rows, ctx)):
        if s:
            out.append(s)
    return summary_block(out[:MAX_SENTENCES], ctx)


def _wf_meta(r: Mapping[str, Any], basis: str) -> dict[str, Any]:
    """How the waterfall section records its rows (coverage included), so the same figure is one figure."""
    return {"unit": "money", "basis": basis, "complete": r.get("complete", True), "source": "costs.waterfall",
            "stores_covered": r.get("stores_covered"), "stores_total": r.get("stores_total")}


def cost_summary(waterfall: pd.DataFrame | None, ctx: Any, margin: pd.DataFrame | None = None) -> str:
    """The cost diagnostic's summary: net sales to net profit, the largest cost lines, what moved the margin."""
    lang = ctx.lang
    out: list[str] = []
    if waterfall is not None and len(waterfall):
        d = waterfall
        steps = {str(s): r for s, r in zip(d["step"], d.to_dict("records"))}
        ns, npf = steps.get("net_sales"), steps.get("net_profit")
        basis = str(d["basis"].iloc[0]) if "basis" in d else "order"
        if ns is not None and npf is not None and not is_missing(ns["amount"]) and not is_missing(npf["amount"]):
            record_figure(ctx, "net_sales", ns["amount"], **_wf_meta(ns, basis))
            record_figure(ctx, str(npf.get("kpi") or "net_profit"), npf["amount"], **_wf_meta(npf, basis))
            margin_v = npf.get("pct_of_net_sales")
            if not is_missing(margin_v):
                record_figure(ctx, "net_profit:share_of_net_sales", margin_v, unit="pct", basis=basis, source="summary")
            out.append(label("summary.cost_profit", lang).format(
                net_sales=fmt_money(ns["amount"], ctx.currency, lang), net_profit=fmt_money(npf["amount"], ctx.currency, lang),
                margin=fmt_pct(margin_v)))
        costs = d[(d["kind"] == "cost") & d["amount"].notna()].copy()
        if len(costs):
            costs = costs.reindex(costs["amount"].abs().sort_values(ascending=False).index).head(3)
            items = []
            for r in costs.to_dict("records"):
                record_figure(ctx, str(r.get("kpi") or r["step"]), -r["amount"], **_wf_meta(r, basis))
                items.append(label("summary.cost_item", lang).format(name=r["name"],
                                                                     amount=fmt_money(-r["amount"], ctx.currency, lang),
                                                                     share=fmt_pct(abs(r["pct_of_net_sales"]))))
                if not is_missing(r.get("pct_of_net_sales")):
                    record_figure(ctx, f'{r.get("kpi") or r["step"]}:share_of_net_sales', abs(r["pct_of_net_sales"]),
                         unit="pct", basis=basis, source="summary")
            out.append(label("summary.cost_largest", lang).format(items=_sep(lang).join(items)))
        c, n = (d["stores_covered"].iloc[0], d["stores_total"].iloc[0]) if "stores_covered" in d else (None, None)
        missing = ",".join(str(x) for x in d.get("missing", pd.Series(dtype=str)) if x and not is_missing(x))
        if not is_missing(c) and not is_missing(n) and int(n) > 1 and int(c) < int(n):
            out.append(label("summary.cost_partial", lang).format(
                covered=int(c), total=int(n), why=missing_reason(missing, lang) or label("status.incomplete", lang)))
        else:
            inc = d[~d["complete"].astype(bool)] if "complete" in d else d.iloc[0:0]
            if len(inc):
                out.append(label("summary.incomplete", lang).format(
                    kpis=_sep(lang).join(inc["name"].astype(str).head(4)),
                    why=missing_reason(missing, lang) or label("status.incomplete", lang)))
    if margin is not None and len(margin):
        mv = margin[margin["step"] != "net_margin"].copy()
        mv = mv[mv["margin_points"].notna()]
        if len(mv):
            top = mv.reindex(mv["margin_points"].abs().sort_values(ascending=False).index).iloc[0].to_dict()
            record_figure(ctx, f'{top["step"]}:margin_points', top["margin_points"], unit="pp", basis=None, source="summary")
            out.append(label("summary.margin_move", lang).format(name=top["name"],
                                                                 points=fmt_change(top["margin_points"], "pp", 2)))
    return summary_block(out[:MAX_SENTENCES], ctx)
