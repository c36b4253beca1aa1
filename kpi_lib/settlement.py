"""KPI-linked service contracts: fee models, settlement statements, exit clauses, model comparison.

Money and rounding rule
-----------------------
All money is ``decimal.Decimal`` in the contract currency (the reporting currency, CNY, unless the
contract says otherwise and then figures are still taken in the reporting currency). KPI figures
from the warehouse (floats) are rounded to cents by ``money.cents`` (ROUND_HALF_UP, the one rule of
every report); achievement = net GMV / target rounded to 6 decimals ROUND_HALF_UP. **Each fee line is
rounded to cents ROUND_HALF_UP when it is computed; the total is the sum of the rounded lines** (so
the statement always adds up). Caps and floors are applied as their own adjustment lines.

Fee models (``fee.model``)
--------------------------
- ``fixed``: one line, ``base``.
- ``base_plus_performance``: a ``base`` line plus a performance line:
  - ``linear``: pool × achievement (0 below ``min_achievement``; achievement capped at
    ``max_achievement`` when given). ``pool`` is the performance fee at 100 % achievement.
  - ``achievement_tiers`` (tiers: from = achievement, rate = share of the pool):
    retroactive = pool × rate of the highest tier reached (the whole pool re-rated, a step);
    marginal = pool × Σ rate_i × (achievement inside band i) (each band earns its own rate).
  - ``commission`` (tiers: from = net GMV level, rate = commission rate):
    marginal = Σ rate_i × (net GMV inside band i); retroactive = rate of the highest tier reached ×
    (net GMV − first tier's from). "Commission on GMV above a threshold" is one tier from the threshold.
  - ``performance.cap`` caps the performance line.
- ``commission`` (pure CPS): the ``commission`` performance as the only line (plus ``base`` if > 0).
- ``cap`` / ``floor`` (per period) bound the total; an adjustment line brings it to the bound.

GMV for a contract = GMV of non-cancelled lines of its stores minus refunds (``net_of_refunds``),
without the ``excluded_skus``. The exit clause gives a termination right when achievement was below
``below`` for ``periods`` consecutive periods up to and including the settled one.

The statement as a document (contract fields ``tax``, ``payment``, parties, ``reference``)
--------------------------------------------------------------------------------------------
subtotal = the fee total above. Tax (``tax.fees_are``): ``net`` → tax = round(subtotal × rate) and
total due = subtotal + tax; ``gross`` → the subtotal already includes it: tax shown =
round(subtotal × rate / (1 + rate)) and total due = subtotal. Without ``tax`` there is no tax line and
total due = subtotal. Due date = the period's last day (``due_from: period_end``) or the statement's
issue date (``issue_date``) + ``payment.terms_days``. :func:`tax_and_total` and :func:`due_date` are the
one place these figures are computed; reports and ``kpi settle`` read them from the statement.

Size (≈520 lines): fee arithmetic, the statement and the model comparison share the rounding rule and
the contract figures; splitting them would put one money rule in two modules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ConfigError, DefinitionError, SettlementError, TargetError
from .metrics import compute
from .money import cents as money
from .periods import months_between, months_of, period_bounds, period_kind, period_label, shift_period
from .spec import contracts as contracts_spec
from .spec.contracts import (
    Contract,
    ContractsFile,
    ExitClause,
    FeeModel,
    Party,
    Payment,
    Performance,
    Tax,
    Tier,
)
from .targets import growth_target, target_for
from .warehouse import Warehouse

ACH = Decimal("0.000001")
DEFAULT_SCENARIOS = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4)


# ------------------------------------------------------------------------------------ the model
# The models (Contract, FeeModel, Performance, Tier, ExitClause, ContractsFile) live in kpi_lib.spec.contracts.


def load_contracts(path: Path | None = None) -> list[Contract]:
    """The contracts of parameters/contracts.yaml (loaded by :mod:`kpi_lib.spec.contracts`)."""
    return contracts_spec.load(path).contracts


def get_contract(contract_id: str, path: Path | None = None) -> Contract:
    cs = load_contracts(path)
    for c in cs:
        if c.id == contract_id:
            return c
    raise SettlementError(f"unknown contract {contract_id!r}; known: {', '.join(c.id for c in cs) or 'none'} "
                          "(parameters/contracts.yaml)")


# ------------------------------------------------------------------------------- the arithmetic


@dataclass
class FeeLine:
    name: str
    basis: str
    rate: Decimal | None
    amount: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "basis": self.basis, "rate": None if self.rate is None else str(self.rate),
                "amount": str(self.amount)}


def tier_amount(x: Decimal, tiers: list[Tier], mode: str) -> Decimal:
    """Commission-style tiers over an amount (unrounded)."""
    if not tiers or x <= tiers[0].from_:
        return Decimal(0)
    if mode == "retroactive":
        reached = [t for t in tiers if t.from_ <= x][-1]
        return reached.rate * (x - tiers[0].from_)
    total = Decimal(0)
    for i, t in enumerate(tiers):
        hi = tiers[i + 1].from_ if i + 1 < len(tiers) else None
        top = x if hi is None else min(x, hi)
        if top > t.from_:
            total += t.rate * (top - t.from_)
    return total


def _fmt_tiers(tiers: list[Tier]) -> str:
    return ", ".join(f"≥{t.from_}: {t.rate}" for t in tiers)


def performance_line(p: Performance, net_gmv: Decimal, achievement: Decimal | None) -> FeeLine:
    if p.kind == "commission":
        amt = tier_amount(net_gmv, p.tiers, p.mode)
        rate = p.tiers[0].rate if len(p.tiers) == 1 else None
        basis = f"net GMV {net_gmv} × tiers [{_fmt_tiers(p.tiers)}] ({p.mode})"
        name = "commission"
    else:
        if achievement is None:
            raise SettlementError("this fee model needs an achievement: give the contract a target "
                                  "(target, targets, target_growth) or a contract gmv target in parameters/targets/")
        pool = p.pool or Decimal(0)
        if p.kind == "linear":
            a = achievement if achievement >= p.min_achievement else Decimal(0)
            if p.max_achievement is not None:
                a = min(a, p.max_achievement)
            amt, rate = pool * a, a
            basis = f"pool {pool} × achievement {a}"
        else:
            if p.mode == "retroactive":
                reached = [t for t in p.tiers if t.from_ <= achievement]
                rate = reached[-1].rate if reached else Decimal(0)
                amt = pool * rate
            else:
                rate = None
                amt = pool * tier_amount(achievement, p.tiers, "marginal")
            basis = f"pool {pool}, achievement {achievement}, tiers [{_fmt_tiers(p.tiers)}] ({p.mode})"
        name = "performance"
    line = FeeLine(name, basis, rate, money(amt))
    if p.cap is not None and line.amount > p.cap:
        line = FeeLine(name, basis + f", capped at {p.cap}", line.rate, money(p.cap))
    return line


def fee_lines(fee: FeeModel, net_gmv: Decimal, achievement: Decimal | None) -> list[FeeLine]:
    """The fee lines of one period (each rounded to cents); total = sum of the lines."""
    net_gmv = money(net_gmv)
    lines: list[FeeLine] = []
    if fee.model == "fixed":
        lines.append(FeeLine("fixed", "fixed fee per period", None, money(fee.base)))
    else:
        if fee.base > 0 or fee.model == "base_plus_performance":
            lines.append(FeeLine("base", "base fee per period", None, money(fee.base)))
        assert fee.performance is not None
        lines.append(performance_line(fee.performance, net_gmv, achievement))
    sub = sum((ln.amount for ln in lines), Decimal("0.00"))
    if fee.cap is not None and sub > fee.cap:
        lines.append(FeeLine("cap", f"total {sub} capped at {fee.cap}", None, money(fee.cap) - sub))
    elif fee.floor is not None and sub < fee.floor:
        lines.append(FeeLine("floor", f"total {sub} raised to floor {fee.floor}", None, money(fee.floor) - sub))
    return lines


def total_of(lines: list[FeeLine]) -> Decimal:
    return sum((ln.amount for ln in lines), Decimal("0.00"))


def exit_clause_state(clause: ExitClause | None, history: list[tuple[str, Decimal | None]]) -> dict[str, Any]:
    """State of the exit clause given achievements per period, oldest first, ending with the settled one.

    ``consecutive_below`` counts periods below the threshold going back from the last one (a period
    without achievement breaks the run); ``triggered`` when it reaches ``periods``.
    """
    if clause is None:
        return {"defined": False, "triggered": False}
    run = 0
    for _, a in reversed(history):
        if a is not None and a < clause.below:
            run += 1
        else:
            break
    return {
        "defined": True,
        "below": str(clause.below),
        "periods": clause.periods,
        "consecutive_below": run,
        "triggered": run >= clause.periods,
        "history": [{"period": p, "achievement": None if a is None else str(a),
                     "below": a is not None and a < clause.below} for p, a in history],
    }


def tax_and_total(subtotal: Decimal, tax: Tax | None) -> tuple[Decimal | None, Decimal]:
    """(tax amount, total due) of a fee subtotal: ``net`` adds round(subtotal × rate); ``gross`` shows the
    tax the subtotal includes, round(subtotal × rate / (1 + rate)), and the total due stays the subtotal;
    no tax = (None, subtotal). Rounded half-up to cents."""
    sub = money(subtotal)
    if tax is None:
        return None, sub
    if tax.fees_are == "gross":
        return money(sub * tax.rate / (1 + tax.rate)), sub
    amount = money(sub * tax.rate)
    return amount, sub + amount


def due_date(payment: Payment | None, period_end: dt.date, issued: dt.date) -> dt.date | None:
    """The payment due date: period end (or issue date, ``due_from``) + ``terms_days``; None without terms."""
    if payment is None:
        return None
    start = period_end if payment.due_from == "period_end" else issued
    return start + dt.timedelta(days=payment.terms_days)


def _party(p: Party | None) -> dict[str, Any] | None:
    return None if p is None else p.model_dump(mode="json")


# ------------------------------------------------------------------------------ warehouse figures



def contract_period(contract: Contract, period: str) -> str:
    """The contract's period label holding ``period`` (a month maps to its quarter for quarterly contracts)."""
    kind = period_kind(period)
    if kind == contract.period:
        return period
    if contract.period == "quarter" and kind == "month":
        return period_label(period_bounds(period)[0], "quarter")
    raise SettlementError(f"contract {contract.id} settles per {contract.period}; period {period!r} does not fit")


