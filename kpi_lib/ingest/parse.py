"""Vectorised parsing of the number and date formats real exports use.

Each parser returns ``(values, bad)`` where ``bad`` marks cells that were non-empty but could not be
parsed, so readers can quarantine exactly those rows with the column name and the raw text.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_CURRENCY = re.compile(r"(?i)(?:[A-Z]{3}(?![A-Za-z])|rs\.?|rm|s\$|us\$|[$€£¥₹₩฿₫₱]|৳|zł|kr)")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def _clean_numeric_text(s: pd.Series) -> pd.Series:
    t = s.astype("string").str.replace(_SPACES, "", regex=True)
    t = t.str.replace(_CURRENCY, "", regex=True)
    return t


def parse_number(s: pd.Series, decimal: str = "auto") -> tuple[pd.Series, pd.Series]:
    """Parse money/number text: ``$1,234.56``, ``AED 4,426.00``, ``1.234,56``, ``Rs.15.5``, ``(3.00)``, ``12%``.

    ``decimal`` is ``"."``, ``","`` or ``"auto"`` (per cell: the last of ``.``/``,`` followed by 1–2
    digits, or a lone ``,`` followed by 1–2 digits, is the decimal mark). Percent text is returned
    as a fraction (``12%`` → 0.12). Empty cells and ``--`` are NaN and not bad.
    """
    if pd.api.types.is_numeric_dtype(s):
        v = pd.to_numeric(s, errors="coerce").astype("float64")
        return v, pd.Series(False, index=s.index)
    if decimal != ",":
        # fast path: most cells are plain numbers; only the others go through the text cleaning
        obj = s.astype("object")
        fast = pd.to_numeric(obj, errors="coerce").astype("float64")
        rest = fast.isna() & obj.notna()
        if rest.any():
            v, bad = _parse_number_text(obj[rest], decimal)
            fast[rest] = v
            out_bad = np.zeros(len(s), dtype=bool)
            out_bad[rest.to_numpy(dtype=bool)] = bad.to_numpy(dtype=bool)
            return fast, pd.Series(out_bad, index=s.index)
        return fast, pd.Series(False, index=s.index)
    return _parse_number_text(s, decimal)


def _parse_number_text(s: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series]:
    raw = s.astype("string")
    empty = raw.isna() | raw.str.strip().isin(["", "-", "--", "—", "N/A", "n/a", "nan", "None"])
    t = _clean_numeric_text(raw)
    pct = t.str.endswith("%").fillna(False)
    t = t.str.rstrip("%")
    neg = t.str.startswith("(").fillna(False) & t.str.endswith(")").fillna(False)
    t = t.str.strip("()")
    if decimal == ",":
        t = t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    elif decimal == ".":
        t = t.str.replace(",", "", regex=False)
    else:
        comma_dec = t.str.contains(r",\d{1,2}$", regex=True).fillna(False) & ~t.str.contains(
            r"\.\d{1,2}$", regex=True
        ).fillna(False)
        # "1.234,56" or "12,5" → comma decimal; "1,234" (3 digits) stays thousands
        t = t.where(~comma_dec, t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
        t = t.where(comma_dec, t.str.replace(",", "", regex=False))
    v = pd.to_numeric(t, errors="coerce").astype("float64")
    v = v.where(~neg, -v)
    v = v.where(~pct, v / 100.0)
    bad = v.isna() & ~empty
    return v, bad.fillna(False).astype(bool)


def parse_int(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Integers (with thousands separators); a fractional value is bad."""
    v, bad = parse_number(s, decimal=".")
    frac = v.notna() & (v.round() != v)
    return v.round().astype("Int64"), (bad | frac)


#: a time zone at the end of a date-time: a numeric offset right after a time, or a zone name
TZ_SUFFIX = r"(?:\d:\d{2}(?::\d{2}(?:\.\d+)?)? ?[+-]\d{2}:?\d{2}|Z|UTC|GMT| [A-Z]{3,4})$"

_DATE_FORMATS = (
    "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d.%m.%Y %H:%M:%S", "%b %d, %Y", "%d %b %Y",
    "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%y", "%Y%m%d",
    "%d-%m-%Y", "%m-%d-%Y", "%d-%m-%Y %H:%M:%S", "%m-%d-%Y %H:%M:%S",
)


