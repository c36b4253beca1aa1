"""parameters/actions.yaml: actions agreed on off-target KPIs (who, by when, what it should achieve).

Evaluating actions (before/after, overdue, results) is :mod:`kpi_lib.actions`; this module holds
the model, its load/validate/save and the cross-file checks (unknown KPI, owner, author, entity).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..config import StrictModel
from ._base import Checker, Context, Issue, Spec, sample_ids, to_plain

EntityKind = Literal["company", "platform", "marketplace", "store", "team", "person", "contract"]
Status = Literal["open", "done", "dropped"]
STATUSES: tuple[str, ...] = ("open", "done", "dropped")
RESULTS: tuple[str, ...] = ("met", "not_met", "improved", "no_improvement", "incomplete", "dropped", "pending")
MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])$"
ID_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class Comment(StrictModel):
    """A dated remark on an action (progress, blocker, result)."""

    at: dt.date = Field(description="date of the comment")
    by: str = Field(description="person id of the author (people.csv)")
    text: str = Field(min_length=1, description="the remark")


class ExpectedEffect(StrictModel):
    """What the action should achieve: the KPI (default: the action's own) reaching ``value``."""

    kpi: str | None = Field(None, description="KPI id the effect is measured on (default: the action's KPI)")
    value: float = Field(description="value the KPI should reach (same unit as the KPI: 0.12 = 12 %, money in "
                                     "the reporting currency)")


class Action(StrictModel):
    """One action agreed on an off-target KPI of an entity."""

    id: str = Field(pattern=ID_RE, description="unique id, e.g. ACT-2026-011")
    title: str = Field(min_length=3, description="what will be done")
    kpi: str = Field(description="KPI id the action is about (kpis.yaml / catalog)")
    entity_kind: EntityKind = Field("store", description="kind of entity whose KPI is off target")
    entity_id: str | None = Field(None, description="store / team / person … id (empty only for company)")
    period: str | None = Field(None, pattern=MONTH_RE,
                               description="month whose figure prompted the action (the 'before'); "
                                           "default: the month before it was created")
    owner: str = Field(description="person id responsible for doing it")
    created: dt.date = Field(description="date the action was agreed")
    created_by: str | None = Field(None, description="person id who recorded it")
    due: dt.date = Field(description="date by which it should be done")
    status: Status = Field("open", description="open, done or dropped")
    status_by: str | None = Field(None, description="person id who set the status")
    status_at: dt.date | None = Field(None, description="date the status was set")
    expected: ExpectedEffect | None = Field(None, description="optional expected effect on a KPI")
    comments: list[Comment] = Field(default_factory=list, description="dated comments, oldest first")

    @field_validator("title", "owner", "kpi")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be empty")
        return v

    @model_validator(mode="after")
    def _check(self) -> Action:
        if self.due < self.created:
            raise ValueError(f"due {self.due} is before created {self.created}")
        if self.entity_kind != "company" and not self.entity_id:
            raise ValueError(f"entity_id is required for entity_kind {self.entity_kind}")
        if self.status != "open" and (self.status_by is None or self.status_at is None):
            raise ValueError(f"status {self.status} needs status_by and status_at (who closed it, when)")
        if self.status_at is not None and self.status_at < self.created:
            raise ValueError(f"status_at {self.status_at} is before created {self.created}")
        for c in self.comments:
            if c.at < self.created:
                raise ValueError(f"comment of {c.at} is dated before the action was created ({self.created})")
        return self

    @property
    def baseline(self) -> str:
        """The 'before' month: ``period``, else the month before ``created``."""
        if self.period:
            return self.period
        first = self.created.replace(day=1) - dt.timedelta(days=1)
        return f"{first.year}-{first.month:02d}"

    @property
    def effect_kpi(self) -> str:
        return (self.expected.kpi if self.expected and self.expected.kpi else None) or self.kpi

    def status_on(self, day: dt.date) -> str:
        """The status the action had at the end of ``day`` (later updates are not known yet)."""
        if self.status != "open" and self.status_at is not None and self.status_at <= day:
            return self.status
        return "open"


class ActionsFile(StrictModel):
    """parameters/actions.yaml"""

    actions: list[Action] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ActionsFile:
        seen: set[str] = set()
        dup = sorted({a.id for a in self.actions if a.id in seen or seen.add(a.id)})  # type: ignore[func-returns-value]
        if dup:
            raise ValueError(f"duplicate action id(s): {', '.join(dup)}")
        return self


HEADER = ("# Actions on off-target KPIs (goal → action → result), agreed in the monthly review.\n"
          "# Edited by notebooks/07_actions_review.ipynb or by hand; checked by `kpi validate`.\n"
          "# status: open | done | dropped (status_by/status_at say who closed it, when);\n"
          "# period: the month whose figure prompted the action (its 'before' value).\n")


def _cross(f: ActionsFile, chk: Checker) -> None:
    people = chk.ctx.people
    for i, a in enumerate(f.actions):
        pos = f"actions[{i}] ({a.id})"
        chk.kpi(pos, "kpi", a.kpi)
        if a.expected and a.expected.kpi and chk.ctx.kpis is not None and a.expected.kpi not in chk.ctx.kpis:
            chk.add(pos, "expected.kpi", f"unknown KPI {a.expected.kpi!r}")
        if people:
            for field, pid in (("owner", a.owner), ("created_by", a.created_by), ("status_by", a.status_by)):
                if pid is not None and pid not in people:
                    chk.add(pos, field, f"unknown person {pid!r} (known: {sample_ids(people)})")
            for j, c in enumerate(a.comments):
                if c.by not in people:
                    chk.add(pos, f"comments[{j}].by", f"unknown person {c.by!r} (known: {sample_ids(people)})")
        if a.entity_kind != "company" and chk.ctx.stores is not None:
            ids = chk.ctx.ids(a.entity_kind) or set()
            if a.entity_id not in ids:
                chk.add(pos, "entity_id", f"unknown {a.entity_kind} {a.entity_id!r} (known: {sample_ids(ids)})")


def _dump(f: ActionsFile) -> dict:
    """Compact form: empty comments, ``status: open`` and empty fields are left out."""
    out = []
    for a in f.actions:
        d = to_plain(a.model_dump(mode="python", exclude_none=True))
        if not d.get("comments"):
            d.pop("comments", None)
        if d.get("status") == "open":
            d.pop("status")
        out.append(d)
    return {"actions": out}


SPEC: Spec[ActionsFile] = Spec("actions", ActionsFile, "actions.yaml", cross=_cross, dump=_dump, header=HEADER)


def load(path: Path | None = None) -> ActionsFile:
    """parameters/actions.yaml (no file = no actions)."""
    return SPEC.load(path)


def validate(obj: ActionsFile, context: Context | None = None) -> list[Issue]:
    """Model issues plus unknown KPIs, people and entities."""
    return SPEC.validate(obj, context)


def save(obj: ActionsFile, path: Path | None = None, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)