GMV_BASIS = "posted"  # contracts settle on money as posted (settlement date), named on every statement


#: (contract, period) → :func:`gmv_figures` (e.g. answered from one query over many months, :func:`gmv_rows`)
GmvFn = Callable[[Contract, str], dict[str, Decimal]]


def gmv_rows(contract: Contract, start: str, end: str, warehouse: Any = None) -> pd.DataFrame:
    """The engine rows behind :func:`gmv_figures` (GMV and refunds by SKU and month of the contract's
    stores) for every month from ``start`` to ``end``: one query for many periods."""
    return compute(["gmv", "refunds"], by=["sku"], period="month", start=start, end=end,
                   filters={"store_id": list(contract.stores)}, warehouse=Warehouse.of(warehouse), basis=GMV_BASIS)


def gmv_window(contract: Contract, first: str, last: str, warehouse: Any = None,
               rows: pd.DataFrame | None = None) -> GmvFn:
    """A :data:`GmvFn` answering every period whose months lie in ``first``..``last`` (for the contract's
    stores) from one :func:`gmv_rows` query, made on first use (``rows``: that query's rows, when the
    caller has them, e.g. a report batch's); other periods (or stores) query the engine through
    :func:`gmv_figures`. The same figures either way: ``gmv_figures(rows=)`` reads the period's rows."""
    window, stores = set(months_between(first, last)), tuple(contract.stores)
    rows = [] if rows is None else [rows]

    def gmv(c: Contract, per: str) -> dict[str, Decimal]:
        inside = tuple(c.stores) == stores and set(months_of(per)) <= window
        if inside and not rows:
            rows.append(gmv_rows(contract, first, last, warehouse))
        return gmv_figures(c, per, warehouse, rows=rows[0] if inside else None)

    return gmv


