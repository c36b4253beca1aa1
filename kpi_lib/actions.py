"""Actions on off-target KPIs (goal → action → result): the data, its checks, and what reports need.

An action is agreed in a monthly review (复盘) about a KPI of an entity that is red or amber: who
owns it, by when, what it should achieve. They live in ``parameters/actions.yaml``::

    actions:
      - id: ACT-2026-011
        title: "Raise the price of the two worst SKUs by 5%"
        kpi: net_margin
        entity_kind: store
        entity_id: AMZ-US-02
        period: 2026-10          # the month whose figure prompted it (the baseline, "before")
        owner: P02
        created: 2026-11-04
        created_by: P01
        due: 2026-11-20
        status: done             # open | done | dropped
        status_by: P02
        status_at: 2026-11-18
        expected: {value: 0.12}  # optional: the KPI (default: the action's) should reach this value
        comments:
          - {at: 2026-11-18, by: P02, text: "Both prices raised on 11-17"}

Time rules (so that a report of a month never changes when later updates are made):

- the report of month P is judged **as of the last day of P**: an action's status on that day is
  its ``status`` if ``status_at`` is on or before it, else ``open``; an open action whose ``due`` is
  before that day is **overdue**;
- "closed last period" = done or dropped with ``status_at`` inside P; "last review's actions" =
  actions whose ``period`` is P − 1 (agreed in the review held early in P);
- the KPI's value **before** is its value in the action's ``period``; **after** is its value in the
  month it was closed (for the report of P: P). Values come from :func:`kpi_lib.metrics.compute`
  for the action's entity; a missing value makes the result ``incomplete`` (never 0);
- result of a done action: with an expected value, ``met`` when the direction-aware achievement of
  *after* against the expected value is ≥ 1, else ``not_met``; without one, ``improved`` /
  ``no_improvement`` by the KPI's better direction.

Scope: :func:`actions_for` returns the actions concerning an entity: a store's own; a team's own,
its stores' and its members'; a person's: the ones they own or that concern their stores.

Size (≈520 lines): the action list's derived views (overdue, before/after, result, agenda) read one
frame; the file model and its save are kpi_lib.spec.actions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import paths
from .definitions import load_catalog
from .errors import ConfigError
from .metrics import compute
from .org import ENTITY_DIMENSION, assignments, contract_stores, entity_stores
from .periods import period_bounds, period_label, shift_period
from .spec import Context
from .spec import actions as actions_spec
from .spec.actions import (  # noqa: F401 - re-exported
    HEADER,
    ID_RE,
    MONTH_RE,
    STATUSES,
    Action,
    ActionsFile,
    Comment,
    EntityKind,
    ExpectedEffect,
    Status,
)
from .targets import achievement
from .tree import attribute, load_tree, split_change
from .warehouse import Warehouse

COLUMNS = ["id", "title", "kpi", "entity_kind", "entity_id", "period", "owner", "created", "due", "status",
           "status_by", "status_at", "overdue", "days_overdue", "group", "last_review", "before", "after", "expected_kpi",
           "expected_value", "result", "comments", "last_comment", "last_comment_at", "last_comment_by"]


# ---- load / validate / save ------------------------------------------------------------------------
def actions_path() -> Path:
    return actions_spec.SPEC.default_path()


def load_actions(path: Path | None = None) -> list[Action]:
    """The actions of ``parameters/actions.yaml`` (empty when the file does not exist)."""
    return actions_spec.load(path).actions


def _ref_table(name: str, reference: Path | None, warehouse: Any) -> pd.DataFrame | None:
    """A reference table from the warehouse snapshot, else data/reference/<name>.csv; None when absent."""
    if warehouse is not None:
        try:
            if warehouse.has(name):
                return warehouse.read(name)
        except Exception:  # noqa: BLE001, S110 - an unreadable warehouse falls back to the CSV files
            pass
    d = Path(reference) if reference is not None else paths.reference_dir()
    f = d / f"{name}.csv"
    if f.is_file():
        return pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return None


def known_entities(reference: Path | None = None, warehouse: Any = None) -> dict[str, set[str]] | None:
    """Entity ids by kind (people, stores, teams, platforms, marketplaces, contracts); None without reference."""
    stores = _ref_table("stores", reference, warehouse)
    people = _ref_table("people", reference, warehouse)
    if stores is None and people is None:
        return None
    out: dict[str, set[str]] = {}
    st = stores if stores is not None else pd.DataFrame(columns=["store_id"])
    out["store"] = set(st["store_id"].astype(str))
    for k in ("platform", "marketplace"):
        out[k] = set(st[k].astype(str)) if k in st else set()
    out["person"] = set(people["person_id"].astype(str)) if people is not None else set()
    teams = _ref_table("teams", reference, warehouse)
    out["team"] = set(teams["team_id"].astype(str)) if teams is not None else (
        set(st["team_id"].astype(str)) if "team_id" in st else set())
    try:
        out["contract"] = set(contract_stores()["contract_id"].astype(str))
    except ConfigError:
        out["contract"] = set()
    return out


def _context(reference: Path | None, warehouse: Any, catalog: Any) -> Context:
    """KPI ids of the catalog and entity ids of the reference data (warehouse snapshot, else CSVs)."""
    cat = catalog or load_catalog()
    ctx = Context(kpis=set(cat.ids()))
    known = known_entities(reference, warehouse)
    if known is not None:
        ctx.stores, ctx.people, ctx.teams = known["store"], known["person"], known["team"]
        ctx.platforms, ctx.marketplaces, ctx.contracts = known["platform"], known["marketplace"], known["contract"]
    return ctx


def validate_actions(actions: list[Action], source: str = "actions.yaml", reference: Path | None = None,
                     warehouse: Any = None, catalog: Any = None) -> list[str]:
    """Issues with the actions' references: unknown KPI, owner, author or entity (one line each).

    Each line names the file, the action's position and id, and the field. Owners and entities are
    checked against the reference data (warehouse snapshot or data/reference/); without reference
    data only KPIs are checked. The checks are :mod:`kpi_lib.spec.actions`'.
    """
    f = ActionsFile.model_construct(actions=list(actions))
    return [str(i) for i in actions_spec.SPEC.validate(f, _context(reference, warehouse, catalog), source=source)]


def check_file(path: Path | None = None, reference: Path | None = None, warehouse: Any = None) -> list[str]:
    """Every issue of an actions file (model errors, then references): what `kpi validate` reports."""
    p = Path(path) if path is not None else actions_path()
    try:
        acts = load_actions(p)
    except ConfigError as exc:
        return exc.issues or [str(exc)]
    return validate_actions(acts, p.name, reference=reference, warehouse=warehouse)


def save_actions(actions: list[Action], path: Path | None = None, reference: Path | None = None,
                 warehouse: Any = None) -> Path:
    """Validate every action (model and references) and write the file through :mod:`kpi_lib.spec.actions`.

    An invalid list raises ConfigError with all issues and leaves the file as it was. Existing
    comments and the order of keys and actions are kept (round-trip YAML); new actions are appended.
    """
    p = Path(path) if path is not None else actions_path()
    # re-validate through the file's model (duplicates, dates) before the reference checks
    model = actions_spec.SPEC.parse(actions_spec.SPEC.plain(ActionsFile.model_construct(actions=list(actions))), p.name)
    actions_spec.save(model, p, context=_context(reference, warehouse, None))
    return p


def next_id(actions: list[Action], day: dt.date | None = None) -> str:
    """A new id ``ACT-<year>-<nnn>`` not used yet."""
    year = (day or dt.date.today()).year
    nums = [int(m.group(1)) for a in actions if (m := re.match(rf"^ACT-{year}-(\d+)$", a.id))]
    return f"ACT-{year}-{(max(nums) + 1 if nums else 1):03d}"


def update_action(actions: list[Action], action_id: str, **changes: Any) -> list[Action]:
    """A copy of ``actions`` with one action changed (validated by the model; KeyError when unknown)."""
    out = []
    found = False
    for a in actions:
        if a.id == action_id:
            found = True
            a = Action.model_validate({**a.model_dump(), **changes})
        out.append(a)
    if not found:
        raise KeyError(action_id)
    return out


# ---- scope -------------------------------------------------------------------------------------
def _person_stores(person_id: str, start: dt.date, end: dt.date, warehouse: Any) -> set[str]:
    return set(entity_stores("person", person_id, start, end, warehouse=warehouse))


def concerns(a: Action, entity_kind: str, entity_id: str | None, start: dt.date, end: dt.date,
             warehouse: Any = None, _cache: dict | None = None) -> bool:
    """Whether an action belongs in the view of an entity over [start, end] (see module docstring)."""
    cache = _cache if _cache is not None else {}

    def stores_of(kind: str, eid: str | None) -> set[str]:
        key = (kind, eid)
        if key not in cache:
            cache[key] = set(entity_stores(kind, eid, start, end, warehouse=warehouse))
        return cache[key]

    if entity_kind == "company":
        return True
    if a.entity_kind == entity_kind and (a.entity_id or "") == (entity_id or ""):
        return True
    if entity_kind == "person":
        return a.owner == entity_id or (a.entity_kind == "store" and a.entity_id in stores_of("person", entity_id))
    if entity_kind == "store":
        return False
    if a.entity_kind == "store":
        return a.entity_id in stores_of(entity_kind, entity_id)
    if entity_kind == "team" and a.entity_kind == "person":
        key = ("members", entity_id)
        if key not in cache:
            asg = assignments(warehouse)
            s, e = pd.Timestamp(start), pd.Timestamp(end)
            asg = asg[(asg["team_id"] == entity_id) & (asg["valid_from"] <= e)
                      & (asg["valid_to"].isna() | (asg["valid_to"] >= s))]
            cache[key] = set(asg["person_id"].dropna().astype(str))
        return a.entity_id in cache[key]
    return False


# ---- values, results ------------------------------------------------------------------------------
def kpi_value(kpi: str, entity_kind: str, entity_id: str | None, period: str, warehouse: Any = None) -> float:
    """One KPI of one entity in one month via metrics.compute (NaN when missing)."""
    return _values({(entity_kind, entity_id): {kpi}}, [period], warehouse).get((entity_kind, entity_id, kpi, period),
                                                                            np.nan)


def _values(wanted: dict[tuple[str, str | None], set[str]], periods: list[str], warehouse: Any
            ) -> dict[tuple[str, str | None, str, str], float]:
    """{(kind, id, kpi, month): value} for each entity's KPIs over the months (one compute per entity)."""
    out: dict[tuple[str, str | None, str, str], float] = {}
    if not periods:
        return out
    lo, hi = min(periods), max(periods)
    for (kind, eid), kpis in wanted.items():
        dim = ENTITY_DIMENSION.get(kind)
        filters = {dim: eid} if dim else None
        df = compute(sorted(kpis), by=[], period="month", start=lo, end=hi, filters=filters, warehouse=warehouse)
        for rec in df.to_dict("records"):
            for k in kpis:
                v = rec.get(k)
                out[(kind, eid, k, str(rec["period"]))] = float(v) if v is not None and pd.notna(v) else np.nan
    return out


