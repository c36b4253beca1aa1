"""parameters/recipients.yaml: who `kpi send` emails, in which role and language.

Delivery planning and sending are :mod:`kpi_lib.delivery`; this module holds the model, its
load/validate/save and the cross-file checks (people.csv, teams.csv, contracts.yaml ids).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..config import StrictModel
from ._base import Checker, Context, Issue, Spec

RECIPIENTS_FILE = "recipients.yaml"
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
Role = Literal["person", "team_lead", "management", "client"]
# which id a role needs (required) and which ids it may carry (allowed)
ROLE_IDS: dict[str, tuple[str | None, set[str]]] = {
    "person": ("person_id", {"person_id"}),
    "team_lead": ("team_id", {"team_id", "person_id"}),
    "management": (None, set()),
    "client": ("contract_id", {"contract_id"}),
}


class Recipient(StrictModel):
    """One person or organisation receiving reports by email."""

    name: str = Field(min_length=1, description="how the email greets the recipient")
    email: str = Field(description="delivery address (unique in the file)")
    language: Literal["zh", "en"] = Field("zh", description="language of the email body")
    role: Role = Field(description="person: own scorecard; team_lead: team + its stores; management: "
                                   "everything; client: one contract's settlement statement")
    person_id: str | None = Field(None, description="people.csv person_id (role person; optional for team_lead)")
    team_id: str | None = Field(None, description="teams.csv team_id (role team_lead)")
    contract_id: str | None = Field(None, description="contracts.yaml contract id (role client)")

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        v = v.strip()
        if not EMAIL_RE.match(v):
            raise ValueError(f"{v!r} is not an email address (expected name@domain.tld)")
        return v

    @model_validator(mode="after")
    def _ids_match_role(self) -> Recipient:
        required, allowed = ROLE_IDS[self.role]
        if required and not getattr(self, required):
            raise ValueError(f"role {self.role} needs {required}")
        extra = [k for k in ("person_id", "team_id", "contract_id") if getattr(self, k) and k not in allowed]
        if extra:
            raise ValueError(f"role {self.role} takes no {', '.join(extra)}"
                             + (f" (only {', '.join(sorted(allowed))})" if allowed else ""))
        return self

    @property
    def label(self) -> str:
        return f"{self.name} <{self.email}>"


class RecipientsFile(StrictModel):
    """parameters/recipients.yaml"""

    recipients: list[Recipient] = Field(min_length=1, description="everyone `kpi send` emails")

    @model_validator(mode="after")
    def _unique_emails(self) -> RecipientsFile:
        seen: dict[str, int] = {}
        dups = []
        for i, r in enumerate(self.recipients):
            key = r.email.lower()
            if key in seen:
                dups.append(f"recipients[{i}] repeats {r.email} of recipients[{seen[key]}]")
            else:
                seen[key] = i
        if dups:
            raise ValueError("duplicate email(s): " + "; ".join(dups))
        return self


def _cross(f: RecipientsFile, chk: Checker) -> None:
    what = {"person_id": ("person", "people.csv"), "team_id": ("team", "teams.csv"),
            "contract_id": ("contract", "contracts.yaml")}
    for i, r in enumerate(f.recipients):
        for key, (kind, src) in what.items():
            v = getattr(r, key)
            ids = chk.ctx.ids(kind)
            if v and ids is not None and v not in ids:
                shown = ", ".join(sorted(ids)[:15]) + (" …" if len(ids) > 15 else "")
                chk.add(f"recipients[{i}]", key, f"{v!r} ({r.email}) is not in {src} (known: {shown or 'none'})")


SPEC: Spec[RecipientsFile] = Spec("recipients", RecipientsFile, RECIPIENTS_FILE, cross=_cross, default=lambda: None)


def load(path: Path | None = None) -> RecipientsFile:
    """parameters/recipients.yaml (ConfigError when it is missing or invalid)."""
    return SPEC.load(path)


def validate(obj: RecipientsFile, context: Context | None = None) -> list[Issue]:
    """Model issues plus person/team/contract ids no reference knows."""
    return SPEC.validate(obj, context)


def save(obj: RecipientsFile, path: Path | None = None, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)
