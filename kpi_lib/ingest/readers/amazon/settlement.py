"""Amazon settlement flat files, V1 (typed column pairs) and V2 (one amount per row).

Both write ``payouts`` (the summary row), ``settlement_lines`` (one per amount, signed as in the
file, categorised by ``settlement_category``) and the ``fees`` / ``refunds`` derived from them
(``derive_fees_refunds``); both take ``exported_at`` from the settlement's deposit date.

V1 is read over Arrow columns (``_read_arrow``, issue 15.2 fifth round: ``ingest.arrowcols`` parses,
numpy masks collect the bad rows, the column pairs are unpivoted with Arrow takes); its pandas path
(``AmazonSettlementV1._read_pandas``) stays as the reference the Arrow path is tested against
(``tests/test_ingest_settlement_fast.py``) and reads a frame whose columns are not Arrow text.

Size (≈810 lines): the two settlement layouts (V1 wide pairs, V2 long rows), the steps they share
(payouts, categories, derived fees/refunds) and V1's two paths are one report family.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ....errors import IngestError
from ... import arrowcols
from ...base import (
    FileHead,
    Reader,
    ReadResult,
    Store,
    exported_at_from,
    normalize_header,
)
from ...frames import LINE, read_delimited, read_delimited_locale
from ...parse import col_datetime, col_int, col_number, col_text
from ...registry import register
from .common import (
    PLATFORM,
    BadRows,
    check_currency,
    first_bad_rows,
    header_keys,
    quarantine_rows,
    store_columns,
    table_frame,
)

_PAIRS = (  # (type column, amount column, amount_type)
    ("price-type", "price-amount", "ItemPrice"),
    ("item-related-fee-type", "item-related-fee-amount", "ItemFees"),
    ("shipment-fee-type", "shipment-fee-amount", "ShipmentFees"),
    ("order-fee-type", "order-fee-amount", "OrderFees"),
    ("promotion-type", "promotion-amount", "Promotion"),
    (None, "misc-fee-amount", "MiscFee"),
    ("other-fee-reason-description", "other-fee-amount", "OtherFee"),
    ("direct-payment-type", "direct-payment-amount", "DirectPayment"),
    (None, "other-amount", "Other"),
)
_REFUND_TX = ("refund", "chargeback refund", "a-to-z guarantee claim", "guarantee claim")
_TRANSFER = (
    "previous reserve",
    "current reserve",
    "reserve",
    "transfer",
    "payable to amazon",
    "successful charge",
    "micro deposit",
    "failed disbursement",
    "disbursement",
    "unavailable balance",
)
_REIMBURSE = (
    "reimburs",
    "warehouse_",
    "warehouse ",
    "missing_from_inbound",
    "clawback",
    "free_replacement",
    "incorrect_fees",
    "compensated",
    "safe-t",
    "safet",
)


def settlement_category(transaction_type: str, amount_type: str, description: str) -> str:
    """Category of one settlement amount (see docs/contracts.md)."""
    t, d = transaction_type.strip().lower(), description.strip().lower()
    what = d or t
    if amount_type == "Quantity":
        return "refund" if t in _REFUND_TX else "sales"
    if "advertis" in what:
        return "advertising"
    if "tax" in d:
        return "tax"
    if "storage" in what:
        return "storage"
    if amount_type == "ItemPrice":
        if d == "principal":
            return "refund" if t in _REFUND_TX else "sales"
        if "shipping" in d or "giftwrap" in d or "gift wrap" in d:
            return "shipping"
        return "refund" if t in _REFUND_TX else "sales"
    if amount_type == "Promotion":
        return "promotion"
    if amount_type in ("ItemFees", "ShipmentFees", "OrderFees", "MiscFee"):
        return "fee"
    if any(k in what for k in _REIMBURSE):
        return "reimbursement"
    if any(t.startswith(k) or d.startswith(k) for k in _TRANSFER):
        return "transfer"
    if "fee" in what or "fba" in what or "subscription" in what or "chargeback" in what or "label" in what:
        return "fee"
    return "other"


def fee_type(transaction_type: str, description: str) -> str:
    """Fee type of a settlement fee amount (see schemas.FEE_TYPES)."""
    d = (description or transaction_type).strip().lower().replace("_", "").replace(" ", "").replace("-", "")
    if d in (
        "commission",
        "refundcommission",
        "variableclosingfee",
        "fixedclosingfee",
        "salestaxcollectionfee",
    ):
        return "referral" if "commission" in d else "other"
    if "storagerenewal" in d or "longterm" in d:
        return "long_term_storage"
    if "storage" in d:
        return "storage"
    if "advertis" in d:
        return "advertising"
    if "subscription" in d:
        return "subscription"
    if "shippingchargeback" in d or "shippinglabel" in d or "shippinghb" in d:
        return "shipping_label"
    if "refundadministration" in d or "returnprocessing" in d or "customerreturn" in d:
        return "return_processing"
    if "fba" in d or "fulfil" in d or "inbound" in d or "weightbased" in d or "pickpack" in d:
        return "fulfillment"
    return "other"


def fee_rows(lines: pd.DataFrame, when: pd.Series, ftype: pd.Series, store: Store) -> pd.DataFrame:
    """``fees`` from canonical ``settlement_lines`` (V1 and V2): lines of category fee / storage /
    advertising that are amounts (not quantities), cost sign (``-amount``), fee type ``ftype``, dated ``when``."""
    fm = lines["category"].isin(["fee", "storage", "advertising"]) & (lines["amount_type"] != "Quantity")
    return table_frame(
        "fees",
        {
            "platform": PLATFORM,
            "store_id": store.store_id,
            "date": when[fm],
            "order_id": lines["order_id"][fm],
            "sku": lines["sku"][fm],
            "fee_type": ftype[fm],
            "description": lines["amount_description"][fm],
            "amount": -lines["amount"][fm],
            "currency": store.currency,
            "source_row": lines["source_row"][fm],
        },
        lines.index[fm],
    )


def derive_fees_refunds(
    store: Store, lines: pd.DataFrame, when: pd.Series, refund_quantity: pd.Series | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``fees`` and ``refunds`` derived from canonical ``settlement_lines`` (as V1 does).

    Fees: lines of category fee / storage / advertising, cost sign (``-amount``), fee type by
    ``fee_type``. Refunds: ItemPrice Principal lines of refund transactions, ``-amount``, with
    ``refund_quantity`` (aligned with ``lines``) when given. ``when`` dates each line (posted date,
    else the settlement's end date).
    """
    keys = lines["transaction_type"].fillna("").astype(str) + "\x1f" + lines["amount_description"].fillna("").astype(str)
    uniq = {k: fee_type(*k.split("\x1f", 1)) for k in pd.unique(keys)}
    ftype = keys.map(uniq)
    fees = fee_rows(lines, when, ftype, store)
    rm = (
        (lines["category"] == "refund")
        & (lines["amount_type"] == "ItemPrice")
        & (lines["amount_description"].fillna("").str.lower() == "principal")
    )
    qty = refund_quantity if refund_quantity is not None else pd.Series(pd.NA, index=lines.index)
    refunds = table_frame(
        "refunds",
        {
            "platform": PLATFORM,
            "store_id": store.store_id,
            "date": when[rm],
            "order_id": lines["order_id"][rm],
            "sku": lines["sku"][rm],
            "quantity": qty[rm].abs() if len(qty[rm]) else qty[rm],
            "amount": -lines["amount"][rm],
            "currency": store.currency,
            "reason": "",
            "source_row": lines["source_row"][rm],
        },
        lines.index[rm],
    )
    return fees, refunds


