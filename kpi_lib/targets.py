"""Targets, cascading, pacing, direction-aware achievement, status and manual adjustments.

Targets live in ``parameters/targets/*.yaml`` (or ``*.csv`` with columns kpi, entity_kind,
entity_id, period, value). A YAML file::

    thresholds: {acos: {green: 1.0, amber: 0.95}}     # per KPI; default green >= 1.0, amber >= 0.9
    targets:
      - {kpi: gmv, entity_kind: company, period: 2026-Q4, growth: 0.15, cascade: true}
      - {kpi: acos, entity_kind: store, entity_id: AMZ-US-01, period: "*", value: 0.22}

``value`` is absolute; ``growth`` means "same period last year × (1 + growth)". ``period: "*"``
repeats the target for every month with data.

**Cascade** (``cascade: true``) splits a company/team/platform/contract target over its stores ×
months. Additive KPIs (money/count sums): month weights from the same months last year
(seasonality; calendar days when last year has no data), store weights from each store's share of
the trailing 12 months; stores younger than ``ramp_months`` at a month get a cold-start weight =
median mature share × (age in months + 1) / ramp_months instead of their (missing) history. The
weights are normalised so the children sum exactly to the parent. Two cascades onto one store × month
(a company's and a team's target of one KPI): the one listed first wins, with a warning. Non-additive
KPIs (ratios, medians) are copied to every store × month. The ``method`` column records what was done.
A period's own target wins over the same entity's ``*`` or ``latest_*`` one, and a target written in a file
over a cascaded one; two targets of one KPI, entity and period written with different values (in one file or
two) are a ConfigError naming both (the same value written twice is one target).

**Achievement** is direction-aware and linear around the target:
``up: 1 + (actual − target)/|target|``, ``down: 1 − (actual − target)/|target|`` (so for
``target > 0`` and direction up it equals actual/target; for ACoS 30 % vs a 25 % target it is 0.8).
Status: green ≥ green threshold (default 1.0), amber ≥ amber threshold (default 0.9), else red.
For a period still in progress, additive KPIs are judged on pace: actual-to-date vs the
expected-to-date (calendar-day share, or the seasonal curve of last year's daily values with
``pacing: seasonal``; a row paces like the entity's target whose period holds it, else like the target it
was cascaded from), and projected to the period end. A target naming a KPI the catalog lacks is a
``ConfigError`` naming the file and the target.

**Adjustments** (``parameters/adjustments.yaml``, who/when/why): ``override_target`` replaces a
target; ``exclude_days`` removes days (stock-out, suspended store) from a KPI's evaluation: the
actual is recomputed without the rows of those days (so ratios and medians too), and for additive
KPIs the target is reduced by the excluded days' share of the period. Store adjustments apply to the
store's own rows; they are listed (not applied) for the entities the store rolls up into.
``adjustments_for`` lists what touched a figure.

Size (≈790 lines): the target rules (files, cascade, ramps, growth, pacing, status, adjustments) are
one chain — a target row is resolved, cascaded, paced and judged by the same lookup.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from . import paths
from .config import format_validation_error
from .definitions import Catalog, load_catalog
from .errors import ConfigError, TargetError
from .formula import split_ratio
from .metrics import compute, compute_long
from .org import ENTITY_DIMENSION, entity_stores, store_launch_dates
from .periods import last_year, months_between, period_bounds, period_kind, period_label, shift_period
from .spec import adjustments as adjustments_spec
from .spec import targets as targets_spec
from .spec.adjustments import Adjustment, AdjustmentsFile  # noqa: F401 - re-exported
from .spec.targets import RELATIVE, EntityKind, Target, TargetsFile, Threshold  # noqa: F401 - re-exported
from .warehouse import Warehouse

#: status of a KPI whose actual lacks a source (shown grey; never green)
INCOMPLETE = "incomplete"
TARGET_COLUMNS = ["kpi", "entity_kind", "entity_id", "period", "value", "cascade", "source", "method", "parent"]


def targets_dir() -> Path:
    return paths.parameters_dir() / "targets"


def load_target_files(directory: Path | None = None) -> tuple[list[tuple[Target, str]], dict[str, Threshold]]:
    d = Path(directory) if directory is not None else targets_dir()
    out: list[tuple[Target, str]] = []
    thresholds: dict[str, Threshold] = {}
    if not d.is_dir():
        return out, thresholds
    for p in sorted(d.rglob("*")):
        if p.suffix in (".yaml", ".yml"):
            f = targets_spec.load(p)
            out += [(t, p.name) for t in f.targets]
            thresholds.update(f.thresholds)
        elif p.suffix == ".csv":
            df = pd.read_csv(p, dtype=str, keep_default_na=False)
            issues = []
            for i, row in enumerate(df.to_dict("records")):
                rec = {k: v for k, v in row.items() if v != ""}
                try:
                    out.append((Target.model_validate(rec), p.name))
                except ValidationError as err:
                    issues += [f"{p.name}: row {i + 2}: {line.split(': ', 1)[1]}" for line in format_validation_error(p.name, err)]
            if issues:
                raise ConfigError(f"{p}: {len(issues)} problem(s)", issues)
    return out, thresholds


def load_targets(directory: Path | None = None) -> pd.DataFrame:
    """Targets as written in the files (before cascading); growth targets have value NaN."""
    rows = [{**t.model_dump(), "source": src} for t, src in load_target_files(directory)[0]]
    return pd.DataFrame(rows, columns=["kpi", "entity_kind", "entity_id", "period", "value", "growth", "cascade",
                                       "ramp_months", "pacing", "note", "source"])


def thresholds(directory: Path | None = None) -> dict[str, Threshold]:
    return load_target_files(directory)[1]


# ------------------------------------------------------------------------------------ achievement


def achievement(actual: Any, target: Any, direction: str) -> Any:
    """Direction-aware achievement (1.0 = on target); target 0 → NaN."""
    a = np.asarray(actual, dtype="float64")
    t = np.asarray(target, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(t != 0, (a - t) / np.abs(t), np.nan)
    res = 1 + gap if direction == "up" else 1 - gap
    return float(res) if np.ndim(res) == 0 else res


def status_of(ach: float, kpi: str | None = None, table: dict[str, Threshold] | None = None,
              complete: bool = True) -> str:
    """green / amber / red by the KPI's thresholds; ``none`` without achievement; ``incomplete``
    when the actual lacks a source (``complete=False``)."""
    if not complete:
        return INCOMPLETE
    if ach is None or not np.isfinite(ach):
        return "none"
    th = (table or {}).get(kpi or "", Threshold())
    return "green" if ach >= th.green else "amber" if ach >= th.amber else "red"


def pacing(kpi: str, actual_to_date: float, target: float, period: str, as_of: dt.date,
           method: str = "calendar", curve: pd.Series | None = None, catalog: Catalog | None = None) -> dict:
    """Expected-to-date and projection for a period in progress.

    ``curve`` (seasonal method): cumulative share of the period total by day offset (0-based).
    """
    catalog = catalog or load_catalog()
    s, e = period_bounds(period)
    total = (e - s).days + 1
    elapsed = min(max((as_of - s).days + 1, 0), total)
    share = elapsed / total
    if method == "seasonal" and curve is not None and len(curve) and elapsed > 0:
        v = curve.iloc[min(elapsed, len(curve)) - 1]
        if np.isfinite(v) and v > 0:
            share = float(v)
    if catalog.is_additive(kpi):
        expected = target * share
        projection = actual_to_date / share if share > 0 else np.nan
    else:
        expected, projection = target, actual_to_date
    return {"expected_to_date": expected, "projection": projection, "elapsed_share": share}


# ------------------------------------------------------------------------------------ cascading


def _months(period: str) -> list[str]:
    """The YYYY-MM months a period label overlaps."""
    return months_between(*period_bounds(period))


def _entity_filter(kind: str, eid: str | None) -> dict | None:
    dim = ENTITY_DIMENSION.get(kind)
    return {dim: eid} if dim else None


CASCADE_METHODS = ("historical", "equal", "manual")


def store_age_months(launch: dt.date | None, month: str) -> int | None:
    """Whole months from a store's launch month to ``month`` (0 in the launch month; None: launch unknown)."""
    if launch is None:
        return None
    ms = period_bounds(month)[0]
    return (ms.year - launch.year) * 12 + ms.month - launch.month


