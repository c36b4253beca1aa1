"""Fast, vectorised text formatting and delimited-file writing (pyarrow compute, no row loops)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LS = pa.large_string()
# data rows written per file (path -> rows), filled by the writers; read by generate() for its summary
ROWS: dict[str, int] = {}


def const(value: str, n: int) -> pa.Array:
    return pc.fill_null(pa.nulls(n, LS), pa.scalar(value, LS))


def to_str(x: Any, n: int | None = None) -> pa.Array:
    """Any column-like value as a large_string array without nulls ('' for missing)."""
    if isinstance(x, str):
        assert n is not None
        return const(x, n)
    if isinstance(x, pa.ChunkedArray):
        x = x.combine_chunks()
    if not isinstance(x, pa.Array):
        arr = np.asarray(x)
        if arr.dtype.kind == "f":
            raise TypeError("format floats explicitly (money/num)")
        if arr.dtype.kind == "O":
            x = pa.array(arr, type=LS, from_pandas=True)
        else:
            x = pa.array(arr)
    if x.type != LS:
        x = x.cast(LS)
    return pc.fill_null(x, pa.scalar("", LS))


def int_str(a: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(a, dtype=np.int64)).cast(LS)


def pad(a: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(int_str(a), width, "0")


def join(*parts: Any, sep: str = "") -> pa.Array:
    n = max(len(p) for p in parts if not isinstance(p, str))
    arrs = [to_str(p, n) for p in parts]
    return pc.binary_join_element_wise(*arrs, pa.scalar(sep, LS))


def cents(values: Any) -> np.ndarray:
    return np.round(np.asarray(values, dtype=np.float64) * 100.0).astype(np.int64)


def money_c(c: np.ndarray, decimals: int = 2, thousands: str = "", mask: np.ndarray | None = None) -> pa.Array:
    """Integer cents -> '1234.56' / '-0.50' (or '1,234.56' with thousands=',')."""
    c = np.asarray(c, dtype=np.int64)
    neg = c < 0
    a = np.abs(c)
    ip = a // 100
    if thousands:
        ip_s = _thousands(ip, thousands)
    else:
        ip_s = int_str(ip)
    out = join(ip_s, pad(a % 100, 2), sep=".")
    if decimals == 0:
        out = ip_s
    sign = pc.if_else(pa.array(neg), pa.scalar("-", LS), pa.scalar("", LS))
    out = pc.binary_join_element_wise(sign, out, pa.scalar("", LS))
    if mask is not None:
        out = pc.if_else(pa.array(np.asarray(mask, dtype=bool)), pa.scalar("", LS), out)
    return out


def money(values: Any, **kw: Any) -> pa.Array:
    return money_c(cents(values), **kw)


def _thousands(ip: np.ndarray, sep: str) -> pa.Array:
    ip = np.asarray(ip, dtype=np.int64)
    out = int_str(ip % 1000)
    rest = ip // 1000
    res = pc.if_else(pa.array(rest > 0), pc.utf8_lpad(out, 3, "0"), out)
    level = rest
    while (level > 0).any():
        chunk = level % 1000
        nxt = level // 1000
        chunk_s = pc.if_else(pa.array(nxt > 0), pad(chunk, 3), int_str(chunk))
        joined = pc.binary_join_element_wise(chunk_s, res, pa.scalar(sep, LS))
        res = pc.if_else(pa.array(level > 0), joined, res)
        level = nxt
    return res


def num(values: Any, decimals: int) -> pa.Array:
    """Fixed decimals for non-money numbers (e.g. weights '0.480')."""
    v = np.round(np.asarray(values, dtype=np.float64) * 10**decimals).astype(np.int64)
    neg = v < 0
    a = np.abs(v)
    out = join(int_str(a // 10**decimals), pad(a % 10**decimals, decimals), sep=".") if decimals else int_str(a)
    sign = pc.if_else(pa.array(neg), pa.scalar("-", LS), pa.scalar("", LS))
    return pc.binary_join_element_wise(sign, out, pa.scalar("", LS))


def pct(values: Any, decimals: int = 2, mask: np.ndarray | None = None) -> pa.Array:
    out = join(num(np.asarray(values, dtype=float) * 100.0, decimals), "%")
    if mask is not None:
        out = pc.if_else(pa.array(np.asarray(mask, dtype=bool)), pa.scalar("", LS), out)
    return out


_MON = np.array(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], dtype=object)


def fmt_dt(ts: np.ndarray, pattern: str) -> pa.Array:
    """Format datetime64 values with a small strftime subset (%Y %m %d %-d %H %I %M %S %p %b); NaT -> ''."""
    ts = np.asarray(ts).astype("datetime64[s]")
    nat = np.isnat(ts)
    t = np.where(nat, np.datetime64("2000-01-01T00:00:00"), ts)
    days = t.astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    Y = years.astype(np.int64) + 1970
    m = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    d = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    secs = (t - days.astype("datetime64[s]")).astype(np.int64)
    H, Mi, S = secs // 3600, (secs // 60) % 60, secs % 60
    parts: list[Any] = []
    for tok in re.split(r"(%-?[A-Za-z])", pattern):
        if not tok:
            continue
        if tok == "%Y":
            parts.append(int_str(Y))
        elif tok == "%m":
            parts.append(pad(m, 2))
        elif tok == "%d":
            parts.append(pad(d, 2))
        elif tok == "%-d":
            parts.append(int_str(d))
        elif tok == "%-m":
            parts.append(int_str(m))
        elif tok == "%H":
            parts.append(pad(H, 2))
        elif tok == "%I":
            parts.append(pad((H + 11) % 12 + 1, 2))
        elif tok == "%M":
            parts.append(pad(Mi, 2))
        elif tok == "%S":
            parts.append(pad(S, 2))
        elif tok == "%p":
            parts.append(pa.array(np.where(H < 12, "AM", "PM").astype(object), type=LS))
        elif tok == "%b":
            parts.append(pa.array(_MON[m - 1], type=LS))
        else:
            parts.append(tok)
    n = len(ts)
    out = join(*[p if not isinstance(p, str) else const(p, n) for p in parts]) if n else pa.array([], LS)
    if nat.any():
        out = pc.if_else(pa.array(nat), pa.scalar("", LS), out)
    return out


def _quote(col: pa.Array, sep: str) -> pa.Array:
    need = pc.match_substring_regex(col, f'[{re.escape(sep)}"\\n\\r]')
    if not pc.any(need).as_py():
        return col
    quoted = pc.binary_join_element_wise(
        pa.scalar('"', LS), pc.replace_substring(col, '"', '""'), pa.scalar('"', LS), pa.scalar("", LS))
    return pc.if_else(need, quoted, col)


def render_lines(header: Sequence[str] | None, cols: Sequence[Any], sep: str, quote: bool = True,
                 pre: Sequence[str] = (), post: Sequence[str] = ()) -> list[pa.Array | str]:
    n = None
    for c in cols:
        if not isinstance(c, str):
            n = len(c)
            break
    n = n or 0
    arrs = [to_str(c, n) for c in cols]
    if quote:
        arrs = [_quote(a, sep) for a in arrs]
    pieces: list[pa.Array | str] = []
    if header is not None:
        h = [f'"{x}"' if quote and (sep in x or '"' in x) else x for x in header]
        pieces.append(sep.join(h))
    pieces.extend(pre)
    if n:
        pieces.append(pc.binary_join_element_wise(*arrs, pa.scalar(sep, LS)) if len(arrs) > 1 else arrs[0])
    pieces.extend(post)
    return pieces


def lines_buffer(lines: pa.Array) -> memoryview:
    """The lines joined with '\n' (each line followed by a newline), as a zero-copy view of an Arrow buffer."""
    if len(lines) == 0:
        return memoryview(b"")
    withnl = pc.binary_join_element_wise(lines, pa.scalar("\n", LS), pa.scalar("", LS)).cast(LS)
    offsets = np.frombuffer(withnl.buffers()[1], dtype=np.int64)[withnl.offset: withnl.offset + len(withnl) + 1]
    return memoryview(withnl.buffers()[2])[offsets[0]: offsets[-1]]


def lines_bytes(lines: pa.Array) -> bytes:
    return bytes(lines_buffer(lines))


def write_pieces(path: Path, pieces: Sequence[pa.Array | str], *, bom: bool = False, final_newline: bool = True,
                 encoding: str = "utf-8") -> None:
    """Write header/pre/body/post pieces; the body goes straight from Arrow memory to the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if encoding.lower() not in ("utf-8", "utf8") or not final_newline:
        buf = bytearray("\ufeff".encode() if bom else b"")
        for p in pieces:
            buf += (p + "\n").encode("utf-8") if isinstance(p, str) else lines_buffer(p)
        if not final_newline and buf.endswith(b"\n"):
            del buf[-1]
        data = bytes(buf)
        if encoding.lower() not in ("utf-8", "utf8"):
            data = data.decode("utf-8").encode(encoding)
        path.write_bytes(data)
        return
    with open(path, "wb") as fh:
        if bom:
            fh.write("\ufeff".encode())
        for p in pieces:
            fh.write((p + "\n").encode("utf-8") if isinstance(p, str) else lines_buffer(p))


def write_delimited(path: Path, header: Sequence[str] | None, cols: Sequence[Any], sep: str = ",", *,
                    quote: bool = True, encoding: str = "utf-8", bom: bool = False, final_newline: bool = True,
                    pre: Sequence[str] = (), post: Sequence[str] = ()) -> int:
    """Write a delimited text file; returns the number of data lines (excluding header/pre/post)."""
    pieces = render_lines(header, cols, sep, quote, pre, post)
    write_pieces(path, pieces, bom=bom, final_newline=final_newline, encoding=encoding)
    n = 0
    for c in cols:
        if not isinstance(c, str):
            n = len(c)
            break
    ROWS[str(path)] = n + len(post)
    return n
