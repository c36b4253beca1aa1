"""Row hashes for de-duplication, equal to ``pandas.util.hash_pandas_object(df[cols], index=False)``.

The warehouse stores these values (``row_key``, ``row_hash``), so they must not change: each column
is hashed by pandas' own ``hash_array`` and the columns are combined as pandas combines them. The
one difference is how a text column gets there: an Arrow-backed column is dictionary-encoded by
Arrow and only its distinct values are hashed (pandas would first box every cell into a Python
string to factorize it); a missing cell takes pandas' missing-value hash (``2**64 - 1``).
``tests/test_ingest_hashing.py`` compares the two on every canonical column type.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.util import hash_array

_MISSING = np.iinfo(np.uint64).max  # what pandas gives a missing value of a categorized column


def hash_column(s: pd.Series) -> np.ndarray:
    """``hash_array`` of one column (uint64), the Arrow way for Arrow-backed text."""
    dt = s.dtype
    if isinstance(dt, pd.StringDtype) and dt.storage == "pyarrow" and len(s):
        arr = pa.array(s.array)  # the column's own Arrow buffers (ArrowStringArray.__arrow_array__)
        one = _one_text(arr)
        if one is not None:  # one value on every row (store, platform, currency …): hashed once
            return np.full(len(s), hash_array(np.array([one], dtype=object), categorize=False)[0], dtype=np.uint64)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        enc = pc.dictionary_encode(arr)
        uniq = enc.dictionary.to_numpy(zero_copy_only=False).astype(object)
        hashed = hash_array(uniq, categorize=False) if len(uniq) else np.zeros(0, np.uint64)
        idx = enc.indices
        if idx.null_count:
            valid = np.asarray(idx.is_valid())
            out = np.full(len(s), _MISSING, dtype=np.uint64)
            out[valid] = hashed[np.asarray(idx.fill_null(0), dtype=np.int64)[valid]]
            return out
        return hashed[np.asarray(idx, dtype=np.int64)]
    vals = s.array if isinstance(dt, pd.api.extensions.ExtensionDtype) else s.to_numpy()
    return np.asarray(hash_array(vals), dtype=np.uint64)


def _one_text(arr: pa.Array | pa.ChunkedArray) -> str | None:
    """The value of an Arrow text column whose every cell holds that same text (none missing),
    else None. A few cells are compared first: a column of many values usually differs there."""
    if arr.null_count or not len(arr):
        return None
    first = arr[0]
    n = len(arr)
    if any(arr[i] != first for i in (n - 1, n // 2, n // 3)):
        return None
    return first.as_py() if pc.all(pc.equal(arr, first)).as_py() else None


def combine(arrays: list[np.ndarray], n: int) -> np.ndarray:
    """Columns' hashes combined into one per row, as pandas does (CPython's tuple hash)."""
    if not arrays:
        return np.zeros(n, dtype=np.uint64)
    mult = np.uint64(1000003)
    out = np.zeros_like(arrays[0]) + np.uint64(0x345678)
    k = len(arrays)
    for i, a in enumerate(arrays):
        inverse_i = k - i
        out ^= a
        out *= mult
        mult += np.uint64(82520 + inverse_i + inverse_i)
    out += np.uint64(97531)
    return out


def hash_rows(df: pd.DataFrame, cols: list[str] | tuple[str, ...] | None = None,
              cache: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """One uint64 per row of ``df[cols]`` (all columns when ``cols`` is None), equal to
    ``pd.util.hash_pandas_object(df[cols], index=False).to_numpy()``. ``cache``: column hashes of
    this same frame already computed (filled here), so hashes over overlapping columns (the row key
    and the row's values) hash each column once."""
    cols = list(df.columns) if cols is None else list(cols)

    def column(c: str) -> np.ndarray:
        if cache is None:
            return hash_column(df[c])
        if c not in cache:
            cache[c] = hash_column(df[c])
        return cache[c]

    with np.errstate(over="ignore"):
        return combine([column(c) for c in cols], len(df))