def ramp_factor(launch: dt.date | None, month: str, ramp_months: int) -> float:
    """The cold-start ramp of a new store in ``month``: 0 before launch, (age + 1) / ramp_months in its
    first months, 1 once mature (and when the launch date is unknown). The one ramp rule."""
    age = store_age_months(launch, month)
    if age is None:
        return 1.0
    if age < 0 or (launch is not None and launch > period_bounds(month)[1]):
        return 0.0
    return min(1.0, (max(age, 0) + 1) / ramp_months)


def reweight(base: pd.DataFrame, total: float, method: str, launch: dict[str, dt.date],
             ramp_months: int, store_weights: dict[str, float] | None = None) -> pd.DataFrame:
    """Re-split a historical cascade (``base``, additive KPI) with ``equal`` or ``manual`` store weights:
    months keep the base's seasonal split, young stores their ramp; rows sum to ``total``."""
    if method not in ("equal", "manual"):
        raise TargetError(f"cascade method {method!r}: expected one of {', '.join(CASCADE_METHODS)}")
    month_w = base.groupby("period")["value"].sum()
    # a zero parent (every base row 0) keeps no month split: months weigh alike (its rows are 0 anyway)
    month_w = month_w / month_w.sum() if month_w.sum() else pd.Series(1.0 / len(month_w), index=month_w.index)
    stores = sorted(base["entity_id"].unique())
    if method == "equal":
        sw = {s: 1.0 for s in stores}
    else:
        sw = {s: float((store_weights or {}).get(s, 0.0)) for s in stores}
    rows = []
    for s in stores:
        for m, wm in month_w.items():
            r = ramp_factor(launch.get(s), str(m), ramp_months)
            rows.append([base["kpi"].iloc[0], "store", s, m, sw[s] * wm * r, base["parent"].iloc[0],
                         f"{method} store weight × seasonal month weight" + (f" × ramp {r:.2f}" if r < 1 else "")])
    df = pd.DataFrame(rows, columns=["kpi", "entity_kind", "entity_id", "period", "value", "parent", "method"])
    tw = df["value"].sum()
    if tw <= 0:
        raise TargetError("all store weights are zero")
    df["value"] = df["value"] / tw * total
    return df


