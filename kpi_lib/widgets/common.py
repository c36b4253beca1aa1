"""Small pieces shared by the widget panels: headless switch, messages, warehouse probe, YAML diff.

Widget panels never write files themselves: they call the validating ``save_*`` functions of
kpi_lib (the same ones the CLI uses). This module only formats what those functions report.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import ipywidgets as W

from .. import paths
from ..errors import ConfigError, KpiError
from ..present import esc  # the one HTML escape (kpi_lib.present owns formatting)
from ..status import STATUS_COLORS as _STATUS_PALETTE

HEADLESS_ENV = "KPI_HEADLESS"

_COLORS = {"error": "#b3261e", "ok": "#1b7f3b", "info": "#3a4a5c", "warn": "#9a6700"}
# the one status palette (kpi_lib.status); no status yet is drawn like "none"
STATUS_COLORS = {**_STATUS_PALETTE, None: _STATUS_PALETTE["none"], "": _STATUS_PALETTE["none"]}


def headless() -> bool:
    """True when notebooks run unattended (``KPI_HEADLESS=1``, e.g. under nbmake/nbclient).

    Panels then skip anything that would wait for a person (no blocking prompts, no auto-refresh
    loops) and skip drawing large figures; every computation still runs so errors surface.
    """
    return os.environ.get(HEADLESS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def message_html(text: str, kind: str = "info") -> str:
    color = _COLORS.get(kind, _COLORS["info"])
    return f'<div style="color:{color};white-space:pre-wrap">{esc(text)}</div>'


def issues_html(issues: Iterable[str], title: str = "") -> str:
    items = [str(i) for i in issues]
    if not items:
        return ""
    head = f"<b>{esc(title)}</b>" if title else ""
    lis = "".join(f"<li>{esc(i)}</li>" for i in items)
    return f'<div style="color:{_COLORS["error"]}">{head}<ul style="margin:2px 0">{lis}</ul></div>'


def error_issues(exc: BaseException) -> list[str]:
    """Every issue a kpi_lib error carries (ConfigError.issues, or the message lines)."""
    issues = list(getattr(exc, "issues", None) or [])
    if issues:
        return [str(i) for i in issues]
    return [line.strip(" -") for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]


class StatusBox:
    """An HTML line that shows the outcome of the last action (ok, error with issues, info)."""

    def __init__(self) -> None:
        self.widget = W.HTML(value="")
        self.kind = ""
        self.issues: list[str] = []
        self.text = ""

    def ok(self, text: str) -> None:
        self.kind, self.text, self.issues = "ok", text, []
        self.widget.value = message_html(text, "ok")

    def info(self, text: str) -> None:
        self.kind, self.text, self.issues = "info", text, []
        self.widget.value = message_html(text, "info")

    def warn(self, text: str) -> None:
        self.kind, self.text, self.issues = "warn", text, []
        self.widget.value = message_html(text, "warn")

    def error(self, text: str, issues: Iterable[str] = ()) -> None:
        self.kind, self.text, self.issues = "error", text, list(issues)
        self.widget.value = message_html(text, "error") + issues_html(self.issues)

    def from_exception(self, exc: KpiError, prefix: str = "") -> None:
        issues = error_issues(exc)
        head = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, ConfigError) and exc.issues:
            self.error(f"{prefix}{head}", exc.issues)
        else:
            self.error(f"{prefix}{head}", issues[1:] if issues and issues[0] == head else issues)

    def clear(self) -> None:
        self.kind, self.text, self.issues = "", "", []
        self.widget.value = ""


NO_WAREHOUSE = (
    "No warehouse yet at {path}. Run `make demo` (or `kpi generate --out data/raw && kpi ingest data/raw "
    "&& kpi compute`) in a terminal, then re-run this notebook."
)


def open_warehouse() -> Any | None:
    """The project warehouse if it has a live snapshot, else None (notebooks then show NO_WAREHOUSE)."""
    from ..warehouse import Warehouse

    wh = Warehouse()
    return wh if wh.exists() else None


def no_warehouse_widget() -> W.HTML:
    text = NO_WAREHOUSE.format(path=paths.warehouse_dir())
    return W.HTML(value=message_html(text, "warn"))


def yaml_text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def unified_diff(old: str, new: str, name: str) -> str:
    """A unified diff of two YAML texts ('' when equal)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"{name} (saved)", f"{name} (edited)"
    )
    return "".join(lines)


def diff_html(diff: str) -> str:
    if not diff:
        return message_html("No changes against the saved file.", "info")
    out = []
    for line in diff.splitlines():
        color = "#1b7f3b" if line.startswith("+") else "#b3261e" if line.startswith("-") else "#555"
        out.append(f'<span style="color:{color}">{esc(line)}</span>')
    return '<pre style="font-size:12px;line-height:1.3;max-height:320px;overflow:auto">' + "\n".join(out) + "</pre>"


def df_html(df: Any, max_rows: int = 30, float_format: str = "{:,.2f}") -> str:
    """A pandas frame as a compact HTML table (no index)."""
    if df is None or len(df) == 0:
        return message_html("(no rows)", "info")
    view = df.head(max_rows)
    fmt = {c: float_format.format for c in view.columns if str(view[c].dtype).startswith("float")}
    return view.to_html(index=False, formatters=fmt, border=0, classes="kpi-table", na_rep="")


def show_figure(out: W.Output, fig: Any) -> None:
    """Draw a plotly figure into an Output widget (skipped headless: no one looks at it)."""
    out.clear_output(wait=True)
    if headless() or fig is None:
        return
    with out:
        from IPython.display import display

        display(fig)


def options_from(values: Iterable[Any], all_label: str | None = None) -> list[Any]:
    opts: list[Any] = [(all_label, "")] if all_label else []
    seen = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v in seen:
            continue
        seen.append(v)
    opts.extend((str(v), v) for v in sorted(seen, key=str))
    return opts


class Panel:
    """Base of every panel: ``widget`` is the root box shown by the notebook.

    Displaying a panel shows its widget; the plain-text part of the display (what a headless run
    or a console records) is ``summary()``, e.g. the hint to run `make demo` when data is missing.
    """

    widget: W.Widget
    title_text: str = ""

    def summary(self) -> str:
        return self.title_text or type(self).__name__

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        bundle = dict(bundle)
        bundle["text/plain"] = self.summary()
        return bundle
