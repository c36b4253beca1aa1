"""Small pieces shared by the widget panels: headless switch, messages, warehouse probe, YAML diff.

Widget panels never write files themselves: they call the validating ``save_*`` functions of
kpi_lib (the same ones the CLI uses). This module only formats what those functions report.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import ipywidgets as W
from IPython.display import display

from ..errors import ConfigError, KpiError
from ..labels import label
from ..present import esc  # the one HTML escape (kpi_lib.present owns formatting)
from ..status import STATUS_COLORS as _STATUS_PALETTE
from .cache import CachedWarehouse

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

    def error(self, text: str, issues: Iterable[str] = (), show_issues: bool = True) -> None:
        """An error line; ``issues`` listed under it (``show_issues=False``: kept in ``.issues`` only, when the
        panel shows them in its collapsed details section because they are technical)."""
        self.kind, self.text, self.issues = "error", text, list(issues)
        self.widget.value = message_html(text, "error") + (issues_html(self.issues) if show_issues else "")

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


def open_warehouse() -> CachedWarehouse | None:
    """The project warehouse if it has a live snapshot, else None (panels then show ``widget.no_warehouse``).

    It is a :class:`~kpi_lib.widgets.cache.CachedWarehouse`: the panel's many small queries share one
    in-memory copy of the live snapshot (same figures; a new snapshot is picked up by itself).
    """
    wh = CachedWarehouse()
    return wh if wh.exists() else None


def no_warehouse_widget(lang: str = "zh") -> W.HTML:
    """The "no data yet, run make demo" note in the user's language."""
    return W.HTML(value=message_html(label("widget.no_warehouse", lang), "warn"))


def yaml_text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def unified_diff(old: str, new: str, name: str) -> str:
    """A unified diff of two YAML texts ('' when equal)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"{name} (saved)", f"{name} (edited)"
    )
    return "".join(lines)


def diff_html(diff: str, lang: str = "zh") -> str:
    if not diff:
        return message_html(label("widget.no_changes", lang), "info")
    out = []
    for line in diff.splitlines():
        color = "#1b7f3b" if line.startswith("+") else "#b3261e" if line.startswith("-") else "#555"
        out.append(f'<span style="color:{color}">{esc(line)}</span>')
    return '<pre style="font-size:12px;line-height:1.3;max-height:320px;overflow:auto">' + "\n".join(out) + "</pre>"


def df_html(df: Any, max_rows: int = 30, float_format: str = "{:,.2f}", lang: str = "zh") -> str:
    """A pandas frame as a compact HTML table (no index)."""
    if df is None or len(df) == 0:
        return message_html(label("widget.no_rows", lang), "info")
    view = df.head(max_rows)
    fmt = {c: float_format.format for c in view.columns if str(view[c].dtype).startswith("float")}
    return view.to_html(index=False, formatters=fmt, border=0, classes="kpi-table", na_rep="")


def fmt_money(value: Any, currency: str) -> str:
    """``1,234.56 CNY``; blank for a missing value (missing is not zero)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else f"{v:,.2f} {currency}"


