"""Cost report sections: waterfall, basis bridge, unit economics, overheads, margin moves."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .blocks import note, section, table
from .charts import bar_chart, chart_or_note, unit_title, waterfall_chart
from .fmt import esc, fmt_change, fmt_incomplete, fmt_money, fmt_pct, is_missing, missing_reason, t
from .sections import money_formatter, record_figure, unit_formatter
from .words import money_fn, overhead_name

__all__ = ['bridge_section', 'margin_moves_section', 'overheads_section', 'unit_economics_section', 'waterfall_section']

























def waterfall_section(df: pd.DataFrame, ctx: Any, key: str = "waterfall") -> str:
    """GMV → net profit waterfall chart (subtotals as totals) and the step table with % of net sales.

    The basis (order or posted date) is named; an incomplete line shows '— reason' in the table.
    """
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    basis = str(df["basis"].iloc[0]) if "basis" in df else "order"
    d = df.copy()
    if "complete" not in d:
        d["complete"], d["missing"] = True, ""
    for r in d.to_dict("records"):  # costs are drawn negative; the figure is the cost itself (positive)
        record_figure(ctx, str(r.get("kpi") or r["step"]), -r["amount"] if r["kind"] == "cost" else r["amount"], unit="money",
             basis=basis, complete=r["complete"], source="costs.waterfall", stores_covered=r.get("stores_covered"),
             stores_total=r.get("stores_total"))
    measures = ["absolute" if i == 0 else ("total" if k in ("subtotal", "total") else "relative")
                for i, k in enumerate(d["kind"])]
    title = t("chart.waterfall", lang)
    fig = waterfall_chart(list(d["name"]), list(d["amount"]), measures, title=title,
                          y_title=unit_title("money", ctx.currency, lang), currency=ctx.currency, lang=lang)
    d["amt"] = [fmt_incomplete(m, lang) if is_missing(a) else fmt_money(a, ctx.currency, lang)
                for a, m in zip(d["amount"], d["missing"])]
    d["pct"] = [fmt_pct(v) for v in d["pct_of_net_sales"]]
    tbl = table(d, [("name", t("cost.line", lang)), ("amt", t("value", lang)), ("pct", t("cost.pct_of_net_sales", lang))],
                lang=lang)
    cov = ""
    c, n = (d["stores_covered"].iloc[0], d["stores_total"].iloc[0]) if "stores_covered" in d else (None, None)
    if not is_missing(c) and not is_missing(n) and int(n) > 1 and int(c) < int(n):
        reason = missing_reason(d["missing"].iloc[0], lang)
        cov = note(t("cost.waterfall_coverage", lang).format(total=int(n), covered=int(c), reason=reason))
        every = df.attrs.get("all_stores", {})
        meta = df.attrs.get("all_stores_meta", {})
        if "net_sales" in every and not is_missing(every["net_sales"]):
            m = meta.get("net_sales", {})
            record_figure(ctx, "net_sales", every["net_sales"], unit="money", basis=basis, complete=m.get("complete", True),
                 stores_covered=m.get("stores_covered"), stores_total=m.get("stores_total"), source="kpi_values")
            ns = fmt_money(every["net_sales"], ctx.currency, lang)
            left = every["net_sales"] - float(d.loc[d["step"] == "net_sales", "amount"].iloc[0])
            cov += note(t("cost.waterfall_all_stores", lang).format(total=int(n), net_sales=ns,
                                                                    left_out=fmt_money(left, ctx.currency, lang)))
    return section(key, lang, note(t(f"basis_{basis}", lang)) + cov + chart_or_note(fig, list(d["amount"]), title, lang)
                   + tbl)


def bridge_section(df: pd.DataFrame, ctx: Any, key: str = "basis_bridge") -> str:
    """Order-basis net profit → timing differences → posted-basis net profit (rows add up)."""
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    for r in df.to_dict("records"):
        if r["kind"] in ("start", "end"):
            record_figure(ctx, "net_profit", r["amount"], unit="money", basis="order" if r["kind"] == "start" else "posted",
                 complete=r.get("complete", True), stores_covered=r.get("stores_covered"),
                 stores_total=r.get("stores_total"), source="costs.basis_bridge")
        else:
            record_figure(ctx, f'bridge:{r["item"]}', r["amount"], unit="money", basis=None, source="costs.basis_bridge")
    measures = ["absolute" if k == "start" else ("total" if k == "end" else "relative") for k in df["kind"]]
    title = t("chart.bridge", lang)
    fig = waterfall_chart(list(df["name"]), list(df["amount"]), measures, title=title,
                          y_title=unit_title("money", ctx.currency, lang), currency=ctx.currency, lang=lang)
    tbl = table(df, [("name", t("kpi", lang)), ("amount", t("value", lang))], {"amount": money_formatter(ctx)}, lang=lang)
    return section(key, lang, note(t("bridge_note", lang)) + chart_or_note(fig, list(df["amount"]), title, lang) + tbl)


UNIT_ECONOMICS_COLUMNS = [("sku", ""), ("name", ""), ("units", "count"), ("net_sales", "money"),
                          ("landed_cost_per_unit", "money"), ("fees_per_unit", "money"), ("ads_per_unit", "money"),
                          ("contribution_per_unit", "money"), ("margin", "pct"), ("acos", "pct"),
                          ("break_even_acos", "pct")]


def unit_economics_section(df: pd.DataFrame, ctx: Any, key: str = "unit_economics") -> str:
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("none" if key == "loss_skus" else "no_data", lang))}</p>')
    ek = "sku" if ctx.kind == "company" else f"{ctx.kind}/sku"
    for r in df.to_dict("records"):
        eid = str(r["sku"]) if ctx.kind == "company" else f'{ctx.entity_id}/{r["sku"]}'
        for k in ("net_sales", "contribution"):
            if k in r:
                record_figure(ctx, k, r[k], unit="money", entity_kind=ek, entity_id=eid, source="costs.unit_economics")
    cols = [(c, t(f"sku_col.{c}", lang), u) for c, u in UNIT_ECONOMICS_COLUMNS]
    cols = [c for c in cols if c[0] in df]
    d = df.copy()
    if "cost_missing" in d:  # COGS unknown for the SKU: its contribution is not a number computed with a 0 cost
        for c in ("landed_cost_per_unit", "contribution_per_unit", "margin", "break_even_acos"):
            if c in d:
                d[c] = d[c].astype(object).where(~d["cost_missing"].fillna(False).astype(bool), None)
    per_unit = {"landed_cost_per_unit", "fees_per_unit", "ads_per_unit", "contribution_per_unit"}
    fm = {c: (money_fn(ctx.currency, lang, 1.0, 2) if c in per_unit else unit_formatter(ctx, u)) for c, _, u in cols if u}
    if "break_even_acos" in d:  # a SKU losing money before ads can afford no ads at all: say so, not "-11.1%"
        fm["break_even_acos"] = lambda v: (t("not_reachable", lang) if not is_missing(v) and float(v) < 0
                                           else fmt_pct(v))
    body = table(d, [(c, h) for c, h, _ in cols], fm, lang=lang)
    share = df.attrs.get("cost_missing_share")
    if share is not None and not is_missing(share) and share > 0:
        record_figure(ctx, "cogs:uncosted_sales_share", share, unit="pct", source="costs.unit_economics")
        body = note(t("cost.cogs_incomplete", lang).format(share=fmt_pct(share))) + body
    if key == "loss_skus":
        title = t("chart.loss_skus", lang)
        fig = bar_chart(list(df["sku"].astype(str)), list(df["contribution"]), title=title, horizontal=True,
                        fmt=money_formatter(ctx), y_title=unit_title("money", ctx.currency, lang),
                        currency=ctx.currency, lang=lang)
        body = chart_or_note(fig, list(df["contribution"]), title, lang) + body
    return section(key, lang, body)


def overheads_section(df: pd.DataFrame, ctx: Any, key: str = "overheads") -> str:
    lang = ctx.lang
    for r in (df.to_dict("records") if df is not None else []):
        record_figure(ctx, f'overhead:{r["item"]}', r["amount"], unit="money", basis=None, source="overhead_allocations")
    d = df.copy() if df is not None else pd.DataFrame(columns=["item", "amount"])
    d["item_name"] = [overhead_name(i, lang) for i in d["item"]]
    return section(key, lang, table(d, [("item_name", t("overhead_item", lang)), ("amount", t("value", lang))],
                                    {"amount": money_formatter(ctx)}, lang=lang))


def margin_moves_section(df: pd.DataFrame, ctx: Any, key: str = "margin_moves") -> str:
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    basis = str(df["basis"].iloc[0]) if "basis" in df else "order"
    for r in df.to_dict("records"):
        k = "net_margin" if r["step"] == "net_margin" else f'{r["step"]}:share_of_net_sales'
        for side, per in (("prior", ctx.prior()), ("current", ctx.period)):
            meta = {"complete": r.get(f"complete_{side}", True), "stores_covered": r.get(f"stores_covered_{side}"),
                    "stores_total": r.get(f"stores_total_{side}")} if k == "net_margin" else {}
            record_figure(ctx, k, r[f"share_{side}"], unit="pct", basis=basis, period=per,
                 source="costs.explain_margin_change", **meta)
    steps = df[df["step"] != "net_margin"]
    pts = lambda v: fmt_change(v, "pp", 2)
    title = t("chart.margin_moves", lang)
    fig = bar_chart(list(steps["name"]), list(steps["margin_points"]), title=title, horizontal=True, fmt=pts,
                    y_title=unit_title("pp", ctx.currency, lang))
    tbl = table(df, [("name", t("kpi", lang)), ("share_prior", t("prior", lang)), ("share_current", t("actual", lang)),
                     ("margin_points", t("change", lang))],
                {"share_prior": fmt_pct, "share_current": fmt_pct, "margin_points": pts}, lang=lang)
    return section(key, lang, note(t(f"basis_{basis}", lang)) + chart_or_note(fig, list(steps["margin_points"]), title,
                                                                               lang) + tbl)


