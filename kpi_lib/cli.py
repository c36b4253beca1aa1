"""The `kpi` command line: a thin shell over kpi_lib.

Error policy (as in ploomber): a KpiError prints one red line and exits with its code (1, or 2 for
unreadable input); anything else is a bug and shows the traceback. ``KPI_DEBUG=1`` re-raises.

Size (≈525 lines): one typer command per CLI verb, each a few lines calling kpi_lib; views are in
cli_views.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from .errors import KpiError

# Each command imports its layer inside its body, on purpose and only here: `kpi --help`, tab completion
# and a mistyped command answer in 0.1 s instead of 3.2 s (pandas, DuckDB, papermill, plotly). The layer
# order is still checked by .importlinter, which sees these imports too.

app = typer.Typer(add_completion=False, no_args_is_help=True, help="KPI Workbench: ingest, compute, report.")
console = Console()
err_console = Console(stderr=True)


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn KpiError into one red line and an exit code; let bugs show their traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KpiError as exc:
            if os.environ.get("KPI_DEBUG"):
                raise
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(getattr(exc, "exit_code", 1)) from None

    return wrapper


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


def main() -> None:
    app()


# ---- commands: each one delegates to its module ------------------------------------------------


@app.command()
@user_errors
def ingest(
    raw_dir: Path = typer.Argument(None, help="RAW_DIR with one folder per store (default data/raw)"),
    warehouse: Path | None = typer.Option(None, help="warehouse directory (default data/warehouse)"),
    reference: Path | None = typer.Option(None, help="reference directory (default data/reference)"),
    strict: bool = typer.Option(False, help="exit 1 if any row was quarantined"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as one JSON object"),
    jobs: int | None = typer.Option(None, help="parallel reader processes (default: one per core, at most 4; one on a 1–2 core machine)"),
    executor: str = typer.Option("local", help="where files are read: local (in-process) or dask"),
    scheduler: str | None = typer.Option(
        None, help="Dask scheduler address (tcp://host:8786); default: a LocalCluster on this machine"),
) -> None:
    """Ingest platform exports into the canonical Parquet warehouse.

    With ``--executor dask`` every raw file is read as one task on a Dask cluster (the raw files and
    the warehouse must be on a path every worker sees); the warehouse is written here, as in-process."""
    from .ingest.pipeline import ingest as run_ingest
    from .ingest.summary import print_summary, progress_bar

    with progress_bar(enabled=not as_json) as progress:
        summary = run_ingest(raw_dir, warehouse=warehouse, reference=reference, jobs=jobs, progress=progress,
                             executor=None if executor == "local" and not scheduler else executor,
                             scheduler=scheduler)
    if as_json:
        print_json(summary.to_json())
    else:
        print_summary(summary, console)
    code = summary.exit_code(strict)
    if code:
        raise typer.Exit(code)


@app.command()
@user_errors
def validate() -> None:
    """Check every YAML under parameters/ and the reference data; list all issues."""
    from .validate import validate_all

    issues = validate_all()
    if issues:
        for i in issues:
            err_console.print(f"[red]✗[/] {i}", highlight=False, soft_wrap=True)
        err_console.print(f"[bold red]{len(issues)} issue(s)[/]")
        raise typer.Exit(1)
    console.print("[green]✓[/] parameters and reference data are valid")


# ---- KPI engine (issue 3): compute, status, alerts -----------------------------------------------
def _print_status_table(period: str | None = None, entity_kind: str = "company", entity_id: str | None = None,
                        lang: str | None = None, warehouse: Path | None = None) -> None:
    from .cli_views import status_table

    console.print(status_table(period, entity_kind, entity_id, lang=lang, warehouse=warehouse))


@app.command("compute")
@user_errors
def compute_cmd(
    warehouse: Path | None = typer.Option(None, help="warehouse directory (default data/warehouse)"),
    lang: str | None = typer.Option(None, help="zh or en (default: workbench.yaml)"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Compute KPI values, target status and alerts into the warehouse (atomically)."""
    from .compute import run_compute

    summary = run_compute(warehouse)
    if as_json:
        print_json(summary)
        return
    console.print(f"[green]✓[/] kpi_values {summary['kpi_values']:,} rows, kpi_status {summary['kpi_status']:,}, "
                  f"alerts {summary['alerts']:,} ({summary['open_alerts']} open) in {summary['seconds']} s "
                  f"[dim]snapshot {summary['snapshot']}[/]")
    for w in summary.get("warnings", []):
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    _print_status_table(lang=lang, warehouse=warehouse)