def cascade(target: Target | dict, warehouse: Any = None, ramp_months: int | None = None,
            catalog: Catalog | None = None, value: float | None = None, method: str = "historical",
            store_weights: dict[str, float] | None = None, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Split a target to store × month rows (see module docstring); rows sum to the parent (additive).

    ``method``: ``historical`` (store shares of the trailing 12 months, the default), ``equal`` or
    ``manual`` (``store_weights`` per store, any scale) — see :func:`reweight`.

    ``history``: the KPI's store × month engine rows (``store_id``, ``period``, ``<kpi>``, as
    ``metrics.compute([kpi], by=["store_id"], period="month")`` gives them) covering at least the 24
    months before the period, e.g. a slice of one query over every store (other stores and months are
    ignored); used instead of querying the engine."""
    if method not in CASCADE_METHODS:
        raise TargetError(f"cascade method {method!r}: expected one of {', '.join(CASCADE_METHODS)}")
    t = target if isinstance(target, Target) else Target.model_validate(target)
    catalog = catalog or load_catalog()
    df = _cascade_historical(t, Warehouse.of(warehouse), ramp_months, catalog, value, history)
    if method == "historical":
        return df
    if not catalog.is_additive(t.kpi):
        return df.assign(method=f"{method} (non-additive KPI: copied)")
    total = t.value if value is None else value
    return reweight(df, float(total), method, store_launch_dates(warehouse), int(ramp_months or t.ramp_months),
                    store_weights)


def _cascade_historical(t: Target, wh: Warehouse, ramp_months: int | None, catalog: Catalog,
                        value: float | None, history: pd.DataFrame | None = None) -> pd.DataFrame:
    total = t.value if value is None else value
    if total is None:
        raise TargetError(f"target {t.kpi} {t.entity_kind} {t.period}: no value to cascade")
    ramp = ramp_months or t.ramp_months
    months = _months(t.period)
    s, e = period_bounds(t.period)
    stores = entity_stores(t.entity_kind, t.entity_id, s, e, wh)
    launch = store_launch_dates(wh)
    stores = [x for x in stores if launch.get(x, dt.date.min) <= e]
    parent = f"{t.entity_kind}:{t.entity_id or ''}:{t.period}"
    cols = ["kpi", "entity_kind", "entity_id", "period", "value", "parent", "method"]
    if not stores:
        raise TargetError(f"cannot cascade {parent}: the entity has no stores in {t.period}")
    if not catalog.is_additive(t.kpi):
        return pd.DataFrame([(t.kpi, "store", st, m, total, parent, "copy (non-additive KPI)")
                             for st in stores for m in months], columns=cols)
    hist_start = (pd.Timestamp(s) - pd.DateOffset(months=24)).date()
    if history is None:
        hist = compute([t.kpi], by=["store_id"], period="month", start=hist_start, end=s - dt.timedelta(days=1),
                       filters={"store_id": stores}, warehouse=wh)
    else:  # the same rows, sliced from precomputed store × month rows
        window = months_between(hist_start, s - dt.timedelta(days=1))
        hist = history[history["store_id"].astype(str).isin(stores) & history["period"].astype(str).isin(window)]
    hist = hist.pivot_table(index="store_id", columns="period", values=t.kpi, aggfunc="sum").fillna(0.0)
    ly = [last_year(m) for m in months]
    ly_tot = [float(hist[m].sum()) if m in hist.columns else 0.0 for m in ly]
    if all(v > 0 for v in ly_tot):
        w_m = np.array(ly_tot) / sum(ly_tot)
        season = f"seasonality of {ly[0]}..{ly[-1]}"
    else:
        days = np.array([(period_bounds(m)[1] - period_bounds(m)[0]).days + 1 for m in months], dtype=float)
        w_m = days / days.sum()
        season = "calendar days (no last-year data)"
    trailing = [shift_period(months[0], -k) for k in range(1, 13)]
    tr = hist[[c for c in hist.columns if c in trailing]].sum(axis=1) if len(hist) else pd.Series(dtype=float)
    rows = []
    mature_share: dict[str, float] = {}
    tot_tr = float(sum(max(tr.get(st, 0.0), 0.0) for st in stores))

    def age_months(st: str, m: str) -> int:
        age = store_age_months(launch.get(st), m)
        return 10**6 if age is None else age

    for st in stores:
        if age_months(st, months[0]) >= ramp and tot_tr > 0 and tr.get(st, 0.0) > 0:
            mature_share[st] = float(tr.get(st, 0.0)) / tot_tr
    cold = float(np.median(list(mature_share.values()))) if mature_share else 1.0 / len(stores)
    for st in stores:
        for m, wm in zip(months, w_m):
            age = age_months(st, m)
            if st in mature_share and age >= ramp:
                w, how = mature_share[st] * wm, f"share {mature_share[st]:.3f} of trailing 12 m × {season}"
            elif (r := ramp_factor(launch.get(st), m, ramp)) == 0.0:
                w, how = 0.0, "not launched"
            else:
                w, how = cold * r * wm, f"cold-start ramp {min(max(age, 0) + 1, ramp)}/{ramp} × median mature share {cold:.3f} × {season}"
            rows.append([t.kpi, "store", st, m, w, parent, how])
    df = pd.DataFrame(rows, columns=cols)
    tw = df["value"].sum()
    if tw <= 0:
        df["value"] = total / len(df)
        df["method"] = "equal split (no history)"
    else:
        df["value"] = df["value"] / tw * total
    # exact sum: the parent minus the rows, computed exactly (fsum: whatever their order), goes to the largest row
    diff = math.fsum([total, *(-df["value"])])
    df.loc[df["value"].idxmax(), "value"] += diff
    return df


def _resolve_value(t: Target, wh: Warehouse, periods: list[str], warnings: list[str] | None = None
                   ) -> list[tuple[str, float, str]]:
    """(period, value, method) for a file target, expanding '*' and growth targets.

    A growth target for a period without last-year data is skipped with a warning (when a list is
    given) instead of failing the whole computation.
    """
    out = []
    for p in periods:
        if t.value is not None:
            out.append((p, float(t.value), "file"))
            continue
        if period_kind(p) in ("day", "week"):
            raise TargetError(f"growth targets need a month, quarter or year period (got {p})")
        g = kpi_growth_target(t.kpi, t.entity_kind, t.entity_id, p, float(t.growth or 0), wh)
        if g.value is None:
            msg = f"target {t.kpi} {t.entity_kind} {t.entity_id or ''} {p}: growth needs data for {g.last_year}"
            if warnings is None:
                raise TargetError(msg)
            warnings.append(msg)
            continue
        out.append((p, g.value, f"{g.last_year} × (1 {float(t.growth or 0):+.0%})"))
    return out


@dataclass(frozen=True)
class GrowthTarget:
    """A growth target: ``base`` (the figure of ``last_year``) × (1 + growth); ``value`` None without a base."""

    value: Any
    base: Any
    last_year: str


def growth_target(period: str, growth: Any, base_of: Callable[[str], Any]) -> GrowthTarget:
    """The one growth rule: the same period last year (:func:`kpi_lib.periods.last_year`) × (1 + growth).

    ``base_of(label)`` gives last year's figure (a float or Decimal; None or NaN when there is no data,
    then ``value`` is None — missing is not zero). Targets, scorecards, settlements and the target
    widget all call this."""
    ly = last_year(period)
    base = base_of(ly)
    if base is None or (isinstance(base, float) and not math.isfinite(base)):
        return GrowthTarget(None, base, ly)
    return GrowthTarget(base * (1 + growth), base, ly)


def kpi_growth_target(kpi: str, entity_kind: str, entity_id: str | None, period: str, growth: float,
                      warehouse: Any = None, rows: pd.DataFrame | None = None) -> GrowthTarget:
    """:func:`growth_target` of a KPI for an entity, last year's figure from the KPI engine.

    ``rows``: the entity's engine rows of ``kpi`` at last year's period kind (``period`` and ``value``
    columns, as ``metrics.compute_long`` gives them; other periods are ignored), e.g. its slice of the
    values ``kpi compute`` stored; used instead of querying the engine (no row: no base)."""
    wh = Warehouse.of(warehouse)

    def base_of(ly: str) -> float:
        if rows is not None:
            mine = rows[rows["kpi"] == kpi] if "kpi" in rows.columns else rows
            r = mine.loc[mine["period"].astype(str) == ly, "value"]
            return float(r.iloc[0]) if len(r) else float("nan")
        df = compute([kpi], by=[], period=period_kind(ly), start=ly, end=ly,
                     filters=_entity_filter(entity_kind, entity_id), warehouse=wh)
        return float(df[kpi].iloc[0]) if len(df) else float("nan")

    return growth_target(period, growth, base_of)


def _places(files: list[tuple[Target, str]]) -> list[str]:
    """Where each target is written: ``t.yaml: targets[2]`` or ``more.csv: row 3``."""
    seen: dict[str, int] = {}
    out = []
    for _, src in files:
        n = seen[src] = seen.get(src, -1) + 1
        out.append(f"{src}: " + (f"row {n + 2}" if src.endswith(".csv") else f"targets[{n}]"))
    return out


def _check_kpis(files: list[tuple[Target, str]], places: list[str], catalog: Catalog) -> None:
    """Every target's KPI is in the catalog, else a ConfigError naming each file, target (``places``: :func:`_places`)
    and the known KPIs."""
    issues = []
    for (t, _), where in zip(files, places):
        if t.kpi not in catalog.kpis:
            who = " ".join(x for x in (t.entity_kind, t.entity_id, t.period) if x)
            issues.append(f"{where}: unknown KPI {t.kpi!r} ({who})")
    if issues:
        raise ConfigError(f"target files name KPIs the catalog lacks (known KPIs: {', '.join(catalog.kpis)})", issues)


def _check_explicit_twice(rows: pd.DataFrame) -> None:
    """Two targets written for one KPI, entity and period (both its own period, or both ``*`` / ``latest_*``)
    with different values: a ConfigError naming each place and value (which one counts is not guessed). The
    same value written twice (a copied file) is one target."""
    own = rows[rows["parent"] == ""]
    key = ["kpi", "entity_kind", "entity_id", "period", "_general"]
    twice = own[own.groupby(key)["value"].transform("nunique") > 1]
    if twice.empty:
        return
    issues = []
    for (kpi, kind, eid, period, _), g in twice.groupby(key, sort=False):
        who = " ".join(x for x in (kpi, kind, eid, period) if x)
        issues.append(f"{who}: " + "; ".join(f"{w} = {v:g}" for w, v in zip(g["_where"], g["value"])))
    raise ConfigError("targets set twice with different values: keep one (a period's own target already wins "
                      "over a '*' or latest_* one)", issues)


def all_targets(warehouse: Any = None, directory: Path | None = None, catalog: Catalog | None = None) -> pd.DataFrame:
    """File targets (growth resolved, '*' expanded, overrides applied) plus cascaded store × month rows
    and the parent's month rows (sum of the cascade for additive KPIs)."""
    wh = Warehouse.of(warehouse)
    catalog = catalog or load_catalog()
    files, _ = load_target_files(directory)
    places = _places(files)
    _check_kpis(files, places, catalog)
    months = None
    rows: list[dict] = []
    warnings: list[str] = []
    for (t, src), where in zip(files, places):
        general = t.period == "*" or t.period in RELATIVE
        if general:
            months = months if months is not None else wh.data_months()
            if not months:
                continue
            if t.period == "*":
                periods = months
            else:
                last = period_bounds(months[-1])[1]
                periods = [period_label(last, t.period.split("_")[1])]
        else:
            periods = [t.period]
        try:
            resolved = _resolve_value(t, wh, periods, warnings)
        except TargetError as exc:
            warnings.append(f"{src}: skipped: {exc}")
            continue
        for p, v, how in resolved:
            for adj in adjustments_for(t.entity_kind, t.entity_id, p, t.kpi):
                if adj.kind == "override_target" and adj.period == p:
                    v, how = float(adj.value or 0), f"override {adj.id}"
            rows.append({"kpi": t.kpi, "entity_kind": t.entity_kind, "entity_id": t.entity_id or "", "period": p,
                         "value": v, "cascade": t.cascade, "source": src, "method": how, "parent": "",
                         "_where": where, "_general": general})
            if t.cascade:
                try:
                    c = cascade(t.model_copy(update={"period": p}), wh, catalog=catalog, value=v)
                except TargetError as exc:
                    warnings.append(f"{src}: cascade skipped: {exc}")
                    continue
                c["cascade"] = False
                c["source"] = src
                rows += c.to_dict("records")
                if period_kind(p) != "month":
                    agg = c.groupby("period", as_index=False)["value"]
                    agg = agg.sum() if catalog.is_additive(t.kpi) else agg.first()
                    for r in agg.itertuples():
                        rows.append({"kpi": t.kpi, "entity_kind": t.entity_kind, "entity_id": t.entity_id or "",
                                     "period": r.period, "value": float(r.value), "cascade": False, "source": src,
                                     "method": "month of cascaded " + p, "parent": f"{t.entity_kind}:{t.entity_id or ''}:{p}"})
    df = pd.DataFrame(rows, columns=[*TARGET_COLUMNS, "_where", "_general"])
    df["_general"] = df["_general"].eq(True)  # cascaded rows: not written in a file
    _check_explicit_twice(df)
    # two cascades onto one key: the one listed first wins, and a warning says which rows the other lost
    key = ["kpi", "entity_kind", "entity_id", "period"]
    casc = df[df["parent"] != ""].drop_duplicates([*key, "parent"])
    lost = casc[casc.duplicated(key)]
    if len(lost):
        first = casc.drop_duplicates(key).set_index(key)["parent"]
        lost = lost.assign(kept=first.reindex(pd.MultiIndex.from_frame(lost[key])).to_numpy())
        for (kpi, dropped, kept), n in lost.groupby(["kpi", "parent", "kept"], sort=False).size().items():
            warnings.append(f"{kpi}: the cascade of {dropped} overlaps the cascade of {kept} on {n} rows: "
                            f"{kept} (listed first) is kept")
    # explicit file targets win over cascaded ones for the same key, and a period's own target over a '*' or
    # latest_* one (a month's own target over "every month")
    df["_rank"] = (df["parent"] != "").astype(int) * 2 + df["_general"].astype(int)
    df = df.sort_values("_rank", kind="mergesort").drop_duplicates(["kpi", "entity_kind", "entity_id", "period"])
    # overrides for cascaded rows
    for adj in load_adjustments():
        if adj.kind != "override_target":
            continue
        m = (df["kpi"] == adj.kpi) & (df["entity_kind"] == adj.entity_kind) & (df["entity_id"] == (adj.entity_id or "")) \
            & (df["period"] == adj.period)
        if m.any():
            df.loc[m, "value"] = float(adj.value or 0)
            df.loc[m, "method"] = f"override {adj.id}"
        else:
            df = pd.concat([df, pd.DataFrame([{"kpi": adj.kpi, "entity_kind": adj.entity_kind, "entity_id": adj.entity_id or "",
                                               "period": adj.period, "value": float(adj.value or 0), "cascade": False,
                                               "source": "adjustments.yaml", "method": f"override {adj.id}", "parent": "",
                                               "_rank": 0}])], ignore_index=True)
    df = df.drop(columns=["_rank", "_where", "_general"]).reset_index(drop=True)
    df = derive_targets(df, catalog)
    df.attrs["warnings"] = warnings
    return df


