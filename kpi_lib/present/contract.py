"""Contract sections: the settlement statement and the fee-model comparison."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from ..errors import KpiError
from ..settlement import get_contract
from .blocks import cards, kv_table, note, section, table, unavailable
from .charts import chart_html, style_figure, unit_title
from .fmt import DASH, esc, fmt_money, fmt_pct, t
from .sections import money_formatter, record_figure
from .words import exit_clause_sentence, exit_history_text, fee_formula, fee_line_name, fee_model_name

__all__ = ['fee_models_section', 'party_name', 'rate_text', 'settlement_section']


def _num(v: Any) -> float | None:
    return None if v in (None, "None", "") else float(v)


def rate_text(rate: Any) -> str:
    """A tax or commission rate as a percentage with only the decimals it has ('6%', '6.5%', '13.25%')."""
    x = _num(rate)
    if x is None:
        return DASH
    for digits in (0, 1, 2, 3):
        if abs(round(x * 100, digits) - x * 100) < 1e-9:
            return fmt_pct(x, digits)
    return fmt_pct(x, 3)


def party_name(party: Mapping[str, Any] | None, fallback: str, lang: str) -> str:
    """A party's legal name in ``lang`` (English statements print ``legal_name_en`` when the file gives it)."""
    if not party:
        return fallback or DASH
    if lang == "en" and party.get("legal_name_en"):
        return str(party["legal_name_en"])
    return str(party.get("legal_name") or fallback or DASH)


def _in_lang(d: Mapping[str, Any] | None, key: str, lang: str) -> str:
    """``d[key + '_en']`` on English pages when given, else ``d[key]`` ('' when neither)."""
    if not d:
        return ""
    if lang == "en" and d.get(f"{key}_en"):
        return str(d[f"{key}_en"])
    return str(d.get(key) or "")


def _party_block(role: str, party: Mapping[str, Any] | None, fallback: str, lang: str) -> str:
    rows = [f'<p class="party-role">{esc(t(f"settlement.{role}", lang))}</p>',
            f'<p class="party-name">{esc(party_name(party, fallback, lang))}</p>']
    labelled = t("punct.labelled", lang)
    addr = _in_lang(party, "address", lang)
    if addr:
        rows.append(f'<p>{esc(labelled.format(label=t("settlement.address", lang), value=addr))}</p>')
    if party and party.get("tax_id"):
        rows.append(f'<p>{esc(labelled.format(label=t("settlement.tax_id", lang), value=party["tax_id"]))}</p>')
    return f'<div class="party">{"".join(rows)}</div>'


def _tax_name(tax: Mapping[str, Any], lang: str) -> str:
    own = tax.get("label_en" if lang == "en" else "label_zh")
    return str(own) if own else t("settlement.tax_default", lang)


def _money_rows(stmt: Mapping[str, Any], m: Any, lang: str) -> list[tuple[str, str, str, str]]:
    """(class, label, how it is computed, amount) of the subtotal, tax and total-due rows: the figures are
    the statement's own (``subtotal``, ``tax.amount``, ``total_due``); this only puts them in words."""
    sub = _num(stmt.get("subtotal", stmt.get("total")))
    due = _num(stmt.get("total_due", stmt.get("total")))
    tax = stmt.get("tax") or None
    total = t("settlement.total_due", lang)
    if not tax:
        return [("subtotal", t("settlement.subtotal", lang), t("settlement.subtotal_formula", lang), m(sub)),
                ("total-due", total, t("settlement.total_formula_plain", lang), m(due))]
    name, rate = _tax_name(tax, lang), rate_text(tax.get("rate"))
    amount = m(_num(tax.get("amount")))
    if tax.get("fees_are") == "gross":
        return [("subtotal", t("settlement.subtotal_gross", lang).format(tax=name),
                 t("settlement.subtotal_formula", lang), m(sub)),
                ("tax", t("settlement.tax_gross", lang).format(tax=name, rate=rate),
                 t("settlement.tax_gross_formula", lang).format(subtotal=m(sub), rate=rate), amount),
                ("total-due", total, t("settlement.total_formula_plain", lang), m(due))]
    return [("subtotal", t("settlement.subtotal", lang), t("settlement.subtotal_formula", lang), m(sub)),
            ("tax", t("settlement.tax_net", lang).format(tax=name, rate=rate),
             t("settlement.tax_net_formula", lang).format(subtotal=m(sub), rate=rate), amount),
            ("total-due", total, t("settlement.total_formula_net", lang).format(tax=name), m(due))]


