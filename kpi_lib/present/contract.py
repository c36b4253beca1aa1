"""Contract sections: the settlement statement and the fee-model comparison."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .blocks import cards, kv_table, note, section, table, unavailable
from .charts import chart_html, style_figure
from .fmt import DASH, esc, fmt_money, fmt_pct, t
from .sections import _money, _rec

__all__ = ['fee_models_section', 'settlement_section']







def settlement_section(stmt: Any, ctx: Any, key: str = "settlement") -> str:
    """The statement: contract terms, KPI basis (GMV, refunds, net GMV, target, achievement), fee lines, total."""
    lang = ctx.lang
    if isinstance(stmt, str) or stmt is None:
        return section(key, lang, unavailable(lang, str(stmt or "")))
    k = stmt.get("kpis", {})
    num = lambda v: None if v in (None, "None", "") else float(v)
    # statement amounts are in the reporting currency: shown in the report's
    m = lambda v: fmt_money(None if num(v) is None else num(v) / ctx.fx, ctx.currency, lang, 2)
    src, basis = "settlement.settle", str(k.get("basis") or "order")
    for kk, kpi in (("gmv", "gmv"), ("refunds", "refunds"), ("excluded_gmv", "excluded_gmv"), ("net_gmv", "net_gmv")):
        _rec(ctx, kpi, num(k.get(kk)), unit="money", basis=basis, source=src, converted=False)
    _rec(ctx, "net_gmv:target", num(k.get("target")), unit="money", basis=None, source=src, converted=False)
    _rec(ctx, "net_gmv:achievement", num(k.get("achievement")), unit="pct", basis=basis, source=src)
    for ln in stmt.get("fee_lines", []):
        _rec(ctx, f'fee:{ln.get("name")}', num(ln.get("amount")), unit="money", basis=None, source=src, converted=False)
    _rec(ctx, "fee_total", num(stmt.get("total")), unit="money", basis=None, source=src, converted=False)
    items = [("GMV", m(k.get("gmv"))), ("退款额" if lang == "zh" else "Refunds", m(k.get("refunds"))),
             ("排除SKU销售额" if lang == "zh" else "Excluded GMV", m(k.get("excluded_gmv"))),
             ("净GMV" if lang == "zh" else "Net GMV", m(k.get("net_gmv"))), (t("target", lang), m(k.get("target"))),
             (t("achievement", lang), fmt_pct(None if k.get("achievement") in (None, "None") else
                                               float(k["achievement"]), 1))]
    lines = pd.DataFrame(stmt.get("fee_lines", []))
    if len(lines):
        lines["rate"] = [DASH if r in (None, "None") else fmt_pct(float(r), 2) for r in lines["rate"]]
        lines["amount"] = [m(a) for a in lines["amount"]]
    tbl = table(lines, [("name", "费用项" if lang == "zh" else "Fee line"), ("basis", "计算基础" if lang == "zh" else "Basis"),
                        ("rate", "费率" if lang == "zh" else "Rate"), ("amount", t("value", lang))], lang=lang)
    total = cards([("应付合计" if lang == "zh" else "Total due", m(stmt.get("total")), None)], lang)
    ex = stmt.get("exit_clause") or {}
    ex_html = ""
    if ex:
        ex_html = f'<h3>{esc(t("exit_clause", lang))}</h3>' + kv_table([
            (k2, str(v)) for k2, v in ex.items() if k2 != "history"])
    snap = note(f'{t("snapshot", lang)}: {stmt.get("snapshot_hash", "")}')
    return section(key, lang, note(t(f"basis_{basis}", lang)) + kv_table(items) + tbl + total + ex_html + snap)


def fee_models_section(df: Any, ctx: Any, key: str = "fee_models") -> str:
    lang = ctx.lang
    if isinstance(df, str) or df is None:
        return section(key, lang, unavailable(lang, str(df or "")))
    if df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (name, g) in enumerate(df.groupby("model", sort=False)):
        fig.add_trace(go.Scatter(x=[float(a) for a in g["achievement"]], y=[float(v) for v in g["client_pays"]],
                                 mode="lines+markers", name=str(name)))
    fig.update_xaxes(tickformat=".0%", title=t("achievement", lang))
    style_figure(fig)
    piv = df.pivot_table(index="achievement", columns="model", values="client_pays", aggfunc="first").reset_index()
    cols = [("achievement", t("achievement", lang))] + [(c, str(c)) for c in piv.columns if c != "achievement"]
    fm = {c: _money(ctx) for c, _ in cols[1:]}
    fm["achievement"] = lambda v: fmt_pct(v, 0)
    return section(key, lang, chart_html(fig) + table(piv, cols, fm, lang=lang))