Wanted = dict[tuple[str, str | None], set[str]]
Values = dict[tuple[str, str | None, str, str], float]
ValuesFn = Callable[[Wanted, list[str]], Values]


def values_by_kind(wanted: Wanted, periods: list[str], warehouse: Any = None) -> Values:
    """The values of :func:`_values` for many entities at once: one ``metrics.compute`` per entity kind
    and KPI set, grouped by the kind's dimension (a report batch's actions in a few queries). Same keys;
    months outside ``min(periods)..max(periods)`` are not returned."""
    out: Values = {}
    if not periods:
        return out
    lo, hi = min(periods), max(periods)
    groups: dict[tuple[str, tuple[str, ...]], list[str | None]] = {}
    for (kind, eid), kpis in wanted.items():
        groups.setdefault((kind, tuple(sorted(kpis))), []).append(eid)
    for (kind, kpis), ids in groups.items():
        dim = ENTITY_DIMENSION.get(kind)
        if dim is None:  # the company: one entity, one query
            out.update(_values({(kind, eid): set(kpis) for eid in ids}, periods, warehouse))
            continue
        df = compute(list(kpis), by=[dim], period="month", start=lo, end=hi,
                     filters={dim: sorted(str(i) for i in ids)}, warehouse=warehouse)
        for rec in df.to_dict("records"):
            eid = rec.get(dim)
            if eid is None or (isinstance(eid, float) and pd.isna(eid)):
                continue
            for k in kpis:
                v = rec.get(k)
                out[(kind, str(eid), k, str(rec["period"]))] = float(v) if v is not None and pd.notna(v) else np.nan
    return out