def fmt_pct(value: Any, digits: int = 1) -> str:
    """A ratio as a percentage (0.2234 → ``22.3%``); blank when missing."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else f"{v * 100:,.{digits}f}%"


def fmt_num(value: Any, digits: int = 0) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else f"{v:,.{digits}f}"


def table_html(df: Any, kinds: dict[str, str], headers: dict[str, str], currency: str, lang: str = "zh",
               max_rows: int = 30) -> str:
    """A frame as an HTML table for people: only the columns of ``kinds`` (money / pct / int / num / text),
    headers from ``headers`` (already in the user's language), money with currency and two decimals."""
    if df is None or len(df) == 0:
        return message_html(label("widget.no_rows", lang), "info")
    cols = [c for c in kinds if c in df.columns]
    fmt = {"money": lambda v: fmt_money(v, currency), "pct": fmt_pct, "int": fmt_num,
           "num": lambda v: fmt_num(v, 2), "text": lambda v: "" if v is None else str(v)}
    head = "".join(f"<th>{esc(headers.get(c, c))}</th>" for c in cols)
    body = []
    for row in df.head(max_rows)[cols].itertuples(index=False):
        cells = []
        for c, v in zip(cols, row, strict=True):
            align = "left" if kinds[c] == "text" else "right"
            cells.append(f'<td style="text-align:{align}">{esc(fmt[kinds[c]](v))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="kpi-table" style="border-collapse:collapse"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def clear_output_widget(out: W.Output) -> None:
    """Empty an Output widget (in a kernel and outside one, where ``clear_output`` alone keeps ``outputs``)."""
    out.clear_output()
    out.outputs = ()


def show_figure(out: W.Output, fig: Any) -> None:
    """Draw a plotly figure into an Output widget (skipped headless: no one looks at it)."""
    clear_output_widget(out)
    if headless() or fig is None:
        return
    with out:
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


def language_toggle(lang: str) -> W.ToggleButtons:
    """The 中文 / English switch every panel shows in its top right corner (``set_language`` follows it)."""
    return W.ToggleButtons(options=[("中文", "zh"), ("English", "en")], value=lang, description=label("widget.lang", lang),
                           style={"button_width": "70px"})


class Panel:
    """Base of every panel: ``widget`` is the root box shown by the notebook.

    Displaying a panel shows its widget; the plain-text part of the display (what a headless run
    or a console records) is ``summary()``, e.g. the hint to run `make demo` when data is missing.
    ``_t(key, **fields)`` is the catalog word ``key`` in the panel's language (``self.lang``).
    """

    widget: W.Widget
    title_text: str = ""
    lang: str = "zh"

    def _t(self, key: str, **fields: Any) -> str:
        text = label(key, self.lang)
        return text.format(**fields) if fields else text

    def summary(self) -> str:
        return self.title_text or type(self).__name__

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        self.widget.add_class("kpi-panel")  # the browser test waits for this: the panel is on screen
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        bundle = dict(bundle)
        bundle["text/plain"] = self.summary()
        return bundle


BUSY_AFTER_S = 0.3  # anything slower shows the busy state (it is switched on at once and is cheap)


class ActionBar:
    """Buttons with their own status line right beside them and a busy state while they work.

    ``with bar.busy("widget.busy.saving"):`` disables the bar's buttons (and any ``also`` controls),
    shows a spinner and "working…" next to them, and restores everything afterwards; the outcome
    goes to ``bar.status`` (a :class:`StatusBox` in the same row), so feedback appears where the
    user clicked. ``last_seconds`` keeps the duration of the last busy block (for tests and timing).
    """

    def __init__(self, buttons: list[W.Button], lang: str = "zh", also: Iterable[W.Widget] = ()) -> None:
        self.buttons = list(buttons)
        self.also = list(also)
        self.lang = lang
        self.status = StatusBox()
        self.spinner = W.HTML(value="")
        self.is_busy = False
        self.last_seconds = 0.0
        self.status.widget.layout = W.Layout(margin="0 0 0 8px")
        self.widget = W.HBox([*self.buttons, self.spinner, self.status.widget],
                             layout=W.Layout(align_items="center", flex_flow="row wrap"))

    @contextlib.contextmanager
    def busy(self, key: str = "widget.busy.working") -> Iterator[StatusBox]:
        """Disable the controls and show a spinner with the catalog text ``key`` while the block runs."""
        controls = [*self.buttons, *self.also]
        before = [bool(getattr(w, "disabled", False)) for w in controls]
        for w in controls:
            w.disabled = True
        self.is_busy = True
        self.status.clear()
        self.spinner.value = (f'<span style="color:{_COLORS["info"]}"><i class="fa fa-spinner fa-spin"></i> '
                              f"{esc(label(key, self.lang))}</span>")
        t0 = time.perf_counter()
        try:
            yield self.status
        finally:
            self.last_seconds = time.perf_counter() - t0
            for w, was in zip(controls, before, strict=True):
                w.disabled = was
            self.spinner.value = ""
            self.is_busy = False


def details_accordion(title_key: str, lines: Iterable[str], lang: str = "zh", **fields: Any) -> W.Accordion:
    """A collapsed "details" section for technical text (file paths, module names, raw messages)."""
    body = W.HTML('<pre style="font-size:12px;white-space:pre-wrap">' + esc("\n".join(lines)) + "</pre>")
    acc = W.Accordion(children=[body], selected_index=None)
    title = label(title_key, lang)
    acc.set_title(0, title.format(**fields) if fields else title)
    acc.add_class("kpi-details")  # technical text on purpose: the label scan skips its body
    return acc
