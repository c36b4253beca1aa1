"""Helpers shared by the platform writers: ids, time zones, month splitting, the dirty-row log."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


def perm_ids(idx: np.ndarray, ndigits: int, mult: int, salt: int) -> np.ndarray:
    """Unique, random-looking integers with ndigits digits (a bijection of idx modulo 10**ndigits)."""
    m = 10 ** ndigits
    return (np.asarray(idx, dtype=np.int64) * np.int64(mult) + np.int64(salt)) % np.int64(m)


def zpad(v: np.ndarray, width: int) -> np.ndarray:
    return np.char.zfill(np.asarray(v, dtype=np.int64).astype(str), width)


def local_to_utc(ts: np.ndarray, tz: str) -> np.ndarray:
    idx = pd.DatetimeIndex(ts)
    loc = idx.tz_localize(tz, ambiguous=np.zeros(len(idx), dtype=bool), nonexistent="shift_forward")
    return loc.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]")


def utc_offset_str(ts: np.ndarray, tz: str) -> np.ndarray:
    """'-0500' style offsets of local timestamps."""
    utc = local_to_utc(ts, tz)
    off_min = ((np.asarray(ts).astype("datetime64[s]") - utc).astype(np.int64) // 60)
    sign = np.where(off_min < 0, "-", "+")
    a = np.abs(off_min)
    return np.char.add(np.char.add(sign.astype(str), zpad(a // 60, 2)), zpad(a % 60, 2))


def month_slices(days: np.ndarray, months: list[str]) -> list[tuple[str, np.ndarray]]:
    """(month, boolean mask) for each month of the period present in days (datetime64[D])."""
    ym = np.asarray(days).astype("datetime64[M]")
    out = []
    for m in months:
        mask = ym == np.datetime64(m)
        if mask.any():
            out.append((m, mask))
    return out


@dataclass
class DirtyLog:
    """Every injected dirty row: file (relative to out), line (1-based physical line / sheet row), kind."""

    out: Path
    rows: list[dict] = field(default_factory=list)

    _rel: dict[Path, str] = field(default_factory=dict)

    def add(self, path: Path, line: int | None, kind: str, detail: str = "", **extra: object) -> None:
        rel = self._rel.get(path)
        if rel is None:
            rel = self._rel[path] = path.relative_to(self.out).as_posix()
        self.rows.append({"file": rel, "line": line, "kind": kind, "detail": detail, **extra})