def gmv_figures(contract: Contract, period: str, warehouse: Any = None,
                rows: pd.DataFrame | None = None) -> dict[str, Decimal]:
    """gmv, refunds, excluded_gmv, excluded_refunds, net_gmv of the contract's stores (cents), on the
    ``GMV_BASIS`` basis of the KPI engine. ``rows``: :func:`gmv_rows` over months including the
    period's (their rows of the period's months are used, in the engine's order)."""
    if rows is not None:
        df = rows[rows["period"].astype(str).isin(months_of(period))]
    else:
        df = compute(["gmv", "refunds"], by=["sku"], period="month", start=period, end=period,
                     filters={"store_id": list(contract.stores)}, warehouse=Warehouse.of(warehouse), basis=GMV_BASIS)
    if df.empty:
        gmv = ref = xg = xr = 0.0
    else:
        ex = df["sku"].astype("string").isin(contract.excluded_skus).fillna(False)
        gmv, ref = float(df["gmv"].fillna(0).sum()), float(df["refunds"].fillna(0).sum())
        xg, xr = float(df.loc[ex, "gmv"].fillna(0).sum()), float(df.loc[ex, "refunds"].fillna(0).sum())
    out = {"gmv": money(gmv), "refunds": money(ref), "excluded_gmv": money(xg), "excluded_refunds": money(xr)}
    net = out["gmv"] - out["excluded_gmv"]
    if contract.net_of_refunds:
        net -= out["refunds"] - out["excluded_refunds"]
    out["net_gmv"] = net
    return out


