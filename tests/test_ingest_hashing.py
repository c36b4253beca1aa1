"""The de-duplication hashes are stored in the warehouse (row_key, row_hash): the fast Arrow path
(``kpi_lib.ingest.hashing``) must give exactly pandas' ``hash_pandas_object`` values, and the
occurrence numbers of repeated keys must equal pandas' ``groupby().cumcount()``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpi_lib.ingest.hashing import hash_column, hash_rows
from kpi_lib.ingest.pipeline import _occurrence, _row_keys, _source_row_counts
from kpi_lib.ingest.rowkeys import DUPLICATE, LOADED, SUPERSEDED
from kpi_lib.schemas import TABLES, conform


def _frame(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    text = np.array(["", "TY-1015", "ÄÖÜ-ß", "中文 SKU", "a\tb", " x ", "114-2480438-5474593"], dtype=object)
    s = text[rng.integers(0, len(text), n)].astype(object)
    s[rng.random(n) < 0.2] = None
    days = pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    ts = pd.Series(days + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")).astype("datetime64[ms]")
    ts[rng.random(n) < 0.1] = pd.NaT
    qty = pd.array(rng.integers(-3, 50, n), dtype="Int64")
    qty[rng.random(n) < 0.3] = pd.NA
    amount = rng.normal(10, 20, n).round(2)
    amount[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({
        "arrow": pd.Series(s, dtype="string[pyarrow]"),
        "python": pd.Series(s, dtype="string"),
        "day": pd.Series(days).astype("datetime64[ms]"),
        "ts": ts,
        "qty": qty,
        "amount": amount,
        "negzero": np.where(rng.random(n) < 0.5, -0.0, 0.0),
        "i64": rng.integers(-(2**62), 2**62, n),
    })


@pytest.mark.parametrize("n", [0, 1, 17, 5000])
def test_hash_rows_equals_pandas(n: int) -> None:
    df = _frame(n)
    want = pd.util.hash_pandas_object(df, index=False).to_numpy()
    assert np.array_equal(hash_rows(df), want)
    for c in df.columns:  # column by column too
        assert np.array_equal(hash_column(df[c]), pd.util.hash_pandas_object(df[c], index=False).to_numpy()), c


def test_arrow_text_in_many_chunks_and_all_missing() -> None:
    a = _frame(300, seed=1)[["arrow"]]
    b = _frame(200, seed=2)[["arrow"]]
    both = pd.concat([a, b], ignore_index=True)  # a chunked Arrow column
    taken = both.iloc[np.r_[450:500, 0:30]]  # a non-zero offset, rows reordered
    for df in (both, taken, pd.DataFrame({"arrow": pd.Series([None, None], dtype="string[pyarrow]")})):
        assert np.array_equal(hash_rows(df), pd.util.hash_pandas_object(df, index=False).to_numpy())


def test_occurrence_equals_groupby_cumcount() -> None:
    rng = np.random.default_rng(5)
    files = pd.Series(rng.choice(["a.txt", "b.txt", "c.txt"], 4000), dtype="string[pyarrow]")
    k = rng.integers(0, 40, 4000).astype(np.uint64)
    want = pd.Series(k).groupby([files.to_numpy(), k]).cumcount().to_numpy()
    assert np.array_equal(_occurrence(files, k), want)
    one = pd.Series(["a.txt"] * 4000, dtype="string[pyarrow]")
    assert np.array_equal(_occurrence(one, k), pd.Series(k).groupby(k).cumcount().to_numpy())
    assert len(_occurrence(one.iloc[:0], k[:0])) == 0


def test_row_keys_are_the_stored_values() -> None:
    """``_row_keys`` of a canonical frame equals the formula the warehouse was written with."""
    rng = np.random.default_rng(11)
    n = 3000
    t = TABLES["settlement_lines"]
    raw = pd.DataFrame({
        "platform": "amazon", "store_id": "AMZ-US-01", "settlement_id": rng.choice(["1", "2"], n),
        "posted_date": pd.to_datetime("2026-01-01") + pd.to_timedelta(rng.integers(0, 9, n), unit="D"),
        "transaction_type": rng.choice(["Order", "Refund"], n), "order_id": rng.choice(["o1", "o2", ""], n),
        "sku": rng.choice(["A", "B", None], n), "quantity": rng.integers(0, 3, n),
        "amount_type": "ItemPrice", "amount_description": rng.choice(["Principal", "Tax"], n),
        "category": "sales", "amount": rng.choice([1.5, -2.25, 0.0], n), "currency": "USD",
        "source_file": "AMZ-US-01/s/1.txt", "source_row": np.arange(n),
    })
    df = conform(raw, dict(t.columns) | {"source_file": "string", "source_row": "int64"})
    k = pd.util.hash_pandas_object(df[list(t.key)], index=False)
    occ = k.groupby([df["source_file"].to_numpy(), k.to_numpy()]).cumcount()
    want = pd.util.hash_pandas_object(pd.DataFrame({"k": k.to_numpy(), "o": occ.to_numpy()}), index=False)
    assert np.array_equal(_row_keys(df, t.key).to_numpy(), want.to_numpy().astype("int64"))
    assert occ.max() > 0  # repeated keys are in the sample


def _counts_by_sets(by_status: dict[int, list[np.ndarray]], q: np.ndarray) -> tuple[int, int, int, int]:
    """The reference: sorted-set operations (what the pipeline did before the mark arrays)."""
    def rows(code: int) -> set[int]:
        return {int(x) for a in by_status[code] for x in a}
    qs = {int(x) for x in q}
    loaded = rows(LOADED) - qs
    sup = rows(SUPERSEDED) - loaded - qs
    dup = rows(DUPLICATE) - loaded - sup - qs
    return len(qs), len(loaded), len(sup), len(dup)


@pytest.mark.parametrize("spread", [1, 10**9])  # dense row numbers (mark arrays) and sparse ones (sets)
def test_source_row_counts(spread: int) -> None:
    rng = np.random.default_rng(13)
    for _ in range(30):
        pick = lambda n: (rng.integers(2, 400, n) * spread).astype("int64")
        by = {LOADED: [pick(rng.integers(0, 300))], SUPERSEDED: [pick(rng.integers(0, 50)), pick(5)],
              DUPLICATE: [pick(rng.integers(0, 80))]}
        q = pick(rng.integers(0, 20))
        assert _source_row_counts(by, q) == _counts_by_sets(by, q)
    assert _source_row_counts({LOADED: [], SUPERSEDED: [], DUPLICATE: []}, np.array([], "int64")) == (0, 0, 0, 0)