def _payouts(df: pd.DataFrame, store: Store, sid: pd.Series, dates: dict[str, pd.Series], total: pd.Series,
             pm: pd.Series) -> pd.DataFrame:
    """The payout rows of a settlement flat file (V1 or V2): its summary rows ``pm``."""
    return table_frame(
        "payouts",
        {
            **store_columns(store),
            "settlement_id": sid[pm],
            "start_date": dates["settlement-start-date"][pm],
            "end_date": dates["settlement-end-date"][pm],
            "deposit_date": dates["deposit-date"][pm],
            "total_amount": total[pm],
            "source_row": df.loc[pm, LINE],
        },
        df.index[pm],
    )


def settlement_exported_at(stated: dict[str, pd.Series], tz: str) -> dt.datetime | None:
    """A settlement's own version: its deposit date (the time Amazon closed and paid it), else the
    settlement end date, from the summary row(s); as naive UTC."""
    for c in ("deposit-date", "settlement-end-date"):
        v = exported_at_from(stated.get(c), tz)
        if v is not None:
            return v
    return None


def _v1_decimal_mark(df: pd.DataFrame) -> str:
    """The file's decimal mark, decided once: "-5,62" style amounts (and no "x.yy") mean a comma."""
    amount_cols = [a for _, a, _ in _PAIRS if a in df.columns] + ["total-amount"]
    parts = [df[a].iloc[:20_000].str.strip() for a in amount_cols if a in df.columns]
    sample = pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype="string")
    sample = sample[sample.fillna("") != ""]
    comma = (
        sample.str.contains(r",\d{1,2}$", regex=True).fillna(False).any()
        and not sample.str.contains(r"\.\d{1,2}$", regex=True).fillna(False).any()
    )
    return "," if comma else "."


