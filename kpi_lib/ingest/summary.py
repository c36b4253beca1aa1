"""Presenting an ingest summary: a rich table, the coverage per store and source, data gaps, a progress bar."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..coverage import SOURCES
from .pipeline import IngestSummary


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[int, int, str], None] | None]:
    """A progress callback for ``ingest`` that draws a bar on long runs (stderr)."""
    if not enabled:
        yield None
        return
    prog = Progress(TextColumn("reading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.description}"), console=Console(stderr=True), transient=True)
    task = None

    def update(done: int, total: int, name: str) -> None:
        nonlocal task
        if task is None:
            task = prog.add_task(name, total=total)
        prog.update(task, completed=done, description=name[-50:])

    with prog:
        yield update


def print_summary(summary: IngestSummary, console: Console) -> None:
    """Per-file table (store, reader, read, loaded, quarantined, duplicate, superseded, reconciliation) and
    totals, then the coverage per store × source kind and the master-data gaps."""
    t = Table(title=f"ingest → {summary.warehouse} (snapshot {summary.snapshot})", show_lines=False)
    for col, just in [("file", "left"), ("store", "left"), ("reader", "left"), ("read", "right"),
                      ("loaded", "right"), ("quarantined", "right"), ("duplicate", "right"), ("superseded", "right"),
                      ("recon. diff", "right")]:
        t.add_column(col, justify=just, overflow="fold")
    tot = [0, 0, 0, 0, 0]
    for f in summary.files:
        rec = f.reconciliation
        diff = "" if rec is None else f"{rec['difference']:,.2f}"
        if f.error:
            t.add_row(f.path, f.store_id or "", f.reader or "", "", "", "", "", "", "", style="red")
            continue
        style = "dim" if f.unchanged else ("yellow" if f.rows_quarantined or (rec and abs(rec["difference"]) > 0.005) else None)
        t.add_row(f.path, f.store_id or "", (f.reader or "") + (" (unchanged)" if f.unchanged else ""),
                  f"{f.rows_read:,}", f"{f.rows_loaded:,}", f"{f.rows_quarantined:,}", f"{f.rows_duplicate:,}",
                  f"{f.rows_superseded:,}", diff, style=style)
        for i, v in enumerate((f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate, f.rows_superseded)):
            tot[i] += v
    if len(summary.files) > 40:
        # long runs: collapse to one line per store and reader
        t = _collapsed(summary)
    console.print(t)
    console.print(
        f"[bold]{len(summary.files)} files[/]: read {tot[0]:,} rows = loaded {tot[1]:,} + quarantined {tot[2]:,} "
        f"+ duplicate {tot[3]:,} + superseded by a newer version {tot[4]:,}  ({summary.seconds:.1f} s)"
        + (f"; {summary.changes:,} changed values in change_history" if summary.changes else "")
    )
    for f in summary.errors:
        console.print(f"[red]✗ {f.error}[/]", highlight=False, soft_wrap=True)
    if summary.coverage is not None and len(summary.coverage):
        console.print(coverage_table(summary.coverage))
    if summary.data_gaps:
        console.print(gaps_table(summary.data_gaps))


def coverage_cells(cov: pd.DataFrame) -> dict[str, dict[str, str]]:
    """store → source → ``'18 mo 2025-06…2026-11'`` (months with rows, first…last month), ``'—'`` when absent.

    For ``costs``: ``'17/18 mo costed'``, the months whose sales carry unit costs (at least
    ``coverage.COST_SHARE_OK`` of the month's GMV) out of the months with sales.
    """
    from ..coverage import is_covered

    out: dict[str, dict[str, str]] = {}
    if cov.empty:
        return out
    cov = cov.assign(ok=is_covered(cov))
    for sid, g in cov.groupby("store_id", sort=True):
        row: dict[str, str] = {}
        for src in SOURCES:
            if src == "costs":
                c = g[g["source"] == "costs"]
                row[src] = "—" if c.empty else f"{int(c['ok'].sum())}/{len(c)} mo costed"
                continue
            s = g[(g["source"] == src) & (g["rows"] > 0)]
            months = sorted(s["month"].astype(str))
            row[src] = "—" if not months else f"{len(months)} mo {months[0]}…{months[-1]}"
        out[str(sid)] = row
    return out


def coverage_table(cov: pd.DataFrame) -> Table:
    """One row per store, one cell per source kind: which months of data the warehouse holds."""
    t = Table(title="coverage: months with data per store and source (— = none)")
    t.add_column("store")
    for src in SOURCES:
        t.add_column(src)
    for sid, row in coverage_cells(cov).items():
        t.add_row(sid, *(row[s] if row[s] != "—" else "[dim]—[/]" for s in SOURCES))
    return t


def gaps_table(gaps: list[dict]) -> Table:
    """Per store: SKUs seen in data without master data / without a unit cost, and their share of sales."""
    t = Table(title="master-data gaps (rows loaded; see tables sku_registry and data_gaps)")
    for col in ("store", "SKUs not in skus.csv", "share of sales", "SKUs without cost", "share of sales "):
        t.add_column(col, justify="left" if col == "store" else "right")

    def pct(v: object) -> str:
        return "n/a" if v is None else f"{float(v):.1%}"

    for g in gaps:
        t.add_row(str(g["store_id"]), f"{int(g['skus_no_master']):,}", pct(g["sales_share_no_master"]),
                  f"{int(g['skus_no_cost']):,}", pct(g["sales_share_no_cost"]), style="yellow")
    return t


def _collapsed(summary: IngestSummary) -> Table:
    groups: dict[tuple[str, str], list[int]] = {}
    for f in summary.files:
        if f.error:
            continue
        g = groups.setdefault((f.store_id or "", f.reader or ""), [0, 0, 0, 0, 0, 0, 0])
        g[0] += 1
        for i, v in enumerate((f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate, f.rows_superseded),
                              start=1):
            g[i] += v
        if f.reconciliation:
            g[6] += abs(f.reconciliation["difference"]) > 0.005
    t = Table(title=f"ingest → {summary.warehouse} (snapshot {summary.snapshot}), by store and reader")
    for col in ("store", "reader", "files", "read", "loaded", "quarantined", "duplicate", "superseded",
                "files with recon. diff"):
        t.add_column(col, justify="left" if col in ("store", "reader") else "right")
    for (s, r), g in sorted(groups.items()):
        t.add_row(s, r, *(f"{v:,}" for v in g), style="yellow" if g[3] or g[6] else None)
    return t
