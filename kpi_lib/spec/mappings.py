"""parameters/mappings/*.yaml: column mappings that teach the generic reader an export's layout.

Reading files with a mapping is :mod:`kpi_lib.ingest.readers.mapping`; this module holds the
model (which canonical table, which source column feeds which field, fee columns, status maps…),
its load/validate/save. The fields a mapping may fill come from :mod:`kpi_lib.schemas` (the
canonical tables: a data dictionary with no upward imports).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_serializer, model_validator

from ..config import StrictModel
from ..schemas import FEE_TYPES, ORDER_STATUSES, TABLES
from ._base import Context, Issue, Spec, to_plain


class Column(StrictModel):
    """A canonical field read from a source column."""

    column: str | None = Field(None, description="source column header")
    fallback: str | None = Field(None, description="source column used where `column` is empty")
    map: dict[str, str] | None = Field(None, description="value map (e.g. status texts → canonical statuses)")
    default: str | float | None = Field(None, description="value when the column is absent or empty")
    multiply_by: str | None = Field(None, description="multiply by this source column (unit price × quantity)")

    def is_plain(self) -> bool:
        return self.column is not None and not (self.fallback or self.map or self.default is not None or self.multiply_by)

    def __eq__(self, other: object) -> bool:
        """A plain column equals its name (``sku: 商品SKU`` in YAML is ``{column: 商品SKU}``)."""
        if isinstance(other, str):
            return self.is_plain() and self.column == other
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        return self.column if self.is_plain() else handler(self)


class Fee(StrictModel):
    column: str
    fee_type: str
    level: Literal["line", "order"] = "line"
    optional: bool = Field(False, description="the export may lack this column (an older layout): no fee from it then")

    @field_validator("fee_type")
    @classmethod
    def _known_fee_type(cls, v: str) -> str:
        if v not in FEE_TYPES:
            raise ValueError(f"unknown fee_type {v!r}; expected one of {', '.join(FEE_TYPES)}")
        return v


class Refunds(StrictModel):
    amount: str = Field(description="source column with the refunded amount")
    level: Literal["line", "order"] = "line"
    date: str | None = Field(None, description="source column with the refund date (default: order date)")
    multiply_by: str | None = Field(None, description="multiply the amount by this column (unit price × returned qty)")
    quantity: str | None = None
    reason: str | None = None


def _check_statuses(v: dict[str, str]) -> dict[str, str]:
    bad = sorted({x for x in v.values() if x not in ORDER_STATUSES})
    if bad:
        raise ValueError(f"unknown order status(es) {', '.join(bad)}; map to {', '.join(ORDER_STATUSES)}")
    return v


class StatusOverride(StrictModel):
    """A second column that can override the status (e.g. a refund/return status, a financial status)."""

    column: str
    map: dict[str, str] = Field(description="source value → canonical status; other values leave the status alone")
    level: Literal["line", "order"] = Field(
        "line", description="`order`: given on an order's first line only, applies to all its lines")

    @field_validator("map")
    @classmethod
    def _statuses(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_statuses(v)


#: canonical tables a mapping may fill
MAPPABLE_TABLES: tuple[str, ...] = ("orders", "fees", "refunds", "ads", "traffic", "inventory")
CONTEXT_FIELDS = ("platform", "store_id", "marketplace")  # taken from the store, never from the file


def table_fields(table: str) -> tuple[str, ...]:
    """Canonical fields a mapping for ``table`` may fill (orders: also ``unit_price`` × quantity)."""
    cols = tuple(c for c in TABLES[table].columns if c not in CONTEXT_FIELDS)
    return cols + ("unit_price",) if table == "orders" else cols


def required_fields(table: str) -> tuple[str, ...]:
    """Canonical fields a mapping for ``table`` must map (from the table's required columns in schemas.py).

    ``orders`` also needs ``gross_sales`` or ``unit_price``; ``fees`` needs ``amount`` and ``fee_type``
    unless it lists fee columns under ``fees:`` (one fee row per column, wide exports)."""
    if table == "orders":
        return ("order_id", "order_date", "quantity")
    return tuple(c for c in TABLES[table].required if c not in CONTEXT_FIELDS)


# canonical order fields a mapping may fill (``unit_price`` × quantity gives gross_sales)
_FIELDS = table_fields("orders")


class Detect(StrictModel):
    required_columns: list[str] = Field(min_length=1)


class TotalsRow(StrictModel):
    column: str
    values: list[str]


class Reconcile(StrictModel):
    """The file's own totals: expected money = Σ over the data rows of sign × cell, per column."""

    columns: dict[str, float] = Field(min_length=1, description="source column → sign (e.g. {Amount: 1, Net: -1})")


class Mapping(StrictModel):
    """A column mapping for an export of any canonical table (parameters/mappings/*.yaml)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    platforms: list[str] = Field(default_factory=list, description="store platforms this export comes from (empty = any)")
    table: Literal[MAPPABLE_TABLES] = Field(  # type: ignore[valid-type]
        "orders", description="canonical table the rows load into: orders, fees, refunds, ads, traffic, inventory")
    encoding: str = "auto"
    delimiter: str = "auto"
    header_row: int = Field(1, ge=1, description="1-based line of the header (preamble lines before it are skipped)")
    description_row: bool = Field(
        False, description="the line after the header may describe the columns (not data): skipped when its order id is a phrase")
    detect: Detect
    date_format: str | None = None
    dayfirst: bool = False
    decimal: Literal[".", ",", "auto"] = "auto"
    thousands: str | None = Field(None, max_length=1, description="thousands separator to remove (e.g. ' or a space)")
    currency: str | None = None
    currency_column: str | None = None
    columns: dict[str, Column] = Field(
        description="canonical field of `table` → source column name, or {column, fallback, map, default, multiply_by}")
    order_level: list[Literal["discounts", "tax", "shipping_charged"]] = Field(
        default_factory=list, description="canonical money fields given once per order (repeated or first line only)")
    cancelled_if: str | None = Field(None, description="source column whose non-empty value marks the order cancelled")
    status_overrides: list[StatusOverride] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    skip_cancelled_fees: bool = Field(
        False, description="fees shown on cancelled lines are estimates never charged: load (and expect) none")
    skip_cancelled_refunds: bool = Field(
        False, description="money given back on a cancelled order is a cancellation (already out of GMV), not a refund")
    refunds: Refunds | None = None
    totals_row: TotalsRow | None = None
    amount_sign: Literal["abs", "negate", "as_is"] = Field(
        "abs", description="fees: `abs` every amount is a cost; `negate` the file shows costs as negative numbers "
                           "(a positive cell is a credit); `as_is` costs are positive, credits negative")
    reconcile: Reconcile | None = Field(
        None, description="non-order tables: the file's own total columns the loaded money must equal")
    priority: int = 60

    @field_validator("columns", mode="before")
    @classmethod
    def _plain_names(cls, v: Any) -> Any:
        """``sku: 商品SKU`` is short for ``sku: {column: 商品SKU}``."""
        if isinstance(v, dict):
            return {k: ({"column": c} if isinstance(c, str) else c) for k, c in v.items()}
        return v

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        table = info.data.get("table", "orders")
        if table not in TABLES:  # the table error is reported on its own key
            return v
        known = table_fields(table)
        unknown = [k for k in v if k not in known]
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(repr(k) for k in unknown)} for table {table}; "
                             f"expected one of {', '.join(known)}")
        if table == "orders":
            if "gross_sales" not in v and "unit_price" not in v:
                raise ValueError("a mapping must map gross_sales or unit_price")
            st = v.get("status")
            if isinstance(st, Column) and st.map:
                _check_statuses(st.map)
        if table == "fees":
            ft = v.get("fee_type")
            if isinstance(ft, Column):
                bad = sorted({x for x in (ft.map or {}).values() if x not in FEE_TYPES}
                             | ({str(ft.default)} - set(FEE_TYPES) if ft.default is not None else set()))
                if bad:
                    raise ValueError(f"fee_type: unknown fee type(s) {', '.join(bad)}; expected one of {', '.join(FEE_TYPES)}")
        return v

    @model_validator(mode="after")
    def _table_rules(self) -> Mapping:
        t = self.table
        missing = [f for f in required_fields(t) if f not in self.columns]
        if t == "fees" and self.fees:  # wide export: one fee row per listed column
            missing = [f for f in missing if f not in ("amount", "fee_type")]
        if missing:
            raise ValueError(f"a mapping for table {t} must map {', '.join(repr(f) for f in missing)}"
                             + (" (or list fee columns under `fees`)" if t == "fees" else ""))
        if t != "orders":
            only_orders = [k for k in ("order_level", "status_overrides", "cancelled_if", "refunds")
                           if getattr(self, k)]
            only_orders += [k for k in ("skip_cancelled_fees", "skip_cancelled_refunds") if getattr(self, k)]
            if self.fees and t != "fees":
                only_orders.append("fees")
            if only_orders:
                raise ValueError(f"{', '.join(only_orders)}: only for table orders (this mapping's table is {t})")
        elif self.reconcile:
            raise ValueError("reconcile: only for non-order tables (order exports reconcile from their own cells)")
        return self

    def col(self, field: str) -> Column | None:
        c = self.columns.get(field)
        if c is None:
            return None
        return Column(column=c) if isinstance(c, str) else c

    def required_source_columns(self) -> list[str]:
        """Columns the file must have: detection columns and every mapped column without a default."""
        out = list(self.detect.required_columns)
        for f in self.columns:
            c = self.col(f)
            if c.column and c.default is None:
                out.append(c.column)
            if c.multiply_by:
                out.append(c.multiply_by)
        out += [f.column for f in self.fees if not f.optional]
        if self.refunds:
            out += [x for x in (self.refunds.amount, self.refunds.multiply_by) if x]
        if self.reconcile:
            out += list(self.reconcile.columns)
        return list(dict.fromkeys(out))

    def source_columns(self) -> list[str]:
        out = list(self.detect.required_columns)
        for f in self.columns:
            c = self.col(f)
            out += [x for x in (c.column, c.fallback, c.multiply_by) if x]
        out += [f.column for f in self.fees]
        if self.refunds:
            out += [x for x in (self.refunds.amount, self.refunds.multiply_by, self.refunds.date, self.refunds.quantity, self.refunds.reason) if x]
        out += [x for x in (self.currency_column, self.cancelled_if, self.totals_row.column if self.totals_row else None) if x]
        out += [o.column for o in self.status_overrides]
        if self.reconcile:
            out += list(self.reconcile.columns)
        return list(dict.fromkeys(out))


def _dump(m: Mapping) -> Any:
    # a plain column is written as its name (``sku: 商品SKU``), as the model serializer does
    return to_plain(m.model_dump(mode="python", by_alias=True, exclude_unset=True, exclude_none=True))


def _align(new: Any, old: Any) -> Any:
    """Keep each column in the spelling the file uses: ``sku: 商品SKU`` or ``sku: {column: 商品SKU}``."""
    if not (isinstance(new, dict) and isinstance(old, dict)):
        return new
    cols, was = new.get("columns"), old.get("columns")
    if not (isinstance(cols, dict) and isinstance(was, dict)):
        return new
    out = {}
    for k, v in cols.items():
        w = was.get(k)
        if (isinstance(v, dict) and set(v) == {"column"} and w == v["column"]) or (
                isinstance(v, str) and w == {"column": v}):
            v = w
        out[k] = v
    return {**new, "columns": out}


SPEC: Spec[Mapping] = Spec("mappings", Mapping, "mappings", folder=True, default=lambda: None, dump=_dump,
                           align=_align)


def load(path: Path | str) -> Mapping:
    """One mapping file (a path, or a bare name inside parameters/mappings/)."""
    return SPEC.load(path)


def validate(obj: Mapping, context: Context | None = None) -> list[Issue]:
    """Model issues (fields of the table, fee types, statuses): a mapping names no other file's ids."""
    return SPEC.validate(obj, context)


def save(obj: Mapping, path: Path | str, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)