def judge(before: float, after: float, expected: float | None, direction: str) -> str:
    """Result of a done action: met / not_met against the expected value, else improved / no_improvement."""
    if expected is not None:
        if pd.isna(after):
            return "incomplete"
        ach = achievement(after, expected, direction)
        if pd.isna(ach):  # expected value 0: compare directly
            ok = after >= expected if direction == "up" else after <= expected
            return "met" if ok else "not_met"
        return "met" if ach >= 1 else "not_met"
    if pd.isna(before) or pd.isna(after):
        return "incomplete"
    better = after > before if direction == "up" else after < before
    return "improved" if better else "no_improvement"


def actions_for(entity_kind: str, entity_id: str | None, period: str, person_id: str | None = None,
                warehouse: Any = None, actions: list[Action] | None = None, path: Path | None = None,
                with_values: bool = True, values: ValuesFn | None = None) -> pd.DataFrame:
    """The actions concerning an entity for the report of month ``period`` (as of its last day).

    One row per action in group ``open`` (open at the period's end; ``overdue`` flagged) or
    ``closed`` (done or dropped during the period); ``last_review`` marks the actions agreed in the
    review of the prior month (their ``period`` is the prior month). Closed rows
    carry the KPI's value ``before`` (the action's period) and ``after`` (the period it was closed
    in), both from :func:`kpi_lib.metrics.compute` in the reporting currency, and ``result``.
    ``person_id`` narrows the list to the actions that person owns or that concern their stores;
    for ``entity_kind='person'`` it defaults to the entity. ``values(wanted, months)`` answers the
    before/after values instead of :func:`_values` (e.g. from a report batch's set-based precomputation).
    """
    start, end = period_bounds(period)
    acts = load_actions(path) if actions is None else actions
    cache: dict = {}
    if entity_kind == "person" and person_id is None:
        person_id = entity_id
    sel = [a for a in acts if a.created <= end and concerns(a, entity_kind, entity_id, start, end, warehouse, cache)]
    if person_id is not None:
        mine = _person_stores(person_id, start, end, warehouse)
        sel = [a for a in sel if a.owner == person_id or (a.entity_kind == "store" and a.entity_id in mine)
               or (a.entity_kind == "person" and a.entity_id == person_id)]
    prior = shift_period(period, -1)
    rows = []
    for a in sel:
        st = a.status_on(end)
        closed_now = st != "open" and a.status_at is not None and a.status_at >= start
        if st == "open":
            group = "open"
        elif closed_now:
            group = "closed"
        else:
            continue  # closed before this period: shown in that period's report
        overdue = st == "open" and a.due < end
        shown = [c for c in a.comments if c.at <= end]
        last = shown[-1] if shown else None
        rows.append({
            "id": a.id, "title": a.title, "kpi": a.kpi, "entity_kind": a.entity_kind, "entity_id": a.entity_id or "",
            "period": a.baseline, "owner": a.owner, "created": a.created, "due": a.due, "status": st,
            "status_by": a.status_by if st != "open" else None, "status_at": a.status_at if st != "open" else None,
            "overdue": overdue, "days_overdue": (end - a.due).days if overdue else 0, "group": group,
            "last_review": a.baseline == prior,
            "before": np.nan, "after": np.nan, "expected_kpi": a.effect_kpi if a.expected else None,
            "expected_value": a.expected.value if a.expected else np.nan, "result": "pending",
            "comments": len(shown), "last_comment": last.text if last else "",
            "last_comment_at": last.at if last else None, "last_comment_by": last.by if last else None,
        })
    df = pd.DataFrame(rows, columns=COLUMNS)
    if df.empty or not with_values:
        return df
    # before/after of the KPI the effect is measured on (the action's KPI unless expected.kpi says otherwise)
    closed = df[df["group"] == "closed"]
    if len(closed):
        wanted: dict[tuple[str, str | None], set[str]] = {}
        months: set[str] = set()
        after_of: dict[str, str] = {}
        for r in closed.itertuples():
            a = next(x for x in sel if x.id == r.id)
            key = (a.entity_kind, a.entity_id if a.entity_kind != "company" else None)
            wanted.setdefault(key, set()).add(a.effect_kpi)
            sa = a.status_at or end
            after_of[a.id] = f"{sa.year}-{sa.month:02d}"
            months |= {a.baseline, after_of[a.id]}
        vals = values(wanted, sorted(months)) if values is not None else _values(wanted, sorted(months), warehouse)
        cat = load_catalog()
        for idx, r in closed.iterrows():
            a = next(x for x in sel if x.id == r["id"])
            eid = a.entity_id if a.entity_kind != "company" else None
            k = a.effect_kpi
            before = vals.get((a.entity_kind, eid, k, a.baseline), np.nan)
            after = vals.get((a.entity_kind, eid, k, after_of[a.id]), np.nan)
            df.at[idx, "before"], df.at[idx, "after"] = before, after
            df.at[idx, "expected_kpi"] = k
            if r["status"] == "dropped":
                df.at[idx, "result"] = "dropped"
            else:
                direction = cat.get(k).direction if k in cat.ids() else "up"
                df.at[idx, "result"] = judge(before, after, a.expected.value if a.expected else None, direction)
    order = {"open": 0, "closed": 1}
    df = df.assign(_o=df["group"].map(order)).sort_values(["_o", "overdue", "due"], ascending=[True, False, True])
    return df.drop(columns="_o").reset_index(drop=True)