def contract_target(contract: Contract, period: str, warehouse: Any = None,
                    gmv: GmvFn | None = None) -> tuple[Decimal | None, str]:
    """(target, source): per-period target, else kpi_lib.targets (entity_kind contract, kpi gmv/net_sales),
    else same period last year's net GMV × (1 + target_growth), else the default ``target``.
    ``gmv`` answers :func:`gmv_figures` (default: the engine)."""
    fig = gmv or (lambda c, p: gmv_figures(c, p, warehouse))
    if period in contract.targets:
        return money(contract.targets[period]), "contract targets"
    for kpi in ("gmv", "net_sales"):  # the one target reports and scorecards read for the contract
        try:
            t = target_for(kpi, "contract", contract.id, period, warehouse)
        except ConfigError:
            raise  # a broken parameter file is named, never swallowed
        except (TargetError, DefinitionError) as exc:  # no usable target there: fine when the contract has its own rule
            if contract.target_growth is None and contract.target is None:
                raise SettlementError(f"contract {contract.id}: no target in contracts.yaml and targets failed: "
                                      f"{exc}") from exc
            break
        if t is not None:
            return money(t), f"parameters/targets ({kpi})"
    if contract.target_growth is not None:
        g = growth_target(period, contract.target_growth, lambda ly: fig(contract, ly)["net_gmv"])
        if g.base > 0:
            return money(g.value), f"{g.last_year} net GMV × (1 + {contract.target_growth})"
    if contract.target is not None:
        return money(contract.target), "contract target"
    return None, "none"


def _achievement(net_gmv: Decimal, target: Decimal | None) -> Decimal | None:
    if target is None or target == 0:
        return None
    return (net_gmv / target).quantize(ACH, rounding=ROUND_HALF_UP)


def achievement(net_gmv: Decimal, target: Decimal | None) -> Decimal | None:
    """Net GMV / target as :func:`settle` rounds it (None without a target): for callers that cache the
    period's figures (``gmv_figures``, ``contract_target``) and apply ``fee_lines`` to edited terms."""
    return _achievement(net_gmv, target)


@dataclass
class Statement:
    contract_id: str
    period: str
    start: str
    end: str
    terms: dict[str, Any]
    kpis: dict[str, Any]
    fee_lines: list[FeeLine]
    total: Decimal
    exit_clause: dict[str, Any]
    snapshot_hash: str
    currency: str = "CNY"
    client: str = ""
    provider: str = ""
    notes: list[str] = field(default_factory=list)
    # the statement as a document (optional contract fields; see the module docstring)
    reference: str = ""
    issued: str = ""
    parties: dict[str, Any] = field(default_factory=dict)
    tax: dict[str, Any] | None = None
    total_due: Decimal | None = None
    payment: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract_id,
            "period": self.period,
            "start": self.start,
            "end": self.end,
            "currency": self.currency,
            "client": self.client,
            "provider": self.provider,
            "terms": self.terms,
            "kpis": {k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.kpis.items()},
            "fee_lines": [ln.to_dict() for ln in self.fee_lines],
            "total": str(self.total),
            "exit_clause": self.exit_clause,
            "snapshot_hash": self.snapshot_hash,
            "notes": list(self.notes),
            "reference": self.reference,
            "issued": self.issued,
            "parties": {k: (dict(v) if v else None) for k, v in self.parties.items()},
            "subtotal": str(self.total),
            "tax": None if self.tax is None else dict(self.tax),
            "total_due": str(self.total if self.total_due is None else self.total_due),
            "payment": None if self.payment is None else dict(self.payment),
        }


