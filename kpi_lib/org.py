"""Who owns which store when: people and teams by date (assignments), contracts by scope.

A person's stores on a date are the assignment rows valid that day (valid_from / valid_to
inclusive, empty valid_to = open). A team's stores on a date are its members' stores that day; the
per-team intervals are merged so that two members on the same store never count a row twice.
Without an assignments table, teams fall back to ``stores.team_id`` (always, no dates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from . import paths
from .config import read_yaml
from .warehouse import Warehouse, table_file_key

OPEN_END = pd.Timestamp("2262-04-01")
ENTITY_DIMENSION: dict[str, str | None] = {
    "company": None, "platform": "platform", "marketplace": "marketplace", "store": "store_id",
    "category": "category", "sku": "sku", "team": "team_id", "person": "person_id", "contract": "contract_id",
}


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None) if s.dtype == object else s, errors="coerce").dt.normalize()


_ASSIGNMENTS: dict[tuple, pd.DataFrame] = {}


def assignments(warehouse: Any = None) -> pd.DataFrame:
    """person_id, team_id, store_id, valid_from, valid_to (Timestamps; open end = NaT). Worked out once
    per version of the snapshot's table (a report asks for it for every scope it resolves)."""
    wh = Warehouse.of(warehouse)
    src = next((wh.table_location(t) for t in ("assignments", "stores") if wh.has(t)), None)
    key = table_file_key(src) if src is not None else None
    if key is not None and key in _ASSIGNMENTS:
        return _ASSIGNMENTS[key].copy()
    df = _assignments(wh)
    if key is not None:
        if len(_ASSIGNMENTS) >= 8:
            _ASSIGNMENTS.pop(next(iter(_ASSIGNMENTS)))
        _ASSIGNMENTS[key] = df.copy()
    return df


def _assignments(wh: Warehouse) -> pd.DataFrame:
    cols = ["person_id", "team_id", "store_id", "valid_from", "valid_to"]
    if wh.has("assignments"):
        df = wh.read("assignments")
    elif wh.has("stores"):
        st = wh.read("stores")
        if "team_id" not in st.columns:
            return pd.DataFrame(columns=cols)
        df = st[["store_id", "team_id"]].assign(person_id=None, valid_from=pd.NaT, valid_to=pd.NaT)
    else:
        return pd.DataFrame(columns=cols)
    for c in cols:
        if c not in df.columns:
            df[c] = None
    df = df[cols].copy()
    df["valid_from"] = _dates(df["valid_from"]).fillna(pd.Timestamp("1900-01-01"))
    df["valid_to"] = _dates(df["valid_to"])
    for c in ("person_id", "team_id", "store_id"):
        df[c] = df[c].astype("string").replace("", pd.NA)
    return df


def team_store_intervals(warehouse: Any = None, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """team_id, store_id, valid_from, valid_to with overlapping member intervals merged (valid_to NaT = open)."""
    a = assignments(warehouse) if frame is None else frame
    out = []
    a = a.dropna(subset=["team_id", "store_id"])
    for (team, store), g in a.groupby(["team_id", "store_id"], sort=True):
        ivs = sorted(zip(g["valid_from"], g["valid_to"].fillna(OPEN_END)))
        cur_s, cur_e = ivs[0]
        for s, e in ivs[1:]:
            if s <= cur_e + pd.Timedelta(days=1):
                cur_e = max(cur_e, e)
            else:
                out.append((team, store, cur_s, cur_e))
                cur_s, cur_e = s, e
        out.append((team, store, cur_s, cur_e))
    df = pd.DataFrame(out, columns=["team_id", "store_id", "valid_from", "valid_to"])
    df.loc[df["valid_to"] >= OPEN_END, "valid_to"] = pd.NaT
    return df


def _contract_entries(contracts: Iterable[Any] | None = None) -> list[tuple[str, list[str]]]:
    """(contract id, stores) of ``contracts`` (Contract models or dicts), default the scopes written in
    parameters/contracts.yaml. Only the scope is read here (id and stores): fee terms the settlement
    model rejects do not change a contract's store scope; `kpi validate` and `kpi settle` report them."""
    if contracts is None:
        p = paths.parameters_dir() / "contracts.yaml"
        if not p.is_file():
            return []
        data = read_yaml(p) or {}
        contracts = (data.get("contracts") or []) if isinstance(data, dict) else []
    out = []
    for c in contracts:
        cid = c.get("id") or c.get("contract_id") if isinstance(c, dict) else getattr(c, "id", None)
        if cid:
            out.append((str(cid), _stores_of(c)))
    return out


def _stores_of(c: Any) -> list[str]:
    def get(o: Any, k: str) -> Any:
        return o.get(k) if isinstance(o, dict) else getattr(o, k, None)

    for key in ("stores", "store_ids"):
        v = get(c, key)
        if v:
            return [str(x) for x in v]
    scope = get(c, "scope")
    if scope is not None:
        for key in ("stores", "store_ids"):
            v = get(scope, key)
            if v:
                return [str(x) for x in v]
    return []


def contract_stores(contracts: Iterable[Any] | None = None) -> pd.DataFrame:
    """contract_id, store_id for every contract (default: the scopes of parameters/contracts.yaml; empty when absent)."""
    rows = [(cid, s) for cid, stores in _contract_entries(contracts) for s in stores]
    return pd.DataFrame(rows, columns=["contract_id", "store_id"]).drop_duplicates()


def entity_stores(entity_kind: str, entity_id: str | None, start: Any = None, end: Any = None,
                  warehouse: Any = None, contracts: Iterable[Any] | None = None) -> list[str]:
    """Stores of an entity at any time within [start, end] (all time when omitted)."""
    wh = Warehouse.of(warehouse)
    stores = wh.read("stores") if wh.has("stores") else pd.DataFrame(columns=["store_id"])
    all_ids = sorted(stores["store_id"].astype(str).unique().tolist())
    if entity_kind == "company":
        return all_ids
    if entity_kind == "store":
        return [str(entity_id)]
    if entity_kind in ("platform", "marketplace"):
        return sorted(stores.loc[stores[entity_kind].astype(str) == str(entity_id), "store_id"].astype(str).tolist())
    if entity_kind == "contract":
        cs = contract_stores(contracts)
        return sorted(cs.loc[cs["contract_id"] == entity_id, "store_id"].tolist())
    if entity_kind in ("team", "person"):
        a = assignments(wh)
        col = "team_id" if entity_kind == "team" else "person_id"
        a = a[a[col] == entity_id]
        s = pd.Timestamp(start) if start is not None else pd.Timestamp("1900-01-01")
        e = pd.Timestamp(end) if end is not None else OPEN_END
        a = a[(a["valid_from"] <= e) & (a["valid_to"].fillna(OPEN_END) >= s)]
        return sorted(a["store_id"].astype(str).unique().tolist())
    raise ValueError(f"unknown entity kind {entity_kind!r}")


def store_launch_dates(warehouse: Any = None) -> dict[str, dt.date]:
    wh = Warehouse.of(warehouse)
    if not wh.has("stores"):
        return {}
    s = wh.read("stores")
    if "launch_date" not in s.columns:
        return {}
    d = _dates(s["launch_date"])
    return {str(k): v.date() for k, v in zip(s["store_id"], d) if pd.notna(v)}


__all__ = [
    "ENTITY_DIMENSION",
    "Path",
    "assignments",
    "contract_stores",
    "entity_stores",
    "store_launch_dates",
    "team_store_intervals",
]