def overdue_actions(day: dt.date | None = None, actions: list[Action] | None = None) -> pd.DataFrame:
    """Open actions whose due date is before ``day`` (default today), most overdue first (for `kpi alerts`)."""
    day = day or dt.date.today()
    acts = load_actions() if actions is None else actions
    rows = [{"id": a.id, "owner": a.owner, "due": a.due, "days_overdue": (day - a.due).days, "kpi": a.kpi,
             "entity_kind": a.entity_kind, "entity_id": a.entity_id or "", "title": a.title}
            for a in acts if a.status_on(day) == "open" and a.due < day and a.created <= day]
    df = pd.DataFrame(rows, columns=["id", "owner", "due", "days_overdue", "kpi", "entity_kind", "entity_id", "title"])
    return df.sort_values(["days_overdue", "id"], ascending=[False, True]).reset_index(drop=True)


# ---- what a review looks at: off-target KPIs and their drivers --------------------------------------
DEVIATION_COLUMNS = ["entity_kind", "entity_id", "kpi", "period", "target", "actual", "achievement", "status",
                     "has_action", "action_ids"]


def review_entities(entity_kind: str, entity_id: str | None, period: str, warehouse: Any = None
                    ) -> list[tuple[str, str]]:
    """The entities a review of ``entity_kind``/``entity_id`` covers: itself, its stores and (team) members."""
    start, end = period_bounds(period)
    out = [(entity_kind, entity_id or "")]
    if entity_kind in ("team", "person", "platform", "marketplace", "contract", "company"):
        out += [("store", s) for s in entity_stores(entity_kind, entity_id, start, end, warehouse=warehouse)]
    if entity_kind == "team":
        asg = assignments(warehouse)
        s, e = pd.Timestamp(start), pd.Timestamp(end)
        asg = asg[(asg["team_id"] == entity_id) & (asg["valid_from"] <= e)
                  & (asg["valid_to"].isna() | (asg["valid_to"] >= s))]
        out += [("person", p) for p in sorted(set(asg["person_id"].dropna().astype(str)))]
    return out