def _terms(c: Contract) -> dict[str, Any]:
    return {
        "stores": list(c.stores),
        "period": c.period,
        "net_of_refunds": c.net_of_refunds,
        "excluded_skus": list(c.excluded_skus),
        "fee": c.fee.model_dump(mode="json", by_alias=True, exclude_none=True),
        "exit_clause": c.exit_clause.model_dump(mode="json") if c.exit_clause else None,
    }


def is_active(contract: Contract, period: str) -> bool:
    """Whether the contract runs in ``period`` (its own period label)."""
    per = contract_period(contract, period)
    if contract.start and per < contract_period(contract, contract.start):
        return False
    return not (contract.end and per > contract_period(contract, contract.end))


def settle(contract_id: str, period: str, warehouse: Any = None, issued: dt.date | None = None,
           gmv: GmvFn | None = None) -> Statement:
    """The settlement statement of one contract for one period, issued on ``issued`` (default today, UTC);
    ``gmv``: see :func:`contract_target`."""
    wh = Warehouse.of(warehouse)
    fig = gmv or (lambda c, p: gmv_figures(c, p, wh))
    c = get_contract(contract_id)
    per = contract_period(c, period)
    if not is_active(c, per):
        raise SettlementError(f"contract {c.id} runs {c.start or '…'}..{c.end or '…'}; nothing to settle for {per}")
    figs = fig(c, per)
    target, source = contract_target(c, per, wh, gmv=fig)
    ach = _achievement(figs["net_gmv"], target)
    lines = fee_lines(c.fee, figs["net_gmv"], ach)
    history: list[tuple[str, Decimal | None]] = []
    if c.exit_clause is not None:
        first = contract_period(c, c.start) if c.start else None
        for k in range(c.exit_clause.periods - 1, 0, -1):
            p = shift_period(per, -k)
            if first and p < first:
                continue
            f = fig(c, p)
            t, _ = contract_target(c, p, wh, gmv=fig)
            history.append((p, _achievement(f["net_gmv"], t)))
        history.append((per, ach))
    s, e = period_bounds(per)
    kpis: dict[str, Any] = dict(figs)
    kpis.update({"target": target, "target_source": source, "achievement": ach, "basis": GMV_BASIS})
    total = total_of(lines)
    tax_amount, due_total = tax_and_total(total, c.tax)
    day = issued or dt.datetime.now(dt.UTC).date()
    due = due_date(c.payment, e, day)
    tax = None if c.tax is None else {"rate": str(c.tax.rate), "fees_are": c.tax.fees_are, "label_zh": c.tax.label_zh,
                                      "label_en": c.tax.label_en, "amount": str(tax_amount)}
    pay = None if c.payment is None else {
        **c.payment.model_dump(mode="json", exclude={"reference"}), "due_date": None if due is None else due.isoformat(),
        "reference": (c.payment.reference or "").format(contract=c.id, period=per) or None}
    return Statement(
        contract_id=c.id, period=per, start=s.isoformat(), end=e.isoformat(), terms=_terms(c), kpis=kpis,
        fee_lines=lines, total=total, exit_clause=exit_clause_state(c.exit_clause, history),
        snapshot_hash=wh.snapshot_hash(), currency=c.currency, client=c.client, provider=c.provider,
        reference=c.reference or "", issued=day.isoformat(),
        parties={"provider": _party(c.provider_party), "client": _party(c.client_party)}, tax=tax,
        total_due=due_total, payment=pay,
    )