def _line_name(name: Any, fee: Mapping[str, Any], lang: str) -> str:
    """A fee line's name: the contract's own (``fee.labels``; a commission line is the performance line) when
    the file gives one, else the catalog's."""
    labels = fee.get("labels") or {}
    own = labels.get(str(name)) or (labels.get("performance") if name == "commission" else None) or {}
    text = own.get("label_en" if lang == "en" else "label_zh")
    return str(text) if text else fee_line_name(name, lang)


def _fee_table(stmt: Mapping[str, Any], k: Mapping[str, Any], m: Any, lang: str) -> str:
    fee = (stmt.get("terms") or {}).get("fee") or {}
    raw = list(stmt.get("fee_lines", []))
    head = (f'<thead><tr><th>{esc(t("settlement.fee_line", lang))}</th><th>{esc(t("settlement.formula", lang))}</th>'
            f'<th class="num">{esc(t("settlement.amount", lang))}</th></tr></thead>')
    body = "".join(f'<tr><td>{esc(_line_name(ln.get("name"), fee, lang))}</td>'
                   f'<td>{esc(fee_formula(ln, fee, k, raw, lang, m))}</td>'
                   f'<td class="num">{esc(m(_num(ln.get("amount"))))}</td></tr>' for ln in raw)
    foot = "".join(f'<tr class="{cls}"><th>{esc(lab)}</th><td>{esc(how)}</td><td class="num">{esc(amt)}</td></tr>'
                   for cls, lab, how, amt in _money_rows(stmt, m, lang))
    return f'<table class="kpi-table fee-lines">{head}<tbody>{body}</tbody><tfoot>{foot}</tfoot></table>'