# ------------------------------------------------------------------------------ coherent targets


def ratio_components(catalog: Catalog) -> dict[str, tuple[str, str]]:
    """Ratio KPIs whose formula is ``kpi_a / kpi_b`` (two catalog KPIs): {kpi: (numerator, denominator)}."""
    out: dict[str, tuple[str, str]] = {}
    for k, d in catalog.kpis.items():
        sp = split_ratio(d.formula, k)
        if sp and sp[0].strip() in catalog.kpis and sp[1].strip() in catalog.kpis:
            out[k] = (sp[0].strip(), sp[1].strip())
    return out


def derive_targets(df: pd.DataFrame, catalog: Catalog | None = None) -> pd.DataFrame:
    """Add (or replace copied cascades with) targets of ratio KPIs derived from their components.

    For a KPI ``a / b`` and every entity × period where both ``a`` and ``b`` have targets, the
    target is ``target(a) / target(b)`` with method ``derived (a / b)``. An explicit file target
    for the ratio itself is kept (``target_conflicts`` reports it when it disagrees); a target
    copied down by a cascade is replaced by the derived one.
    """
    catalog = catalog or load_catalog()
    if df.empty:
        return df
    key = ["entity_kind", "entity_id", "period"]
    for _ in range(2):  # a derived target can be a component of another ratio
        idx = df.set_index(["kpi", *key])["value"]
        idx = idx[~idx.index.duplicated()]
        new_rows = []
        drop = []
        for k, (a, b) in ratio_components(catalog).items():
            if a not in idx.index.get_level_values(0) or b not in idx.index.get_level_values(0):
                continue
            ta = idx.xs(a, level="kpi")
            tb = idx.xs(b, level="kpi")
            both = ta.to_frame("a").join(tb.to_frame("b"), how="inner")
            both = both[(both["b"] != 0) & both["a"].notna() & both["b"].notna()]
            for (ek, eid, per), r in both.iterrows():
                cur = df[(df["kpi"] == k) & (df["entity_kind"] == ek) & (df["entity_id"] == eid) & (df["period"] == per)]
                if len(cur) and (cur["parent"].iloc[0] == "" or str(cur["method"].iloc[0]).startswith("derived")):
                    continue  # explicit (checked by target_conflicts) or already derived
                drop += list(cur.index)
                new_rows.append({"kpi": k, "entity_kind": ek, "entity_id": eid, "period": per,
                                 "value": float(r["a"] / r["b"]), "cascade": False, "source": "derived",
                                 "method": f"derived ({a} / {b})", "parent": ""})
        if not new_rows:
            break
        df = pd.concat([df.drop(index=drop), pd.DataFrame(new_rows, columns=TARGET_COLUMNS)], ignore_index=True)
    return df.reset_index(drop=True)


