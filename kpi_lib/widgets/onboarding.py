"""Data onboarding: which reader recognises a raw export, column mapping for new exports, ingest.

1. Pick a file under data/raw/<store_id>/ (dropdown) or type a path.
2. ``recognise()`` sniffs it with every registered reader (``ingest.base.readers`` + ``file_head``),
   the way ingest will (by header and content, never the name).
3. If no reader does, pick the target table (orders, fees, refunds, ads, traffic, inventory) and map
   its columns to that table's canonical fields with dropdowns; the mapping reader's
   ``preview`` parses the first rows with the mapping as it is edited and lists what would be
   quarantined and why.
4. ``save_mapping()`` writes parameters/mappings/<name>.yaml through the mapping module's
   validating save (an invalid mapping writes nothing).
5. ``run_ingest()`` calls ``ingest.pipeline.ingest`` and shows the per-file summary.

Size (≈760 lines): one panel's five steps (pick/upload, recognise, map, preview, save and ingest)
share the selected file and mapping; the mapping logic itself is kpi_lib.ingest.readers.mapping.
"""

from __future__ import annotations

import csv
import os
import re
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import ipywidgets as W
import pandas as pd

from .. import paths
from ..compute import run_compute
from ..config import workbench
from ..errors import ConfigError, KpiError
from ..ingest.base import file_head, readers
from ..ingest.pipeline import discover, ingest
from ..ingest.readers.mapping import reader_from_mapping, required_fields, table_fields
from ..labels import has_label, label
from . import mapping_api
from .common import (
    ActionBar,
    Panel,
    details_accordion,
    esc,
    issues_html,
    language_toggle,
    message_html,
    table_html,
)
from .data import stores_frame

_SAFE_NAME = re.compile(r"^[^/\\:*?\"<>|\x00-\x1f]+$")

NONE = ""
# the canonical tables a mapping may fill (the mapping reader's list); orders also carry fees and refunds
MAPPING_TABLES = ["orders", "fees", "refunds", "ads", "traffic", "inventory"]
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1"]
SIGNS = ["abs", "negate", "as_is"]
STATUS_CODES = ["shipped", "delivered", "pending", "cancelled", "returned"]
FEE_CODES = ["referral", "fulfillment", "storage", "advertising", "refund", "return_processing", "shipping_label",
             "promotion", "payment", "subscription", "other"]
SUMMARY_COLS = ["file", "store", "reader", "read", "loaded", "quarantined", "duplicate", "difference", "error"]