def deviations(entity_kind: str, entity_id: str | None, period: str, warehouse: Any = None,
               statuses: tuple[str, ...] = ("red", "amber"), actions: list[Action] | None = None,
               as_of: dt.date | None = None) -> pd.DataFrame:
    """Red/amber KPIs of the entity (and its stores / members) in the month or its quarter, worst first.

    From the warehouse's ``kpi_status`` (written by `kpi compute`); a quarter's status is judged to date.
    ``has_action`` / ``action_ids``: actions (any status) on the same KPI and entity whose period is one
    of the last three months (this one included), i.e. the deviation is already being worked on;
    with ``as_of`` only actions created by that day count (a report passes its period's end).
    """

    wh = Warehouse.of(warehouse)
    if not wh.has("kpi_status"):
        return pd.DataFrame(columns=DEVIATION_COLUMNS)
    st = wh.read("kpi_status")
    start = period_bounds(period)[0]
    quarter = period_label(start, "quarter")
    keys = set(review_entities(entity_kind, entity_id, period, wh))
    st = st.assign(entity_id=st["entity_id"].fillna("").astype(str))
    mine = pd.Series([(k, i) in keys for k, i in zip(st["entity_kind"], st["entity_id"])], index=st.index)
    sel = st[st["period"].isin([period, quarter]) & st["status"].isin(list(statuses)) & mine].copy()
    judged = sel["pace_achievement"] if "pace_achievement" in sel else sel["achievement"]
    sel["achievement"] = judged.where(judged.notna(), sel["achievement"])
    acts = load_actions() if actions is None else actions
    ids: list[str] = []
    for r in sel.itertuples():
        m = [a.id for a in acts if a.kpi == r.kpi and a.entity_kind == r.entity_kind
             and (a.entity_id or "") == r.entity_id and a.baseline >= shift_period(period, -2)
             and (as_of is None or a.created <= as_of)]
        ids.append(", ".join(m))
    sel["action_ids"] = ids
    sel["has_action"] = sel["action_ids"] != ""
    order = {"red": 0, "amber": 1}
    sel = sel.assign(_o=sel["status"].map(order), _k=sel["entity_kind"].map({entity_kind: 0}).fillna(1))
    sel = sel.sort_values(["_o", "_k", "achievement"]).drop(columns=["_o", "_k"])
    return sel[DEVIATION_COLUMNS].reset_index(drop=True)


