"""Presenting an ingest summary: a rich table and a progress bar."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

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
    """Per-file table (store, reader, read, loaded, quarantined, duplicate, reconciliation) and totals."""
    t = Table(title=f"ingest → {summary.warehouse} (snapshot {summary.snapshot})", show_lines=False)
    for col, just in [("file", "left"), ("store", "left"), ("reader", "left"), ("read", "right"),
                      ("loaded", "right"), ("quarantined", "right"), ("duplicate", "right"), ("recon. diff", "right")]:
        t.add_column(col, justify=just, overflow="fold")
    tot = [0, 0, 0, 0]
    for f in summary.files:
        rec = f.reconciliation
        diff = "" if rec is None else f"{rec['difference']:,.2f}"
        if f.error:
            t.add_row(f.path, f.store_id or "", f.reader or "", "", "", "", "", "", style="red")
            continue
        style = "dim" if f.unchanged else ("yellow" if f.rows_quarantined or (rec and abs(rec["difference"]) > 0.005) else None)
        t.add_row(f.path, f.store_id or "", (f.reader or "") + (" (unchanged)" if f.unchanged else ""),
                  f"{f.rows_read:,}", f"{f.rows_loaded:,}", f"{f.rows_quarantined:,}", f"{f.rows_duplicate:,}", diff,
                  style=style)
        for i, v in enumerate((f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate)):
            tot[i] += v
    if len(summary.files) > 40:
        # long runs: collapse to one line per store and reader
        t = _collapsed(summary)
    console.print(t)
    console.print(
        f"[bold]{len(summary.files)} files[/]: read {tot[0]:,} rows = loaded {tot[1]:,} + quarantined {tot[2]:,} "
        f"+ duplicate {tot[3]:,}  ({summary.seconds:.1f} s)"
    )
    for f in summary.errors:
        console.print(f"[red]✗ {f.error}[/]", highlight=False, soft_wrap=True)


def _collapsed(summary: IngestSummary) -> Table:
    groups: dict[tuple[str, str], list[int]] = {}
    for f in summary.files:
        if f.error:
            continue
        g = groups.setdefault((f.store_id or "", f.reader or ""), [0, 0, 0, 0, 0, 0])
        g[0] += 1
        for i, v in enumerate((f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate), start=1):
            g[i] += v
        if f.reconciliation:
            g[5] += abs(f.reconciliation["difference"]) > 0.005
    t = Table(title=f"ingest → {summary.warehouse} (snapshot {summary.snapshot}), by store and reader")
    for col in ("store", "reader", "files", "read", "loaded", "quarantined", "duplicate", "files with recon. diff"):
        t.add_column(col, justify="left" if col in ("store", "reader") else "right")
    for (s, r), g in sorted(groups.items()):
        t.add_row(s, r, *(f"{v:,}" for v in g), style="yellow" if g[3] or g[5] else None)
    return t
