"""Reference files: stores, SKUs, costs, FX, org, listings, tickets and activities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .core import STORES, World, rng_for

TICKET_MEDIAN_H = {"AMZ-US-01": 3.0, "AMZ-US-02": 6.5, "AMZ-DE-01": 9.0, "AMZ-US-03": 14.0, "SHP-MY-01": 2.0,
                   "SHP-SG-01": 4.0, "SHP-MY-02": 11.0, "TTS-US-01": 5.0, "SFY-US-01": 18.0, "LZD-TH-01": 7.5,
                   "WMT-US-01": 20.0}
KIND_P = (("message", 0.55), ("return", 0.2), ("dispute", 0.1), ("negative_review", 0.15))
RESOLVE_DAYS = {"message": 0.4, "return": 3.0, "dispute": 5.0, "negative_review": 2.0}


class Assigned:
    def __init__(self, a: pd.DataFrame, people: pd.DataFrame) -> None:
        role = dict(zip(people["person_id"], people["role"]))
        self.rows: dict[str, list[tuple[str, str, np.datetime64, np.datetime64]]] = {}
        for p, _t, s, f, to in a.itertuples(index=False):
            end = np.datetime64(to) if to else np.datetime64("2100-01-01")
            self.rows.setdefault(s, []).append((p, role[p], np.datetime64(f), end))

    def on(self, store: str, day: np.datetime64, roles: tuple[str, ...]) -> list[str]:
        return [p for p, r, f, t in self.rows.get(store, []) if r in roles and f <= day <= t]


def tickets(world: World, orders_per_month: dict[str, dict[str, int]]) -> pd.DataFrame:
    asg = Assigned(world.assignments, world.people)
    per = world.period
    end_ts = per.end_date.astype("datetime64[s]") + np.timedelta64(86399, "s")
    frames = []
    for si, s in enumerate(STORES):
        sid = s[0]
        r = rng_for(world.seed, 130, si)
        opened, kinds = [], []
        for m in per.months:
            n_o = orders_per_month.get(sid, {}).get(m, 0)
            if n_o == 0:
                continue
            cnt = int(r.poisson(min(3 + n_o * 0.02, 600)))
            m0 = np.datetime64(m + "-01")
            ndays = int(((np.datetime64(m) + 1).astype("datetime64[D]") - m0).astype(int))
            lo = max(0, int((world.launch[sid] - m0).astype(int)))
            d = m0 + r.integers(lo, ndays, cnt).astype("timedelta64[D]")
            opened.append(d.astype("datetime64[s]") + r.integers(7 * 3600, 23 * 3600, cnt).astype("timedelta64[s]"))
            kinds.append(r.choice([k for k, _ in KIND_P], size=cnt, p=[p for _, p in KIND_P]))
        if not opened:
            continue
        op = np.concatenate(opened)
        kd = np.concatenate(kinds)
        n = len(op)
        med = TICKET_MEDIAN_H[sid]
        fr_h = np.exp(np.log(med) + r.normal(0, 0.9, n))
        fr = op + (fr_h * 3600).astype("timedelta64[s]")
        res_d = np.array([RESOLVE_DAYS[k] for k in kd]) * np.exp(r.normal(0, 0.6, n))
        rs = fr + (res_d * 86400).astype("timedelta64[s]")
        unresolved = (r.random(n) < 0.03) | (rs > end_ts)
        rs = np.where(unresolved, np.datetime64("NaT"), rs)
        fr = np.where(fr > end_ts, np.datetime64("NaT"), fr)
        rs = np.where(np.isnat(fr), np.datetime64("NaT"), rs)
        who = []
        for t in op:
            c = asg.on(sid, t.astype("datetime64[D]"), ("service",)) or asg.on(sid, t.astype("datetime64[D]"), ("operator",))
            who.append(c[int(r.integers(0, len(c)))] if c else "")
        iso = lambda a: np.where(np.isnat(a), "", np.datetime_as_string(a.astype("datetime64[s]"), unit="s"))
        frames.append(pd.DataFrame({"store_id": sid, "ticket_id": [f"{sid}-T{i + 1:05d}" for i in range(n)], "kind": kd,
                                    "opened_at": iso(op), "first_response_at": iso(fr), "resolved_at": iso(rs),
                                    "assignee": who}))
    return pd.concat(frames, ignore_index=True)


def activities(world: World) -> pd.DataFrame:
    asg = Assigned(world.assignments, world.people)
    per = world.period
    rows = []
    lst = world.listings
    for si, s in enumerate(STORES):
        sid = s[0]
        r = rng_for(world.seed, 140, si)
        # new listings: every listing that went live inside the period
        sub = lst[(lst["store_id"] == sid)]
        for sku, on in zip(sub["sku"], sub["listed_on"]):
            d = np.datetime64(on)
            if per.start_date <= d <= per.end_date:
                c = asg.on(sid, d, ("operator",))
                if c:
                    rows.append((sid, str(d), c[int(r.integers(0, len(c)))], "new_listing", sku))
        skus = sub["sku"].to_numpy()
        start = max(per.start_date, world.launch[sid])
        for m in per.months:
            m0 = max(np.datetime64(m + "-01"), start)
            m1 = (np.datetime64(m) + 1).astype("datetime64[D]")
            if m0 >= m1:
                continue
            span = int((m1 - m0).astype(int))
            plan = [("price_change", 4, ("operator",)), ("listing_optimization", 6, ("operator",))]
            if s[2] == "amazon":
                plan.append(("ad_group_optimization", {"AMZ-US-01": 18, "AMZ-US-02": 9, "AMZ-DE-01": 12, "AMZ-US-03": 14}[sid],
                             ("ads", "operator")))
            elif s[2] in ("shopee", "tiktok"):
                plan.append(("ad_group_optimization", 4, ("ads", "operator")))
            for kind, lam, roles in plan:
                for _ in range(int(r.poisson(lam * span / 30))):
                    d = m0 + np.timedelta64(int(r.integers(0, span)), "D")
                    c = asg.on(sid, d, roles)
                    if c:
                        rows.append((sid, str(d), c[int(r.integers(0, len(c)))], kind, str(skus[int(r.integers(0, len(skus)))])))
    df = pd.DataFrame(rows, columns=["store_id", "date", "person_id", "kind", "sku"])
    df = df.sort_values(["store_id", "date", "kind", "person_id", "sku"], kind="stable").reset_index(drop=True)
    df.insert(1, "activity_id", [f"A{i + 1:06d}" for i in range(len(df))])
    return df[["store_id", "activity_id", "date", "person_id", "kind", "sku"]]


def write_reference(world: World, ref: Path, orders_per_month: dict[str, dict[str, int]]) -> dict[str, int]:
    ref.mkdir(parents=True, exist_ok=True)
    tables = {
        "stores": world.stores,
        "skus": world.skus[["sku", "name", "category", "unit_cogs", "first_leg_cost", "duty_rate", "cost_currency"]],
        "sku_costs": world.sku_costs, "fx_rates": world.fx, "teams": world.teams, "people": world.people,
        "assignments": world.assignments, "listings": world.listings,
        "tickets": tickets(world, orders_per_month), "activities": activities(world),
    }
    out = {}
    for name, df in tables.items():
        df.to_csv(ref / f"{name}.csv", index=False, lineterminator="\n")
        out[name] = len(df)
    return out
