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

Size (≈610 lines): one panel's five steps (pick/upload, recognise, map, preview, save and ingest)
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
from ..errors import ConfigError, KpiError
from ..ingest.base import file_head, readers
from ..ingest.pipeline import discover, ingest
from ..ingest.readers.mapping import reader_from_mapping, required_fields, table_fields
from . import mapping_api
from .common import ActionBar, Panel, df_html, esc, issues_html, message_html
from .data import stores_frame

_SAFE_NAME = re.compile(r"^[^/\\:*?\"<>|\x00-\x1f]+$")

NONE = ""
# the canonical tables a mapping may fill (the mapping reader's list); orders also carry fees and refunds
MAPPING_TABLES = ["orders", "fees", "refunds", "ads", "traffic", "inventory"]
FEE_TYPES_HINT = "one per line: source column = fee type (referral, payment, shipping_label, other…)"
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
        raise ConfigError(f"upload: choose the store the file belongs to (got {store!r})")
    if not name or name.startswith((".", "_", "~$")) or not _SAFE_NAME.match(name):
        raise ConfigError(f"upload: {name!r} is not a usable file name (no leading dot or underscore)")
    folder = raw / store
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / name
    if dest.exists():
        raise ConfigError(f"upload: {store}/{name} already exists; rename the file or remove the old one first")
    tmp = folder / f".upload-{uuid.uuid4().hex}"
    try:
        with tmp.open("wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, dest)
        except FileExistsError:
            raise ConfigError(f"upload: {store}/{name} already exists; rename the file or remove the old one "
                              "first") from None
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

    def __init__(self) -> None:
        self.recognised: list[str] = []
        self.columns: list[str] = []
        self.preview_frame: pd.DataFrame = pd.DataFrame()
        self.preview_issues: list[str] = []
        self.summary_data: Any = None
        self.field_dropdowns: dict[str, W.Dropdown] = {}
        self._auto_name = ""

        self.by_store = files_by_store()
        files = [f for fs in self.by_store.values() for f in fs]
        self.store_folder = W.Dropdown(description="Store folder", layout=W.Layout(width="360px"))
        self.file = W.Dropdown(options=[("—", "")], description="Raw file", layout=W.Layout(width="560px"))
        self._fill_store_folders()
        self.upload = W.FileUpload(multiple=False, description="Upload a new export")
        self.upload_store = W.Dropdown(options=self._store_options(), description="into store")
        self.upload_bar = ActionBar([], "en", also=[self.upload, self.upload_store])
        self.awaiting_confirmation = False
        self.confirm_button = W.Button(description="Save anyway", button_style="warning", icon="check")
        self.cancel_button = W.Button(description="Cancel", icon="times")
        self.confirm_box = W.HBox([W.HTML(), self.confirm_button, self.cancel_button],
                                  layout=W.Layout(display="none"))
        self.next_button = W.Button(description="Compute KPIs now", button_style="info", icon="calculator",
                                    layout=W.Layout(display="none"))
        self.path_text = W.Text(placeholder="…or type a path to an export", description="Path",
                                layout=W.Layout(width="560px"), continuous_update=False)
        self.recognition = W.HTML()
        self.head_view = W.HTML()

        self.table = W.Dropdown(options=MAPPING_TABLES, value="orders", description="Table")
        self.store_id = W.Dropdown(options=self._store_options(), description="Store")
        self.date_format = W.Text(value="", placeholder="auto, or e.g. %Y/%m/%d %H:%M", description="Date format")
        self.decimal = W.Dropdown(options=[("auto", "auto"), (". (1,234.56)", "."), (", (1.234,56)", ",")],
                                  value="auto", description="Decimal")
        self.encoding = W.Dropdown(options=["auto", "utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1"],
                                   value="auto", description="Encoding")
        self.mapping_name = W.Text(placeholder="e.g. erp_orders", description="Name")
        self.currency_column = W.Dropdown(options=[("—", NONE)], description="Currency col.")
        self.status_map = W.Textarea(placeholder="source status = shipped|delivered|pending|cancelled|returned",
                                     description="Status map", layout=W.Layout(width="420px", height="110px"))
        self.fees_text = W.Textarea(placeholder=FEE_TYPES_HINT, description="Fees", layout=W.Layout(width="420px",
                                                                                                      height="70px"))
        self.amount_sign = W.Dropdown(options=[("fees are costs (abs)", "abs"), ("costs are negative", "negate"),
                                               ("as in the file", "as_is")], value="abs", description="Fee sign")
        self.refund_column = W.Dropdown(options=[("—", NONE)], description="Refund col.")
        self.fields_box = W.VBox()
        self.preview_button = W.Button(description="Preview", icon="eye")
        self.save_button = W.Button(description="Save mapping", button_style="primary", icon="save")
        self.preview_view = W.HTML()
        self.ingest_button = W.Button(description="Ingest data/raw", button_style="success", icon="database")
        self.summary_view = W.HTML()
        self.ingest_out = W.Output()
        self.mapping_bar = ActionBar([self.preview_button, self.save_button], "en")
        self.ingest_bar = ActionBar([self.ingest_button, self.next_button], "en")
        self._last_bar = self.ingest_bar

        self.store_folder.observe(lambda ch: self._fill_files(ch["new"]), names="value")
        self.file.observe(lambda ch: self.select_file(ch["new"]) if ch["new"] else None, names="value")
        self.upload.observe(lambda _c: self._uploaded(), names="value")
        self.confirm_button.on_click(lambda _b: self.save_mapping(confirmed=True))
        self.cancel_button.on_click(lambda _b: self._ask_confirmation(False))
        self.next_button.on_click(lambda _b: self.run_next())
        self.path_text.observe(lambda ch: self.select_file(ch["new"]) if ch["new"] else None, names="value")
        self.table.observe(lambda _c: self._build_field_dropdowns(), names="value")
        for w in (self.date_format, self.decimal, self.encoding, self.store_id, self.currency_column,
                  self.status_map, self.fees_text, self.refund_column, self.amount_sign):
            w.observe(lambda _c: self.preview_mapping(), names="value")
        self.preview_button.on_click(lambda _b: self.preview_mapping())
        self.save_button.on_click(lambda _b: self.save_mapping())
        self.ingest_button.on_click(lambda _b: self.run_ingest())

        intro = [] if files else [W.HTML(message_html(
            "No exports yet. Upload one below (it is saved in the store's folder), or run make demo to "
            "generate the demo company's exports.", "warn"))]
        self.widget = W.VBox([
            W.HTML("<h3>Data onboarding</h3>"), *intro,
            W.HTML("<b>1. Pick a file</b> (grouped by store), or upload a new export into a store's folder"),
            W.HBox([self.store_folder, self.file]), self.path_text,
            W.HBox([self.upload_store, self.upload, self.upload_bar.widget]),
            self.recognition, self.head_view,
            W.HTML("<b>2. Map columns (for an export no reader recognises)</b>"),
            W.HBox([self.table, self.store_id, self.mapping_name]),
            W.HBox([self.date_format, self.decimal, self.encoding]),
            self.fields_box, W.HBox([self.currency_column, self.refund_column]),
            W.HBox([self.status_map, self.fees_text]), self.amount_sign,
            self.mapping_bar.widget, self.confirm_box, self.preview_view,
            W.HTML("<b>3. Ingest</b>"), self.ingest_bar.widget, self.summary_view,
        ])
        self._build_field_dropdowns()

    def summary(self) -> str:
        n = sum(len(v) for v in self.by_store.values())
        hint = "" if n else " — no raw files yet: upload one or run make demo"
        return f"Data onboarding: {n} raw file(s) in {len(self.by_store)} store folder(s){hint}"

    # -- files grouped by store, upload ------------------------------------------------------
    def _fill_store_folders(self) -> None:
        keep = self.store_folder.value
        self.store_folder.options = [("—", "")] + [(f"{s} · {len(fs)} file(s)", s) for s, fs in self.by_store.items()]
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
            try:
                dest = save_upload(store, name, content)
            except KpiError as exc:
                status.from_exception(exc, "Not saved: ")
                return None
            self.by_store = files_by_store()
            self._fill_store_folders()
            status.ok(f"Saved {store}/{dest.name}; it is selected below and ingest will read it.")
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
            self.recognition.value = message_html(f"{p}: file not found", "error")
            self.recognised = []
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
            self.recognition.value += message_html(str(exc), "error")
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
        try:
            head = file_head(p)
        except KpiError as exc:
            self.recognised = []
            self.recognition.value = message_html(str(exc), "error")
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
        if names:
            descr = {r.name: r.description for r in readers()}
            items = "".join(f"<li><b>{esc(n)}</b> {esc(descr.get(n, ''))}</li>" for n in names)
            self.recognition.value = (message_html(f"Recognised ({head.encoding or 'xlsx'}):", "ok")
                                      + f"<ul>{items}</ul>" + message_html(
                                          "Ingest will read it with the first reader allowed for its store's "
                                          "platform; no mapping needed.", "info"))
        else:
            self.recognition.value = message_html(
                "No reader recognises this file: map its columns below, preview, and save the mapping.", "warn")
        lines = head.lines[:6] if head.lines else [str(r) for r in (head.xlsx_rows or [])[:6]]
        self.head_view.value = ('<pre style="font-size:11px;max-height:140px;overflow:auto">'
                                + esc("\n".join(line[:200] for line in lines)) + "</pre>")
        return names

    # -- step 2: mapping ---------------------------------------------------------------------
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
        req = self.required_fields()
        old = {} if fresh else {k: d.value for k, d in self.field_dropdowns.items()}
        self.field_dropdowns = {}
        rows = []
        for f in self.canonical_fields():
            guess = old.get(f) if old.get(f) in self.columns else _guess(f, self.columns)
            d = W.Dropdown(options=opts, value=guess or NONE, description=f + (" *" if f in req else ""),
                           style={"description_width": "150px"}, layout=W.Layout(width="420px"))
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
        self.preview_view.value = (issues_html(self.preview_issues, "Issues") if self.preview_issues
                                   else message_html("✔ no issues in the preview", "ok")) + df_html(frame, 10)
        return frame

    def _store_record(self) -> dict[str, Any] | None:
        if not self.store_id.value:
            return None
        st = stores_frame(None)
        row = st[st["store_id"].astype(str) == self.store_id.value]
        return None if row.empty else row.iloc[0].to_dict()

    def _ask_confirmation(self, ask: bool, n: int = 0) -> None:
        self.awaiting_confirmation = ask
        self.confirm_box.layout.display = "flex" if ask else "none"
        self.confirm_box.children[0].value = message_html(
            f"The preview has {n} open issue(s) (rows that would be quarantined). Save the mapping anyway?",
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
            self.status.error("Not saved: give the mapping a name.")
            return None
        target = paths.parameters_dir() / "mappings" / f"{name}.yaml"
        missing = sorted(f for f in self.required_fields() if not self.field_dropdowns[f].value)
        if missing:
            self.status.error("Not saved: map the required fields first", [f"{f} is required" for f in missing])
            return None
        try:
            reader_from_mapping(self.mapping_dict())  # an invalid mapping is refused before any question
        except KpiError as exc:
            self._ask_confirmation(False)
            self.status.from_exception(exc, "Not saved: ")
            return None
        self.preview_mapping()
        if self.preview_issues and not confirmed:
            self._ask_confirmation(True, len(self.preview_issues))
            self.status.warn("Not saved yet: confirm above or fix the issues first.")
            return None
        self._ask_confirmation(False)
        try:
            out = mapping_api.save(self.mapping_dict(), target)
        except KpiError as exc:
            self.status.from_exception(exc, "Not saved: ")
            return None
        self.status.ok(f"Saved mapping {out}; ingest will now recognise files with this header.")
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
                status.from_exception(exc, "Compute failed: ")
                return None
            self.next_button.layout.display = "none"
            status.ok("KPIs computed: the other notebooks (targets, costs, contracts, reports) now show the new data.")
            return out

    def _run_ingest(self) -> Any:
        try:
            summary = ingest(paths.raw_dir())
        except KpiError as exc:
            self.status.from_exception(exc, "Ingest failed: ")
            return None
        self.summary_data = summary
        rows = []
        for f in summary.files:
            rec = f.reconciliation or {}
            rows.append({"file": f.path, "store": f.store_id, "reader": f.reader, "read": f.rows_read,
                         "loaded": f.rows_loaded, "quarantined": f.rows_quarantined, "duplicate": f.rows_duplicate,
                         "difference": rec.get("difference"), "error": f.error or ""})
        df = pd.DataFrame(rows)
        self.summary_view.value = df_html(df, max_rows=200)
        n_err = len(summary.errors)
        msg = (f"Ingested {len(summary.files)} file(s) into {summary.warehouse}: "
               f"{int(df['loaded'].sum()) if len(df) else 0} rows loaded, {summary.quarantined} quarantined")
        nxt = " Next: compute KPIs (button beside Ingest, or kpi compute in a terminal)."
        if n_err:
            self.status.error(msg + f"; {n_err} file(s) could not be read." + nxt,
                              [f"{f.path}: {f.error}" for f in summary.errors])
        else:
            self.status.ok(msg + "." + nxt)
        self.next_button.layout.display = "inline-flex"
        return summary


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