def _v1_long_amounts(df: pd.DataFrame, amounts: dict[str, tuple], ttype: pd.Series, rows: pd.Series,
                     qty_only: pd.Series) -> pd.DataFrame:
    """V1's typed column pairs in long format: one row per filled amount cell of the ``rows`` kept
    (``row`` position, ``order`` of the pair, amount type, description, amount), plus one zero
    ``Quantity`` row per row that only carries a quantity; in file order."""
    parts = []
    for order, (atype, (tcol, acol, v, has)) in enumerate(amounts.items()):
        m = has & rows
        if not m.any():
            continue
        desc = col_text(df, tcol)[m] if tcol else pd.Series("", index=df.index[m], dtype="string")
        desc = desc.where(desc != "", ttype[m])
        parts.append(
            pd.DataFrame(
                {
                    "row": df.index[m],
                    "order": order,
                    "amount_type": atype,
                    "amount_description": desc.astype("string[pyarrow]"),
                    "amount": v[m],
                }
            )
        )
    qonly = rows & qty_only
    if qonly.any():
        parts.append(
            pd.DataFrame(
                {
                    "row": df.index[qonly],
                    "order": 99,
                    "amount_type": "Quantity",
                    "amount_description": pd.Series(
                        "quantity-purchased", index=df.index[qonly], dtype="string[pyarrow]"
                    ),
                    "amount": 0.0,
                }
            )
        )
    if parts:
        long = pd.concat(parts, ignore_index=True)
        order = np.lexsort((long["order"].to_numpy(), long["row"].to_numpy()))  # file order
        long = long.take(order).reset_index(drop=True)
    else:
        long = pd.DataFrame(
            {
                "row": pd.Series([], dtype="int64"),
                "order": [],
                "amount_type": [],
                "amount_description": [],
                "amount": [],
            }
        )
    return long


def _v1_refunds(df: pd.DataFrame, store: Store, lines: pd.DataFrame, when: pd.Series,
                r: np.ndarray, item_ids: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
                ) -> pd.DataFrame:
    """Refunds of a V1 settlement: the Principal of refund transactions, with the quantity of the
    refund's quantity row if any (``r``: each line's row position in ``df``; ``item_ids``: the
    order-item-code and merchant-adjustment-item-id cells of given row positions, when the caller
    has them stripped already)."""
    # refunds: Principal of refund transactions; quantity from the refund's quantity row if any
    rm = (
        (lines["category"] == "refund")
        & (lines["amount_type"] == "ItemPrice")
        & (lines["amount_description"].str.lower() == "principal")
    )
    # only refund principal lines and the quantity rows of refund transactions take part
    qm = (lines["amount_type"] == "Quantity") & (lines["category"] == "refund")
    sel = (rm | qm).to_numpy()
    rsel = r[sel]
    if item_ids is None:
        oi, ai = col_text(df, "order-item-code").to_numpy()[rsel], col_text(df, "merchant-adjustment-item-id").to_numpy()[rsel]
    else:
        oi, ai = item_ids(rsel)
    qk = pd.DataFrame(
        {
            "sid": lines["settlement_id"][sel],
            "t": lines["transaction_type"][sel],
            "o": lines["order_id"][sel],
            "s": lines["sku"][sel],
            "oi": oi,
            "ai": ai,
            "q": lines["quantity"][sel],
        }
    )
    keys = ["sid", "t", "o", "s", "oi", "ai"]
    qrows = qk[qm.to_numpy()[sel]].drop_duplicates(keys)
    ref = qk[rm.to_numpy()[sel]].merge(qrows, on=keys, how="left", suffixes=("", "_q"))
    refunds = table_frame(
        "refunds",
        {
            "platform": PLATFORM,
            "store_id": store.store_id,
            "date": when[rm].to_numpy(),
            "order_id": lines["order_id"][rm].to_numpy(),
            "sku": lines["sku"][rm].to_numpy(),
            "quantity": ref["q_q"].to_numpy(),
            "amount": (-lines["amount"][rm]).to_numpy(),
            "currency": store.currency,
            "reason": "",
            "source_row": lines["source_row"][rm].to_numpy(),
        },
        pd.RangeIndex(int(rm.sum())),
    )
    return refunds


def _v1_decimal_mark_arrow(df: pd.DataFrame, txt: Callable[[str], pa.ChunkedArray]) -> str:
    """``_v1_decimal_mark`` in Arrow: the same sample (the first 20,000 cells of each amount column,
    stripped (``txt``), non-empty) and the same patterns (pandas runs them with Arrow's regex engine too)."""
    samples = []
    for a in [a for _, a, _ in _PAIRS if a in df.columns] + ["total-amount"]:
        if a in df.columns:
            cells = txt(a).slice(0, 20_000)
            samples.append(cells.filter(pc.not_equal(cells, "")))
    # (a comma mark needs a cell with a comma; only then can a "x.yy" cell veto it)
    if not any(pc.any(pc.match_substring_regex(c.filter(pc.match_substring(c, ",")), r",\d{1,2}$")).as_py()
               for c in samples):
        return "."
    dot = any(pc.any(pc.match_substring_regex(c, r"\.\d{1,2}$")).as_py() for c in samples)
    return "." if dot else ","


