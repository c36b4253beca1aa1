"""Amazon Seller Central date-range transaction report ("Custom Unified Transaction").

Payments → Reports Repository → Transaction. A CSV with a few one-cell preamble lines ("Includes
Amazon Marketplace, Fulfillment by Amazon (FBA), and Amazon Webservices transactions", "All amounts
in USD, unless specified", definitions…) before the header, then one row per transaction with its
money spread over amount columns (``product sales`` … ``other``) that add up to ``total``.
Marketplaces other than the US translate the headers (German ``Datum/Uhrzeit``,
``Abrechnungsnummer``, ``Typ``, ``Umsätze``, ``Verkaufsgebühren``, ``Gesamt``; French, Italian,
Spanish, Japanese likewise), the transaction types (``Bestellung``, ``Erstattung``…), the dates
(``Jan 1, 2024 12:04:11 AM PST``, ``01.01.2024 00:04:11 UTC``, ``1 janv. 2024 …``) and the decimal
mark (``12,34``). Encoding, delimiter, header line and decimal mark are decided once per file
(``textio``) and used for the values and the reconciliation alike.

Output: the same canonical tables as the settlement V1 reader — ``settlement_lines`` (one per
non-zero amount cell, signed as in the file, categorised by ``amazon.settlement_category``; a row
without any amount gives one zero line so its quantity and row are kept), and ``fees`` / ``refunds``
derived from them (``amazon.derive_fees_refunds``). No ``payouts``: this report has no payout
summary; transfers to the bank are ``transfer`` lines.

Reconciliation: the money the file states is the sum of its ``total`` column; the loaded money is
the sum of the amount cells. A row whose amounts do not add up to its ``total`` is loaded as written
and named in ``ReadResult.notes`` (row, amounts, total, difference); the file-level difference is
exactly the sum of those.

A store should hold either settlement files or transaction reports for a period, not both (both
carry the same money).
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from ....errors import IngestError
from ...base import FileHead, Reader, ReadResult, Store, normalize_header
from ...frames import LINE, read_delimited_locale
from ...parse import col_int, col_text, parse_number
from ...registry import register
from ...textio import decode_bytes, detect_delimiter
from .common import (
    PLATFORM,
    BadRows,
    quarantine_rows,
    table_frame,
)
from .settlement import derive_fees_refunds, settlement_category

# ----------------------------------------------------------------------------------- vocabulary
# role → header spellings (normalised: lower case, single spaces), English and localised
_META: dict[str, tuple[str, ...]] = {
    "datetime": ("date/time", "datum/uhrzeit", "date/heure", "data/ora", "fecha y hora", "fecha/hora", "日付/時間"),
    "settlement_id": ("settlement id", "abrechnungsnummer", "numéro de versement", "numero pagamento",
                      "identificador de pago", "id. de liquidación", "決済番号"),
    "type": ("type", "typ", "tipo", "トランザクションの種類"),
    "order_id": ("order id", "bestellnummer", "numéro de la commande", "numero ordine", "número de pedido",
                 "注文番号"),
    "sku": ("sku",),
    "description": ("description", "beschreibung", "descrizione", "descripción", "説明"),
    "quantity": ("quantity", "menge", "quantité", "quantità", "cantidad", "数量"),
    "marketplace": ("marketplace", "web de amazon", "amazon 出品サービス"),
    "fulfillment": ("fulfillment", "fulfilment", "versand", "traitement", "gestione", "gestión logística",
                    "フルフィルメント"),
}
# money role → (amount_type, amount_description, header spellings)
_MONEY: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "product_sales": ("ItemPrice", "Principal", (
        "product sales", "umsätze", "ventes de produits", "vendite", "ventas de productos", "商品売上")),
    "product_sales_tax": ("ItemPrice", "Tax", (
        "product sales tax", "produktumsatzsteuer", "taxes sur la vente des produits",
        "imposta sulle vendite dei prodotti", "impuesto de ventas de productos", "商品の売上税",
        "total sales tax liable(gst before adjusting tcs)")),
    "shipping_credits": ("ItemPrice", "Shipping", (
        "shipping credits", "postage credits", "gutschrift für versandkosten", "crédits d'expédition",
        "accrediti per le spedizioni", "abonos de envío", "配送料")),
    "shipping_credits_tax": ("ItemPrice", "ShippingTax", (
        "shipping credits tax", "postage credits tax", "steuer auf versandgutschrift",
        "taxe sur les crédits d'expédition", "imposta accrediti per le spedizioni",
        "impuestos por abonos de envío", "配送料の税金")),
    "gift_wrap_credits": ("ItemPrice", "GiftWrap", (
        "gift wrap credits", "gutschrift für geschenkverpackung", "crédits sur l'emballage cadeau",
        "accrediti per confezioni regalo", "abonos de envoltorio para regalo", "ギフト包装手数料")),
    "gift_wrap_credits_tax": ("ItemPrice", "GiftWrapTax", (
        "giftwrap credits tax", "gift wrap credits tax", "steuer auf geschenkverpackungsgutschriften",
        "taxes sur les crédits cadeaux", "imposta sui crediti confezione regalo",
        "impuestos por abonos de envoltorio para regalo", "ギフト包装クレジットの税金")),
    "regulatory_fee": ("ItemPrice", "RegulatoryFee", ("regulatory fee",)),
    "regulatory_fee_tax": ("ItemPrice", "RegulatoryFeeTax", ("tax on regulatory fee",)),
    "points": ("ItemPrice", "PointsGranted", ("amazonポイントの費用", "amazon points cost")),
    "promotional_rebates": ("Promotion", "Promotional rebates", (
        "promotional rebates", "rabatte aus werbeaktionen", "rabais promotionnels", "sconti promozionali",
        "devoluciones promocionales", "プロモーション割引額")),
    "promotional_rebates_tax": ("Promotion", "PromotionTax", (
        "promotional rebates tax", "steuer auf aktionsrabatte", "taxes sur les remises promotionnelles",
        "imposta sugli sconti promozionali", "impuestos por devoluciones promocionales",
        "プロモーション割引の税金")),
    "withheld_tax": ("ItemWithheldTax", "MarketplaceWithheldTax", (
        "marketplace withheld tax", "marketplace facilitator tax", "einbehaltene steuer auf marketplace",
        "taxes retenues sur le site de vente", "trattenuta iva del marketplace",
        "impuesto retenido en el sitio web", "源泉徴収税を伴うマーケットプレイス")),
    "tcs_cgst": ("ItemWithheldTax", "Tax TCS-CGST", ("tcs-cgst",)),
    "tcs_sgst": ("ItemWithheldTax", "Tax TCS-SGST", ("tcs-sgst",)),
    "tcs_igst": ("ItemWithheldTax", "Tax TCS-IGST", ("tcs-igst",)),
    "tds": ("ItemWithheldTax", "Tax TDS (Section 194-O)", ("tds (section 194-o)",)),
    "selling_fees": ("ItemFees", "Commission", (
        "selling fees", "referral fees", "verkaufsgebühren", "frais de vente", "commissioni di vendita",
        "tarifas de venta", "手数料")),
    "fba_fees": ("ItemFees", "FBAPerUnitFulfillmentFee", (
        "fba fees", "gebühren zu versand durch amazon", "frais expédié par amazon",
        "costi del servizio logistica di amazon", "tarifas de logística de amazon", "fba 手数料")),
    "other_transaction_fees": ("ItemFees", "Other transaction fees", (
        "other transaction fees", "andere transaktionsgebühren", "autres frais de transaction",
        "altri costi relativi alle transazioni", "tarifas de otras transacciones",
        "トランザクションに関するその他の手数料")),
    "other": ("Other", "", ("other", "andere", "autre", "altro", "otro", "その他")),
}
_TOTAL = ("total", "total amount", "gesamt", "totale", "合計")

# localised transaction types → the English names the category rules know
_TYPES = {
    "bestellung": "Order", "erstattung": "Refund", "servicegebühr": "Service Fee", "übertrag": "Transfer",
    "anpassung": "Adjustment", "versand durch amazon lagergebühr": "FBA Inventory Fee",
    "rückbuchung": "Chargeback Refund", "commande": "Order", "remboursement": "Refund",
    "frais de service": "Service Fee", "transfert": "Transfer", "ajustement": "Adjustment",
    "frais de stock expédié par amazon": "FBA Inventory Fee", "ordine": "Order", "rimborso": "Refund",
    "commissione di servizio": "Service Fee", "trasferimento": "Transfer", "modifica": "Adjustment",
    "pedido": "Order", "reembolso": "Refund", "tarifa de prestación de servicio": "Service Fee",
    "transferir": "Transfer", "transferencia": "Transfer", "ajuste": "Adjustment",
    "注文": "Order", "返金": "Refund", "サービス料": "Service Fee", "振込み": "Transfer", "調整": "Adjustment",
}
# localised descriptions the category rules must recognise (advertising, subscription, storage)
_DESCRIPTIONS = {
    "werbekosten": "Cost of Advertising", "abonnementgebühr": "Subscription Fee",
    "frais publicitaires": "Cost of Advertising", "costo della pubblicità": "Cost of Advertising",
    "gastos de publicidad": "Cost of Advertising", "広告費用": "Cost of Advertising",
    "lagergebühr": "FBA storage fee", "frais de stockage": "FBA storage fee",
}
_ORDER_TYPES = {"order", "refund", "chargeback refund", "a-to-z guarantee claim", "guarantee claim"}


def _lookup() -> tuple[dict[str, str], dict[str, str]]:
    meta = {h: role for role, hs in _META.items() for h in hs}
    money = {h: role for role, (_, _, hs) in _MONEY.items() for h in hs}
    return meta, money


_META_OF, _MONEY_OF = _lookup()


def _key(h: object) -> str:
    return normalize_header(h).replace("’", "'").strip('"')


def _is_header(keys: list[str]) -> bool:
    roles = {_META_OF.get(k) for k in keys}
    return {"datetime", "type"} <= roles and any(k in _TOTAL for k in keys) and any(
        _MONEY_OF.get(k) == "product_sales" for k in keys
    )


# ---------------------------------------------------------------------------------------- dates
_MONTHS = {
    **{m: i for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)},
    "sept": 9, "mär": 3, "mrz": 3, "mai": 5, "okt": 10, "dez": 12, "janv": 1, "févr": 2, "fevr": 2, "mars": 3,
    "avr": 4, "juin": 6, "juil": 7, "août": 8, "aout": 8, "déc": 12, "gen": 1, "mag": 5, "giu": 6, "lug": 7,
    "ago": 8, "set": 9, "ott": 10, "dic": 12, "ene": 1, "abr": 4,
}
_ZONES = {
    "UTC": 0, "GMT": 0, "Z": 0, "PST": -8, "PDT": -7, "MST": -7, "MDT": -6, "CST": -6, "CDT": -5, "EST": -5,
    "EDT": -4, "AKST": -9, "AKDT": -8, "HST": -10, "BST": 1, "CET": 1, "MEZ": 1, "CEST": 2, "MESZ": 2,
    "JST": 9, "IST": 5.5, "AEST": 10, "AEDT": 11, "GST": 4,
}
_TIME = re.compile(
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?\s*"
    r"(?P<tz>[A-Za-z]{1,5}|[+-]\d{2}:?\d{2})?\s*$"
)


def _one_datetime(text: str) -> tuple[datetime | None, bool]:
    """(datetime, has zone) of one report timestamp; aware (UTC) when the text names a zone."""
    t = text.strip()
    m = _TIME.search(t)
    if not m:
        return None, False
    date_part = t[: m.start()].strip().rstrip(",").strip()
    hour, minute, sec = int(m["H"]), int(m["M"]), int(m["S"] or 0)
    if m["ampm"]:
        pm = m["ampm"].lower().startswith("p")
        if hour == 12:
            hour = 0
        hour += 12 if pm else 0
    d = _one_date(date_part)
    if d is None or hour > 23:
        return None, False
    out = datetime(d[0], d[1], d[2], hour, minute, sec)
    tz = m["tz"]
    if not tz:
        return out, False
    if tz[0] in "+-":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        off = sign * (int(digits[:2]) + int(digits[2:4]) / 60)
    elif tz.upper() in _ZONES:
        off = _ZONES[tz.upper()]
    else:
        return None, False
    return (out - timedelta(hours=off)).replace(tzinfo=UTC), True


def _month(name: str) -> int:
    """Month number of an English, German, French, Italian or Spanish month name (or abbreviation)."""
    n = name.lower().rstrip(".")
    return _MONTHS.get(n) or _MONTHS.get(n[:4]) or _MONTHS[n[:3]]


def _one_date(s: str) -> tuple[int, int, int] | None:
    s = s.strip()
    try:
        if m := re.fullmatch(r"(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})", s):  # 2024/01/01 (JP), ISO
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
        elif m := re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})", s):  # 01.01.2024, 01/01/2024 (day first)
            d, mo, y = int(m[1]), int(m[2]), int(m[3])
            if mo > 12 and d <= 12:
                d, mo = mo, d
        elif m := re.fullmatch(r"([^\W\d_]+)\.?\s+(\d{1,2}),?\s+(\d{4})", s):  # Jan 1, 2024
            mo, d, y = _month(m[1]), int(m[2]), int(m[3])
        elif m := re.fullmatch(r"(\d{1,2})\.?\s+([^\W\d_]+)\.?,?\s+(\d{4})", s):  # 1 janv. 2024, 1 Jan 2024
            d, mo, y = int(m[1]), _month(m[2]), int(m[3])
        else:
            return None
        datetime(y, mo, d)
        return y, mo, d
    except (KeyError, ValueError):
        return None


def parse_report_datetimes(s: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """Report timestamps → naive marketplace-local datetimes (zone names and offsets converted to
    ``tz``; a timestamp without a zone is taken as local). Returns ``(values, bad)``."""
    codes, uniq = pd.factorize(s.fillna("").astype(str))
    vals: list[pd.Timestamp] = []
    for u in uniq:
        dt, aware = _one_datetime(u) if u else (None, False)
        if dt is None:
            vals.append(pd.NaT)
        elif aware:
            vals.append(pd.Timestamp(dt).tz_convert(tz).tz_localize(None))
        else:
            vals.append(pd.Timestamp(dt))
    arr = pd.Series(vals, dtype="datetime64[ns]") if vals else pd.Series([], dtype="datetime64[ns]")
    out = pd.Series(arr.to_numpy()[codes] if len(codes) else [], index=s.index, dtype="datetime64[ns]")
    bad = out.isna() & (s.fillna("").astype(str).str.strip() != "")
    return out, bad


# --------------------------------------------------------------------------------------- reader
@register
class AmazonTransactionReport(Reader):
    name = "amazon_transaction_report"
    description = "Amazon date-range transaction report (Custom Unified Transaction, CSV, any marketplace language)"
    platforms = ("amazon",)

    def sniff(self, head: FileHead) -> bool:
        if not head.lines:
            return False
        text = "\n".join(head.lines[:40])
        sep, hl = detect_delimiter(text)
        try:
            cells = next(csv.reader([head.lines[hl]], delimiter=sep))
        except (csv.Error, StopIteration, IndexError):
            return False
        return _is_header([_key(c) for c in cells])

    def read(self, path: Path, store: Store) -> ReadResult:
        df, loc = read_delimited_locale(path, quoted=True, marketplace=store.marketplace)
        names = [c for c in df.columns if c != LINE]
        keys = [_key(c) for c in names]
        if not _is_header(keys):
            raise IngestError(
                f"{path}: line {loc.header_line + 1} is not a transaction report header "
                "(expected date/time, type, product sales … total, or their translations)"
            )
        self.check_currency(path, loc.header_line, store)
        col = {}
        for n, k in zip(names, keys):
            role = _META_OF.get(k)
            if role and role not in col:
                col[role] = n
        i_total = next(i for i, k in enumerate(keys) if k in _TOTAL)
        i_first = next(i for i, k in enumerate(keys) if _MONEY_OF.get(k) == "product_sales")
        if i_first >= i_total:
            raise IngestError(f"{path}: the amount columns must come before {names[i_total]!r}")
        money_cols = names[i_first:i_total]
        c_total = names[i_total]
        decimal = loc.decimal_or(".")

        bad = BadRows(df.index)
        dt_raw = col_text(df, col["datetime"])
        ts, tb = parse_report_datetimes(dt_raw, store.timezone)
        bad.cannot_parse(tb | (dt_raw == ""), col["datetime"], dt_raw,
                         "a date/time like 'Jan 1, 2024 12:04:11 AM PST' or '01.01.2024 00:04:11 UTC'")
        total_raw = col_text(df, c_total)
        total, b = parse_number(total_raw.astype(object).astype("string"), decimal=decimal)
        bad.cannot_parse(b | (total_raw == ""), c_total, total_raw, "a number")
        amounts: dict[str, pd.Series] = {}
        for c in money_cols:
            raw = col_text(df, c)
            v, b = parse_number(raw.astype(object).astype("string"), decimal=decimal)
            bad.cannot_parse(b, c, raw, f"a number with decimal mark {decimal!r}")
            amounts[c] = v.fillna(0.0)
        q_raw = col_text(df, col.get("quantity"))
        qty, qb = col_int(q_raw)
        bad.cannot_parse(qb, col.get("quantity", "quantity"), q_raw, "a whole number")
        ok = ~bad.mask
        quarantine = quarantine_rows(df, bad.mask, bad.reason, bad.column, names)

        # per-row check: the amount columns add up to total
        row_sum = sum(amounts.values()) if amounts else pd.Series(0.0, index=df.index)
        diff = (total.fillna(0.0) - row_sum).round(2)
        notes = [
            f"{path.name}: row {int(line)}: amount columns add up to {s:.2f} but {c_total} says {t:.2f} "
            f"(difference {d:+.2f})"
            for line, s, t, d in zip(df.loc[ok & (diff.abs() >= 0.005), LINE], row_sum[ok & (diff.abs() >= 0.005)],
                                     total[ok & (diff.abs() >= 0.005)], diff[ok & (diff.abs() >= 0.005)])
        ]

        ttype_raw = col_text(df, col.get("type"))
        ttype = ttype_raw.map(lambda t: _TYPES.get(t.strip().lower(), t)).astype("string")
        desc_raw = col_text(df, col.get("description"))
        desc_row = desc_raw.map(lambda d: _DESCRIPTIONS.get(d.strip().lower(), d)).astype("string")
        is_order = ttype.str.lower().isin(_ORDER_TYPES)

        # long format: one line per non-zero amount cell (file order), a zero line for rows without any
        parts = []
        for order, c in enumerate(money_cols):
            role = _MONEY_OF.get(_key(c))
            atype, adesc, _ = _MONEY[role] if role else ("Other", c, ())
            m = ok & (amounts[c] != 0)
            if not m.any():
                continue
            if role == "other" or not role:
                d = desc_row[m].where(desc_row[m] != "", adesc or c)
            else:  # fee columns of non-order rows: the row's description names the fee
                d = pd.Series(adesc, index=df.index[m], dtype="string").where(
                    is_order[m] | (desc_row[m] == ""), desc_row[m])
            parts.append(pd.DataFrame({"row": df.index[m], "order": order, "amount_type": atype,
                                       "amount_description": d.astype("string"), "amount": amounts[c][m]}))
        has_any = pd.Series(False, index=df.index)
        for c in money_cols:
            has_any |= amounts[c] != 0
        zero = ok & ~has_any
        if zero.any():
            parts.append(pd.DataFrame({"row": df.index[zero], "order": 999, "amount_type": "Total",
                                       "amount_description": desc_row[zero].astype("string"),
                                       "amount": total[zero].fillna(0.0)}))
        long = (pd.concat(parts, ignore_index=True) if parts else
                pd.DataFrame({"row": pd.Series([], dtype="int64"), "order": [], "amount_type": [],
                              "amount_description": [], "amount": []}))
        long = long.sort_values(["row", "order"], kind="stable").reset_index(drop=True)
        r = long["row"].to_numpy()
        first = ~long["row"].duplicated()

        def take(s: pd.Series) -> pd.Series:
            return s.take(r).reset_index(drop=True)

        l_tt = take(ttype)
        cats = [settlement_category(t, a, d) for t, a, d in zip(
            l_tt.tolist(), long["amount_type"].tolist(), long["amount_description"].fillna("").tolist())]
        qty_first = take(qty).where(first.to_numpy(), pd.NA)
        lines = table_frame(
            "settlement_lines",
            {
                "platform": PLATFORM,
                "store_id": store.store_id,
                "settlement_id": take(col_text(df, col.get("settlement_id"))),
                "posted_date": take(ts.dt.floor("D")),
                "transaction_type": l_tt,
                "order_id": take(col_text(df, col.get("order_id"))),
                "sku": take(col_text(df, col.get("sku"))),
                "quantity": qty_first,
                "amount_type": long["amount_type"],
                "amount_description": long["amount_description"],
                "category": np.array(cats, dtype=object),
                "amount": long["amount"],
                "currency": store.currency,
                "source_row": take(df[LINE]),
            },
            long.index,
        )
        fees, refunds = derive_fees_refunds(store, lines, lines["posted_date"], take(qty).astype("Float64"))
        return ReadResult(
            tables={"settlement_lines": lines, "fees": fees, "refunds": refunds},
            rows_read=len(df),
            quarantine=quarantine,
            expected_money=round(float(total.fillna(0.0).sum()), 2),
            money_columns=[("settlement_lines", "amount", 1.0)],
            notes=notes,
        )

    @staticmethod
    def check_currency(path: Path, header_line: int, store: Store) -> None:
        """A preamble line like "All amounts in USD, unless specified" must name the store's currency."""
        with path.open("rb") as fh:
            text = decode_bytes(fh.read(16384), store.marketplace)[0]
        for line in text.splitlines()[:header_line]:
            low = line.lower()
            if not any(w in low for w in _AMOUNTS_IN):
                continue
            m = re.search(r"\b([A-Z]{3})\b", line) or re.search(r"(?i)\b(euro)\b", line)
            cur = (m.group(1).upper() if m else "").replace("EURO", "EUR")
            if cur and cur != store.currency.upper():
                raise IngestError(
                    f"{path}: line {line.strip()!r} says the amounts are in {cur} but store {store.store_id} "
                    f"is in {store.currency}; put the file under the right store or fix stores.csv"
                )


_AMOUNTS_IN = ("all amounts in", "alle beträge in", "tous les montants", "tutti gli importi", "todos los importes",
               "すべての金額")
