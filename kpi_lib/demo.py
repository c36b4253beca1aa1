"""`kpi demo` / `make demo`: the whole flow on a fresh checkout.

generate the demo company → ingest → compute KPIs, status, alerts and overhead allocations →
print the company status, settlement totals and the company cost waterfall → render every report
→ print where outputs/index.html is. Each step reuses the library functions the CLI commands call.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

from rich.console import Console

from . import paths
from .cli_views import settlement_totals_table, status_table, waterfall_table
from .compute import run_compute
from .generate import generate
from .ingest.pipeline import ingest
from .ingest.summary import print_summary, progress_bar
from .reports import run_batch

DEMO_TEST_END = "2026-11"  # tests pin the demo period so their figures do not move with the calendar


def last_month(today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    first = today.replace(day=1)
    prev = first - dt.timedelta(days=1)
    return f"{prev.year}-{prev.month:02d}"


def generate_if_needed(scale: float, seed: int, end: str, fresh: bool, console: Console | None) -> bool:
    """Generate data/raw and data/reference unless the same demo is already there."""

    raw, ref = paths.raw_dir(), paths.reference_dir()
    stamp = raw / "_demo.json"
    want = {"scale": scale, "seed": seed, "end": end}
    if not fresh and stamp.is_file() and json.loads(stamp.read_text()) == want and (ref / "stores.csv").is_file():
        if console:
            console.print(f"[dim]demo data already in {raw} (scale {scale}, seed {seed}, end {end})[/]")
        return False
    for d in (raw, ref, paths.warehouse_dir()):
        if d.exists():
            shutil.rmtree(d)
    summary = generate(raw, ref, seed=seed, scale=scale, end=end)
    stamp.write_text(json.dumps(want))
    if console:
        n = summary.get("order_lines") if isinstance(summary, dict) else None
        console.print(f"[green]✓[/] generated demo exports in {raw}" + (f" ({n:,} order lines)" if n else ""))
    return True


def build(scale: float = 1.0, seed: int = 7, end: str | None = None, reports: bool = True, quiet: bool = False,
          fresh: bool = False, jobs: int | None = None) -> dict:
    """Run the demo end to end; returns what each step produced."""

    console = None if quiet else Console()
    end = end or last_month()
    out: dict = {"end": end}
    generate_if_needed(scale, seed, end, fresh, console)
    with progress_bar(enabled=not quiet) as progress:
        summary = ingest(paths.raw_dir(), progress=progress)
    out["ingest"] = summary
    if console:
        print_summary(summary, console)


    out["compute"] = run_compute(as_of=_month_end(end))
    if console:
        _print_status(console, end)
        _print_money(console, end)
    if reports:

        res = run_batch(period=end, jobs=jobs, console=console)
        out["reports"] = res
        index = paths.outputs_dir() / "index.html"
        if console:
            console.print(f"\n[bold green]Reports:[/] {index.resolve()}")
    return out


def _month_end(month: str) -> dt.date:
    y, m = map(int, month.split("-"))
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _print_status(console: Console, period: str) -> None:

    console.print(status_table(period=period))


def _print_money(console: Console, period: str) -> None:

    console.print(settlement_totals_table(period))
    console.print(waterfall_table("company", None, period))