def drivers(entity_kind: str, entity_id: str | None, period: str, kpis: list[str] | None = None, top: int = 3,
            warehouse: Any = None, tree: Any = None) -> pd.DataFrame:
    """The biggest drivers of each KPI's change vs the prior month, from the KPI tree attribution.

    One :func:`kpi_lib.tree.attribute` call for the entity (the whole tree, LMDI for products and
    ratios, so a node's children add up to its change); for each KPI that has arithmetic children in
    the tree, its ``top`` children by absolute contribution. Columns: kpi, driver, value_a, value_b,
    contribution (in the parent KPI's unit), share, rank. KPIs without a breakdown are absent; when a
    driver's value is missing the KPI's drivers are listed with NaN contributions (the split is unknown).
    """
    tr = tree or load_tree()
    dim_id = None if entity_kind == "company" else entity_id
    want = set(kpis) if kpis else None
    split = {n.kpi for n in tr.nodes if any(c.relation != "informational" for c in tr.children(n.id or ""))}
    if want is None or want & split:
        attr = attribute(tr, entity_kind=entity_kind, entity_id=dim_id, period_a=shift_period(period, -1),
                         period_b=period, warehouse=warehouse)
    else:  # none of the KPIs is broken down by the tree: skip computing the whole tree
        attr = pd.DataFrame(columns=["node", "kpi", "parent", "relation", "contribution"])
    rows = []
    done: set[str] = set()
    for node in attr.itertuples():
        if node.kpi is None or (want is not None and node.kpi not in want) or node.kpi in done:
            continue
        kids = attr[(attr["parent"] == node.node) & (attr["relation"] != "informational")]
        if kids.empty:
            continue
        done.add(str(node.kpi))
        if kids["contribution"].notna().any():
            kids = kids[kids["contribution"].notna()]
            kids = kids.reindex(kids["contribution"].abs().sort_values(ascending=False).index).head(top)
        # else: a driver's value is missing, so the change cannot be split: rows with NaN contributions
        # (missing is not zero); value_a / value_b say which driver lacks data
        for rank, k in enumerate(kids.itertuples(), 1):
            rows.append({"kpi": node.kpi, "driver": k.kpi or "residual", "value_a": k.value_a, "value_b": k.value_b,
                         "contribution": k.contribution, "share": k.share, "rank": rank,
                         "kpi_value_a": node.value_a, "kpi_value_b": node.value_b})
    # ratio KPIs the tree does not break down (ACoS, CVR…): LMDI split of numerator ÷ denominator

    cat = load_catalog()
    ratios: dict[str, tuple[str, str]] = {}
    for k in (want or set()) - done:
        m = re.match(r"^\s*([a-z_][a-z0-9_]*)\s*/\s*([a-z_][a-z0-9_]*)\s*$", cat.get(k).formula) if k in cat.ids() else None
        if m and m.group(1) in cat.ids() and m.group(2) in cat.ids():
            ratios[k] = (m.group(1), m.group(2))
    if ratios:
        need = sorted({x for pair in ratios.values() for x in pair} | set(ratios))
        pa, pb = shift_period(period, -1), period
        dim = ENTITY_DIMENSION.get(entity_kind)
        df = compute(need, by=[], period="month", start=pa, end=pb, filters={dim: dim_id} if dim else None,
                     warehouse=warehouse).set_index("period")
        for k, (num, den) in sorted(ratios.items()):
            if pa not in df.index or pb not in df.index:
                continue
            xa = [float(df.at[pa, num]), float(df.at[pa, den])]
            xb = [float(df.at[pb, num]), float(df.at[pb, den])]
            if not all(np.isfinite(xa + xb)) or 0 in xa + xb:
                continue
            parts, _ = split_change("ratio", xa, xb, [1, -1])
            change = float(df.at[pb, k]) - float(df.at[pa, k])
            order = sorted(range(2), key=lambda i: -abs(parts[i]))
            for rank, i in enumerate(order, 1):
                rows.append({"kpi": k, "driver": (num, den)[i], "value_a": xa[i], "value_b": xb[i],
                             "contribution": parts[i], "share": parts[i] / change if change else np.nan,
                             "rank": rank, "kpi_value_a": float(df.at[pa, k]), "kpi_value_b": float(df.at[pb, k])})
    return pd.DataFrame(rows, columns=["kpi", "driver", "value_a", "value_b", "contribution", "share", "rank",
                                       "kpi_value_a", "kpi_value_b"])


__all__ = [
    "Action",
    "ActionsFile",
    "Comment",
    "ExpectedEffect",
    "actions_for",
    "actions_path",
    "check_file",
    "concerns",
    "deviations",
    "drivers",
    "judge",
    "known_entities",
    "kpi_value",
    "load_actions",
    "next_id",
    "overdue_actions",
    "review_entities",
    "save_actions",
    "update_action",
    "validate_actions",
    "values_by_kind",
]
