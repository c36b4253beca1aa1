"""Fast paths of the generic ingest steps (issue 15.2, session 11), each against the path it
short-cuts, on frames with missing, empty, repeated and unparseable values:

- ``hashing.hash_column``: an Arrow text column holding one value on every row is hashed once;
- ``hashing.hash_rows(cache=…)``: the row key and the row hash share their columns' hashes;
- ``pipeline._row_keys``: the (key, occurrence) pair hashed with ``hash_array`` directly;
- ``pipeline._occurrence`` / ``_one_value``: one file's keys sorted alone (no file codes);
- ``rowkeys.KeyIndex.classify``: a batch without repeated keys reuses one sort for look-up and insert;
- ``pipeline._fx_rates`` / ``_month_keys``: FX pairs found on integers, month keys from a day table;
- ``schemas.conform(copy=False)``: the same frame without copying canonical columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from kpi_lib.ingest import pipeline
from kpi_lib.ingest.hashing import hash_column, hash_rows
from kpi_lib.ingest.rowkeys import KeyIndex, classify_loop
from kpi_lib.schemas import TABLES, conform

ARROW = "string[pyarrow]"


def _text_columns() -> dict[str, pd.Series]:
    """Arrow text columns: one value, one value but a missing/other cell at the ends or middle, all
    missing, all empty, repeated and unparseable-looking values, a chunked column of one value."""
    n = 301
    rng = np.random.default_rng(3)
    one = ["AMZ-US-01"] * n
    cols = {
        "one": one, "empty": [""] * n, "all_missing": [None] * n, "single": ["x"],
        "missing_first": [None] + one[1:], "missing_mid": one[:150] + [None] + one[151:],
        "other_last": one[:-1] + ["AMZ-US-02"], "other_third": one[:100] + ["amz-us-01"] + one[101:],
        "other_inside": one[:7] + [" AMZ-US-01"] + one[8:], "empty_inside": one[:200] + [""] + one[201:],
        "repeated": list(rng.choice(["", "n/a", "12,5", "ÄÖ", "中文", "#VALUE!", "a\tb"], n)),
    }
    out = {k: pd.Series(v, dtype=ARROW) for k, v in cols.items()}
    out["chunked_one"] = pd.concat([pd.Series(one[:100], dtype=ARROW), pd.Series(one[100:], dtype=ARROW)],
                                   ignore_index=True)
    out["chunked_other"] = pd.concat([pd.Series(one[:100], dtype=ARROW), pd.Series(["b"] * 50, dtype=ARROW)],
                                     ignore_index=True)
    out["taken"] = out["other_third"].iloc[np.r_[150:300, 0:5]]  # offset Arrow slices
    return out


@pytest.mark.parametrize("name", sorted(_text_columns()))
def test_text_column_hash_equals_pandas(name: str) -> None:
    s = _text_columns()[name]
    assert np.array_equal(hash_column(s), pd.util.hash_pandas_object(s, index=False).to_numpy())


@pytest.mark.parametrize("name", sorted(_text_columns()))
def test_one_value_equals_nunique(name: str) -> None:
    s = _text_columns()[name]
    assert pipeline._one_value(s) == (s.nunique(dropna=False) <= 1)
    as_object = s.astype(object)
    assert pipeline._one_value(as_object) == (as_object.nunique(dropna=False) <= 1)


def _canonical(n: int, seed: int, files: int = 1) -> pd.DataFrame:
    """A conformed settlement-lines frame with missing, empty and repeated cells (and repeated keys)."""
    rng = np.random.default_rng(seed)
    t = TABLES["settlement_lines"]
    raw = pd.DataFrame({
        "platform": "amazon", "store_id": "AMZ-US-01", "settlement_id": rng.choice(["1", "2", ""], n),
        "posted_date": pd.to_datetime("2026-01-01") + pd.to_timedelta(rng.integers(0, 9, n), unit="D"),
        "transaction_type": rng.choice(["Order", "Refund", None], n), "order_id": rng.choice(["o1", "o2", ""], n),
        "sku": rng.choice(["A", "B", None], n), "quantity": rng.choice([0, 1, None], n),
        "amount_type": "ItemPrice", "amount_description": rng.choice(["Principal", "Tax"], n),
        "category": "sales", "amount": rng.choice([1.5, -2.25, 0.0, np.nan], n), "currency": "USD",
        "source_file": rng.choice([f"AMZ-US-01/s/{i}.txt" for i in range(files)], n), "source_row": np.arange(n),
    })
    return conform(raw, dict(t.columns) | {"source_file": "string", "source_row": "int64"})


@pytest.mark.parametrize("files", [1, 3])
def test_row_keys_and_hashes_with_shared_column_hashes(files: int) -> None:
    """Row keys and hashes computed with one cache of column hashes equal those computed apart,
    and the stored formula (pandas' hash of the key, then of (key hash, occurrence))."""
    df = _canonical(4000, seed=files, files=files)
    t = TABLES["settlement_lines"]
    cache: dict[str, np.ndarray] = {}
    keys = pipeline._row_keys(df, t.key, cache)
    hashes = pipeline._row_hashes(df, t, cache)
    assert set(t.key) <= set(cache)
    assert np.array_equal(hashes, pd.util.hash_pandas_object(df[list(t.columns)], index=False).to_numpy().view("int64"))
    k = pd.util.hash_pandas_object(df[list(t.key)], index=False)
    occ = k.groupby([df["source_file"].to_numpy(), k.to_numpy()]).cumcount()
    assert occ.max() > 0
    want = pd.util.hash_pandas_object(pd.DataFrame({"k": k.to_numpy(), "o": occ.to_numpy()}), index=False)
    assert np.array_equal(keys.to_numpy(), want.to_numpy().view("int64"))
    assert np.array_equal(pipeline._row_keys(df, t.key).to_numpy(), keys.to_numpy())
    assert np.array_equal(hash_rows(df, list(t.key), {}), hash_rows(df, list(t.key)))


def test_occurrence_one_file_and_many() -> None:
    rng = np.random.default_rng(9)
    k = rng.integers(0, 30, 3000).astype(np.uint64)
    for files in (pd.Series(["f"] * 3000, dtype=ARROW), pd.Series([None] * 3000, dtype=ARROW),
                  pd.Series(rng.choice(["f", "g", ""], 3000), dtype=ARROW),
                  pd.Series(rng.choice(["f", None], 3000), dtype=ARROW), pd.Series(["f"] * 3000, dtype=object)):
        want = pd.Series(k).groupby([files.fillna("\0").to_numpy(), k]).cumcount().to_numpy()
        assert np.array_equal(pipeline._occurrence(files, k), want)


def _batches(seed: int) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Batches of (keys, hashes, version): new keys, repeats with the same and other values, newer
    and older versions, equal versions, and some batches with a key repeated inside."""
    rng = np.random.default_rng(seed)
    out = []
    for b in range(30):
        n = int(rng.integers(0, 400))
        keys = rng.integers(-500, 500, n)
        if b % 3:  # most batches: unique keys (the single-round path)
            keys = np.unique(keys)
            rng.shuffle(keys)
        hashes = rng.integers(0, 3, len(keys))
        version = int(rng.choice([10, 20, 20, 30, 5]))
        out.append((keys.astype(np.int64), hashes.astype(np.int64), version))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_classify_single_round_equals_the_loop(seed: int) -> None:
    ix = KeyIndex.from_arrays(np.array([1, 2, 3, 400]), np.array([20, 0, 30, 10]), np.array([True, False, True, True]),
                              np.array([1, 1, 0, 2]), np.array([True, True, False, True]))
    seen: dict[int, tuple[int | None, int | None]] = {1: (20, 1), 2: (None, 1), 3: (30, None), 400: (10, 2)}
    for keys, hashes, version in _batches(seed):
        got = ix.classify(keys, hashes, version)
        want = classify_loop(seen, keys, hashes, version)
        for g, w in zip(got, want):
            assert np.array_equal(g, w)
    assert len(ix) == len(seen)


def _fx() -> pd.DataFrame:
    return pd.DataFrame({"currency": ["MYR", "MYR", "EUR", "SGD"], "month_key": [202601, 202602, 202601, 202512],
                         "fx_rate": [0.21, 0.22, 1.08, 0.74]})


def test_fx_rates_equal_the_text_lookup() -> None:
    rng = np.random.default_rng(4)
    n = 2000
    cur = pd.Series(rng.choice(["MYR", "EUR", "SGD", "", "XXX"], n), dtype=ARROW)
    cur[rng.random(n) < 0.05] = None
    codes, uniq = pd.factorize(cur, use_na_sentinel=True)
    cur_text = np.array([str(u) for u in uniq] + [str(pd.NA)], dtype=object)
    mk = rng.choice([202512, 202601, 202602, 199912, 202603], n).astype("int64")
    got = pipeline._fx_rates(cur_text, codes, mk, _fx())
    want = pipeline._fx_lookup(pd.DataFrame({"currency": cur_text[codes], "month_key": mk}), _fx())
    assert np.isnan(want).any() and not np.isnan(want).all()
    assert np.array_equal(got, want, equal_nan=True)
    huge = mk.copy()
    huge[0] = 1_000_001
    assert np.array_equal(pipeline._fx_rates(cur_text, codes, huge, _fx()), pipeline._fx_lookup(
        pd.DataFrame({"currency": cur_text[codes], "month_key": huge}), _fx()), equal_nan=True)
    other = pd.concat([_fx(), pd.DataFrame({"currency": ["GBP", "GBP", None], "month_key": [202601, 202601, 202601],
                                            "fx_rate": [1.2, 1.3, 9.0]})], ignore_index=True)
    # a pair held twice but not looked up, and a missing currency in fx: as the merge
    assert np.array_equal(pipeline._fx_rates(cur_text, codes, mk, other), pipeline._fx_lookup(
        pd.DataFrame({"currency": cur_text[codes], "month_key": mk}), other), equal_nan=True)
    with pytest.raises(Exception, match="more than one rate"):
        pipeline._fx_rates(cur_text, codes, mk, pd.concat([_fx(), _fx().head(1)], ignore_index=True))


@pytest.mark.parametrize("dates", [
    ["2026-01-31T23:59:59.999", "2026-02-01", "1969-12-31T23:59:59.999", "1970-01-01", "2000-02-29T12:00"],
    ["2026-11-30"] * 5,
    ["1900-03-01T00:00:00.001"],
    ["2024-02-29", "2025-12-31T23:00", "2026-01-01T00:00:00.001", "2026-01-01"] * 50,
])
def test_month_keys_equal_the_dt_fields(dates: list[str]) -> None:
    d = pd.Series(np.array(dates, dtype="datetime64[ms]"))
    want = (d.dt.year.astype("int64") * 100 + d.dt.month.astype("int64")).to_numpy()
    assert np.array_equal(pipeline._month_keys(d), want)
    spread = pd.concat([d, pd.Series(np.array(["1200-01-01", "2900-12-31"], dtype="datetime64[ms]"))],
                       ignore_index=True)  # past the day table's range: the pandas path
    assert np.array_equal(pipeline._month_keys(spread),
                          (spread.dt.year.astype("int64") * 100 + spread.dt.month.astype("int64")).to_numpy())


def test_month_keys_of_a_missing_date_fail_as_before() -> None:
    d = pd.Series(pd.to_datetime(["2026-01-01", None])).astype("datetime64[ms]")
    with pytest.raises(ValueError) as want:
        d.dt.year.astype("int64")
    with pytest.raises(type(want.value)):
        pipeline._month_keys(d)


def test_conform_without_copy_is_the_same_frame() -> None:
    t = TABLES["settlement_lines"]
    cols = dict(t.columns) | {"source_file": "string", "source_row": "int64"}
    df = _canonical(500, seed=5)
    df["amount"] = df["amount"].astype(object).where(df["amount"].notna(), "n/a")  # a column to parse again
    df = df.drop(columns=["category"])  # a missing column
    shared = conform(df, cols, copy=False)
    pd.testing.assert_frame_equal(shared, conform(df, cols), check_exact=True)
    assert np.shares_memory(shared["posted_date"].to_numpy(), df["posted_date"].to_numpy())
    assert isinstance(pa.array(shared["sku"].array), (pa.Array, pa.ChunkedArray))


def _typed_columns() -> dict[str, pd.Series]:
    """Every canonical column type, with and without missing cells (and NaN in an object column)."""
    n = 50
    full = {
        "arrow": pd.Series(["a", "", "b"] * n, dtype=ARROW), "python": pd.Series(["a", "", "b"] * n, dtype="string"),
        "float": pd.Series(np.linspace(-1, 1, 3 * n)), "int": pd.Series(np.arange(3 * n), dtype="Int64"),
        "date": pd.Series(np.arange(3 * n).astype("datetime64[D]").astype("datetime64[ms]")),
        "object": pd.Series(["x", 1.5, "n/a"] * n, dtype=object), "numpy_int": pd.Series(np.arange(3 * n)),
        "bool": pd.Series([True, False, True] * n),
    }
    out = dict(full)
    for k, s in full.items():
        if k in ("numpy_int", "bool"):
            continue
        holed = s.copy()
        holed.iloc[[0, 7, -1]] = None
        out[f"{k}_missing"] = holed
    out["object_nan"] = pd.Series(["x", np.nan, None] * n, dtype=object)
    out["all_missing"] = pd.Series([None] * 9, dtype=ARROW)
    out["empty"] = pd.Series([], dtype="float64")
    return out


@pytest.mark.parametrize("name", sorted(_typed_columns()))
def test_missing_mask_equals_isna(name: str) -> None:
    s = _typed_columns()[name]
    got = pipeline._missing(s)
    want = s.isna().to_numpy()
    if want.any():
        assert got is not None and np.array_equal(got, want)
    else:
        assert got is None


@pytest.mark.parametrize("table", ["orders", "settlement_lines", "fees"])
def test_schema_pre_check_equals_pandera(table: str) -> None:
    """The pre-check (now with ``_missing``) says 'may fail' exactly when pandera finds a failing row
    (a missing required cell, a negative amount, a value outside a list), on frames with missing,
    empty and repeated cells."""
    import pandera.errors as pa_errors

    from kpi_lib.schemas import FEE_TYPES, ORDER_STATUSES

    schema = pipeline._schema(table)
    t = TABLES[table]
    n = 200
    rng = np.random.default_rng(len(table))
    raw = {}
    for c, kind in t.columns.items():
        if kind in ("date", "timestamp"):
            raw[c] = rng.choice(["2026-01-02", "2026-01-03"], n)
        elif kind in ("int64", "float64"):
            raw[c] = rng.choice(["1", "2.5", "0"], n) if kind == "float64" else rng.choice(["1", "0"], n)
        else:
            raw[c] = rng.choice(["a", "", "a"], n)
    if "status" in t.columns:
        raw["status"] = rng.choice(list(ORDER_STATUSES), n)
    if "fee_type" in t.columns:
        raw["fee_type"] = rng.choice(list(FEE_TYPES), n)
    base = conform(pd.DataFrame(raw), dict(t.columns))
    outcomes: set[bool] = set()
    for trial in range(40):
        df = base.copy()
        col = list(df.columns)[trial % len(df.columns)]
        if trial % 2:
            df.loc[df.index[int(rng.integers(0, n))], col] = None
        if trial % 3 == 0 and df[col].dtype.kind == "f":
            df.loc[df.index[3], col] = -1.0
        if trial % 4 == 0 and col in ("status", "fee_type"):
            df[col] = df[col].where(df.index != 5, "nonsense")
        try:
            schema.validate(df, lazy=True)
            fails = False
        except pa_errors.SchemaErrors:
            fails = True
        outcomes.add(fails)
        # (the checks of these schemas are all ones the pre-check decides: it is exact here)
        assert pipeline._schema_may_fail(schema, df) == fails, (table, trial, col)
    assert outcomes == {True, False}


@pytest.mark.parametrize("stores", [["AMZ-US-01"], ["AMZ-US-01", "AMZ-US-02"]])
def test_dedup_classifies_each_store_against_its_own_keys(stores: list[str]) -> None:
    """A file's rows go to the key index of their own store: with one store (the fast path: no
    factorize) as with several (rows of each store, in order of first appearance)."""
    from kpi_lib.ingest.rowkeys import SeenKeys

    t = TABLES["orders"]
    n = 120
    raw = pd.DataFrame({c: None for c in t.columns} | {
        "store_id": np.repeat(stores, n // len(stores)), "order_id": np.tile(["o1", "o2", "o3", ""], n // 4),
        "line_id": "1", "order_date": "2026-01-02", "source_file": "f.csv", "source_row": np.arange(2, n + 2)})
    df = conform(raw, dict(t.columns) | {"source_file": "string", "source_row": "int64"})
    fr = pipeline.FileResult(path="f.csv", store_id=stores[0], reader="x", rows_read=n, version=5)
    p = pipeline._Prepared(fr, {"orders": df}, pd.DataFrame(columns=["source_row"]), np.arange(0), None, [])
    seen = SeenKeys(None)
    pipeline._dedup_and_count([p], seen)
    per_store = n // len(stores)
    # (a repeated order id is another occurrence of its key: every row loads)
    assert fr.rows_loaded == n and fr.rows_duplicate == 0
    last = stores[-1]  # (SeenKeys keeps the last store's indexes)
    assert len(seen.get("orders", last)) == per_store
    assert list(seen.maps) == [("orders", last)]


# --- session 11, second helper: prepare's date checks, money and columns; the write connection ---
def _dated(seed: int, dtype: str = "datetime64[ms]") -> pd.DataFrame:
    """Dates around the limits (tomorrow, 2000-01-01), missing, repeated, far past and future, on a
    shuffled index with repeated source rows."""
    rng = np.random.default_rng(seed)
    pool = np.array(["2026-12-08T00:00:00", "2026-12-08T00:00:00.001", "2026-12-07T23:59:59.999", "2026-12-09",
                     "1999-12-31T23:59:59.999", "2000-01-01", "1970-01-01", "1900-05-05", "2026-06-30T12:00", "NaT"]
                    + (["3000-01-01"] if dtype == "datetime64[ms]" else []), dtype="datetime64[ms]")
    n = 200
    d = pd.Series(pool[rng.integers(0, len(pool), n)])
    d = d.astype(object) if dtype == "object" else d.astype(dtype)
    df = pd.DataFrame({"order_date": d, "source_row": rng.integers(2, 60, n)})
    return df.set_index(pd.Index(rng.permutation(n) * 3)).iloc[::-1]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("dtype", ["datetime64[ms]", "datetime64[ns]", "object"])
def test_date_checks_equal_the_pandas_operators(seed: int, dtype: str) -> None:
    import datetime as dt

    df = _dated(seed, dtype)
    today = dt.date(2026, 12, 7)
    got = pipeline._date_checks(df, "order_date", today)
    want = pipeline._date_checks_pandas(df, "order_date", today)
    assert got == want
    assert any("future" in q.reason for q in got) and any("before 2000" in q.reason for q in got)
    none = df[df["order_date"].isna()]  # every date missing: nothing to quarantine
    assert pipeline._date_checks(none, "order_date", today) == [] == pipeline._date_checks_pandas(none, "order_date", today)


@pytest.mark.parametrize("amounts", [
    [1.5, -2.25, 0.0, np.nan, 1e15, -0.0000005, 0.1234565, 3.0000005, 2.675],
    [np.nan] * 4, [],
])
def test_rc_values_equal_the_pandas_operators(amounts: list[float]) -> None:
    rng = np.random.default_rng(7)
    amount = pd.Series(amounts, dtype="float64", index=pd.Index(rng.permutation(len(amounts)) + 10))
    rate = rng.choice([1.0, 0.0072, 1.3456789, 0.33333333, np.nan], len(amounts)).astype("float64")
    df = pd.DataFrame({"amount": amount, "fx_rate": rate}, index=amount.index)
    want = (df["amount"] * df["fx_rate"]).round(6).to_numpy()
    got = np.asarray(pipeline._rc_values(df["amount"], rate))
    assert got.dtype == want.dtype and np.array_equal(got.view("int64"), want.view("int64"))
    other = pipeline._rc_values(amount.astype("float32"), rate)  # (another dtype: pandas' operators)
    want32 = (df["amount"].astype("float32") * df["fx_rate"]).round(6)
    pd.testing.assert_series_equal(other, want32, check_exact=True)


def test_conform_with_extra_columns_equals_setting_them_first() -> None:
    from kpi_lib.schemas import const_text

    t = TABLES["settlement_lines"]
    cols = dict(t.columns) | {"source_file": "string", "source_row": "int64"}
    df = _canonical(300, seed=9).iloc[::-1]  # (a reversed index)
    df = df.drop(columns=["platform"])
    extra = {"platform": const_text("amazon", df.index), "store_id": const_text("AMZ-US-02", df.index),
             "currency": pd.Series(pd.array(["usd", None, "USD"] * 100, dtype=ARROW), index=df.index),
             "source_file": const_text("x/y.txt", df.index), "not_a_column": const_text("z", df.index)}
    before = df.copy()
    got = conform(df, cols, copy=False, extra=extra)
    pd.testing.assert_frame_equal(got, conform(df.assign(**extra), cols), check_exact=True)
    pd.testing.assert_frame_equal(df, before, check_exact=True)  # the given frame is not written into


def test_columns_beside_the_frame_equal_setting_them_into_it() -> None:
    from kpi_lib.schemas import const_text

    t = TABLES["orders"]
    cols = dict(t.columns) | {"source_file": "string", "source_row": "int64"}
    raw = pd.DataFrame({"order_id": ["a", "b", None, "a"], "order_date": "2026-01-02", "marketplace": None,
                        "source_row": [2, 3, 4, 4]}, index=[7, 3, 5, 1])
    before = raw.copy()
    ref = raw.copy(deep=False)
    c = pipeline._Columns(raw)
    for k, v in [("store_id", const_text("S1", raw.index)), ("platform", None), ("marketplace", const_text("US", raw.index)),
                 ("platform", const_text("shopee", raw.index)), ("currency", const_text("USD", raw.index)),
                 ("currency", np.nan), ("source_file", const_text("f", raw.index))]:
        c[k] = v
        ref[k] = v
        assert (k in c) and c[k].equals(ref[k])
    assert "sku" not in c and "order_id" in c
    pd.testing.assert_frame_equal(conform(c.frame(), cols, copy=False, extra=c.new), conform(ref, cols), check_exact=True)
    pd.testing.assert_frame_equal(raw, before, check_exact=True)  # the reader's frame is not written into


@pytest.mark.parametrize("name", sorted(_typed_columns()))
def test_all_missing_equals_isna_all(name: str) -> None:
    s = _typed_columns()[name]
    for part in (s, s.iloc[:1], s[s.isna()] if s.isna().any() else s.iloc[:0]):
        if len(part):
            assert pipeline._all_missing(part) == bool(part.isna().all())
    assert pipeline._all_missing(pd.Series([None, None], dtype=ARROW))
    assert pipeline._all_missing(pd.Series([np.nan], dtype="float64"))


def test_write_connection_writes_the_same_parts(tmp_path) -> None:
    """``_write_tables`` on the one-thread write connection: the same rows, order and Parquet schema
    per table × store as on a default DuckDB connection."""
    import types

    import duckdb
    import pyarrow.parquet as pq

    def prepared(n: int, seed: int, stores: list[str]) -> pipeline._Prepared:
        df = _canonical(n, seed=seed, files=2)
        df["store_id"] = pd.Series(np.resize(stores, n), dtype=ARROW, index=df.index)
        for c, v in (("row_key", np.arange(n)), ("row_hash", np.arange(n) * 7), ("row_version", 5)):
            df[c] = np.int64(v) if np.isscalar(v) else v.astype("int64")
        fr = pipeline.FileResult(path="f", store_id=stores[0], reader="x")
        return pipeline._Prepared(fr, {"settlement_lines": df, "fees": df.iloc[:0]}, pd.DataFrame(), np.arange(0), None, [])

    batch = [prepared(150_000, 1, ["AMZ-US-01", "AMZ-US-02"]), prepared(500, 2, ["AMZ-US-01"])]
    out = {}
    for label, con in (("one", pipeline._write_connection()), ("default", duckdb.connect())):
        w = types.SimpleNamespace(path=tmp_path / label)
        pipeline._write_tables(w, batch, con)
        con.close()
        out[label] = {p.relative_to(w.path).parent: p for p in sorted(w.path.rglob("*.parquet"))}
    assert list(out["one"]) == list(out["default"]) and len(out["one"]) == 2
    for part, path in out["one"].items():
        a, b = pq.read_table(path), pq.read_table(out["default"][part])
        assert a.schema == b.schema and a.equals(b)