def _long_order(parts: list[tuple[np.ndarray, int, pa.ChunkedArray, np.ndarray]]
                ) -> tuple[np.ndarray, np.ndarray, pa.Array, np.ndarray]:
    """The long rows of ``parts`` (row positions, pair number, descriptions, amounts) in file order
    (by row, then pair): (row, pair, description, amount)."""
    if not parts:
        return (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), pa.array([], pa.large_string()),
                np.zeros(0, dtype="float64"))
    row = np.concatenate([p[0] for p in parts])
    pair = np.concatenate([np.full(len(p[0]), p[1], dtype=np.int64) for p in parts])
    desc = pa.chunked_array([c for p in parts for c in p[2].chunks], pa.large_string())
    amount = np.concatenate([p[3] for p in parts])
    order = np.lexsort((pair, row))
    return row[order], pair[order], desc.take(pa.array(order)).combine_chunks(), amount[order]


def _categories(tt: pa.Array, atype_code: np.ndarray, atype_names: list[str], desc: pa.Array
                ) -> tuple[np.ndarray, np.ndarray]:
    """``settlement_category`` and ``fee_type`` of each line, computed once per distinct
    (transaction type, amount type, description)."""
    if not len(tt):
        return np.array([], dtype=object), np.array([], dtype=object)
    t_enc, d_enc = pc.dictionary_encode(tt), pc.dictionary_encode(desc)
    t_u, d_u = t_enc.dictionary.to_pylist(), d_enc.dictionary.to_pylist()
    n1, n2 = max(len(atype_names), 1), max(len(d_u), 1)
    combo = (t_enc.indices.to_numpy().astype(np.int64) * n1 + atype_code) * n2 + d_enc.indices.to_numpy()
    ukeys, inv = np.unique(combo, return_inverse=True)
    cats, fts = [], []
    for k in ukeys.tolist():
        i0, rem = divmod(k, n1 * n2)
        i1, i2 = divmod(rem, n2)
        t, a, d = t_u[i0], atype_names[i1], d_u[i2]
        cats.append(settlement_category(t, a, d))
        fts.append(fee_type(t, d))
    return np.array(cats, dtype=object)[inv], np.array(fts, dtype=object)[inv]


