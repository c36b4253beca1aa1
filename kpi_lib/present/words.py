"""Sentences and names built from data: alerts, fee lines and contract terms, the exit clause, overhead
items, activity types, adjustments. Every word comes from the label catalog (:mod:`kpi_lib.labels`),
every figure from :mod:`.fmt`; no id is shown without its name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from .. import paths
from ..costs import load_overheads
from ..definitions import load_catalog
from ..errors import KpiError
from ..labels import has_label, label
from .fmt import DASH, fmt_money, fmt_pct, fmt_value, is_missing

__all__ = ['activity_name', 'adjustment_text', 'alert_kind_name', 'alert_sentence', 'alert_state_name', 'exit_clause_sentence', 'exit_history_text', 'fee_formula', 'fee_line_name', 'fee_model_name', 'is_per_unit', 'kpi_name', 'kpi_unit', 'money_fn', 'named', 'overhead_name', 'severity_name']










def kpi_name(kpi: Any, lang: str) -> str:
    """A KPI's name in ``lang`` from the KPI catalog (the id itself only for a KPI the catalog lacks)."""
    k = str(kpi or "")
    try:
        cat = load_catalog()
    except KpiError:  # a broken kpis.yaml is reported by `kpi validate`; the page still names built-ins
        return k
    return cat.name(k, lang) if k in cat.kpis else k


def kpi_unit(kpi: Any) -> str:
    """A KPI's catalog unit ('count' when unknown)."""
    try:
        cat = load_catalog()
    except KpiError:
        return "count"
    k = str(kpi or "")
    return cat.get(k).unit if k in cat.kpis else "count"


def is_per_unit(kpi: Any) -> bool:
    """Whether a money KPI is per unit (a ratio of money to a count: CPC, AOV, profit per order)."""
    try:
        cat = load_catalog()
    except KpiError:
        return False
    k = str(kpi or "")
    if k not in cat.kpis:
        return False
    d = cat.get(k)
    return d.unit == "money" and "/" in str(d.formula or "")


def named(key: str, fallback: Any, lang: str) -> str:
    """The catalog label ``key`` when it exists, else ``fallback`` as text."""
    return label(key, lang) if has_label(key) else str(fallback)


# ---- overheads and activities ---------------------------------------------------------------------
@lru_cache(maxsize=4)
def _overhead_labels(_stamp: str) -> dict[str, tuple[str, str]]:
    try:
        cfg = load_overheads()
    except (KpiError, OSError):
        return {}
    out: dict[str, tuple[str, str]] = {}
    for item in [*cfg.staff, *cfg.rent, *cfg.subscriptions]:
        zh = getattr(item, "label_zh", None) or getattr(item, "name", "") or getattr(item, "vendor", "")
        en = getattr(item, "label_en", None) or ""
        out[item.id] = (str(zh), str(en))
    return out


def overhead_name(item: Any, lang: str) -> str:
    """An overhead item's name: ``label_zh``/``label_en`` from overheads.yaml when given, else the catalog
    (``overhead.<id>``), else the item's own name (zh) — never the bare slug when a name is known."""
    i = str(item)
    zh, en = _overhead_labels(_overheads_stamp()).get(i, ("", ""))
    key = f"overhead.{i}"
    if lang == "en":
        return en or named(key, zh or i, "en")
    return zh or named(key, i, "zh")


def _overheads_stamp() -> str:
    p = paths.parameters_dir() / "overheads.yaml"
    return f"{p}:{p.stat().st_mtime if p.is_file() else 0}"


def activity_name(kind: Any, lang: str) -> str:
    """An activity type's name ('新品上架' / 'New listings')."""
    return named(f"activity.{kind}", kind, lang)


def adjustment_text(r: Mapping[str, Any], lang: str) -> tuple[str, str]:
    """(kind, KPI) of a target adjustment in words: '剔除天数', '全部指标'."""
    kind = named(f"adjustment.kind.{r.get('kind')}", r.get("kind"), lang)
    kpi = r.get("kpi")
    return kind, (kpi_name(kpi, lang) if kpi and not is_missing(kpi) else label("adjustment.all_kpis", lang))


# ---- alerts -----------------------------------------------------------------------------------------
def severity_name(sev: Any, lang: str) -> str:
    return named(f"severity.{sev}", sev, lang)


def alert_state_name(state: Any, lang: str) -> str:
    return named(f"alert.state.{state}", state, lang)


