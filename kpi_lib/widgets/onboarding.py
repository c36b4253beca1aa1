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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as W
import pandas as pd

from .. import paths
from ..errors import KpiError
from .common import Panel, StatusBox, df_html, esc, issues_html, message_html

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
    from ..ingest.pipeline import discover

    return [f for _s, f in discover(raw)]


def header_columns(path: Path) -> list[str]:
    """Column names of a delimited or xlsx export (first non-preamble line), for the mapping dropdowns."""
    import csv

    from ..ingest.base import file_head

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
        self.status = StatusBox()
        self.recognised: list[str] = []
        self.columns: list[str] = []
        self.preview_frame: pd.DataFrame = pd.DataFrame()
        self.preview_issues: list[str] = []
        self.summary_data: Any = None
        self.field_dropdowns: dict[str, W.Dropdown] = {}
        self._auto_name = ""

        files = raw_files()
        raw = paths.raw_dir()
        self.file = W.Dropdown(options=[("—", "")] + [(str(f.relative_to(raw)), str(f)) for f in files],
                               description="Raw file", layout=W.Layout(width="560px"))
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

        self.file.observe(lambda ch: self.select_file(ch["new"]) if ch["new"] else None, names="value")
        self.path_text.observe(lambda ch: self.select_file(ch["new"]) if ch["new"] else None, names="value")
        self.table.observe(lambda _c: self._build_field_dropdowns(), names="value")
        for w in (self.date_format, self.decimal, self.encoding, self.store_id, self.currency_column,
                  self.status_map, self.fees_text, self.refund_column, self.amount_sign):
            w.observe(lambda _c: self.preview_mapping(), names="value")
        self.preview_button.on_click(lambda _b: self.preview_mapping())
        self.save_button.on_click(lambda _b: self.save_mapping())
        self.ingest_button.on_click(lambda _b: self.run_ingest())

        intro = [] if files else [W.HTML(message_html(
            f"No raw files under {raw}. Put exports in data/raw/<store_id>/ or run `make demo` to generate "
            "the demo company's exports.", "warn"))]
        self.widget = W.VBox([
            W.HTML("<h3>Data onboarding</h3>"), *intro,
            W.HTML("<b>1. Pick a file</b>"), self.file, self.path_text, self.recognition, self.head_view,
            W.HTML("<b>2. Map columns (for an export no reader recognises)</b>"),
            W.HBox([self.table, self.store_id, self.mapping_name]),
            W.HBox([self.date_format, self.decimal, self.encoding]),
            self.fields_box, W.HBox([self.currency_column, self.refund_column]),
            W.HBox([self.status_map, self.fees_text]), self.amount_sign,
            W.HBox([self.preview_button, self.save_button]), self.preview_view,
            W.HTML("<b>3. Ingest</b>"), self.ingest_button, self.status.widget, self.summary_view,
        ])
        self._build_field_dropdowns()

    def summary(self) -> str:
        n = len(self.file.options) - 1
        hint = "" if n else " — no raw files yet: run `make demo` or put exports in data/raw/<store_id>/"
        return f"Data onboarding: {n} raw file(s){hint}"

    # -- step 1 ------------------------------------------------------------------------------
    def _store_options(self) -> list[tuple[str, str]]:
        from .data import stores_frame

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
        self._build_field_dropdowns()
        return out

    def recognise(self, path: Path | None = None) -> list[str]:
        """Names of the readers whose sniff accepts the file (mapping readers included)."""
        from ..ingest.base import file_head, readers

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
        from ..ingest.readers.mapping import table_fields

        return [c for c in table_fields(self.table.value) if c != "currency"]

    def required_fields(self) -> set[str]:
        """Fields that must be mapped for the target table (fees listed in "Fees" replace amount/fee type)."""
        from ..ingest.readers.mapping import required_fields

        req = set(required_fields(self.table.value))
        if self.table.value == "fees" and _pairs(self.fees_text.value):
            req -= {"amount", "fee_type"}
        return req

    def _build_field_dropdowns(self) -> None:
        opts = [("—", NONE)] + [(c, c) for c in self.columns]
        req = self.required_fields()
        old = {k: d.value for k, d in self.field_dropdowns.items()}
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
        keep_c, keep_r = self.currency_column.value, self.refund_column.value
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
            from ..ingest.base import file_head

            head = file_head(p)
            import csv

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
        from . import _mapping_api

        missing = sorted(f for f in self.required_fields() if not self.field_dropdowns[f].value)
        try:
            frame, issues = _mapping_api.preview(p, self.mapping_dict(), self._store_record())
        except KpiError as exc:
            frame, issues = pd.DataFrame(), [str(i) for i in (getattr(exc, "issues", None) or [str(exc)])]
        if missing:
            issues = [f"required field {f} is not mapped" for f in missing] + list(issues)
        self.preview_frame, self.preview_issues = frame, list(issues)
        self.preview_view.value = (issues_html(self.preview_issues, "Issues") if self.preview_issues
                                   else message_html("✔ no issues in the preview", "ok")) + df_html(frame, 10)
        return frame

    def _store_record(self) -> dict[str, Any] | None:
        from .data import stores_frame

        if not self.store_id.value:
            return None
        st = stores_frame(None)
        row = st[st["store_id"].astype(str) == self.store_id.value]
        return None if row.empty else row.iloc[0].to_dict()

    def save_mapping(self) -> Path | None:
        """Validate and write parameters/mappings/<name>.yaml (nothing written when invalid)."""
        from . import _mapping_api

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
            out = _mapping_api.save(self.mapping_dict(), target)
        except KpiError as exc:
            self.status.from_exception(exc, "Not saved: ")
            return None
        self.status.ok(f"Saved mapping {out}; ingest will now recognise files with this header.")
        if self.path is not None:
            self.recognise(self.path)
        return out

    # -- step 3: ingest ----------------------------------------------------------------------
    def run_ingest(self) -> Any:
        from ..ingest.pipeline import ingest

        self.status.info("Ingesting…")
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
        if n_err:
            self.status.error(msg + f"; {n_err} file(s) could not be read",
                              [f"{f.path}: {f.error}" for f in summary.errors])
        else:
            self.status.ok(msg + ".")
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