def _read_arrow(df: pd.DataFrame, path: Path, store: Store) -> ReadResult:
    """``AmazonSettlementV1._read_pandas`` over Arrow columns: the same tables, quarantine and
    reconciliation (``tests/test_ingest_settlement_fast.py``). Cells are stripped, cast and parsed
    per column in Arrow (``ingest.arrowcols``; a column with other number formats or a comma decimal
    mark goes through the pandas parser), the checks kept as numpy masks, the typed column pairs
    unpivoted with numpy positions and Arrow takes; categories are computed per distinct value."""
    tz = store.timezone
    n = len(df)
    cols: dict[str | None, pa.ChunkedArray] = {}

    def txt(c: str | None) -> pa.ChunkedArray:
        if c not in cols:
            cols[c] = arrowcols.text(df, c)
        return cols[c]

    total_raw = txt("total-amount")
    is_summary = arrowcols.filled(total_raw)
    if not is_summary.any():
        raise IngestError(
            f"{path}: no settlement summary row (a row with total-amount) — is this a complete settlement file?"
        )
    sp = np.flatnonzero(is_summary)
    check_currency(path, "currency", arrowcols.text_at(df, "currency", sp).to_pylist(), store)
    decimal = _v1_decimal_mark_arrow(df, txt)

    bad = arrowcols.FirstBad(n)
    total, tb = arrowcols.numbers(total_raw, decimal)
    bad.cannot_parse(tb, "total-amount", total_raw, "a number")
    dates, stated = {}, {}
    for c in ("settlement-start-date", "settlement-end-date", "deposit-date"):
        if arrowcols.filled_anywhere_but(df, c, is_summary):  # (the day-first test sees the whole column)
            v, b = arrowcols.datetimes(txt(c), tz)
        else:  # the summary rows' own column: parsed there only (the other cells are all '': NaT, not bad)
            v_s, b_s = arrowcols.datetimes(arrowcols.text_at(df, c, sp), tz)
            v, b = np.full(n, np.datetime64("NaT", "ns")), np.zeros(n, dtype=bool)
            v[sp], b[sp] = v_s, b_s
        bad.cannot_parse(b & is_summary, c, txt(c) if (b & is_summary).any() else None,
                         "a date like 2025-07-31T22:07:18+00:00 or 31.07.2025")
        dates[c] = pd.Series(arrowcols.floor_day(v))
        stated[c] = pd.Series(v[sp], index=sp)
    pcol = "posted-date-time" if "posted-date-time" in df.columns else "posted-date"
    posted_raw = txt(pcol)
    posted, pb = arrowcols.datetimes(posted_raw, tz)
    bad.cannot_parse(pb & ~is_summary, pcol, posted_raw, "a date like 2025-07-31T20:13:08+00:00 or 31.07.2025")
    qty_raw = txt("quantity-purchased")
    qty, qb = arrowcols.whole_numbers(qty_raw)
    bad.cannot_parse(qb, "quantity-purchased", qty_raw, "a whole number")
    with np.errstate(invalid="ignore"):
        bad.add(qty < 0, "quantity-purchased", "quantity-purchased: negative value (expected a whole number >= 0)")

    amounts = {}
    for tcol, acol, atype in _PAIRS:
        if acol not in df.columns:
            continue
        raw = txt(acol)
        v, b = arrowcols.numbers(raw, decimal)
        bad.cannot_parse(b, acol, raw, "a number")
        amounts[atype] = (tcol, v, arrowcols.filled(raw))
    any_amount = np.zeros(n, dtype=bool)
    for _, _, has in amounts.values():
        any_amount |= has
    tx = ~is_summary
    qty_filled = arrowcols.filled(qty_raw)
    bad.add(tx & ~any_amount & ~qty_filled, "", "no amount and no quantity in the row (expected one amount column filled)")
    ok, quarantine = first_bad_rows(df, bad, [c for c in df.columns if c != LINE])

    sid, ttype = txt("settlement-id"), txt("transaction-type")
    # payouts: the summary row(s)
    pm = pd.Series(is_summary & ok, index=df.index)
    payouts = _payouts(df, store, arrowcols.series(sid).set_axis(df.index), {k: v.set_axis(df.index) for k, v in dates.items()},
                       pd.Series(total, index=df.index), pm)
    # settlement lines: one per filled amount cell (long format), quantity-only rows with amount 0
    rows = tx & ok
    parts, names = [], []
    for atype, (tcol, v, has) in amounts.items():
        m = has & rows
        names.append(atype)
        if not m.any():
            continue
        pos = np.flatnonzero(m)
        take = pa.array(pos)
        t_at = ttype.take(take)
        desc = arrowcols.text_at(df, tcol, pos)
        parts.append((pos, len(names) - 1, pc.if_else(pc.equal(desc, ""), t_at, desc), v[pos]))
    qonly = rows & ~any_amount & qty_filled
    names.append("Quantity")
    if qonly.any():
        pos = np.flatnonzero(qonly)
        parts.append((pos, len(names) - 1,
                      pa.chunked_array([pa.repeat(pa.scalar("quantity-purchased", pa.large_string()), len(pos))]),
                      np.zeros(len(pos), dtype="float64")))
    r, pair, l_desc, l_amount = _long_order(parts)
    take = pa.array(r)
    l_tt = ttype.take(take).combine_chunks()
    category, l_fee_type = _categories(l_tt, pair, names, l_desc)
    first = np.ones(len(r), dtype=bool)
    first[1:] = r[1:] != r[:-1]
    l_qty = qty[r]
    index = pd.RangeIndex(len(r))
    lines = table_frame(
        "settlement_lines",
        {
            "platform": PLATFORM,
            "store_id": store.store_id,
            "settlement_id": arrowcols.series(sid.take(take)),
            "posted_date": pd.Series(arrowcols.floor_day(posted[r]), index=index),
            "transaction_type": arrowcols.series(l_tt),
            "order_id": arrowcols.series(txt("order-id").take(take)),
            "sku": arrowcols.series(txt("sku").take(take)),
            "quantity": pd.Series(pd.array(np.where(first, l_qty, np.nan), dtype="Int64"), index=index),
            "amount_type": arrowcols.series(pa.array(names, pa.large_string()).take(pa.array(pair))),
            "amount_description": arrowcols.series(l_desc),
            "category": category,
            "amount": pd.Series(l_amount, index=index),
            "currency": store.currency,
            "source_row": pd.Series(pd.array(df[LINE].to_numpy()[r], dtype="Int64"), index=index),
        },
        index,
    )
    # dates for derived rows: posted date, else the settlement's end date
    when = lines["posted_date"]
    if when.isna().any():
        end_by_sid = payouts.set_index("settlement_id")["end_date"]
        end_by_sid = end_by_sid[~end_by_sid.index.duplicated()]
        when = when.fillna(lines["settlement_id"].map(end_by_sid))
    fees = fee_rows(lines, when, pd.Series(l_fee_type, index=lines.index), store)
    # _v1_refunds reads only lines of category refund (its principal and quantity lines): given those alone
    ref = category == "refund"
    ref_lines = lines[ref].reset_index(drop=True)
    refunds = _v1_refunds(df, store, ref_lines, when[ref].reset_index(drop=True), r[ref], lambda pos: (
        arrowcols.text_at(df, "order-item-code", pos).to_numpy(zero_copy_only=False),
        arrowcols.text_at(df, "merchant-adjustment-item-id", pos).to_numpy(zero_copy_only=False)))
    return _v1_result(payouts, lines, fees, refunds, n, quarantine, float(pd.Series(total[is_summary]).sum()),
                      stated, tz)