def target_conflicts(targets: pd.DataFrame, catalog: Catalog | None = None, tolerance: float = 0.01) -> pd.DataFrame:
    """Explicit ratio targets that disagree with the ratio of their components' targets.

    Columns: source, kpi, entity_kind, entity_id, period, explicit, derived, numerator, denominator.
    Disagree = |explicit − derived| > tolerance × |derived| (relative; default 1 %).
    """
    catalog = catalog or load_catalog()
    cols = ["source", "kpi", "entity_kind", "entity_id", "period", "explicit", "derived", "numerator", "denominator"]
    if targets.empty:
        return pd.DataFrame(columns=cols)
    t = targets.copy()
    t["entity_id"] = t["entity_id"].fillna("").astype(str)
    if "parent" not in t.columns:
        t["parent"] = ""
    explicit = t[(t["parent"].fillna("") == "") & t["value"].notna()
                 & ~t.get("method", pd.Series("", index=t.index)).astype(str).str.startswith("derived")]
    idx = t[t["value"].notna()].drop_duplicates(["kpi", "entity_kind", "entity_id", "period"]).set_index(
        ["kpi", "entity_kind", "entity_id", "period"])["value"]
    rows = []
    for k, (a, b) in ratio_components(catalog).items():
        for r in explicit[explicit["kpi"] == k].itertuples():
            ka, kb = (a, r.entity_kind, r.entity_id, r.period), (b, r.entity_kind, r.entity_id, r.period)
            if ka not in idx.index or kb not in idx.index or idx[kb] == 0:
                continue
            derived = float(idx[ka] / idx[kb])
            if abs(float(r.value) - derived) > tolerance * abs(derived):
                rows.append((getattr(r, "source", ""), k, r.entity_kind, r.entity_id, r.period, float(r.value),
                             derived, a, b))
    return pd.DataFrame(rows, columns=cols)


