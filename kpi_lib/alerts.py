"""Alert rules (parameters/alerts.yaml) and anomaly detection over the monthly KPI values.

Rule kinds:
- ``threshold``: a KPI above/below a fixed value (``op`` one of > >= < <=);
- ``consecutive_below_target``: N consecutive periods with achievement below ``below`` (default 1.0);
- ``inventory_cover``: days of inventory below lead time + safety days;
- ``return_rate_spike``: return rate above ``factor`` × the median of the trailing ``window`` periods.

Anomalies: robust z-score of a KPI against its trailing window, z = (x − median) / (1.4826 · MAD);
|z| > ``z`` is an anomaly (windows with MAD = 0 are skipped: no spread, no scale).

Alerts are evaluated for every month; those of each entity's latest month are ``open`` (the
condition still holds now), older ones ``closed`` (history). ``open_alerts`` lists open ones,
newest first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .metrics import period_bounds
from .spec import alerts as alerts_spec
from .spec.alerts import AlertConfig, AnomalyConfig, Rule, Severity  # noqa: F401 - re-exported
from .warehouse import Warehouse

ALERT_COLUMNS = ["alert_id", "rule_id", "kind", "severity", "kpi", "entity_kind", "entity_id", "period", "value",
                 "threshold", "message", "opened_on", "state", "op", "window", "base", "score"]
# structured fields a report turns into a sentence (kpi_lib.present.words.alert_sentence):
#   op      threshold rules: the comparison that fired (> >= < <=)
#   window  anomaly / return_rate_spike: trailing periods compared with; consecutive_below_target: run length
#   base    anomaly / return_rate_spike: the trailing median; inventory_cover: the lead time in days
#   score   anomaly: the robust z-score


def load_rules(path: Path | None = None) -> AlertConfig:
    """parameters/alerts.yaml (loaded by :mod:`kpi_lib.spec.alerts`)."""
    return alerts_spec.load(path)


def detect_anomalies(series: pd.Series, window: int = 6, z: float = 3.5) -> pd.Series:
    """True where a value is more than ``z`` robust standard deviations from its trailing window."""
    x = pd.Series(series, dtype="float64").reset_index(drop=True)
    out = np.zeros(len(x), dtype=bool)
    for i in range(window, len(x)):
        w = x.iloc[i - window:i].dropna()
        if len(w) < max(3, window // 2) or not np.isfinite(x.iloc[i]):
            continue
        med = float(w.median())
        mad = float((w - med).abs().median())
        if mad == 0:
            continue
        out[i] = abs(x.iloc[i] - med) / (1.4826 * mad) > z
    return pd.Series(out, index=series.index)


def robust_z(series: pd.Series, window: int = 6) -> pd.Series:
    x = pd.Series(series, dtype="float64").reset_index(drop=True)
    res = np.full(len(x), np.nan)
    for i in range(window, len(x)):
        w = x.iloc[i - window:i].dropna()
        med = float(w.median()) if len(w) else np.nan
        mad = float((w - med).abs().median()) if len(w) else np.nan
        if mad and np.isfinite(mad):
            res[i] = (x.iloc[i] - med) / (1.4826 * mad)
    return pd.Series(res, index=series.index)


def _alert(rule_id: str, kind: str, sev: str, kpi: str | None, ek: str, eid: str, period: str, value: float,
           threshold: float, msg: str, op: str | None = None, window: float | None = None, base: float | None = None,
           score: float | None = None) -> dict:
    aid = hashlib.sha1(f"{rule_id}|{ek}|{eid}|{period}|{kpi}".encode()).hexdigest()[:12]
    return {"alert_id": aid, "rule_id": rule_id, "kind": kind, "severity": sev, "kpi": kpi, "entity_kind": ek,
            "entity_id": eid, "period": period, "value": value, "threshold": threshold, "message": msg,
            "opened_on": period_bounds(period)[1].isoformat(), "op": op,
            "window": None if window is None else float(window), "base": None if base is None else float(base),
            "score": None if score is None else float(score)}


_OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


def evaluate_alerts(kpi_values: pd.DataFrame, status: pd.DataFrame | None = None,
                    config: AlertConfig | None = None) -> pd.DataFrame:
    """Alerts from monthly kpi_values (entity_kind, entity_id, period, kpi, value[, period_kind, complete]) and status.

    Incomplete figures (``complete`` False: a source is missing) are not judged: they raise no
    threshold, spike or anomaly alert, and an incomplete status breaks a run of periods below target.
    """
    cfg = config or load_rules()
    kv = kpi_values
    if "period_kind" in kv.columns:
        kv = kv[kv["period_kind"] == "month"]
    if "complete" in kv.columns:
        kv = kv.assign(value=kv["value"].astype(float).where(kv["complete"].astype(bool)))
    kv = kv[kv["period"].astype(str).str.fullmatch(r"\d{4}-\d{2}")]
    rows: list[dict] = []

    def series(kpi: str, ek: str) -> Any:
        d = kv[(kv["kpi"] == kpi) & (kv["entity_kind"] == ek)].sort_values("period")
        return d.groupby("entity_id", sort=True)

    for r in cfg.rules:
        if r.kind == "threshold" and r.kpi and r.value is not None:
            d = kv[(kv["kpi"] == r.kpi) & (kv["entity_kind"] == r.entity_kind)]
            hit = d[_OPS[r.op](d["value"].astype(float), r.value)]
            for x in hit.itertuples():
                rows.append(_alert(r.id, r.kind, r.severity, r.kpi, r.entity_kind, x.entity_id, x.period, x.value, r.value,
                                   f"{r.kpi} {x.value:.4g} {r.op} {r.value:.4g}", op=r.op))
        elif r.kind == "inventory_cover":
            limit = r.lead_time_days + r.safety_days
            d = kv[(kv["kpi"] == "inventory_days") & (kv["entity_kind"] == r.entity_kind)]
            hit = d[d["value"].astype(float) < limit]
            for x in hit.itertuples():
                rows.append(_alert(r.id, r.kind, r.severity, "inventory_days", r.entity_kind, x.entity_id, x.period,
                                   x.value, limit, f"inventory cover {x.value:.0f} d < lead time {r.lead_time_days:.0f} d "
                                   f"+ safety {r.safety_days:.0f} d", op="<", base=r.lead_time_days))
        elif r.kind == "return_rate_spike":
            for eid, g in series(r.kpi or "return_rate", r.entity_kind):
                v = g["value"].astype(float).reset_index(drop=True)
                base = v.shift(1).rolling(r.window, min_periods=max(2, r.window // 2)).median()
                for i in range(len(v)):
                    if np.isfinite(base[i]) and base[i] > 0 and v[i] > r.factor * base[i]:
                        p = g["period"].iloc[i]
                        rows.append(_alert(r.id, r.kind, r.severity, r.kpi or "return_rate", r.entity_kind, eid, p, v[i],
                                           r.factor * base[i], f"return rate {v[i]:.1%} > {r.factor:g} × trailing median "
                                           f"{base[i]:.1%}", op=">", window=r.window, base=base[i]))
        elif r.kind == "consecutive_below_target" and status is not None and len(status) and r.kpi:
            st = status[(status["kpi"] == r.kpi) & (status["entity_kind"] == r.entity_kind)
                        & status["period"].astype(str).str.fullmatch(r"\d{4}-\d{2}")]
            for eid, g in st.sort_values("period").groupby("entity_id"):
                run = 0
                for x in g.itertuples():
                    a = x.pace_achievement if np.isfinite(x.pace_achievement) else x.achievement
                    if getattr(x, "status", "") == "incomplete":
                        a = np.nan
                    run = run + 1 if (np.isfinite(a) and a < r.below) else 0
                    if run >= r.periods:
                        rows.append(_alert(r.id, r.kind, r.severity, r.kpi, r.entity_kind, eid, x.period, a, r.below,
                                           f"{r.kpi} below {r.below:.0%} of target for {run} consecutive periods",
                                           op="<", window=run))
    if cfg.anomaly is not None:
        a = cfg.anomaly
        for kpi in a.kpis:
            for eid, g in series(kpi, a.entity_kind):
                z = robust_z(g["value"].reset_index(drop=True), a.window)
                for i, zi in enumerate(z):
                    if np.isfinite(zi) and abs(zi) > a.z:
                        x = g.iloc[i]
                        w = g["value"].reset_index(drop=True).iloc[i - a.window:i].astype(float).dropna()
                        rows.append(_alert(f"anomaly:{kpi}", "anomaly", a.severity, kpi, a.entity_kind, eid, x["period"],
                                           float(x["value"]), a.z, f"{kpi} robust z-score {zi:+.1f} vs trailing "
                                           f"{a.window} periods", op=">" if zi > 0 else "<", window=a.window,
                                           base=float(w.median()), score=float(zi)))
    df = pd.DataFrame(rows, columns=[c for c in ALERT_COLUMNS if c != "state"])
    if df.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    latest = kv.groupby(["entity_kind", "entity_id"])["period"].max().rename("latest").reset_index()
    df = df.merge(latest, on=["entity_kind", "entity_id"], how="left")
    df["state"] = np.where(df["period"] == df["latest"], "open", "closed")
    df = df.drop(columns="latest").drop_duplicates("alert_id")
    return _newest_first(df)[ALERT_COLUMNS]


_SEV = {"high": 0, "medium": 1, "low": 2}


def _newest_first(df: pd.DataFrame) -> pd.DataFrame:
    return (df.assign(_s=df["severity"].map(_SEV).fillna(3))
              .sort_values(["opened_on", "_s", "entity_kind", "entity_id", "rule_id"], ascending=[False, True, True, True, True])
              .drop(columns="_s").reset_index(drop=True))


def open_alerts(warehouse: Any = None, entity_kind: str | None = None, entity_id: str | None = None,
                include_closed: bool = False) -> pd.DataFrame:
    """Alerts written by ``kpi compute``, open ones only (unless include_closed), newest first."""
    wh = Warehouse.of(warehouse)
    if not wh.exists() or not wh.has("alerts"):
        return pd.DataFrame(columns=ALERT_COLUMNS)
    df = wh.read("alerts")
    if not include_closed:
        df = df[df["state"] == "open"]
    if entity_kind:
        df = df[df["entity_kind"] == entity_kind]
    if entity_id:
        df = df[df["entity_id"] == entity_id]
    return _newest_first(df) if len(df) else df.reset_index(drop=True)


__all__ = [
    "ALERT_COLUMNS",
    "AlertConfig",
    "Rule",
    "detect_anomalies",
    "dt",
    "evaluate_alerts",
    "load_rules",
    "open_alerts",
    "robust_z",
]