def _v1_result(payouts: pd.DataFrame, lines: pd.DataFrame, fees: pd.DataFrame, refunds: pd.DataFrame, n: int,
               quarantine: list, expected: float, stated: dict[str, pd.Series], tz: str) -> ReadResult:
    """A V1 file's tables and counts (the Arrow and the pandas path give the same)."""
    return ReadResult(
        tables={"payouts": payouts, "settlement_lines": lines, "fees": fees, "refunds": refunds},
        rows_read=n,
        quarantine=quarantine,
        expected_money=round(expected, 2),
        money_columns=[("settlement_lines", "amount", 1.0)],
        exported_at=settlement_exported_at(stated, tz),
    )


@register
class AmazonSettlementV1(Reader):
    name = "amazon_settlement_v1"
    description = "Amazon Seller Central settlement flat file (V1, typed column pairs)"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        keys = set(header_keys(head, "\t"))
        return {
            "settlement-id",
            "total-amount",
            "transaction-type",
            "price-type",
            "item-related-fee-type",
        } <= keys

    def read(self, path: Path, store: Store) -> ReadResult:
        """The file's payouts, settlement lines, fees and refunds: the Arrow path (``_read_arrow``),
        or the pandas path for a file whose columns are not all Arrow text."""
        df = read_delimited(path, "\t", quoted=False)
        if arrowcols.arrow_text_frame(df):
            return _read_arrow(df, path, store)
        return self._read_pandas(path, store, df)

    def _read_pandas(self, path: Path, store: Store, df: pd.DataFrame | None = None) -> ReadResult:
        """The reader's pandas path (the reference ``_read_arrow`` is tested against)."""
        if df is None:
            df = read_delimited(path, "\t", quoted=False)
        tz = store.timezone
        n = len(df)
        total_raw = col_text(df, "total-amount")
        is_summary = total_raw != ""
        summ = df[is_summary]
        if summ.empty:
            raise IngestError(
                f"{path}: no settlement summary row (a row with total-amount) — is this a complete settlement file?"
            )
        check_currency(path, "currency", col_text(summ, "currency"), store)
        decimal = _v1_decimal_mark(df)

        bad = BadRows(df.index)
        total, tb = col_number(total_raw, decimal)
        bad.cannot_parse(tb, "total-amount", total_raw, "a number")
        dates, stated = {}, {}
        for c in ("settlement-start-date", "settlement-end-date", "deposit-date"):
            v, b = col_datetime(col_text(df, c), tz)
            bad.cannot_parse(
                b & is_summary, c, col_text(df, c), "a date like 2025-07-31T22:07:18+00:00 or 31.07.2025"
            )
            dates[c] = v.dt.floor("D")
            stated[c] = v[is_summary]
        pcol = "posted-date-time" if "posted-date-time" in df.columns else "posted-date"
        posted_raw = col_text(df, pcol)
        posted, pb = col_datetime(posted_raw, tz)
        bad.cannot_parse(
            pb & ~is_summary, pcol, posted_raw, "a date like 2025-07-31T20:13:08+00:00 or 31.07.2025"
        )
        qty_raw = col_text(df, "quantity-purchased")
        qty, qb = col_int(qty_raw)
        bad.cannot_parse(qb, "quantity-purchased", qty_raw, "a whole number")
        bad.add(
            (qty < 0).fillna(False),
            "quantity-purchased",
            "quantity-purchased: negative value (expected a whole number >= 0)",
        )

        amounts = {}
        for tcol, acol, atype in _PAIRS:
            if acol not in df.columns:
                continue
            raw = col_text(df, acol)
            v, b = col_number(raw, decimal)
            bad.cannot_parse(b, acol, raw, "a number")
            amounts[atype] = (tcol, acol, v, raw != "")
        any_amount = pd.Series(False, index=df.index)
        for _, _, _, has in amounts.values():
            any_amount |= has
        tx = ~is_summary
        bad.add(
            tx & ~any_amount & (qty_raw == ""),
            "",
            "no amount and no quantity in the row (expected one amount column filled)",
        )
        ok = ~bad.mask
        quarantine = quarantine_rows(df, bad.mask, bad.reason, bad.column, [c for c in df.columns if c != LINE])

        sid = col_text(df, "settlement-id")
        ttype = col_text(df, "transaction-type")
        order_id = col_text(df, "order-id")
        sku = col_text(df, "sku")

        # payouts: the summary row(s)
        pm = is_summary & ok
        payouts = _payouts(df, store, sid, dates, total, pm)
        # settlement lines: one per filled amount cell (long format), quantity-only rows with amount 0
        long = _v1_long_amounts(df, amounts, ttype, tx & ok, ~any_amount & (qty_raw != ""))
        r = long["row"].to_numpy()
        first = ~long["row"].duplicated()

        def take(col: pd.Series) -> pd.Series:  # df's index is a RangeIndex: labels are positions
            return col.take(r).reset_index(drop=True)

        l_tt = take(ttype)
        # category / fee type per distinct (transaction type, amount type, description)
        codes, uniqs = [], []
        for col in (l_tt, long["amount_type"], long["amount_description"]):
            c, u = pd.factorize(col)
            codes.append(c.astype(np.int64))
            uniqs.append(np.asarray(u, dtype=object))
        n1, n2 = max(len(uniqs[1]), 1), max(len(uniqs[2]), 1)
        combo = (codes[0] * n1 + codes[1]) * n2 + codes[2]
        ukeys, inv = np.unique(combo, return_inverse=True)
        cats, fts = [], []
        for k in ukeys.tolist():
            i0, rem = divmod(k, n1 * n2)
            i1, i2 = divmod(rem, n2)
            t, a, d = str(uniqs[0][i0]), str(uniqs[1][i1]), str(uniqs[2][i2])
            cats.append(settlement_category(t, a, d))
            fts.append(fee_type(t, d))
        category = np.array(cats, dtype=object)[inv] if len(r) else np.array([], dtype=object)
        l_fee_type = np.array(fts, dtype=object)[inv] if len(r) else np.array([], dtype=object)
        l_qty = take(qty).where(first.to_numpy(), pd.NA)
        lines = table_frame(
            "settlement_lines",
            {
                "platform": PLATFORM,
                "store_id": store.store_id,
                "settlement_id": take(sid),
                "posted_date": take(posted.dt.floor("D")),
                "transaction_type": l_tt,
                "order_id": take(order_id),
                "sku": take(sku),
                "quantity": l_qty,
                "amount_type": long["amount_type"],
                "amount_description": long["amount_description"],
                "category": category,
                "amount": long["amount"],
                "currency": store.currency,
                "source_row": take(df[LINE]),
            },
            long.index,
        )
        # dates for derived rows: posted date, else the settlement's end date
        end_by_sid = payouts.set_index("settlement_id")["end_date"]
        end_by_sid = end_by_sid[~end_by_sid.index.duplicated()]
        when = lines["posted_date"].fillna(lines["settlement_id"].map(end_by_sid))

        fees = fee_rows(lines, when, pd.Series(l_fee_type, index=lines.index), store)
        refunds = _v1_refunds(df, store, lines, when, r)
        return _v1_result(payouts, lines, fees, refunds, n, quarantine, float(total[is_summary].sum()), stated, tz)