_TARGET_CACHE: dict[tuple[str, str | None], pd.DataFrame] = {}


def computed_targets(warehouse: Any = None) -> pd.DataFrame:
    """The targets `kpi compute` wrote (table ``kpi_targets``), else ``all_targets()`` (cached per snapshot)."""
    wh = Warehouse.of(warehouse)
    key = (str(wh.path), wh.current_id())
    if key not in _TARGET_CACHE:
        df = wh.read("kpi_targets") if wh.has("kpi_targets") else all_targets(wh)
        df = df.assign(entity_id=df["entity_id"].fillna("").astype(str))
        if len(_TARGET_CACHE) > 8:
            _TARGET_CACHE.clear()
        _TARGET_CACHE[key] = df
    return _TARGET_CACHE[key]


def target_row(kpi: str, entity_kind: str, entity_id: str | None, period: str, warehouse: Any = None) -> dict | None:
    """The target row (kpi, entity_kind, entity_id, period, value, source, method, parent) or None.

    Exact key first; for a quarter or year of an additive KPI without its own target, the sum of
    its month targets when every month has one.
    """
    df = computed_targets(warehouse)
    eid = entity_id or ""
    m = df[(df["kpi"] == kpi) & (df["entity_kind"] == entity_kind) & (df["entity_id"] == eid)]
    hit = m[m["period"] == period]
    if len(hit):
        return {c: hit.iloc[0][c] for c in TARGET_COLUMNS if c in hit.columns}
    if period_kind(period) in ("quarter", "year") and load_catalog().is_additive(kpi):
        months = _months(period)
        mm = m[m["period"].isin(months)]
        if len(mm) == len(months) and mm["period"].nunique() == len(months):
            return {"kpi": kpi, "entity_kind": entity_kind, "entity_id": eid, "period": period,
                    "value": float(mm["value"].sum()), "cascade": False, "source": "months",
                    "method": f"sum of {len(months)} month targets", "parent": ""}
    return None