def _payment_items(stmt: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    pay = stmt.get("payment") or None
    if not pay:
        return []
    days = pay.get("terms_days")
    terms = (t("settlement.terms_issue_date", lang).format(days=days, issued=stmt.get("issued") or DASH)
             if pay.get("due_from") == "issue_date" else
             t("settlement.terms_period_end", lang).format(days=days, end=stmt.get("end") or DASH))
    items = [(t("settlement.terms", lang), terms), (t("settlement.due_date", lang), str(pay.get("due_date") or DASH))]
    for key, lab in (("bank", "settlement.bank"), ("account_name", "settlement.account_name"),
                     ("account_no", "settlement.account_no"), ("swift", "settlement.swift"),
                     ("reference", "settlement.payment_ref")):
        v = _in_lang(pay, key, lang)
        if v:
            items.append((t(lab, lang), v))
    return items


def _sign_block(role: str, party: Mapping[str, Any] | None, fallback: str, lang: str) -> str:
    who = _in_lang(party, "signatory", lang)
    line = lambda key, value="": (f'<div class="sign-row"><span class="sign-label">{esc(t(key, lang))}</span>'
                                  f'<span class="sign-line">{esc(value)}</span></div>')
    return (f'<div class="sign-party"><p class="party-role">{esc(t(f"settlement.{role}", lang))}</p>'
            f'<p class="party-name">{esc(party_name(party, fallback, lang))}</p>'
            + line("settlement.sign_name", who) + line("settlement.sign_signature") + line("settlement.sign_date")
            + line("settlement.sign_seal") + "</div>")


def settlement_section(stmt: Any, ctx: Any, key: str = "settlement") -> str:
    """The statement as a document a client signs: who bills whom (legal names, addresses, tax ids), the
    contract reference, period and basis, the figures the fee rests on, each fee line with its formula in
    words, subtotal, tax when the contract sets one, total due, payment terms and due date, the data
    snapshot with the command that reproduces it, and a sign-off block. Every amount is the statement's
    (:func:`kpi_lib.settlement.settle`); this only formats it."""
    lang = ctx.lang
    if isinstance(stmt, str) or stmt is None:
        return section(key, lang, unavailable(lang, str(stmt or "")))
    k = stmt.get("kpis", {})
    # statement amounts are in the reporting currency: shown in the report's
    m = lambda v: fmt_money(None if v is None else v / ctx.fx, ctx.currency, lang, 2)
    src, basis = "settlement.settle", str(k.get("basis") or "order")
    for kk, kpi in (("gmv", "gmv"), ("refunds", "refunds"), ("excluded_gmv", "excluded_gmv"), ("net_gmv", "net_gmv")):
        record_figure(ctx, kpi, _num(k.get(kk)), unit="money", basis=basis, source=src, converted=False)
    record_figure(ctx, "net_gmv:target", _num(k.get("target")), unit="money", basis=None, source=src, converted=False)
    record_figure(ctx, "net_gmv:achievement", _num(k.get("achievement")), unit="pct", basis=basis, source=src)
    for ln in stmt.get("fee_lines", []):
        record_figure(ctx, f'fee:{ln.get("name")}', _num(ln.get("amount")), unit="money", basis=None, source=src,
                      converted=False)
    record_figure(ctx, "fee_total", _num(stmt.get("total")), unit="money", basis=None, source=src, converted=False)
    if stmt.get("tax"):
        record_figure(ctx, "fee_tax", _num(stmt["tax"].get("amount")), unit="money", basis=None, source=src,
                      converted=False)
    record_figure(ctx, "fee_total_due", _num(stmt.get("total_due", stmt.get("total"))), unit="money", basis=None,
                  source=src, converted=False)
    parties = stmt.get("parties") or {}
    prov, cli = parties.get("provider"), parties.get("client")
    named_contract = t("settlement.contract_named", lang).format(name=ctx.name, id=ctx.entity_id)
    facts = [(t("settlement.contract_ref", lang), named_contract)]
    if stmt.get("reference"):
        facts.append((t("settlement.reference", lang), str(stmt["reference"])))
    facts += [(t("period", lang), t("settlement.period_span", lang).format(
                  period=stmt.get("period", ctx.period), start=stmt.get("start", ""), end=stmt.get("end", ""))),
              (t("settlement.basis", lang), t(f"basis_{basis}", lang)),
              (t("settlement.currency", lang), ctx.currency)]
    if stmt.get("issued"):
        facts.append((t("settlement.issued", lang), str(stmt["issued"])))
    head = (f'<div class="statement-head"><p class="statement-title">{esc(t("settlement.document", lang))}</p>'
            + kv_table(facts) + '<div class="parties">'
            + _party_block("provider", prov, str(stmt.get("provider") or ""), lang)
            + _party_block("client", cli, str(stmt.get("client") or ""), lang) + "</div></div>")
    items = [(t("settlement.gmv", lang), m(_num(k.get("gmv")))), (t("settlement.refunds", lang), m(_num(k.get("refunds")))),
             (t("settlement.excluded_gmv", lang), m(_num(k.get("excluded_gmv")))),
             (t("settlement.net_gmv", lang), m(_num(k.get("net_gmv")))), (t("target", lang), m(_num(k.get("target")))),
             (t("achievement", lang), fmt_pct(_num(k.get("achievement")), 1))]
    due = (stmt.get("payment") or {}).get("due_date")
    total = cards([(t("settlement.total_due", lang), m(_num(stmt.get("total_due", stmt.get("total")))), None)]
                  + ([(t("settlement.due_date", lang), str(due), None)] if due else []), lang)
    pay = _payment_items(stmt, lang)
    pay_html = (f'<h3>{esc(t("settlement.payment", lang))}</h3>' + kv_table(pay)) if pay else ""
    ex = stmt.get("exit_clause") or {}
    ex_html = f'<h3>{esc(t("exit_clause", lang))}</h3>' + note(exit_clause_sentence(ex, lang))
    hist = exit_history_text(ex, lang)
    if hist:
        ex_html += note(f'{t("exit.history", lang)}: {hist}')
    # how to check the figures, in the client's words: the data snapshot, contract and period (the
    # provider's command line is an internal name and stays off the page)
    snap = (f'<h3>{esc(t("settlement.reproduce_title", lang))}</h3>'
            + note(t("settlement.reproduce", lang).format(hash=stmt.get("snapshot_hash", "") or DASH,
                                                            contract=named_contract,
                                                            period=stmt.get("period", ctx.period))))
    sign = (f'<div class="sign-off-block"><h3>{esc(t("settlement.signoff", lang))}</h3>'
            + note(t("settlement.confirm", lang)) + '<div class="sign-off">'
            + _sign_block("provider", prov, str(stmt.get("provider") or ""), lang)
            + _sign_block("client", cli, str(stmt.get("client") or ""), lang) + "</div></div>")
    return section(key, lang, head + f'<h3>{esc(t("settlement.figures", lang))}</h3>' + kv_table(items)
                   + f'<h3>{esc(t("settlement.fee_lines", lang))}</h3>' + _fee_table(stmt, k, m, lang) + total
                   + pay_html + ex_html + snap + sign)


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