def settle_all(period: str | None = None, warehouse: Any = None) -> list[Statement]:
    """Statements of every contract running in ``period`` (default: the last month with data)."""
    wh = Warehouse.of(warehouse)
    period = period or wh.last_month()
    return [settle(c.id, period, wh) for c in load_contracts() if is_active(c, period)]


def _equivalents(c: Contract, target: Decimal) -> list[FeeModel]:
    """A fixed fee and a pure commission paying what the contract pays at 100 % achievement."""
    at100 = total_of(fee_lines(c.fee, target, Decimal(1)))
    out = [FeeModel(name="fixed (same at 100%)", model="fixed", base=at100)]
    if target > 0:
        rate = (at100 / target).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        out.append(FeeModel(name=f"commission {rate} (same at 100%)", model="commission",
                            performance=Performance(kind="commission", tiers=[Tier(**{"from": Decimal(0), "rate": rate})])))
    return out


def compare_models(contract_id: str, scenarios: tuple[float, ...] | list[float] = DEFAULT_SCENARIOS,
                   period: str | None = None, target: float | Decimal | None = None,
                   warehouse: Any = None, gmv: GmvFn | None = None) -> pd.DataFrame:
    """What the client pays and the provider earns under each fee model per achievement scenario.

    Models: the contract's, its ``alternatives``, and a fixed fee and a pure commission that pay the
    same as the contract at 100 %. provider_earns = fee − provider_cost.
    """
    c = get_contract(contract_id)
    if target is not None:
        tgt = money(target)
    elif period is not None:
        t, _ = contract_target(c, contract_period(c, period), warehouse, gmv=gmv)
        tgt = t if t is not None else Decimal(0)
    else:
        tgt = money(c.target) if c.target is not None else (money(next(iter(c.targets.values()))) if c.targets else None)
        if tgt is None:
            t, _ = contract_target(c, contract_period(c, Warehouse.of(warehouse).last_month()), warehouse)
            tgt = t if t is not None else Decimal(0)
    if tgt <= 0:
        raise SettlementError(f"contract {c.id}: no positive target to build scenarios from; pass target=")
    models = [c.fee.model_copy(update={"name": c.fee.name or "contract"})]
    models += [m.model_copy(update={"name": m.name or f"alternative {i + 1}"}) for i, m in enumerate(c.alternatives)]
    models += _equivalents(c, tgt)
    return compare_scenarios(models, tgt, c.provider_cost, scenarios)


SCENARIO_COLUMNS = ["model", "achievement", "net_gmv", "client_pays", "provider_earns", "fee_pct_of_gmv"]


def compare_scenarios(models: FeeModel | list[FeeModel], target: Any, provider_cost: Any = 0,
                      scenarios: tuple[float, ...] | list[float] = DEFAULT_SCENARIOS) -> pd.DataFrame:
    """One row per fee model × achievement scenario: net GMV = target × achievement and the fee on it,
    both rounded half-up to the cent like every statement (:func:`money`, :func:`fee_lines`);
    provider_earns = fee − provider_cost. The one scenario rule: ``compare_models`` and the contract
    simulator both call it."""
    models = [models] if isinstance(models, FeeModel) else list(models)
    tgt, cost = money(target), money(provider_cost)
    rows = []
    for m in models:
        for sc in scenarios:
            a = Decimal(repr(float(sc))).quantize(ACH, rounding=ROUND_HALF_UP)
            gmv = money(tgt * a)
            tot = total_of(fee_lines(m, gmv, a))
            rows.append((m.name, float(a), float(gmv), float(tot), float(tot - cost),
                         float(tot / gmv) if gmv else float("nan")))
    return pd.DataFrame(rows, columns=SCENARIO_COLUMNS)


__all__ = [
    "Contract",
    "ContractsFile",
    "ExitClause",
    "FeeLine",
    "FeeModel",
    "GmvFn",
    "Performance",
    "Statement",
    "Tier",
    "compare_models",
    "compare_scenarios",
    "contract_period",
    "contract_target",
    "due_date",
    "exit_clause_state",
    "fee_lines",
    "get_contract",
    "gmv_figures",
    "gmv_rows",
    "gmv_window",
    "load_contracts",
    "money",
    "performance_line",
    "settle",
    "settle_all",
    "tax_and_total",
    "tier_amount",
    "total_of",
]