def parse_datetime(
    s: pd.Series, formats: tuple[str, ...] | list[str] | None = None, tz: str | None = None, dayfirst: bool = False
) -> tuple[pd.Series, pd.Series]:
    """Parse date/time text (or Excel serials / datetimes) to naive local datetimes.

    Tries ``formats`` in order (default: common export formats); ISO timestamps with an offset or
    ``Z``/``UTC``/``PST``-style suffix are converted to ``tz`` (the marketplace's zone) and made naive.
    Ambiguous ``dd/mm`` vs ``mm/dd`` is settled per column by ``dayfirst`` or by a value > 12.
    A text column whose values repeat (dates of an order's lines, ship dates) is parsed once per
    distinct value: every rule here is per cell, and the day-first test sees the same distinct values.
    """
    if len(s) >= _DEDUP_MIN and all_text(s):
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        if len(uniq) <= _DEDUP_SHARE * len(s):
            u = pd.Series(np.asarray(uniq, dtype=object), dtype=s.dtype if isinstance(s.dtype, pd.StringDtype) else object)
            v, b = _parse_datetime_cells(u, formats, tz, dayfirst)
            # code -1 (a missing cell) takes the last slot: NaT, not bad (an empty cell is never bad)
            vals = np.append(v.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
            bads = np.append(b.to_numpy(dtype=bool), False)
            return (pd.Series(vals[codes], index=s.index, dtype="datetime64[ns]"),
                    pd.Series(bads[codes], index=s.index, dtype=bool))
    return _parse_datetime_cells(s, formats, tz, dayfirst)


#: parse_datetime parses per distinct value from this many cells on, when at most this share is distinct
_DEDUP_MIN = 64
_DEDUP_SHARE = 0.75


def all_text(s: pd.Series) -> bool:
    """Text cells only (arrow/string dtype, or object holding str and missing values): equal cells
    are then equal text (an object column of numbers could hold 1 and 1.0, which factorize as one)."""
    if isinstance(s.dtype, pd.StringDtype):
        return True
    return s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")


def _parse_datetime_cells(
    s: pd.Series, formats: tuple[str, ...] | list[str] | None, tz: str | None, dayfirst: bool
) -> tuple[pd.Series, pd.Series]:
    """``parse_datetime`` cell by cell (vectorised; no de-duplication)."""
    idx = s.index
    if pd.api.types.is_datetime64_any_dtype(s):
        out = pd.to_datetime(s)
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert(tz or "UTC").dt.tz_localize(None)
        return out, pd.Series(False, index=idx)
    if pd.api.types.is_numeric_dtype(s):  # Excel serial dates
        out = pd.to_datetime(s, unit="D", origin="1899-12-30", errors="coerce")
        return out, (out.isna() & s.notna())
    obj = s.astype("object")
    if isinstance(s.dtype, pd.StringDtype):  # text only: no datetime cells to pick out
        is_dt = pd.Series(False, index=idx)
    else:
        is_dt = obj.map(lambda x: hasattr(x, "year") and hasattr(x, "month"))
    raw = obj.where(~is_dt, None).astype("string").str.strip()
    empty = raw.isna() | (raw == "")
    result = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    if is_dt.any():
        result[is_dt] = pd.to_datetime(obj[is_dt].map(lambda x: pd.Timestamp(x).tz_localize(None) if getattr(x, "tzinfo", None) else pd.Timestamp(x)))
    todo = ~empty & result.isna()
    # offsets / zone names → convert to marketplace time
    # a numeric offset only counts after a time of day: "01-07-2025" is a dash date, not 01-07 minus
    # 20:25 (letters — Z, UTC, PST — cannot be mistaken for a date)
    tz_like = raw.str.contains(TZ_SUFFIX, regex=True).fillna(False) & todo
    if tz_like.any():
        txt = raw[tz_like].str.replace(r" (PST|PDT|UTC|GMT)$", lambda m: {"PST": "-0800", "PDT": "-0700"}.get(m.group(1), "+0000"), regex=True)
        txt = txt.str.replace(r" ([A-Z]{3,4})$", "", regex=True)
        # dotted dates are always day-first ("05.07.2025 22:07:18 UTC" is 5 July): rewrite to ISO so
        # the mixed parser cannot read them month-first
        txt = txt.str.replace(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})", lambda m: f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}", regex=True)
        # fast path: ISO 8601 (the common case, vectorised in C); the rest through the mixed parser
        conv = pd.to_datetime(txt, errors="coerce", utc=True, format="ISO8601")
        rest = conv.isna()
        if rest.any():
            conv[rest] = pd.to_datetime(txt[rest], errors="coerce", utc=True, format="mixed")
        if tz:
            conv = conv.dt.tz_convert(tz)
        result[tz_like] = conv.dt.tz_localize(None)
        todo = todo & result.isna()
    fmts = list(formats) if formats else list(_DATE_FORMATS)
    if not formats:
        sample = raw[todo].dropna()
        if not dayfirst and len(sample):
            firsts = sample.str.extract(r"^(\d{1,2})[/.-]\d{1,2}[/.-]\d{4}")[0].dropna()
            if len(firsts) and (firsts.astype(int) > 12).any():
                dayfirst = True
        if dayfirst:
            fmts = [f for f in fmts if not f.startswith(("%m/%d", "%m-%d"))]
        else:
            fmts = [f for f in fmts if not f.startswith(("%d/%m", "%d-%m"))]
    for fmt in fmts:
        if not todo.any():
            break
        parsed = pd.to_datetime(raw[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        if ok.any():
            result[parsed[ok].index] = parsed[ok]
            todo = todo & result.isna()
    bad = todo & ~empty
    return result, bad.astype(bool)


def first_bad(mask_by_col: dict[str, pd.Series], raw: pd.DataFrame, what: dict[str, str]) -> pd.DataFrame:
    """For rows with any bad cell: the first bad column and a reason naming what was expected."""
    reasons = pd.Series(pd.NA, index=raw.index, dtype="string")
    cols = pd.Series(pd.NA, index=raw.index, dtype="string")
    for col, mask in mask_by_col.items():
        hit = mask & reasons.isna()
        if hit.any():
            vals = raw.loc[hit, col].astype("string") if col in raw.columns else pd.Series("", index=hit[hit].index)
            reasons[hit] = "cannot parse " + repr(col)[1:-1] + ": " + vals.fillna("") + f" (expected {what.get(col, 'a value')})"
            cols[hit] = col
    return pd.DataFrame({"reason": reasons, "column": cols})


def np_nan_to_none(d: dict) -> dict:
    return {k: (None if (isinstance(v, float) and np.isnan(v)) else v) for k, v in d.items()}


# ------------------------------------------------------------------ columns of a string frame
# The readers' column parsers: a column of a frame read by ``frames`` (arrow strings, or xlsx
# objects) → values and a bad-cell mask, with vectorised fast paths in front of the parsers above.

def col_text(df: pd.DataFrame, col: str | None) -> pd.Series:
    """A column as stripped strings ('' when missing)."""
    if col is None or col not in df.columns:
        return pd.Series("", index=df.index, dtype="string")
    s = df[col]
    if s.dtype == object:
        s = s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        s = s.astype("string[pyarrow]")  # arrow-backed: .str and comparisons run vectorised in C++
    return s.fillna("").str.strip()


def col_number(s: pd.Series, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    """Numbers: a vectorised plain-number fast path, ``parse_number`` for the rest. An infinite value
    ("inf", "-Infinity", 1e999) is no amount of an export: a bad cell, like other text."""
    v, bad = _col_number(s, decimal)
    inf = np.isinf(v.to_numpy(dtype="float64", na_value=np.nan))
    if inf.any():
        v, bad = v.mask(inf), bad | inf
    return v, bad


def _col_number(s: pd.Series, decimal: str) -> tuple[pd.Series, pd.Series]:
    if s.dtype == object:
        if s.map(lambda v: v is None or isinstance(v, (int, float))).all():
            return parse_number(pd.to_numeric(s, errors="coerce"))
        s = s.map(lambda v: "" if v is None else str(v))
    st = col_text(pd.DataFrame({"x": s}), "x")
    if decimal == ",":
        return parse_number(st, decimal=",")
    vals = _arrow_float(st)
    if vals is not None:
        return pd.Series(vals, index=s.index, dtype="float64"), pd.Series(False, index=s.index)
    v = pd.to_numeric(st.where(st != "", None), errors="coerce").astype("float64")
    rest = v.isna() & (st != "")
    bad = pd.Series(False, index=s.index)
    if rest.any():
        v2, b2 = parse_number(st[rest].astype(object).astype("string"), decimal=decimal)
        v[rest] = np.asarray(v2, dtype="float64")
        bad[rest] = np.asarray(b2, dtype=bool)
    return v, bad


def _arrow_float(st: pd.Series) -> np.ndarray | None:
    """Plain numbers in one arrow cast; None when any cell is other text (symbols, separators…)."""
    return arrow_floats(pa.array(st.array))


def arrow_floats(arr: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """Stripped Arrow text as numbers in one cast (an empty cell is NaN); None when any cell is other text
    (symbols, separators…) or infinite: such a column takes :func:`col_number`'s cell rules."""
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    try:
        vals = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        return None
    return vals if np.isfinite(vals[~np.isnan(vals)]).all() else None


#: the largest whole number a float holds exactly (quantities beyond it are no quantity of an export)
WHOLE_MAX = 2.0 ** 53


def whole(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rounded numbers (NaN where missing or unusable) and the mask of those with a fraction or beyond
    ±:data:`WHOLE_MAX` (the one rule of :func:`col_int` and ``arrowcols.whole_numbers``)."""
    r = np.round(v)
    bad = ~np.isnan(v) & ((r != v) | (np.abs(v) > WHOLE_MAX))
    return np.where(np.abs(r) > WHOLE_MAX, np.nan, r), bad


def col_int(s: pd.Series, decimal: str = ".") -> tuple[pd.Series, pd.Series]:
    """Whole numbers (Int64) and the mask of bad cells: not a number, a fraction, or out of range."""
    v, bad = col_number(s, decimal)
    r, wrong = whole(v.to_numpy(dtype="float64", na_value=np.nan))
    return pd.Series(r, index=v.index).astype("Int64"), bad | pd.Series(wrong, index=v.index)


_ISO_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$"


def col_datetime(s: pd.Series, tz: str | None, **kw) -> tuple[pd.Series, pd.Series]:
    """Timestamps, parsed once per distinct value when values repeat (settlement dates do, order
    timestamps hardly); ISO 8601 with an offset takes a vectorised fast path, everything else goes
    through ``parse_datetime``."""
    if s.dtype != object and not isinstance(s.dtype, pd.StringDtype):
        return parse_datetime(s, tz=tz, **kw)
    st = col_text(pd.DataFrame({"x": s}), "x")
    if len(st) > 50_000 and st.iloc[:10_000].nunique() > 5_000:  # mostly distinct: skip the dedup
        v, b = _datetime_values(st.reset_index(drop=True), tz, **kw)
        return pd.Series(v.to_numpy(), index=s.index), pd.Series(b.to_numpy(), index=s.index)
    codes, uniq = pd.factorize(st)
    if not len(uniq):
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), pd.Series(False, index=s.index)
    v, b = _datetime_values(pd.Series(np.asarray(uniq, dtype=object), dtype="string[pyarrow]"), tz, **kw)
    return pd.Series(v.to_numpy()[codes], index=s.index), pd.Series(b.to_numpy()[codes], index=s.index)


def _datetime_values(u: pd.Series, tz: str | None, **kw) -> tuple[pd.Series, pd.Series]:
    out = pd.Series(pd.NaT, index=u.index, dtype="datetime64[ns]")
    bad = pd.Series(False, index=u.index)
    iso = u.str.contains(_ISO_OFFSET, regex=True).fillna(False).astype(bool)
    if iso.any():
        conv = pd.to_datetime(u[iso].astype(object), format="ISO8601", utc=True, errors="coerce")
        if tz:
            conv = conv.dt.tz_convert(tz)
        out[iso] = conv.dt.tz_localize(None).astype("datetime64[ns]")
    rest = (~iso | out.isna()) & (u != "")
    if rest.any():
        v, b = parse_datetime(u[rest].astype(object).astype("string"), tz=tz, **kw)
        out[rest] = np.asarray(v, dtype="datetime64[ns]")
        bad[rest] = np.asarray(b, dtype=bool)
    return out, bad


def col_dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates from text or from xlsx cells (datetimes, or Excel serial numbers when a cell lost its format)."""
    if s.dtype != object:
        return col_datetime(s, None) if isinstance(s.dtype, pd.StringDtype) else parse_datetime(s)
    is_dt = s.map(lambda v: hasattr(v, "year") and hasattr(v, "month"))
    is_num = s.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and not pd.isna(v))
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    bad = pd.Series(False, index=s.index)
    if is_dt.any():
        out[is_dt] = pd.to_datetime(
            s[is_dt].map(
                lambda v: pd.Timestamp(v).tz_localize(None) if getattr(v, "tzinfo", None) else pd.Timestamp(v)
            )
        )
    if is_num.any():
        out[is_num] = pd.to_datetime(s[is_num].astype("float64"), unit="D", origin="1899-12-30")
    rest = ~is_dt & ~is_num
    if rest.any():
        v, b = col_datetime(s[rest].map(lambda x: "" if x is None else str(x)).astype("string"), None)
        out[rest] = np.asarray(v, dtype="datetime64[ns]")
        bad[rest] = np.asarray(b, dtype=bool)
    return out, bad