def target_for(kpi: str, entity_kind: str, entity_id: str | None, period: str, warehouse: Any = None) -> float | None:
    """The one target of a KPI × entity × period that scorecards, reports and settlements read
    (None when there is none). See :func:`target_row` for the lookup rules."""
    r = target_row(kpi, entity_kind, entity_id, period, warehouse)
    return None if r is None or r["value"] is None or not np.isfinite(float(r["value"])) else float(r["value"])


# ------------------------------------------------------------------------------------ adjustments


def adjustments_path() -> Path:
    return paths.parameters_dir() / "adjustments.yaml"


def load_adjustments(path: Path | None = None) -> list[Adjustment]:
    p = Path(path) if path is not None else adjustments_path()
    if not p.is_file():
        return []
    return adjustments_spec.load(p).adjustments


def adjustments_for(entity_kind: str, entity_id: str | None, period: str, kpi: str | None = None,
                    path: Path | None = None) -> list[Adjustment]:
    """Adjustments touching an entity's figures in a period (for a KPI, or any KPI when kpi is None).

    A store adjustment also touches the company, platform, team, person and contract figures of
    periods that contain its days (reports list it; only the store's own evaluation changes).
    """
    s, e = period_bounds(period)
    out = []
    for a in load_adjustments(path):
        if kpi is not None and a.kpi not in (None, kpi):
            continue
        if a.kind == "override_target":
            if a.period != period or a.entity_kind != entity_kind or (a.entity_id or "") != (entity_id or ""):
                continue
        else:
            if a.end < s or a.start > e:  # type: ignore[operator]
                continue
            same = a.entity_kind == entity_kind and (a.entity_id or "") == (entity_id or "")
            rollup = a.entity_kind == "store" and entity_kind in ("company", "platform", "marketplace", "team",
                                                                   "person", "contract")
            if not (same or rollup):
                continue
        out.append(a)
    return out


def _excluded_days(adjs: list[Adjustment], period: str) -> int:
    s, e = period_bounds(period)
    days: set[dt.date] = set()
    for a in adjs:
        if a.kind != "exclude_days":
            continue
        d0, d1 = max(a.start, s), min(a.end, e)  # type: ignore[type-var]
        days |= {d0 + dt.timedelta(days=i) for i in range((d1 - d0).days + 1)}
    return len(days)


# ------------------------------------------------------------------------------------ evaluation

STATUS_COLUMNS = ["kpi", "entity_kind", "entity_id", "period", "target", "actual", "expected_to_date", "projection",
                  "achievement", "pace_achievement", "status", "method", "adjusted", "adjustment_ids", "as_of",
                  "complete", "missing"]


def _seasonal_curve(kpi: str, kind: str, eid: str | None, period: str, wh: Warehouse) -> pd.Series | None:
    if period_kind(period) not in ("month", "quarter", "year"):
        return None
    ly = last_year(period)
    d = compute([kpi], by=[], period="day", start=ly, end=ly, filters=_entity_filter(kind, eid), warehouse=wh)
    if d.empty or not np.isfinite(d[kpi]).any() or d[kpi].sum() <= 0:
        return None
    s, e = period_bounds(ly)
    full = pd.Series(0.0, index=[period_label(s + dt.timedelta(days=i), "day") for i in range((e - s).days + 1)])
    full.loc[d["period"].values] = d[kpi].fillna(0).values
    return full.cumsum() / full.sum()


def _pacing_method(files: list[Target], kpi: str, kind: str, eid: str, period: str, parent: str = "") -> str | None:
    """The pacing of the file target a status row comes from: the entity's target of that very period first, then
    one of every period ('*' or a relative period), then one whose period holds it (a quarter's month rows), then
    the target the row was cascaded from (``parent``, ``kind:id:period``: a store's rows of a company target)."""
    mine = [t for t in files if (t.kpi, t.entity_kind, t.entity_id or "") == (kpi, kind, eid)]
    s, e = period_bounds(period)
    for t in mine:
        if t.period == period:
            return t.pacing
    for t in mine:
        if t.period == "*" or t.period in RELATIVE:
            return t.pacing
    for t in mine:
        ts, te = period_bounds(t.period)
        if ts <= s and e <= te:
            return t.pacing
    if parent:
        pkind, _, rest = parent.partition(":")
        pid, _, pperiod = rest.rpartition(":")
        for t in files:
            if (t.kpi, t.entity_kind, t.entity_id or "", t.period) == (kpi, pkind, pid, pperiod):
                return t.pacing
    return None