def alert_kind_name(kind: Any, lang: str) -> str:
    return named(f"alert.kind.{kind}", kind, lang)


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else x


def alert_sentence(r: Mapping[str, Any], lang: str, currency: str = "CNY", fx: float = 1.0) -> str:
    """One alert as a sentence in ``lang`` from its structured fields (kind, kpi, value, threshold, op,
    window, base): '广告成本占比 ACoS 为 31.2%，高于预警线 25.0%。' Money is shown in the report currency
    (``fx`` = reporting-currency units per report-currency unit)."""
    kind, kpi = str(r.get("kind") or ""), str(r.get("kpi") or "")
    unit = kpi_unit(kpi)
    value, thr, base = _num(r.get("value")), _num(r.get("threshold")), _num(r.get("base"))
    window = _num(r.get("window"))

    def f(v: float | None, u: str = unit) -> str:
        if v is None:
            return DASH
        return fmt_value(v / fx if u == "money" else v, u, currency, lang)

    words = {"kpi": kpi_name(kpi, lang), "value": f(value), "threshold": f(thr), "base": f(base),
             "window": DASH if window is None else f"{window:.0f}"}
    if kind == "threshold":
        op = r.get("op") if isinstance(r.get("op"), str) and r.get("op") else (
            ">" if value is not None and thr is not None and value > thr else "<")  # alerts written before `op`
        words["op"] = named(f"alert.op.{op}", op, lang)
        return label("alert.msg.threshold", lang).format(**words)
    if kind == "inventory_cover":
        words.update(value=fmt_value(value, "days", currency, lang), threshold=fmt_value(thr, "days", currency, lang))
        return label("alert.msg.inventory_cover", lang).format(**words)
    if kind == "return_rate_spike":
        if base and window is not None and thr is not None:
            words["factor"] = f"{thr / base:.3g}"
            return label("alert.msg.return_rate_spike", lang).format(**words)
        return label("alert.msg.return_rate_spike.short", lang).format(**words)
    if kind == "consecutive_below_target":
        words.update(value=fmt_pct(value, 0), threshold=fmt_pct(thr, 0))
        key = "alert.msg.consecutive_below_target" + ("" if window is not None else ".short")
        return label(key, lang).format(**words)
    if kind == "anomaly":
        if base is not None and value is not None and window is not None:
            return label(f"alert.msg.anomaly.{'high' if value > base else 'low'}", lang).format(**words)
        return label("alert.msg.anomaly.short", lang).format(**words)
    return f"{alert_kind_name(kind, lang)}: {words['kpi']} {words['value']}"


# ---- contract terms -----------------------------------------------------------------------------------
def _d(v: Any) -> float | None:
    if v is None or v in ("", "None"):
        return None
    return float(Decimal(str(v)))


def fee_line_name(name: Any, lang: str) -> str:
    return named(f"fee.{name}", name, lang)


def _tiers_text(tiers: list[Mapping[str, Any]], money_tiers: bool, m: Any, lang: str) -> str:
    sep = label("punct.clause", lang)
    return sep.join(label("fee.tier_from", lang).format(**{"from": m(_d(t.get("from"))) if money_tiers
                                                             else fmt_pct(_d(t.get("from")), 0),
                                                             "rate": fmt_pct(_d(t.get("rate")), 1)})
                    for t in tiers)