@register
class AmazonSettlementV2(Reader):
    """Settlement flat file V2: one amount per row (``amount-type``, ``amount-description``, ``amount``).

    The summary row (``total-amount`` filled, transaction columns empty) gives the payout; every
    other row is one ``settlement_lines`` row, categorised with V1's ``settlement_category`` and
    ``fee_type``; fees and refunds are derived as for V1. ``quantity-purchased`` is repeated on each
    amount row of an item: it is kept on the first line of each (transaction type, order, item,
    posted date) so quantities are not counted once per fee. Reconciliation: total-amount.
    """

    name = "amazon_settlement_v2"
    description = "Amazon Seller Central settlement flat file V2 (amount-type / amount-description / amount)"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        keys = set(header_keys(head, "\t"))
        return {"settlement-id", "total-amount", "transaction-type", "amount-type", "amount-description",
                "amount"} <= keys

    def read(self, path: Path, store: Store) -> ReadResult:
        df, loc = read_delimited_locale(path, quoted=False, marketplace=store.marketplace, sep="\t")
        df.columns = [normalize_header(c) if c != LINE else c for c in df.columns]
        tz = store.timezone
        raw_cols = [c for c in df.columns if c != LINE]
        total_raw = col_text(df, "total-amount")
        is_summary = total_raw != ""
        if not is_summary.any():
            raise IngestError(
                f"{path}: no settlement summary row (a row with total-amount) — is this a complete settlement file?"
            )
        check_currency(path, "currency", col_text(df[is_summary], "currency"), store)
        decimal = loc.decimal_or(".")
        bad = BadRows(df.index)
        total, tb = col_number(total_raw, decimal)
        bad.cannot_parse(tb, "total-amount", total_raw, "a number")
        dates, stated = {}, {}
        for c in ("settlement-start-date", "settlement-end-date", "deposit-date"):
            v, b = col_datetime(col_text(df, c), tz)
            bad.cannot_parse(b & is_summary, c, col_text(df, c), "a date like 2025-07-31T22:07:18+00:00")
            dates[c] = v.dt.floor("D")
            stated[c] = v[is_summary]
        pcol = "posted-date-time" if "posted-date-time" in df.columns else "posted-date"
        posted_raw = col_text(df, pcol)
        if pcol == "posted-date-time" and "posted-date" in df.columns:
            posted_raw = posted_raw.where(posted_raw != "", col_text(df, "posted-date"))
        posted, pb = col_datetime(posted_raw, tz)
        tx = ~is_summary
        bad.cannot_parse(pb & tx, pcol, posted_raw, "a date like 2025-07-31T20:13:08+00:00")
        amt_raw = col_text(df, "amount")
        amount, ab = col_number(amt_raw, decimal)
        bad.cannot_parse(ab, "amount", amt_raw, "a number")
        qty_raw = col_text(df, "quantity-purchased")
        qty, qb = col_int(qty_raw)
        bad.cannot_parse(qb, "quantity-purchased", qty_raw, "a whole number")
        atype = col_text(df, "amount-type")
        bad.add(tx & (amt_raw == "") & (qty_raw == ""), "amount",
                "no amount and no quantity in the row (expected amount filled)")
        ok = ~bad.mask
        quarantine = quarantine_rows(df, bad.mask, bad.reason, bad.column, raw_cols)

        sid = col_text(df, "settlement-id")
        pm = is_summary & ok
        payouts = _payouts(df, store, sid, dates, total, pm)
        lm = tx & ok
        d = df[lm]
        ttype = col_text(d, "transaction-type")
        desc = col_text(d, "amount-description")
        # "TransactionTotalAmount" says nothing: the amount type names the money (Cost of Advertising…)
        desc = desc.where(~desc.str.lower().isin(["transactiontotalamount", ""]), atype[lm])
        at = atype[lm].where(atype[lm] != "", "Quantity").where(amt_raw[lm] != "", "Quantity")
        item = col_text(d, "order-item-code").where(col_text(d, "order-item-code") != "", col_text(d, "merchant-adjustment-item-id"))
        grp = pd.DataFrame({"s": sid[lm], "t": ttype, "o": col_text(d, "order-id"), "i": item, "k": col_text(d, "sku"),
                            "p": posted_raw[lm]})
        first_of_item = ~grp.duplicated()
        q_item = qty[lm].groupby([grp[c] for c in grp.columns], dropna=False, sort=False).transform("first")
        cats = {k: settlement_category(*k) for k in set(zip(ttype.tolist(), at.tolist(), desc.tolist()))}
        lines = table_frame(
            "settlement_lines",
            {
                "platform": PLATFORM,
                "store_id": store.store_id,
                "settlement_id": sid[lm],
                "posted_date": posted[lm].dt.floor("D"),
                "transaction_type": ttype,
                "order_id": col_text(d, "order-id"),
                "sku": col_text(d, "sku"),
                "quantity": qty[lm].where(first_of_item, pd.NA),
                "amount_type": at,
                "amount_description": desc,
                "category": [cats[k] for k in zip(ttype.tolist(), at.tolist(), desc.tolist())],
                "amount": amount[lm].fillna(0.0),
                "currency": store.currency,
                "source_row": d[LINE],
            },
            d.index,
        )
        end_by_sid = payouts.drop_duplicates("settlement_id").set_index("settlement_id")["end_date"]
        when = lines["posted_date"].fillna(lines["settlement_id"].map(end_by_sid))
        fees, refunds = derive_fees_refunds(store, lines, when, q_item.reset_index(drop=True).astype("Float64"))
        return ReadResult(
            tables={"payouts": payouts, "settlement_lines": lines, "fees": fees, "refunds": refunds},
            rows_read=len(df),
            quarantine=quarantine,
            expected_money=round(float(total[is_summary].sum()), 2),
            money_columns=[("settlement_lines", "amount", 1.0)],
            exported_at=settlement_exported_at(stated, tz),
        )
