"""The spend of record: the canonical ``ads`` table from the Amazon Ads grain tables, money counted once.

Every Amazon Ads report kind a seller downloads carries the same spend cut a different way, so a
store holding several kinds would count its advertising several times. ``ads`` (what the KPI engine
reads for ad spend, ad sales, clicks, impressions) therefore holds, per store × day × campaign, the
rows of exactly ONE report kind, the first present in this fixed precedence:

1. ``sp_advertised_product`` — finest grain that carries the SKU/ASIN: spend per product, which
   SKU-level unit economics (ad cost per SKU, break-even ACoS) need; complete (rows with no click
   are listed too).
2. ``sp_targeting`` — per keyword/target: complete, but no SKU.
3. ``sp_search_term`` — per customer search term: no SKU, and Amazon lists only search terms that
   got a click, so impressions are undercounted (spend may also differ by late attributions).
4. ``sp_campaign`` — one row per campaign and day: complete money, no ad group or SKU.
5. ``sp_performance_over_time`` — the whole account per day (campaign ``''``; a download with
   campaign names is read as a campaign report), used for a store × day only when no Sponsored
   Products report at campaign grain covers that day (it cannot be split by campaign).
6. ``sp_placement`` — the campaign split by placement; last of the SP kinds, because placement
   buckets vary between report versions.
7. ``sb_campaign``, 8. ``sd_campaign`` — Sponsored Brands / Display campaigns are separate ad
   products with their own campaigns, so they add to the SP ones (the precedence only decides
   between them if a campaign name ever appears in several kinds).

Summary reports (a date range, no daily date) are used only where no daily row of any kind exists
for that store × campaign inside the range (a partly covered range is not used: the days outside
the daily coverage are then missing — an incomplete figure — rather than counted twice). Among
overlapping usable summary ranges of one campaign, the kind first in the precedence wins, then the
shorter range. A summary row used is spread evenly over the days of its range (cumulative rounding:
cents for money, whole units for counts, so the parts add up exactly to the row); ``range_start`` /
``range_end`` in ``ads`` say which rows were spread, so a daily view can tell them apart. A monthly
summary therefore gives exact monthly KPIs; a range across months is split by days.

Rows written to ``ads`` by other readers (``ads_source`` empty, e.g. a mapped non-Amazon ads
export) are kept as they are.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ..schemas import ADS_KINDS, TABLES
from ..warehouse import WarehouseWriter, sql_type

PRECEDENCE: tuple[str, ...] = (
    "sp_advertised_product",
    "sp_targeting",
    "sp_search_term",
    "sp_campaign",
    "sp_performance_over_time",
    "sp_placement",
    "sb_campaign",
    "sd_campaign",
)
assert set(PRECEDENCE) == set(ADS_KINDS)

#: columns of a candidate row (the ``ads`` columns plus FX, lineage and the range of its report row)
_OUT = [c for c in TABLES["ads"].all_columns] + ["row_key"]


def _candidates_sql(con: duckdb.DuckDBPyConnection) -> str:
    """UNION ALL of every grain table present on ``con``, in the ``ads`` shape plus rank and range."""
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    parts = []
    for rank, kind in enumerate(PRECEDENCE, start=1):
        table = ADS_KINDS[kind]
        if table not in have:
            continue
        cols = {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}

        def c(name: str, kind_: str = "string", default: str = "NULL", cols: set = cols) -> str:
            typ = sql_type(kind_) or "VARCHAR"
            return f'CAST("{name}" AS {typ})' if name in cols else f"CAST({default} AS {typ})"

        parts.append(
            f"SELECT '{kind}' AS ads_source, {rank} AS rank, {c('platform')} AS platform, "
            f"{c('store_id')} AS store_id, {c('date', 'date')} AS date, "
            f"{c('start_date', 'date')} AS start_date, {c('end_date', 'date')} AS end_date, "
            f"coalesce({c('campaign')}, '') AS campaign, coalesce({c('ad_group')}, '') AS ad_group, "
            f"coalesce({c('sku')}, '') AS sku, coalesce({c('asin')}, '') AS asin, "
            f"{c('impressions', 'int64')} AS impressions, {c('clicks', 'int64')} AS clicks, "
            f"{c('spend', 'float64')} AS spend, {c('ad_sales', 'float64')} AS ad_sales, "
            f"{c('ad_orders', 'int64')} AS ad_orders, {c('ad_units', 'int64')} AS ad_units, "
            f"{c('currency')} AS currency, {c('attribution_days', 'int64')} AS attribution_days, "
            f"{c('fx_rate', 'float64', '1.0')} AS fx_rate, {c('source_file')} AS source_file, "
            f"{c('source_row', 'int64')} AS source_row, {c('row_key', 'int64')} AS row_key "
            f'FROM "{table}"'
        )
    if not parts:
        return ""
    return " UNION ALL ".join(parts)


def select_ads_of_record(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The ``ads`` rows of record from the grain tables visible on ``con`` (see the module docstring).

    Columns: those of ``ads`` (source currency and ``_rc``), plus ``row_key``.
    """
    sql = _candidates_sql(con)
    if not sql:
        return pd.DataFrame({c: [] for c in _OUT})
    con.execute(f"CREATE OR REPLACE TEMP VIEW _ads_cand AS {sql}")
    daily = con.execute(
        """
        WITH d AS (SELECT * FROM _ads_cand WHERE date IS NOT NULL),
        camp AS (SELECT * FROM d WHERE campaign <> ''),
        best AS (SELECT store_id, date, campaign, min(rank) AS rank FROM camp GROUP BY ALL),
        chosen AS (SELECT camp.* FROM camp JOIN best USING (store_id, date, campaign, rank)),
        -- account-level rows (no campaign): only where no SP campaign-grain row covers the store-day
        acct AS (
            SELECT * FROM d
            WHERE campaign = '' AND NOT EXISTS (
                SELECT 1 FROM camp c WHERE c.store_id = d.store_id AND c.date = d.date
                AND c.ads_source LIKE 'sp\\_%' ESCAPE '\\')
        ),
        acct_best AS (SELECT store_id, date, min(rank) AS rank FROM acct GROUP BY ALL),
        acct_chosen AS (SELECT acct.* FROM acct JOIN acct_best USING (store_id, date, rank))
        SELECT * FROM chosen UNION ALL SELECT * FROM acct_chosen
        """
    ).df()
    summary = con.execute("SELECT * FROM _ads_cand WHERE date IS NULL").df()
    days = con.execute(
        "SELECT DISTINCT store_id, campaign, ads_source, date FROM _ads_cand WHERE date IS NOT NULL"
    ).df()
    spread = _spread(_usable_summaries(summary, days))
    out = _concat([_as_daily(daily), spread])
    for m in ("spend", "ad_sales"):
        out[f"{m}_rc"] = (out[m] * out["fx_rate"]).round(6)
    return out.reindex(columns=_OUT)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Row-wise union of frames in the candidate shape (empty frames and all-null columns skipped)."""
    cols = list(dict.fromkeys(c for f in frames for c in f.columns))
    parts = [f.dropna(axis=1, how="all") for f in frames if len(f)]
    if not parts:
        return frames[0].reindex(columns=cols)
    return pd.concat(parts, ignore_index=True).reindex(columns=cols)


def _as_daily(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["range_start"] = df["date"]
    df["range_end"] = df["date"]
    return df


def _usable_summaries(summary: pd.DataFrame, days: pd.DataFrame) -> pd.DataFrame:
    """Summary rows whose store × campaign has no daily row in the range, one kind per overlap."""
    if summary.empty:
        return summary
    summary = summary.copy()
    summary["start_date"] = pd.to_datetime(summary["start_date"])
    summary["end_date"] = pd.to_datetime(summary["end_date"])
    days = days.copy()
    days["date"] = pd.to_datetime(days["date"])
    sp_days = days[days["ads_source"].str.startswith("sp_")]
    groups = summary.groupby(
        ["store_id", "campaign", "ads_source", "rank", "start_date", "end_date"], sort=False
    )
    heads = groups.size().reset_index()[
        ["store_id", "campaign", "ads_source", "rank", "start_date", "end_date"]
    ]
    heads["length"] = (heads["end_date"] - heads["start_date"]).dt.days
    heads = heads.sort_values(["rank", "length", "start_date"], kind="stable")
    accepted: dict[tuple[str, str], list[tuple[pd.Timestamp, pd.Timestamp]]] = {}
    keep = []
    for h in heads.itertuples(index=False):
        s, e = h.start_date, h.end_date
        if h.campaign:
            near = days[(days["store_id"] == h.store_id) & (days["campaign"] == h.campaign)]
        else:  # account level: any SP daily row of the store covers it
            near = sp_days[sp_days["store_id"] == h.store_id]
        if ((near["date"] >= s) & (near["date"] <= e)).any():
            continue
        key = (h.store_id, h.campaign)
        if any(not (e < a or s > b) for a, b in accepted.get(key, [])):
            continue
        if not h.campaign or h.ads_source.startswith("sp_"):
            # account-level and campaign-level SP summaries must not overlap each other either
            clash = [
                (a, b)
                for (st, cp), rs in accepted.items()
                if st == h.store_id and (not cp or not h.campaign)
                for a, b in rs
            ]
            if any(not (e < a or s > b) for a, b in clash):
                continue
        accepted.setdefault(key, []).append((s, e))
        keep.append((h.store_id, h.campaign, h.ads_source, s, e))
    if not keep:
        return summary.iloc[0:0]
    k = pd.DataFrame(keep, columns=["store_id", "campaign", "ads_source", "start_date", "end_date"])
    return summary.merge(k, on=list(k.columns), how="inner")


def _parts(total: np.ndarray, n: np.ndarray, i: np.ndarray, unit: float) -> np.ndarray:
    """Part ``i`` (0-based) of ``total`` split over ``n`` days in ``unit`` steps, parts adding up exactly."""
    units = np.round(total / unit)
    hi = np.round(units * (i + 1) / n)
    lo = np.round(units * i / n)
    return (hi - lo) * unit


def _spread(rows: pd.DataFrame) -> pd.DataFrame:
    """Each summary row spread over the days of its range (see the module docstring)."""
    if rows.empty:
        return rows
    rows = rows.reset_index(drop=True)
    n = ((rows["end_date"] - rows["start_date"]).dt.days + 1).to_numpy()
    rep = rows.loc[rows.index.repeat(n)].reset_index(drop=True)
    i = np.concatenate([np.arange(k) for k in n])
    nn = np.repeat(n, n)
    rep["date"] = rep["start_date"] + pd.to_timedelta(i, unit="D")
    rep["range_start"] = rep["start_date"]
    rep["range_end"] = rep["end_date"]
    for m in ("spend", "ad_sales"):
        v = rep[m].to_numpy(dtype="float64")
        rep[m] = np.where(np.isnan(v), np.nan, _parts(np.nan_to_num(v), nn, i, 0.01).round(2))
    for m in ("impressions", "clicks", "ad_orders", "ad_units"):
        v = pd.to_numeric(rep[m], errors="coerce").to_numpy(dtype="float64")
        p = _parts(np.nan_to_num(v), nn, i, 1.0)
        rep[m] = pd.array(np.where(np.isnan(v), np.nan, p), dtype="Float64").round().astype("Int64")
    rk = pd.DataFrame({"k": rep["row_key"].fillna(0).astype("int64").to_numpy(), "i": i})
    rep["row_key"] = pd.util.hash_pandas_object(rk, index=False).astype("int64").to_numpy()
    return rep


def rebuild_ads(snapshot: Path) -> int:
    """Rewrite ``ads`` in a (staging) snapshot from its grain tables; returns the rows of record.

    Rows of ``ads`` that no grain table produced (``ads_source`` empty) are kept.
    """
    con = duckdb.connect()
    try:
        for table in list(ADS_KINDS.values()) + ["ads"]:
            d = snapshot / table
            if d.is_dir() and any(d.rglob("*.parquet")):
                src = (
                    f"read_parquet('{d.as_posix()}/**/*.parquet', hive_partitioning=true, union_by_name=true)"
                )
            elif (snapshot / f"{table}.parquet").is_file():
                src = f"read_parquet('{(snapshot / f'{table}.parquet').as_posix()}')"
            else:
                continue
            con.execute(f'CREATE VIEW "{table}" AS SELECT * FROM {src}')
        have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if not have & set(ADS_KINDS.values()):
            return 0  # no Amazon Ads report anywhere: ads stays as the other readers wrote it
        record = select_ads_of_record(con)
        if "ads" in have:
            cols = {r[0] for r in con.execute('DESCRIBE "ads"').fetchall()}
            where = "ads_source IS NULL OR ads_source = ''" if "ads_source" in cols else "true"
            kinds = ", ".join(f"'{k}'" for k in ADS_KINDS)
            if "ads_source" in cols:
                where += f" OR ads_source NOT IN ({kinds})"
            direct = con.execute(f'SELECT * FROM "ads" WHERE {where}').df().reindex(columns=_OUT)
            if len(direct):
                record = _concat([record, direct])
    finally:
        con.close()
    WarehouseWriter(snapshot).write("ads", record)
    return len(record)