def fee_formula(line: Mapping[str, Any], fee: Mapping[str, Any], kpis: Mapping[str, Any], lines: list[Mapping[str, Any]],
                lang: str, m: Any) -> str:
    """How one fee line is computed, in words, from the contract's fee terms and the period's figures.

    ``m`` formats money in the report currency. 'performance' on retroactive achievement tiers reads
    '达成率 123.8% 落在 ≥120% 档，按绩效池 ¥70,000 的 140.0% 计（全额追溯）'."""
    name = str(line.get("name"))
    amount = _d(line.get("amount"))
    perf = fee.get("performance") or {}
    ach = _d(kpis.get("achievement"))
    net = _d(kpis.get("net_gmv"))
    if name in ("fixed", "base"):
        return label(f"fee.formula.{name}", lang).format(amount=m(amount))
    if name in ("cap", "floor"):
        sub = sum(_d(x.get("amount")) or 0.0 for x in lines if x.get("name") not in ("cap", "floor"))
        return label(f"fee.formula.{name}", lang).format(subtotal=m(sub), cap=m(_d(fee.get("cap"))),
                                                        floor=m(_d(fee.get("floor"))))
    tiers = list(perf.get("tiers") or [])
    mode = str(perf.get("mode") or "retroactive")
    text = ""
    if name == "commission":
        if len(tiers) == 1 and (_d(tiers[0].get("from")) or 0) == 0:
            text = label("fee.formula.commission_flat", lang).format(net_gmv=m(net), rate=fmt_pct(_d(tiers[0]["rate"]), 1))
        elif mode == "retroactive":
            reached = [t for t in tiers if net is not None and _d(t.get("from")) <= net]
            tier = reached[-1] if reached else tiers[0]
            text = label("fee.formula.commission_retroactive", lang).format(
                net_gmv=m(net), tier=f"≥{m(_d(tier.get('from')))}", first=m(_d(tiers[0].get("from"))),
                rate=fmt_pct(_d(tier.get("rate")), 1))
        else:
            text = label("fee.formula.commission_marginal", lang).format(net_gmv=m(net),
                                                                        tiers=_tiers_text(tiers, True, m, lang))
    elif name == "performance":
        pool = m(_d(perf.get("pool")))
        if perf.get("kind") == "linear":
            text = label("fee.formula.linear", lang).format(
                pool=pool, rate=fmt_pct(_d(line.get("rate")), 1), achievement=fmt_pct(ach, 1),
                min=fmt_pct(_d(perf.get("min_achievement")), 0), max=fmt_pct(_d(perf.get("max_achievement")), 0))
        elif mode == "retroactive":
            reached = [t for t in tiers if ach is not None and _d(t.get("from")) <= ach]
            if reached:
                text = label("fee.formula.tiers_retroactive", lang).format(
                    achievement=fmt_pct(ach, 1), tier=f"≥{fmt_pct(_d(reached[-1]['from']), 0)}", pool=pool,
                    rate=fmt_pct(_d(reached[-1]["rate"]), 1))
            else:
                text = label("fee.formula.tiers_none", lang).format(
                    achievement=fmt_pct(ach, 1), first=f"≥{fmt_pct(_d(tiers[0]['from']), 0)}" if tiers else DASH)
        else:
            text = label("fee.formula.tiers_marginal", lang).format(achievement=fmt_pct(ach, 1), pool=pool,
                                                                   tiers=_tiers_text(tiers, False, m, lang))
    else:
        return str(line.get("basis") or "")
    if "capped at" in str(line.get("basis") or "") and perf.get("cap") is not None:
        text += label("fee.formula.capped_line", lang).format(cap=m(_d(perf.get("cap"))))
    return text


def fee_model_name(name: Any, lang: str) -> str:
    """A fee model's name for the comparison: the contract's own names as written; the two equivalents the
    comparison adds ('fixed (same at 100%)', 'commission 0.0350 (same at 100%)') in words."""
    text = str(name)
    if text == "fixed (same at 100%)":
        return label("fee_model.fixed_equivalent", lang)
    m = re.fullmatch(r"commission ([0-9.]+) \(same at 100%\)", text)
    if m:
        return label("fee_model.commission_equivalent", lang).format(rate=fmt_pct(float(m.group(1)), 2))
    return text


def exit_clause_sentence(ex: Mapping[str, Any] | None, lang: str) -> str:
    """The exit clause's state as one sentence ('退出条款：达成率连续 3 期低于 80% 时……未触发。')."""
    if not ex or not ex.get("defined"):
        return label("exit.none", lang)
    state = label("exit.triggered" if ex.get("triggered") else "exit.not_triggered", lang)
    key = "exit.sentence" if int(ex.get("consecutive_below") or 0) > 0 else "exit.sentence_clear"
    return label(key, lang).format(periods=ex.get("periods"), below=fmt_pct(_d(ex.get("below")), 0),
                                               run=ex.get("consecutive_below", 0), state=state)


def exit_history_text(ex: Mapping[str, Any] | None, lang: str) -> str:
    """'2026-05 92.1% · 2026-06 78.0% …' (the periods the clause looked at)."""
    hist = (ex or {}).get("history") or []
    return " · ".join(f"{h.get('period')} {fmt_pct(_d(h.get('achievement')), 1)}" for h in hist)


def money_fn(currency: str, lang: str, fx: float = 1.0, digits: int = 2) -> Any:
    """A formatter for reporting-currency amounts shown in the report currency."""
    return lambda v: fmt_money(None if v is None else float(v) / fx, currency, lang, digits)