def evaluate(periods: list[str] | None = None, as_of: dt.date | None = None, warehouse: Any = None,
             targets: pd.DataFrame | None = None, catalog: Catalog | None = None) -> pd.DataFrame:
    """Targets joined to actuals: achievement, pacing, projection and status per KPI × entity × period."""
    wh = Warehouse.of(warehouse)
    catalog = catalog or load_catalog()
    tg = all_targets(wh, catalog=catalog) if targets is None else targets.copy()
    if tg.empty:
        empty = pd.DataFrame(columns=STATUS_COLUMNS)
        empty.attrs["warnings"] = list(tg.attrs.get("warnings", []))
        return empty
    as_of = as_of or wh.last_order_date() or dt.date.today()
    tg = tg[tg["period"].map(lambda p: period_bounds(p)[0] <= as_of)]
    if periods:
        tg = tg[tg["period"].isin(periods)]
    th = thresholds()
    files = [t for t, _ in load_target_files()[0]]
    out = []
    tg = tg.assign(_kind=tg["period"].map(period_kind))
    for (ekind, pkind), g in tg.groupby(["entity_kind", "_kind"]):
        dim = ENTITY_DIMENSION.get(ekind)
        kpis = sorted(g["kpi"].unique())
        lo = min(period_bounds(p)[0] for p in g["period"])
        hi = max(period_bounds(p)[1] for p in g["period"])
        hi = min(hi, as_of)
        by = [dim] if dim else []
        flt = {dim: sorted(g["entity_id"].unique())} if dim else None
        act = compute_long(kpis, by=by, period=pkind, start=lo, end=hi, filters=flt, warehouse=wh, catalog=catalog)
        act = act.rename(columns={dim: "entity_id"}) if dim else act.assign(entity_id="")
        long = act[["entity_id", "period", "kpi", "value", "complete", "missing"]].rename(columns={"value": "actual"})
        m = g.merge(long, on=["kpi", "entity_id", "period"], how="left")
        for r in m.itertuples():
            d = catalog.get(r.kpi).direction
            s, e = period_bounds(r.period)
            adjs = adjustments_for(ekind, r.entity_id or None, r.period, r.kpi)
            own = [a for a in adjs if a.entity_kind == ekind and (a.entity_id or "") == (r.entity_id or "")]
            target = float(r.value)
            excl = _excluded_days(own, r.period)
            total_days = (e - s).days + 1
            additive = catalog.is_additive(r.kpi)
            if excl and additive:
                target = target * (1 - excl / total_days)
            actual = float(r.actual) if r.actual is not None and pd.notna(r.actual) else np.nan
            complete = bool(r.complete) if pd.notna(r.complete) else True
            missing = str(r.missing) if isinstance(r.missing, str) else ""
            if excl:
                # the excluded days leave the actual too (ratios and medians recomputed without them)
                stores_ex = [(a.entity_id if a.entity_kind == "store" else None, a.start, a.end)
                             for a in own if a.kind == "exclude_days"]
                re = compute_long([r.kpi], by=[], period=pkind, start=r.period, end=min(e, as_of),
                                  filters=_entity_filter(ekind, r.entity_id or None), warehouse=wh, exclude=stores_ex,
                                  catalog=catalog)
                actual = float(re["value"].iloc[0]) if len(re) else np.nan
                if len(re):
                    complete, missing = bool(re["complete"].iloc[0]), str(re["missing"].iloc[0])
            ach = achievement(actual, target, d)
            in_progress = e > as_of
            if in_progress:
                curve = None
                parent = r.parent if isinstance(getattr(r, "parent", None), str) else ""
                if _pacing_method(files, r.kpi, ekind, r.entity_id or "", r.period, parent) == "seasonal":
                    curve = _seasonal_curve(r.kpi, ekind, r.entity_id or None, r.period, wh)
                pc = pacing(r.kpi, actual, target, r.period, as_of, "seasonal" if curve is not None else "calendar",
                            curve, catalog)
                expected, projection = pc["expected_to_date"], pc["projection"]
            else:
                expected, projection = target, actual
            pace = achievement(actual, expected, d)
            judged = pace if in_progress else ach
            st = status_of(judged, r.kpi, th)
            if excl and not additive and excl >= total_days:
                st = "none"
            if not complete:  # a figure missing a source is never judged (never green)
                st = INCOMPLETE
            out.append([r.kpi, ekind, r.entity_id, r.period, target, actual, expected, projection, ach, pace, st,
                        r.method, bool(adjs), ",".join(a.id for a in adjs), as_of.isoformat(), complete, missing])
    res = pd.DataFrame(out, columns=STATUS_COLUMNS)
    res = res.sort_values(["entity_kind", "entity_id", "period", "kpi"]).reset_index(drop=True)
    res.attrs["warnings"] = list(tg.attrs.get("warnings", []))
    return res
