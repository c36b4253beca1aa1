"""The `kpi` command line: a thin shell over kpi_lib.

Error policy (as in ploomber): a KpiError prints one red line and exits with its code (1, or 2 for
unreadable input); anything else is a bug and shows the traceback. ``KPI_DEBUG=1`` re-raises.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console

from .errors import KpiError

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
    warehouse: Optional[Path] = typer.Option(None, help="warehouse directory (default data/warehouse)"),
    reference: Optional[Path] = typer.Option(None, help="reference directory (default data/reference)"),
    strict: bool = typer.Option(False, help="exit 1 if any row was quarantined"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as one JSON object"),
    jobs: Optional[int] = typer.Option(None, help="parallel readers (default: cores)"),
) -> None:
    """Ingest platform exports into the canonical Parquet warehouse."""
    from .ingest.pipeline import ingest as run_ingest
    from .ingest.summary import print_summary, progress_bar

    with progress_bar(enabled=not as_json) as progress:
        summary = run_ingest(raw_dir, warehouse=warehouse, reference=reference, jobs=jobs, progress=progress)
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
