"""Contract sections: the settlement statement and the fee-model comparison."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ..errors import KpiError
from ..settlement import get_contract
from .blocks import cards, kv_table, note, section, table, unavailable
from .charts import chart_html, style_figure, unit_title
from .fmt import DASH, esc, fmt_money, fmt_pct, t
from .sections import money_formatter, record_figure
from .words import exit_clause_sentence, exit_history_text, fee_formula, fee_line_name, fee_model_name

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
        record_figure(ctx, kpi, num(k.get(kk)), unit="money", basis=basis, source=src, converted=False)
    record_figure(ctx, "net_gmv:target", num(k.get("target")), unit="money", basis=None, source=src, converted=False)
    record_figure(ctx, "net_gmv:achievement", num(k.get("achievement")), unit="pct", basis=basis, source=src)
    for ln in stmt.get("fee_lines", []):
        record_figure(ctx, f'fee:{ln.get("name")}', num(ln.get("amount")), unit="money", basis=None, source=src, converted=False)
    record_figure(ctx, "fee_total", num(stmt.get("total")), unit="money", basis=None, source=src, converted=False)
    items = [(t("settlement.gmv", lang), m(k.get("gmv"))), (t("settlement.refunds", lang), m(k.get("refunds"))),
             (t("settlement.excluded_gmv", lang), m(k.get("excluded_gmv"))),
             (t("settlement.net_gmv", lang), m(k.get("net_gmv"))), (t("target", lang), m(k.get("target"))),
             (t("achievement", lang), fmt_pct(num(k.get("achievement")), 1))]
    fee = (stmt.get("terms") or {}).get("fee") or {}
    raw_lines = list(stmt.get("fee_lines", []))
    lines = pd.DataFrame(raw_lines)
    if len(lines):
        lines["line"] = [fee_line_name(n, lang) for n in lines["name"]]
        lines["formula"] = [fee_formula(ln, fee, k, raw_lines, lang, m) for ln in raw_lines]
        lines["amount"] = [m(a) for a in lines["amount"]]
    tbl = table(lines, [("line", t("settlement.fee_line", lang)), ("formula", t("settlement.formula", lang)),
                        ("amount", t("value", lang))], lang=lang, cls="kpi-table fee-lines")
    total = cards([(t("settlement.total_due", lang), m(stmt.get("total")), None)], lang)
    ex = stmt.get("exit_clause") or {}
    ex_html = f'<h3>{esc(t("exit_clause", lang))}</h3>' + note(exit_clause_sentence(ex, lang))
    hist = exit_history_text(ex, lang)
    if hist:
        ex_html += note(f'{t("exit.history", lang)}: {hist}')
    snap = note(t("settlement.snapshot_note", lang).format(hash=stmt.get("snapshot_hash", "") or DASH))
    parties = kv_table([(t("settlement.provider", lang), str(stmt.get("provider") or DASH)),
                        (t("settlement.client", lang), str(stmt.get("client") or DASH)),
                        (t("settlement.contract_ref", lang), f'{ctx.name}（{ctx.entity_id}）' if lang == "zh"
                         else f"{ctx.name} ({ctx.entity_id})"),
                        (t("period", lang), f'{stmt.get("period", ctx.period)}（{stmt.get("start", "")} – '
                                            f'{stmt.get("end", "")}）' if lang == "zh" else
                         f'{stmt.get("period", ctx.period)} ({stmt.get("start", "")} – {stmt.get("end", "")})')])
    sign = (f'<div class="sign-off"><div><p>{esc(t("settlement.for_provider", lang))}</p><p class="sign-line"></p></div>'
            f'<div><p>{esc(t("settlement.for_client", lang))}</p><p class="sign-line"></p></div></div>')
    return section(key, lang, parties + note(t(f"basis_{basis}", lang)) + kv_table(items) + tbl + total + ex_html
                   + snap + sign)


def _fee_model_labels(contract_id: str, lang: str) -> dict[str, str]:
    """{fee model name: its label in ``lang``} when contracts.yaml gives ``label_zh`` / ``label_en``."""
    try:
        c = get_contract(contract_id)
    except KpiError:
        return {}
    out = {}
    for m in [c.fee, *c.alternatives]:
        text = getattr(m, f"label_{'en' if lang == 'en' else 'zh'}", None)
        if m.name and text:
            out[str(m.name)] = str(text)
    return out


def fee_models_section(df: Any, ctx: Any, key: str = "fee_models") -> str:
    lang = ctx.lang
    if isinstance(df, str) or df is None:
        return section(key, lang, unavailable(lang, str(df or "")))
    if df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    own = _fee_model_labels(ctx.entity_id, lang)
    df = df.assign(model=[own.get(str(x)) or fee_model_name(x, lang) for x in df["model"]])
    fig = go.Figure()
    for i, (name, g) in enumerate(df.groupby("model", sort=False)):
        fig.add_trace(go.Scatter(x=[float(a) for a in g["achievement"]], y=[float(v) for v in g["client_pays"]],
                                 mode="lines+markers", name=str(name)))
    fig.update_xaxes(tickformat=".0%", title=t("achievement", lang))
    style_figure(fig, t("chart.fee_models", lang), y_title=unit_title("money", ctx.currency, lang))
    piv = df.pivot_table(index="achievement", columns="model", values="client_pays", aggfunc="first").reset_index()
    cols = [("achievement", t("achievement", lang))] + [(c, str(c)) for c in piv.columns if c != "achievement"]
    fm = {c: money_formatter(ctx) for c, _ in cols[1:]}
    fm["achievement"] = lambda v: fmt_pct(v, 0)
    return section(key, lang, chart_html(fig) + table(piv, cols, fm, lang=lang))


