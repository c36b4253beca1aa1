"""Rich tables shared by the CLI commands and `kpi demo` (one rendering per figure, no copies)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
from rich.console import Group
from rich.table import Table

from .compute import status_table as compute_status
from .config import workbench
from .costs import waterfall
from .labels import label
from .present import fmt_incomplete, fmt_pct, fmt_value
from .settlement import settle_all
from .status import STATUSES, status_color


def status_table(period: str | None = None, entity_kind: str = "company", entity_id: str | None = None,
                 lang: str | None = None, warehouse: Any = None, kpis: list[str] | None = None) -> Table:
    """Company (or entity) KPIs for a period with target, achievement and coloured status, in zh or en
    (KPI names and status words from the catalogs; an incomplete figure shows why, never a number)."""
    lang = lang or workbench().default_language
    df = compute_status(period, entity_kind, entity_id, lang=lang, warehouse=warehouse, kpis=kpis)
    who = label("cli.company", lang) if entity_kind == "company" else entity_kind
    shown = df["period"].iloc[0] if len(df) else (period or "")
    title = " ".join(x for x in (who, entity_id or "", str(shown)) if x)
    t = Table(title=f"{title} {label('cli.status_title', lang)}")
    t.add_column(label("cli.kpi", lang))
    t.add_column(label("cli.value", lang), justify="right")
    t.add_column(label("cli.target", lang), justify="right")
    t.add_column(label("cli.achievement", lang), justify="right")
    t.add_column(label("cli.status", lang))
    for r in df.itertuples():
        value = fmt_value(r.value, r.unit, lang=lang) if r.complete else fmt_incomplete(r.missing, lang)
        ach = fmt_pct(r.achievement, 0)
        status = str(r.status) if str(r.status) in STATUSES else "none"
        t.add_row(str(r.name), value, fmt_value(r.target, r.unit, lang=lang), ach,
                  f"[{status_color(status)}]{label('status.' + status, lang)}[/]")
    return t


def settlement_table(s: Any) -> Group:
    """One settlement statement: fee lines, total, exit clause and snapshot hash."""
    k = s.kpis
    ach = "n/a" if k.get("achievement") is None else f"{float(k['achievement']):.1%}"
    target = "n/a" if k.get("target") is None else format(k["target"], ",")
    basis = f", {k['basis']} basis" if k.get("basis") else ""
    t = Table(title=f"{s.contract_id} {s.period} ({s.start}..{s.end}{basis})  net GMV {k['net_gmv']:,} / target {target} "
                    f"= {ach}")
    t.add_column("fee line")
    t.add_column("basis")
    t.add_column(f"amount {s.currency}", justify="right")
    for ln in s.fee_lines:
        t.add_row(ln.name, ln.basis, f"{ln.amount:,}")
    if s.tax is not None:
        name = s.tax.get("label_en") or "VAT"
        how = "included in the fees" if s.tax["fees_are"] == "gross" else "on the subtotal"
        t.add_row("subtotal", "sum of the lines", f"{s.total:,}")
        t.add_row(f"{name} {float(s.tax['rate']):.2%}", how, f"{Decimal(s.tax['amount']):,}")
        t.add_row("[bold]total due[/]", "", f"[bold]{s.total_due:,}[/]")
    else:
        t.add_row("[bold]total[/]", "", f"[bold]{s.total:,}[/]")
    lines: list[Any] = [t]
    if s.payment:
        start = "the issue date " + s.issued if s.payment["due_from"] == "issue_date" else "the period end " + s.end
        lines.append(f"  payment due {s.payment['due_date']} ({s.payment['terms_days']} days after {start})"
                     + (f", reference {s.payment['reference']}" if s.payment.get("reference") else ""))
    ex = s.exit_clause
    if ex.get("defined"):
        flag = "[red]termination right[/]" if ex["triggered"] else "[green]not triggered[/]"
        lines.append(f"  exit clause: below {ex['below']} for {ex['periods']} periods -> "
                     f"{ex['consecutive_below']} in a row, {flag}")
    lines.append(f"  snapshot {s.snapshot_hash}")
    return Group(*lines)


def settlement_totals_table(period: str, warehouse: Any = None) -> Table:
    """One line per contract: period, total fee, exit-clause state (what `make demo` prints)."""
    t = Table(title=f"contract settlements {period}")
    for col in ("contract", "period", "achievement", "total", "total due", "exit clause", "snapshot"):
        t.add_column(col, justify="right" if col in ("total", "total due", "achievement") else "left")
    for s in settle_all(period, warehouse):
        ach = s.kpis.get("achievement")
        ex = s.exit_clause
        t.add_row(s.contract_id, s.period, "n/a" if ach is None else f"{float(ach):.1%}", f"{s.total:,} {s.currency}",
                  f"{s.total if s.total_due is None else s.total_due:,} {s.currency}",
                  ("[red]termination right[/]" if ex.get("triggered") else "ok") if ex.get("defined") else "-",
                  s.snapshot_hash)
    return t


def waterfall_table(entity_kind: str, entity_id: str | None, period: str, basis: str = "order",
                    warehouse: Any = None, df: pd.DataFrame | None = None) -> Table:
    """The GMV → net profit waterfall with % of net sales."""
    if df is None:
        df = waterfall(entity_kind, entity_id, period, basis=basis, warehouse=warehouse)
    t = Table(title=f"cost waterfall {entity_id or entity_kind} {period} ({basis} date)")
    for col in ("step", "", "amount (RC)", "% net sales"):
        t.add_column(col, justify="right" if col.startswith(("amount", "%")) else "left")
    for r in df.itertuples():
        amt = f"{r.amount_rc:,.2f}"
        pct = "" if pd.isna(r.pct_of_net_sales) else f"{r.pct_of_net_sales:.1%}"
        row = [r.label_en, r.label_zh, amt, pct]
        t.add_row(*([f"[bold]{x}[/]" for x in row] if r.kind != "cost" else row))
    return t