@app.command("status")
@user_errors
def status_cmd(
    period: str | None = typer.Option(None, help="month label, e.g. 2026-11 (default: latest)"),
    entity_kind: str = typer.Option("company", help="company|platform|store|team|person|contract"),
    entity_id: str | None = typer.Option(None, help="entity id (not for company)"),
    warehouse: Path | None = typer.Option(None, help="warehouse directory"),
    lang: str | None = typer.Option(None, help="zh or en"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show KPI values against targets for an entity and month (from the last `kpi compute`)."""
    from .compute import latest_status
    from .config import workbench
    from .errors import WarehouseError
    from .warehouse import Warehouse

    wh = Warehouse(warehouse)
    if not wh.has("kpi_values"):
        raise WarehouseError("no kpi_values in the warehouse: run `kpi compute` first")
    lang = lang or workbench().default_language
    df = latest_status(wh, entity_kind, entity_id, period, lang=lang)
    if as_json:
        print_json(df.to_dict("records"))
        return
    if df.empty:
        console.print("no KPI values for that entity/period")
        return
    _print_status_table(period, entity_kind, entity_id, lang, warehouse)


def _overdue_table(late: Any) -> Any:
    """Overdue actions as a rich table (most overdue first)."""
    from rich.table import Table

    ta = Table(title=f"{len(late)} overdue action(s)")
    for c in ("due", "days late", "owner", "entity", "kpi", "action"):
        ta.add_column(c)
    for r in late.itertuples():
        ta.add_row(str(r.due), str(r.days_overdue), str(r.owner), f"{r.entity_kind} {r.entity_id}", str(r.kpi),
                   f"{r.id}: {r.title}")
    return ta


@app.command("alerts")
@user_errors
def alerts_cmd(
    all_: bool = typer.Option(False, "--all", help="include closed (historical) alerts"),
    entity_kind: str | None = typer.Option(None, help="filter by entity kind"),
    entity_id: str | None = typer.Option(None, help="filter by entity id"),
    limit: int = typer.Option(50, help="show at most this many"),
    warehouse: Path | None = typer.Option(None, help="warehouse directory"),
    as_json: bool = typer.Option(False, "--json"),
    actions_only: bool = typer.Option(False, "--actions", help="only the overdue actions (parameters/actions.yaml)"),
) -> None:
    """List overdue actions (open past their due date) and open alerts (newest first) from the last `kpi compute`."""
    from rich.table import Table

    from .actions import overdue_actions  # reminders: open actions past their due date (issue 16)
    from .alerts import open_alerts
    from .errors import ConfigError

    try:
        late = overdue_actions()
    except ConfigError as exc:  # a broken actions.yaml must not hide the alerts
        if actions_only:
            raise
        err_console.print(f"[yellow]actions not listed:[/] {str(exc).splitlines()[0]}", highlight=False)
        late = overdue_actions(actions=[])
    if entity_id:
        late = late[late["entity_id"] == entity_id]
    if entity_kind:
        late = late[late["entity_kind"] == entity_kind]
    if actions_only:
        if as_json:
            print_json(late.to_dict("records"))
        elif late.empty:
            console.print("[green]no overdue actions[/]")
        else:
            console.print(_overdue_table(late))
        return
    df = open_alerts(warehouse, entity_kind, entity_id, include_closed=all_).head(limit)
    if as_json:
        print_json(df.to_dict("records"))
        return
    if len(late):
        console.print(_overdue_table(late))
    if df.empty:
        console.print("[green]no open alerts[/]")
        return
    t = Table(title=f"{len(df)} alert(s)")
    for c in ("opened", "severity", "entity", "rule", "message"):
        t.add_column(c)
    sev = {"high": "red", "medium": "yellow", "low": "dim"}
    for r in df.itertuples():
        t.add_row(str(r.opened_on), f"[{sev.get(r.severity, 'dim')}]{r.severity}[/]",
                  f"{r.entity_kind} {r.entity_id}", str(r.rule_id), str(r.message))
    console.print(t)


@app.command("generate")
@user_errors
def generate_cmd(
    out: Path | None = typer.Option(None, "--out", help="where to write the demo exports (default data/raw)"),
    seed: int = typer.Option(7, help="random seed (same seed + scale + end = identical files)"),
    scale: float = typer.Option(1.0, help="1.0 ≈ 300k order lines; 30 ≈ 9M"),
    end: str | None = typer.Option(None, help="last month YYYY-MM (default: the month before today)"),
    reference: Path | None = typer.Option(None, help="reference directory (default data/reference)"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as one JSON object"),
) -> None:
    """Generate the demo company's exports in the platforms' native formats, plus reference data."""
    import time

    from rich.table import Table

    from . import paths
    from .generate import generate as run_generate

    t0 = time.perf_counter()
    summary = run_generate(out or paths.raw_dir(), reference or paths.reference_dir(), seed=seed, scale=scale, end=end)
    if as_json:
        print_json({k: v for k, v in summary.items() if k != "files"})
        return
    t = Table(title=f"demo exports {summary['months'][0]}..{summary['months'][-1]} (seed {seed}, scale {scale:g})")
    for col in ("store", "files", "order lines"):
        t.add_column(col, justify="right" if col != "store" else "left")
    per_store: dict[str, int] = {}
    for f in summary["files"]:
        per_store[f.split("/")[0]] = per_store.get(f.split("/")[0], 0) + 1
    for sid, n in summary["rows_per_store"].items():
        t.add_row(sid, str(per_store.get(sid, 0)), f"{n:,}")
    console.print(t)
    console.print(f"[green]✓[/] {summary['files_written']} files, {summary['order_lines']:,} order lines, "
                  f"{summary['dirty_rows']} dirty rows listed in {Path(summary['out']) / '_dirty_rows.json'}; "
                  f"reference → {summary['reference']} ({time.perf_counter() - t0:.1f} s)")


# ---- reports (issue 5) ---------------------------------------------------------------------------
@app.command("report")
@user_errors
def report_cmd(
    batch: Path | None = typer.Option(None, help="batch YAML (default parameters/batches/monthly.yaml; a bare name "
                                                    "is looked up in parameters/batches/)"),
    period: str | None = typer.Option(None, help="month YYYY-MM (default: the batch's, else the latest with data)"),
    jobs: int | None = typer.Option(None, help="parallel warm kernels (default: cores)"),
    only: str | None = typer.Option(None, help="glob on report/entity, report or entity, e.g. 'store_*/AMZ-*'"),
    force: bool = typer.Option(False, help="re-render even when template, parameters and snapshot are unchanged"),
    bundle: bool = typer.Option(False, help="one shared outputs/<period>/plotly.min.js instead of inlining it"),
    timeout: float | None = typer.Option(None, help="seconds per report (default: the batch's)"),
    lang: str | None = typer.Option(None, help="zh or en (overrides the batch)"),
    warehouse: Path | None = typer.Option(None, help="warehouse directory (default data/warehouse)"),
    executor: str = typer.Option("local", help="local (worker processes on this machine) or dask (one report per "
                                                "task on a Dask cluster)"),
    engine: str = typer.Option("shell", help="local executor: shell (worker processes running the templates in "
                                             "IPython shells) or kernel (warm Jupyter kernels)"),
    scheduler: str | None = typer.Option(None, help="Dask scheduler address, e.g. tcp://host:8786 (default: a "
                                                       "local cluster of --jobs worker processes)"),
    cache: bool = typer.Option(True, help="compute the batch's figures once before rendering (--no-cache: each "
                                          "report queries the warehouse; same figures, slower)"),
    as_json: bool = typer.Option(False, "--json", help="print the run summary as JSON"),
    pdf: bool = typer.Option(False, "--pdf", help="also print each report to <entity>.pdf beside its HTML "
                                                  "(A4, headless Chromium)"),
) -> None:
    """Render report templates per store/team/person/contract into outputs/<period>/ and outputs/index.html."""
    from . import paths
    from .prelaunch import kernel_env, launch_kernels, launch_shells, stop_all

    # the workers (or kernels) import pandas, plotly and kpi_lib while this process imports the runner
    wh_dir = warehouse if warehouse is not None else paths.warehouse_dir()
    n = min(jobs or os.cpu_count() or 1, 4)
    local = executor == "local"
    launched = launch_kernels(n, paths.root(), kernel_env(wh_dir)) if local and engine == "kernel" else []
    shells = launch_shells(n, paths.root(), kernel_env(wh_dir)) if local and engine == "shell" else []
    try:
        from .reports import run_batch

        summary = run_batch(batch, period=period, jobs=jobs, only=only, force=force, bundle=bundle,
                            console=None if as_json else console, timeout=timeout, language=lang,
                            warehouse=warehouse, cache=cache, executor=executor, scheduler=scheduler,
                            launched=launched, engine=engine, shells=shells)
    finally:
        stop_all(launched)
        stop_all(shells)
    if pdf:
        summary["pdf"] = _print_pdfs(summary, None if as_json else console)
    if as_json:
        print_json(summary)
    if summary["failed"] or (pdf and summary["pdf"]["failed"]):
        raise typer.Exit(1)


def _print_pdfs(summary: dict, out: Any) -> dict:
    """PDFs beside the HTML of every report of the run that has a page (rendered now or unchanged)."""
    from . import paths
    from .pdf import pdfs_for

    pages = [paths.outputs_dir() / r["html"] for r in summary.get("results", [])
             if r.get("status") in ("ok", "skipped") and r.get("html")]
    done, failed = pdfs_for(pages)
    if out is not None:
        out.print(f"[green]✓[/] {len(done)} PDF(s) written beside the HTML" + (f", {len(failed)} failed" if failed else ""))
        for page, err in failed:
            err_console.print(f"[red]PDF failed[/] {page}: {err}")
    return {"written": [str(p) for p in done], "failed": [{"page": str(p), "error": e} for p, e in failed]}


@app.command("send")
@user_errors
def send_cmd(
    batch: str = typer.Option("monthly", help="batch name or YAML (parameters/batches/)"),
    period: str | None = typer.Option(None, help="month YYYY-MM that was rendered (default: the batch's, else "
                                                   "the latest in outputs/)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print who gets what; send nothing"),
    links: str | None = typer.Option(None, "--links", help="BASE_URL of the published outputs/ folder: send "
                                                             "links instead of attachments"),
    only: str | None = typer.Option(None, "--only", help="send to this recipient email only"),
    recipients: Path | None = typer.Option(None, help="recipients YAML (default parameters/recipients.yaml)"),
    warehouse: Path | None = typer.Option(None, help="warehouse directory (default data/warehouse)"),
    attempts: int = typer.Option(3, min=1, max=10, help="tries per email before reporting it failed"),
    as_json: bool = typer.Option(False, "--json", help="print the plan (dry run) or the outcomes as JSON"),
) -> None:
    """Email each recipient the rendered reports they may see (SMTP from KPI_SMTP_* variables)."""
    from rich.markup import escape

    from .delivery import SmtpSettings, max_mb_from_env, plan_table, results_table
    from .delivery import plan as delivery_plan
    from .delivery import send as delivery_send

    p = delivery_plan(batch, period, warehouse=warehouse, recipients=recipients, only=only)
    if dry_run:
        if as_json:
            print_json([{"email": d.recipient.email, "role": d.recipient.role, "language": d.recipient.language,
                         "reports": [x.label for x in d.ready],
                         "missing": [f"{x.label}: {x.reason}" for x in d.missing]} for d in p.deliveries])
        else:
            console.print(plan_table(p, links=links, max_mb=max_mb_from_env()))
            n = len(p.missing)
            if n:
                err_console.print(f"[yellow]{n} planned report(s) are missing (listed above)[/]")
        return
    settings = SmtpSettings.from_env()
    results = delivery_send(p, settings, links=links, attempts=attempts)
    if as_json:
        print_json([r.to_dict() for r in results])
    else:
        console.print(results_table(results))
    bad = [r for r in results if r.status != "sent" or r.missing]
    for r in bad:
        why = r.error if r.status != "sent" else f"sent without {len(r.missing)} missing report(s)"
        err_console.print(f"[bold red]error:[/] {escape(r.name)} <{escape(r.email)}>: {escape(why)}"
                          + (f" — missing: {escape('; '.join(r.missing))}" if r.missing else ""),
                          highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(1)


# ---- costs, scorecards, settlements (issue 4) ----------------------------------------------------
@app.command("settle")
@user_errors
def settle_cmd(
    contract: str | None = typer.Option(None, "--contract", help="contract id (default: every contract)"),
    period: str | None = typer.Option(
        None, help="YYYY-MM (quarterly contracts: its quarter); default the last finished month"),
    warehouse: Path | None = typer.Option(None, help="warehouse directory (default data/warehouse)"),
    as_json: bool = typer.Option(False, "--json", help="print the statements as JSON"),
    final: bool = typer.Option(
        False, "--final", help="refuse an unfinished period instead of marking its statement PROVISIONAL"),
    issued: str | None = typer.Option(
        None, "--issued", help="issue date YYYY-MM-DD printed on the statement (default today, UTC)"),
) -> None:
    """Settlement statements of KPI-linked contracts (parameters/contracts.yaml).

    A statement is final only for a finished period (kpi_lib.coverage.is_finished: every active store
    of the contract has data up to the period's last day); an unfinished period's statement is marked
    PROVISIONAL (JSON ``provisional: true`` and a note naming the stores whose data ends early), or
    refused with ``--final``. The default period is the last finished month.
    """
    from .coverage import active_stores, coverage_frame, finished_periods, is_finished, last_complete_day
    from .errors import SettlementError
    from .metrics import period_bounds
    from .settlement import contract_period, get_contract, is_active, load_contracts, settle
    from .warehouse import Warehouse as _W

    wh = _W(warehouse)
    con = wh.connect()
    try:
        cov = coverage_frame(con)
    finally:
        con.close()
    if period is None:
        done = finished_periods(cov, "month")
        if not done:
            raise SettlementError("no finished month in the warehouse: no store's data covers a whole month yet; "
                                  "ingest more data, or give --period for a provisional statement")
        period = done[-1]
    contracts = [get_contract(contract)] if contract else [c for c in load_contracts() if is_active(c, period)]
    marks: dict[str, str] = {}
    for c in contracts:
        label = contract_period(c, period)
        if is_finished(label, cov, c.stores):
            continue
        end = period_bounds(label)[1]
        last = last_complete_day(cov, c.stores)
        lag = [f"{s} ends {last[s].isoformat()}" if s in last else f"{s} has no orders"
               for s in (active_stores(label, cov, c.stores) or list(c.stores)) if s not in last or last[s] < end]
        why = (f"contract {c.id}: period {label} is not finished (it ends {end.isoformat()}; data of "
               f"{'; '.join(lag) or 'its stores is missing'})")
        if final:
            raise SettlementError(f"{why}. Settle a finished period (the last finished month is "
                                  f"{(finished_periods(cov, 'month', c.stores) or ['none'])[-1]}), "
                                  "or leave out --final for a provisional statement.")
        marks[c.id] = f"PROVISIONAL: {why}; figures will change when the period's data is complete."
    try:
        day = None if issued is None else dt.date.fromisoformat(issued)
    except ValueError:
        raise SettlementError(f"--issued {issued!r}: expected a date YYYY-MM-DD") from None
    statements = [settle(c.id, period, wh, issued=day) for c in contracts]
    for s in statements:
        if s.contract_id in marks:
            s.notes.append(marks[s.contract_id])
    if as_json:
        docs = [{**s.to_dict(), "provisional": s.contract_id in marks} for s in statements]
        print_json(docs[0] if contract else docs)
        return
    from .cli_views import settlement_table

    for s in statements:
        if s.contract_id in marks:
            console.print(f"[bold yellow]{marks[s.contract_id]}[/]", highlight=False)
        console.print(settlement_table(s))


@app.command("score")
@user_errors
def score_cmd(
    period: str | None = typer.Option(None, help="YYYY-MM (default last month with data)"),
    team: str | None = typer.Option(None, "--team", help="only this team and its members"),
    warehouse: Path | None = typer.Option(None, help="warehouse directory (default data/warehouse)"),
    as_json: bool = typer.Option(False, "--json", help="print the scorecards as JSON"),
) -> None:
    """Team and people scorecards (parameters/scorecards.yaml)."""
    from rich.table import Table

    from .costs import last_month
    from .scorecard import score_all
    from .warehouse import Warehouse as _W

    wh = _W(warehouse)
    period = period or last_month(wh)
    cards = score_all(period, team_id=team, warehouse=wh)
    if as_json:
        print_json([c.to_dict() for c in cards])
        return
    t = Table(title=f"scorecards {period}")
    for col in ("entity", "team", "scorecard", "total", "gated", "bonus"):
        t.add_column(col, justify="right" if col in ("total", "bonus") else "left")
    for c in cards:
        # an open card (a KPI without its data) has no total and no bonus: missing is not zero
        total = "[yellow]incomplete[/]" if c.open else f"{c.total:.1f}"
        bonus = "[yellow]withheld[/]" if c.bonus_withheld else "" if c.bonus is None else f"{c.bonus:,.2f}"
        t.add_row(f"{c.entity_kind} {c.entity_id}", c.team_id or "", c.scorecard_id, total,
                  "[red]yes[/]" if c.gated else "", bonus)
    console.print(t)


@app.command("costs")
@user_errors
def costs_cmd(
    store: str | None = typer.Option(None, "--store", help="store id (default: the whole company)"),
    period: str | None = typer.Option(None, help="YYYY-MM, YYYY-Qn or YYYY-MM-DD..YYYY-MM-DD (default last month)"),
    basis: str = typer.Option("order", help="order (by order date) or posted (by settlement/posted date)"),
    warehouse: Path | None = typer.Option(None, help="warehouse directory (default data/warehouse)"),
    as_json: bool = typer.Option(False, "--json", help="print the waterfall as JSON"),
) -> None:
    """Cost waterfall from GMV to net profit."""
    from .costs import last_month, waterfall
    from .warehouse import Warehouse as _W

    wh = _W(warehouse)
    period = period or last_month(wh)
    df = waterfall("store" if store else "company", store, period, basis=basis, warehouse=wh)
    if as_json:
        print_json(df.to_dict("records"))
        return
    from .cli_views import waterfall_table

    console.print(waterfall_table("store" if store else "company", store, period, basis=basis, df=df))


# ---- demo ----------------------------------------------------------------------------------------
@app.command("demo")
@user_errors
def demo_cmd(
    scale: float = typer.Option(1.0, help="demo volume (1 ≈ 300k order lines)"),
    seed: int = typer.Option(7, help="random seed of the demo company"),
    end: str | None = typer.Option(None, help="last demo month YYYY-MM (default: last month)"),
    fresh: bool = typer.Option(False, help="regenerate the demo data even if it is already there"),
    reports: bool = typer.Option(True, help="render every report of the monthly batch"),
    jobs: int | None = typer.Option(None, help="parallel report kernels (default: cores)"),
) -> None:
    """Everything on a fresh checkout: generate → ingest → compute → print status → render reports."""
    from .demo import build

    out = build(scale=scale, seed=seed, end=end, reports=reports, fresh=fresh, jobs=jobs)
    rep = out.get("reports")
    if isinstance(rep, dict) and rep.get("failed"):
        raise typer.Exit(1)