class UploadError(ConfigError):
    """An upload refused; ``key`` names the reason in the label catalog (``widget.onb.<key>``)."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key
STATUS_GUESS = {
    "已完成": "delivered", "已签收": "delivered", "交易成功": "delivered", "已发货": "shipped", "待发货": "pending",
    "待付款": "pending", "已取消": "cancelled", "交易关闭": "cancelled", "已退款": "returned", "退货": "returned",
    "completed": "delivered", "delivered": "delivered", "shipped": "shipped", "pending": "pending",
    "cancelled": "cancelled", "canceled": "cancelled", "returned": "returned", "refunded": "returned",
}


def raw_files(raw: Path | None = None) -> list[Path]:
    """Files under data/raw/<store_id>/**, as ingest discovers them."""
    raw = raw or paths.raw_dir()
    if not raw.is_dir():
        return []
    return [f for _s, f in discover(raw)]


def files_by_store(raw: Path | None = None) -> dict[str, list[Path]]:
    """Raw files grouped by their store folder (data/raw/<store_id>/…), stores and files sorted."""
    raw = raw or paths.raw_dir()
    out: dict[str, list[Path]] = defaultdict(list)
    if raw.is_dir():
        for store, f in discover(raw):
            out[store].append(f)
    return dict(sorted(out.items()))


def save_upload(store: str, name: str, content: bytes, raw: Path | None = None) -> Path:
    """Write an uploaded export to data/raw/<store>/<name> atomically; refuse a name that exists.

    The bytes go to a hidden temporary file in the same folder (ingest skips hidden names), which is
    then hard-linked to the final name, an operation that fails when the name exists, so a file is
    never overwritten and never seen half-written.
    """
    raw = raw or paths.raw_dir()
    store, name = store.strip(), Path(name).name.strip()
    if not store or store.startswith((".", "_")) or not _SAFE_NAME.match(store):
        raise UploadError(f"upload: choose the store the file belongs to (got {store!r})", "upload_store_missing")
    if not name or name.startswith((".", "_", "~$")) or not _SAFE_NAME.match(name):
        raise UploadError(f"upload: {name!r} is not a usable file name (no leading dot or underscore)",
                          "upload_bad_name")
    folder = raw / store
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / name
    if dest.exists():
        raise UploadError(f"upload: {store}/{name} already exists; rename the file or remove the old one first",
                          "upload_exists")
    tmp = folder / f".upload-{uuid.uuid4().hex}"
    try:
        with tmp.open("wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, dest)
        except FileExistsError:
            raise UploadError(f"upload: {store}/{name} already exists; rename the file or remove the old one "
                              "first", "upload_exists") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def header_columns(path: Path) -> list[str]:
    """Column names of a delimited or xlsx export (first non-preamble line), for the mapping dropdowns."""
    head = file_head(path)
    if head.xlsx_rows:
        for row in head.xlsx_rows:
            cells = [str(c).strip() for c in row if c not in (None, "")]
            if len(cells) >= 2:
                return cells
        return []
    best: list[str] = []
    for line in head.lines[:30]:
        if not line.strip():
            continue
        try:
            dialect = csv.Sniffer().sniff(line, delimiters=",\t;|")
            cells = next(csv.reader([line], dialect))
        except (csv.Error, StopIteration):
            cells = [line]
        cells = [c.strip().lstrip("\ufeff") for c in cells]
        if len(cells) > len(best):
            best = cells
        if len(cells) >= 3:
            return cells
    return best


class DataOnboarding(Panel):
    """Main methods: ``select_file``, ``recognise``, ``mapping_dict``, ``preview_mapping``,
    ``save_mapping``, ``run_ingest``."""

    title_text = "Data onboarding"

    def __init__(self, lang: str | None = None) -> None:
        self.lang = lang or workbench().default_language
        self.recognised: list[str] = []
        self.columns: list[str] = []
        self.preview_frame: pd.DataFrame = pd.DataFrame()
        self.preview_issues: list[str] = []
        self.summary_data: Any = None
        self.field_dropdowns: dict[str, W.Dropdown] = {}
        self._auto_name = ""
        self._head_lines: list[str] = []

        self.by_store = files_by_store()
        files = [f for fs in self.by_store.values() for f in fs]
        self.language = language_toggle(self.lang)
        self.header = W.HTML()
        self.steps = {k: W.HTML() for k in ("step1", "step2", "step3")}
        self.where = W.HTML()
        self.store_folder = W.Dropdown(layout=W.Layout(width="360px"))
        self.file = W.Dropdown(options=[("—", "")], layout=W.Layout(width="560px"))
        self._fill_store_folders()
        self.upload = W.FileUpload(multiple=False)
        self.upload_store = W.Dropdown(options=self._store_options())
        self.upload_bar = ActionBar([], self.lang, also=[self.upload, self.upload_store])
        self.awaiting_confirmation = False
        self.confirm_button = W.Button(button_style="warning", icon="check")
        self.cancel_button = W.Button(icon="times")
        self.confirm_box = W.HBox([W.HTML(), self.confirm_button, self.cancel_button],
                                  layout=W.Layout(display="none"))
        self.next_button = W.Button(button_style="info", icon="calculator", layout=W.Layout(display="none"))
        self.path_text = W.Text(layout=W.Layout(width="560px"), continuous_update=False)
        self.recognition = W.HTML()
        self.recognition_details = W.VBox()
        self.head_view = W.HTML()
        self.show_mapping = W.ToggleButton(value=False, icon="table", layout=W.Layout(display="none"))
        self.mapping_section = W.VBox()

        self.table = W.Dropdown(options=MAPPING_TABLES, value="orders")
        self.store_id = W.Dropdown(options=self._store_options())
        self.date_format = W.Text(value="")
        self.decimal = W.Dropdown(options=[("auto", "auto"), (". (1,234.56)", "."), (", (1.234,56)", ",")],
                                  value="auto")
        self.encoding = W.Dropdown(options=["auto", *ENCODINGS], value="auto")
        self.mapping_name = W.Text()
        self.currency_column = W.Dropdown(options=[("—", NONE)])
        self.status_map = W.Textarea(layout=W.Layout(width="420px", height="110px"))
        self.fees_text = W.Textarea(layout=W.Layout(width="420px", height="70px"))
        self.amount_sign = W.Dropdown(options=SIGNS, value="abs")
        self.refund_column = W.Dropdown(options=[("—", NONE)])
        self.codes = W.VBox()
        self.required_note = W.HTML()
        self.fields_box = W.VBox()
        self.preview_button = W.Button(icon="eye")
        self.save_button = W.Button(button_style="primary", icon="save")
        self.preview_view = W.HTML()
        self.preview_details = W.VBox()
        self.ingest_button = W.Button(button_style="success", icon="database")
        self.summary_view = W.HTML()
        self.action_details = W.VBox()
        self.ingest_out = W.Output()
        self.mapping_bar = ActionBar([self.preview_button, self.save_button], self.lang)
        self.ingest_bar = ActionBar([self.ingest_button, self.next_button], self.lang)
        self._last_bar = self.ingest_bar
        for w in (self.store_folder, self.file, self.upload_store, self.store_id, self.currency_column,
                  self.refund_column):
            w.data_values = True  # store ids, file names and the file's own column names are the user's data
        self._quiet = False
        self._set_words()

        self.language.observe(lambda ch: self.set_language(ch["new"]), names="value")
        self.store_folder.observe(lambda ch: self._quiet or self._fill_files(ch["new"]), names="value")
        self.file.observe(lambda ch: self.select_file(ch["new"]) if ch["new"] and not self._quiet else None,
                          names="value")
        self.upload.observe(lambda _c: self._uploaded(), names="value")
        self.confirm_button.on_click(lambda _b: self.save_mapping(confirmed=True))
        self.cancel_button.on_click(lambda _b: self._ask_confirmation(False))
        self.next_button.on_click(lambda _b: self.run_next())
        self.path_text.observe(lambda ch: self.select_file(ch["new"]) if ch["new"] else None, names="value")
        self.table.observe(lambda _c: self._quiet or self._build_field_dropdowns(), names="value")
        for w in (self.date_format, self.decimal, self.encoding, self.store_id, self.currency_column,
                  self.status_map, self.fees_text, self.refund_column, self.amount_sign):
            w.observe(lambda _c: self._quiet or self.preview_mapping(), names="value")
        self.show_mapping.observe(lambda _c: self._mapping_visibility(), names="value")
        self.preview_button.on_click(lambda _b: self.preview_mapping())
        self.save_button.on_click(lambda _b: self.save_mapping())
        self.ingest_button.on_click(lambda _b: self.run_ingest())

        self.intro = W.HTML(message_html(self._t("widget.onb.no_files"), "warn") if not files else "")
        self.widget = W.VBox([
            W.HBox([self.header, self.language], layout=W.Layout(justify_content="space-between")), self.intro,
            self.steps["step1"], self.where,
            W.HBox([self.store_folder, self.file]), self.path_text,
            W.HBox([self.upload_store, self.upload, self.upload_bar.widget]),
            self.recognition, self.recognition_details, self.head_view,
            self.steps["step2"], self.show_mapping, self.mapping_section,
            self.steps["step3"], self.ingest_bar.widget, self.action_details, self.summary_view,
        ])
        self.mapping_section.children = (
            W.HBox([self.table, self.store_id, self.mapping_name]),
            W.HBox([self.date_format, self.decimal, self.encoding]),
            self.required_note, self.fields_box, W.HBox([self.currency_column, self.refund_column]),
            W.HBox([self.status_map, self.fees_text]), self.codes, self.amount_sign,
            self.mapping_bar.widget, self.confirm_box, self.preview_view, self.preview_details)
        self._build_field_dropdowns()

    def summary(self) -> str:
        n = sum(len(v) for v in self.by_store.values())
        if not n:
            return self._t("widget.onb.summary_empty")
        return self._t("widget.onb.summary", n=n, s=len(self.by_store))

    # -- language ----------------------------------------------------------------------------
    def _set_words(self) -> None:
        """Every control's words in ``self.lang`` (values kept)."""
        t = self._t
        self.header.value = f"<h3>{esc(t('widget.onb.title'))}</h3>"
        self.language.description = t("widget.lang")
        for k, w in self.steps.items():
            w.value = f"<b>{esc(t(f'widget.onb.{k}'))}</b>"
        self.where.value = f"<small>{esc(t('widget.onb.where'))}</small>"
        for w, key in ((self.store_folder, "store_folder"), (self.file, "file"), (self.upload, "upload"),
                       (self.upload_store, "upload_store"), (self.path_text, "path"), (self.table, "table"),
                       (self.store_id, "store"), (self.date_format, "date_format"), (self.decimal, "decimal"),
                       (self.encoding, "encoding"), (self.mapping_name, "name"),
                       (self.currency_column, "currency_column"), (self.status_map, "status_map"),
                       (self.fees_text, "fees_text"), (self.amount_sign, "amount_sign"),
                       (self.refund_column, "refund_column"), (self.confirm_button, "confirm"),
                       (self.cancel_button, "cancel"), (self.next_button, "next"),
                       (self.preview_button, "preview"), (self.save_button, "save"), (self.ingest_button, "ingest"),
                       (self.show_mapping, "show_mapping")):
            w.description = t(f"widget.onb.{key}")
        self.path_text.placeholder = t("widget.onb.path_placeholder")
        self.mapping_name.placeholder = t("widget.onb.name_placeholder")
        self.date_format.placeholder = t("widget.onb.date_placeholder")
        self.status_map.placeholder = t("widget.onb.status_placeholder")
        self.fees_text.placeholder = t("widget.onb.fees_placeholder")
        self.required_note.value = f"<small>{esc(t('widget.onb.required_note'))}</small>"
        was, self._quiet = self._quiet, True
        try:
            for w, opts in ((self.table, [(t(f"widget.onb.table.{k}"), k) for k in MAPPING_TABLES]),
                            (self.encoding, [(t("widget.onb.auto"), "auto")]
                             + [(t(f"widget.onb.enc.{k}"), k) for k in ENCODINGS]),
                            (self.decimal, [(t("widget.onb.auto"), "auto"), (". (1,234.56)", "."),
                                            (", (1.234,56)", ",")]),
                            (self.amount_sign, [(t(f"widget.onb.sign.{k}"), k) for k in SIGNS])):
                keep = w.value
                w.options = opts
                w.value = keep
            self._fill_store_folders()
        finally:
            self._quiet = was
        self.codes.children = (details_accordion(
            "widget.onb.codes", ["status: " + ", ".join(STATUS_CODES), "fee types: " + ", ".join(FEE_CODES)],
            self.lang),)

    def set_language(self, lang: str) -> None:
        """Switch every label, option, header and message between zh and en (the selected file is kept)."""
        self.lang = self.upload_bar.lang = self.mapping_bar.lang = self.ingest_bar.lang = lang
        if self.language.value != lang:
            self.language.value = lang
            return
        self._set_words()
        self.intro.value = message_html(self._t("widget.onb.no_files"), "warn") if self.intro.value else ""
        for f, d in self.field_dropdowns.items():
            d.description = self._field_label(f)
        if self.path is not None and self.path.is_file():
            self.recognise(self.path)
            self.preview_mapping()

    def _field_label(self, field: str) -> str:
        return label(f"widget.field.{field}", self.lang) + (" *" if field in self.required_fields() else "")

    # -- files grouped by store, upload ------------------------------------------------------
    def _fill_store_folders(self) -> None:
        keep = self.store_folder.value
        self.store_folder.options = [("—", "")] + [(self._t("widget.onb.folder_option", store=s, n=len(fs)), s)
                                                   for s, fs in self.by_store.items()]
        self.store_folder.value = keep if keep in self.by_store else ""
        self._fill_files(self.store_folder.value)

    def _fill_files(self, store: str) -> None:
        files = self.by_store.get(store or "", [])
        base = paths.raw_dir() / (store or "")
        self.file.options = [("—", "")] + [(str(f.relative_to(base)), str(f)) for f in files]

    def choose(self, path: Path | str) -> None:
        """Select a raw file by path: its store folder first, then the file."""
        p = Path(path)
        store = next((s for s, fs in self.by_store.items() if p in fs), "")
        self.store_folder.value = store
        self.file.value = str(p) if store else ""

    def _uploaded(self) -> None:
        items = list(self.upload.value or ())
        if not items:
            return
        item = items[0]
        self.upload_file(str(item["name"]), bytes(item["content"]), self.upload_store.value)

    def upload_file(self, name: str, content: bytes, store: str) -> Path | None:
        """Save an uploaded export into data/raw/<store>/ (atomic, never overwrites) and select it."""
        self._last_bar = self.upload_bar
        with self.upload_bar.busy("widget.busy.saving") as status:
            self.action_details.children = ()
            try:
                dest = save_upload(store, name, content)
            except KpiError as exc:
                why = self._t(f"widget.onb.{exc.key}") if isinstance(exc, UploadError) else ""
                status.error(f"{self._t('widget.onb.upload_failed')}: {why}" if why else
                             self._t("widget.onb.upload_failed"))
                self._tech([str(exc)])
                return None
            self.by_store = files_by_store()
            self._fill_store_folders()
            status.ok(self._t("widget.onb.uploaded", store=store, name=dest.name))
        self.choose(dest)
        return dest

    # -- step 1 ------------------------------------------------------------------------------
    def _store_options(self) -> list[tuple[str, str]]:
        try:
            st = stores_frame(None)
        except (KpiError, OSError, ValueError):
            return [("—", "")]
        return [("—", "")] + [(s, s) for s in st.get("store_id", pd.Series(dtype=str)).astype(str)]

    @property
    def path(self) -> Path | None:
        text = (self.path_text.value or "").strip()
        if text:
            p = Path(text).expanduser()
            return p if p.is_absolute() else paths.root() / p
        return Path(self.file.value) if self.file.value else None

    def select_file(self, value: str | None = None) -> list[str]:
        p = self.path
        if p is None:
            return []
        if not p.is_file():
            self.recognition.value = message_html(self._t("widget.onb.not_found"), "error")
            self.recognition_details.children = (details_accordion("widget.details", [str(p)], self.lang),)
            self.head_view.value = ""
            self.recognised = []
            self._mapping_visibility()
            return []
        try:
            rel = p.resolve().relative_to(paths.raw_dir().resolve())
            store = rel.parts[0] if len(rel.parts) > 1 else ""
        except ValueError:
            store = ""
        if store and store in [v for _l, v in self.store_id.options]:
            self.store_id.value = store
        if not self.mapping_name.value or self.mapping_name.value == self._auto_name:
            self._auto_name = self.mapping_name.value = "".join(c if c.isalnum() else "_" for c in p.stem.lower()).strip("_")[:40]
        out = self.recognise(p)
        try:
            self.columns = header_columns(p)
        except KpiError as exc:
            self.columns = []
            self.recognition.value += message_html(self._t("widget.onb.unreadable"), "error")
            self.recognition_details.children = (details_accordion("widget.details", [str(p), str(exc)], self.lang),)
        # a new file starts from fresh guesses: nothing of the previous file's mapping is kept
        self.status_map.value = ""
        self.fees_text.value = ""
        self._ask_confirmation(False)
        self._build_field_dropdowns(fresh=True)
        return out

    def recognise(self, path: Path | None = None) -> list[str]:
        """Names of the readers whose sniff accepts the file (mapping readers included)."""
        p = path or self.path
        if p is None:
            return []
        self.recognition_details.children = ()
        try:
            head = file_head(p)
        except KpiError as exc:
            self.recognised = []
            self._mapping_visibility()
            self.recognition.value = message_html(self._t("widget.onb.unreadable"), "error")
            self.recognition_details.children = (details_accordion("widget.details", [str(p), str(exc)], self.lang),)
            return []
        names = []
        for r in readers():
            try:
                ok = bool(r.sniff(head))
            except Exception:  # noqa: BLE001 - a failing sniffer means "not mine" (as in ingest)
                ok = False
            if ok:
                names.append(r.name)
        self.recognised = names
        self.show_mapping.value = False  # a new file starts with the form hidden when a reader knows it
        self._mapping_visibility()
        tech = [str(p), f"encoding: {head.encoding or 'xlsx'}"]
        if names:
            descr = {r.name: r.description for r in readers()}
            self.recognition.value = message_html(self._t("widget.onb.recognised"), "ok")
            tech += [f"{n}: {descr.get(n, '')}" for n in names]
        else:
            self.recognition.value = message_html(self._t("widget.onb.not_recognised"), "warn")
        self.recognition_details.children = (details_accordion("widget.details", tech, self.lang),)
        lines = head.lines[:6] if head.lines else [" | ".join(str(c) for c in r if c is not None)
                                                   for r in (head.xlsx_rows or [])[:6]]
        rows = "".join(f'<tr><td style="font-family:monospace;font-size:11px;white-space:pre">{esc(line[:200])}</td></tr>'
                       for line in lines)  # the file's own text: data, shown as it is
        self.head_view.value = (f"<small>{esc(self._t('widget.onb.head'))}</small>"
                                f'<div style="max-height:140px;overflow:auto"><table>{rows}</table></div>')
        return names

    # -- step 2: mapping ---------------------------------------------------------------------
    def mapping_shown(self) -> bool:
        """Whether the mapping form is on screen: always for a file no reader knows; for a recognised file only
        after "show mapping" (it needs none)."""
        return not self.recognised or bool(self.show_mapping.value)

    def _mapping_visibility(self) -> None:
        self.show_mapping.layout.display = "" if self.recognised else "none"
        self.mapping_section.layout.display = "" if self.mapping_shown() else "none"

    def canonical_fields(self) -> list[str]:
        """The target table's fields a mapping may fill (the mapping reader's list, currency apart)."""
        return [c for c in table_fields(self.table.value) if c != "currency"]

    def required_fields(self) -> set[str]:
        """Fields that must be mapped for the target table (fees listed in "Fees" replace amount/fee type)."""
        req = set(required_fields(self.table.value))
        if self.table.value == "fees" and _pairs(self.fees_text.value):
            req -= {"amount", "fee_type"}
        return req

    def _build_field_dropdowns(self, fresh: bool = False) -> None:
        """One dropdown per canonical field; ``fresh`` (a new file) guesses every field again."""
        opts = [("—", NONE)] + [(c, c) for c in self.columns]
        old = {} if fresh else {k: d.value for k, d in self.field_dropdowns.items()}
        self.field_dropdowns = {}
        rows = []
        for f in self.canonical_fields():
            guess = old.get(f) if old.get(f) in self.columns else _guess(f, self.columns)
            d = W.Dropdown(options=opts, value=guess or NONE, description=self._field_label(f),
                           style={"description_width": "150px"}, layout=W.Layout(width="420px"))
            d.data_values = True  # the options are the file's own column names
            d.observe(lambda _c: self.preview_mapping(), names="value")
            self.field_dropdowns[f] = d
            rows.append(d)
        self.fields_box.children = rows
        keep_c, keep_r = (NONE, NONE) if fresh else (self.currency_column.value, self.refund_column.value)
        self.currency_column.options = opts
        self.currency_column.value = keep_c if keep_c in self.columns else (_guess("currency", self.columns) or NONE)
        self.refund_column.options = opts
        self.refund_column.value = keep_r if keep_r in self.columns else (_guess("refund", self.columns) or NONE)
        if not self.status_map.value.strip() and self.table.value == "orders":
            self.status_map.value = self._guess_status_map()

    def _guess_status_map(self) -> str:
        """'source = canonical' lines for the status values seen in the file's first rows."""
        col = self.field_dropdowns.get("status")
        p = self.path
        if col is None or not col.value or p is None:
            return ""
        try:
            head = file_head(p)
            lines = [ln for ln in head.lines if ln.strip()]
            rows = list(csv.reader(lines, delimiter="\t" if "\t" in lines[0] else ","))
            i = [c.strip().lstrip("\ufeff") for c in rows[0]].index(col.value)
            values = sorted({r[i].strip() for r in rows[1:] if len(r) > i and r[i].strip()})
        except (KpiError, ValueError, IndexError, OSError):
            return ""
        return "\n".join(f"{v} = {STATUS_GUESS.get(v.lower(), STATUS_GUESS.get(v, 'delivered'))}" for v in values)

    def set_field(self, field: str, column: str) -> None:
        self.field_dropdowns[field].value = column

    def mapping_dict(self) -> dict[str, Any]:
        """The mapping as the mapping reader's YAML expects it (built by the mapping module).

        For ``fees`` the "Status map" box maps fee names to fee types (``Commission = referral``) and
        "Fees" lists fee columns of a wide export; ``refunds`` and the status map are for orders."""
        table = self.table.value
        columns: dict[str, Any] = {f: d.value for f, d in self.field_dropdowns.items() if d.value}
        smap = _pairs(self.status_map.value)
        if table == "orders" and "status" in columns and smap:
            columns["status"] = {"column": columns["status"], "map": smap}
        if table == "fees" and "fee_type" in columns and smap:
            columns["fee_type"] = {"column": columns["fee_type"], "map": smap}
        required = list(dict.fromkeys(c if isinstance(c, str) else c["column"] for c in columns.values()))[:4]
        out: dict[str, Any] = {
            "name": self.mapping_name.value.strip(),
            "description": f"mapping made in the onboarding notebook from {self.path.name if self.path else '?'}",
            "table": self.table.value,
            "detect": {"required_columns": required},
            "columns": columns,
            "decimal": self.decimal.value,
            "encoding": self.encoding.value,
        }
        if self.date_format.value.strip():
            out["date_format"] = self.date_format.value.strip()
        if self.currency_column.value:
            out["currency_column"] = self.currency_column.value
        fees = [{"column": c, "fee_type": t} for c, t in _pairs(self.fees_text.value).items()]
        if fees and table in ("orders", "fees"):
            out["fees"] = fees
        if table == "fees" and self.amount_sign.value != "abs":
            out["amount_sign"] = self.amount_sign.value
        if self.refund_column.value and table == "orders":
            out["refunds"] = {"amount": self.refund_column.value}
        return out

    def preview_mapping(self) -> pd.DataFrame:
        """Parse the first rows with the current mapping; show rows and what would be quarantined."""
        p = self.path
        if p is None or not self.field_dropdowns:
            return self.preview_frame
        missing = sorted(f for f in self.required_fields() if not self.field_dropdowns[f].value)
        try:
            frame, issues = mapping_api.preview(p, self.mapping_dict(), self._store_record())
        except KpiError as exc:
            frame, issues = pd.DataFrame(), [str(i) for i in (getattr(exc, "issues", None) or [str(exc)])]
        if missing:
            issues = [f"required field {f} is not mapped" for f in missing] + list(issues)
        self.preview_frame, self.preview_issues = frame, list(issues)
        said = [self._t("widget.onb.required_missing", field=label(f"widget.field.{f}", self.lang)) for f in missing]
        if self.preview_issues:
            head = message_html(self._t("widget.onb.issues", n=len(self.preview_issues)), "error") + (
                issues_html(said) if said else "")
        else:
            head = message_html(self._t("widget.onb.no_issues"), "ok")
        self.preview_details.children = (details_accordion("widget.details", self.preview_issues, self.lang),
                                         ) if self.preview_issues else ()
        self.preview_view.value = head + self._frame_html(frame)
        return frame

    def _frame_html(self, frame: pd.DataFrame) -> str:
        """The preview rows with the canonical fields' names as headers (cells are the file's data)."""
        if frame.empty:
            return ""
        cols = list(frame.columns)
        kinds = {c: "text" for c in cols}
        heads = {c: label(f"widget.field.{c}", self.lang) if has_label(f"widget.field.{c}") else c for c in cols}
        return table_html(frame.astype(object).where(frame.notna(), None), kinds, heads, "", self.lang, 10)

    def _store_record(self) -> dict[str, Any] | None:
        if not self.store_id.value:
            return None
        st = stores_frame(None)
        row = st[st["store_id"].astype(str) == self.store_id.value]
        return None if row.empty else row.iloc[0].to_dict()

    def _ask_confirmation(self, ask: bool, n: int = 0) -> None:
        self.awaiting_confirmation = ask
        self.confirm_box.layout.display = "flex" if ask else "none"
        self.confirm_box.children[0].value = message_html(self._t("widget.onb.confirm_question", n=n),
                                                          "warn") if ask else ""

    def save_mapping(self, confirmed: bool = False) -> Path | None:
        """Validate and write parameters/mappings/<name>.yaml (nothing written when invalid).

        With open issues in the preview, the first call only asks for confirmation (a "Save anyway"
        button beside the message); ``confirmed=True`` saves."""
        self._last_bar = self.mapping_bar
        with self.mapping_bar.busy("widget.busy.saving"):
            return self._save_mapping(confirmed)

    @property
    def status(self) -> Any:
        """The status line of the last action (each sits beside its own buttons)."""
        return self._last_bar.status

    def _save_mapping(self, confirmed: bool) -> Path | None:
        self._last_bar = self.mapping_bar
        name = self.mapping_name.value.strip()
        if not name:
            self.status.error(self._t("widget.onb.need_name"))
            return None
        target = paths.parameters_dir() / "mappings" / f"{name}.yaml"
        missing = sorted(f for f in self.required_fields() if not self.field_dropdowns[f].value)
        if missing:
            self.status.error(self._t("widget.onb.need_fields"),
                              [self._t("widget.onb.required_missing", field=label(f"widget.field.{f}", self.lang))
                               for f in missing])
            return None
        try:
            reader_from_mapping(self.mapping_dict())  # an invalid mapping is refused before any question
        except KpiError as exc:
            self._ask_confirmation(False)
            self.status.error(self._t("widget.onb.not_saved"), _issues(exc), show_issues=False)
            self._tech(_issues(exc))
            return None
        self.preview_mapping()
        if self.preview_issues and not confirmed:
            self._ask_confirmation(True, len(self.preview_issues))
            self.status.warn(self._t("widget.onb.confirm_first"))
            return None
        self._ask_confirmation(False)
        try:
            out = mapping_api.save(self.mapping_dict(), target)
        except KpiError as exc:
            self.status.error(self._t("widget.onb.not_saved"), _issues(exc), show_issues=False)
            self._tech(_issues(exc))
            return None
        self.status.ok(self._t("widget.onb.saved", name=name))
        self._tech([str(out)])
        if self.path is not None:
            self.recognise(self.path)
        return out

    # -- step 3: ingest ----------------------------------------------------------------------
    def run_ingest(self) -> Any:
        """Ingest data/raw (busy state on the Ingest button), show the summary and what to run next."""
        self._last_bar = self.ingest_bar
        with self.ingest_bar.busy("widget.busy.working"):
            return self._run_ingest()

    def run_next(self) -> dict | None:
        """The step after ingest: compute KPIs, costs, status and alerts (what `kpi compute` does)."""
        self._last_bar = self.ingest_bar
        with self.ingest_bar.busy("widget.busy.computing") as status:
            try:
                out = run_compute()
            except KpiError as exc:
                status.error(self._t("widget.onb.compute_failed"), _issues(exc), show_issues=False)
                self._tech(_issues(exc))
                return None
            self.next_button.layout.display = "none"
            status.ok(self._t("widget.onb.computed"))
            return out

    def _tech(self, lines: list[str]) -> None:
        """Technical text of the last action (paths, raw messages) in the collapsed details section."""
        self.action_details.children = (details_accordion("widget.details", lines, self.lang),) if lines else ()

    def _run_ingest(self) -> Any:
        self.action_details.children = ()
        try:
            summary = ingest(paths.raw_dir())
        except KpiError as exc:
            self.status.error(self._t("widget.onb.ingest_failed"), _issues(exc), show_issues=False)
            self._tech(_issues(exc))
            return None
        self.summary_data = summary
        rows = []
        for f in summary.files:
            rec = f.reconciliation or {}
            rows.append({"file": Path(f.path).name, "store": f.store_id, "reader": f.reader, "read": f.rows_read,
                         "loaded": f.rows_loaded, "quarantined": f.rows_quarantined, "duplicate": f.rows_duplicate,
                         "difference": rec.get("difference"), "error": "✘" if f.error else ""})
        df = pd.DataFrame(rows, columns=SUMMARY_COLS)
        kinds = {c: "text" for c in ("file", "store", "reader", "error")} | {
            c: "int" for c in ("read", "loaded", "quarantined", "duplicate")} | {"difference": "num"}
        kinds = {c: kinds[c] for c in SUMMARY_COLS}
        self.summary_view.value = table_html(df, kinds, {c: self._t(f"widget.onb.col.{c}") for c in SUMMARY_COLS},
                                             "", self.lang, 200)
        n_err = len(summary.errors)
        msg = self._t("widget.onb.ingested", files=len(summary.files),
                      rows=f"{int(df['loaded'].sum()) if len(df) else 0:,}", q=f"{summary.quarantined:,}")
        tech = [f"warehouse: {summary.warehouse}"] + [f"{f.path}: {f.error}" for f in summary.errors]
        if n_err:
            self.status.error(msg + self._t("widget.onb.unreadable_files", n=n_err) + self._t("widget.onb.next_hint"),
                              [f"{f.path}: {f.error}" for f in summary.errors], show_issues=False)
        else:
            self.status.ok(msg + self._t("widget.onb.next_hint"))
        self._tech(tech)
        self.next_button.layout.display = "inline-flex"
        return summary


def _issues(exc: BaseException) -> list[str]:
    return [str(i) for i in (getattr(exc, "issues", None) or [])] or [ln for ln in str(exc).splitlines() if ln.strip()]


def _pairs(text: str) -> dict[str, str]:
    """'a = b' lines → {a: b} (blank lines and lines without '=' are ignored)."""
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            if k.strip() and v.strip():
                out[k.strip()] = v.strip()
    return out


def _guess(field: str, columns: list[str]) -> str:
    """A first guess for a canonical field among the file's columns (exact or known synonyms)."""
    syn = {
        "order_id": ["order id", "order-id", "订单号", "订单编号", "order number", "name"],
        "sku": ["sku", "seller sku", "商品sku", "商品编码", "sku编码", "lineitem sku"],
        "order_date": ["order date", "purchase-date", "date", "下单时间", "付款时间", "订单日期", "created at"],
        "quantity": ["quantity", "qty", "数量", "lineitem quantity"],
        "gross_sales": ["gross sales", "item price", "商品总额", "商品金额", "销售额", "金额", "subtotal"],
        "discounts": ["discounts", "discount", "优惠金额", "折扣"],
        "shipping_charged": ["shipping", "shipping charged", "运费"],
        "ship_date": ["ship date", "发货时间"],
        "status": ["status", "order status", "订单状态"],
        "line_id": ["line id", "order item id", "子订单号"],
        "date": ["date", "日期", "day", "by day", "transaction date", "posted"],
        "amount": ["amount", "金额"],
        "spend": ["spend", "花费", "cost"],
        "currency": ["currency", "币种", "货币"],
        "refund": ["refund", "refunds", "refund amount", "退款金额"],
        "sessions": ["sessions", "访客数", "visitors"],
        "page_views": ["page views", "浏览量", "pageviews"],
        "campaign": ["campaign", "campaign name", "广告活动"],
        "ad_group": ["ad group", "ad group name", "ad set name", "广告组"],
        "impressions": ["impressions", "impression", "曝光量", "展现量"],
        "clicks": ["clicks", "点击量"],
        "ad_sales": ["ad sales", "sales", "revenue", "广告销售额"],
        "ad_orders": ["orders", "conversions", "广告订单"],
        "fee_type": ["fee type", "fee name", "费用类型"],
        "sellable": ["sellable", "available", "可售"],
    }
    norm = {c.strip().lower(): c for c in columns}
    for cand in [field, field.replace("_", " "), *syn.get(field, [])]:
        if cand.lower() in norm:
            return norm[cand.lower()]
    return ""
