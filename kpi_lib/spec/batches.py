"""parameters/batches/<name>.yaml: report batches (which templates run for which entities).

Planning and running batches is :mod:`kpi_lib.reports`; this module holds the model, its
load/validate/save and the cross-file checks (entity ids, templates present).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from .. import paths
from ..config import StrictModel
from ._base import Checker, Context, Issue, Spec

ENTITY_KIND = {"stores": "store", "teams": "team", "people": "person", "contracts": "contract", "company": "company"}


class ReportSpec(StrictModel):
    """One report kind of a batch: a template run for a set of entities."""

    template: str = Field(description="template name in templates/ (without .ipynb)")
    name: str | None = Field(None, description="output folder name (default: the template name)")
    entities: Literal["stores", "teams", "people", "contracts", "company"] = Field(
        description="run once per store/team/person/contract, or once for the company")
    ids: list[str] | None = Field(None, description="only these entity ids (default: all of the set)")
    language: Literal["zh", "en"] | None = Field(None, description="report language (default: the batch's)")
    currency: str | None = Field(None, min_length=3, max_length=3, description="report currency (default: the batch's)")
    parameters: dict[str, Any] = Field(default_factory=dict, description="extra template parameters (JSON types)")

    @property
    def report(self) -> str:
        return self.name or self.template


class Batch(StrictModel):
    """parameters/batches/<name>.yaml"""

    name: str = Field("batch", description="shown in the index")
    description: str = ""
    label_zh: str | None = Field(None, description="Chinese display name (email subjects); default: name")
    label_en: str | None = Field(None, description="English display name (email subjects); default: name")
    period: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="default month (else latest)")
    language: Literal["zh", "en"] | None = Field(None, description="default language (else workbench.yaml)")
    currency: str | None = Field(None, min_length=3, max_length=3, description="default currency (else reporting)")
    timeout: float = Field(300.0, gt=0, description="seconds per report run")
    reports: list[ReportSpec] = Field(min_length=1)


def batch_label(b: Batch, lang: str) -> str:
    """A batch's display name in ``lang`` (label_zh / label_en, else its name)."""
    return (b.label_zh if lang == "zh" else b.label_en) or b.name


def _cross(b: Batch, chk: Checker) -> None:
    tdir = paths.templates_dir()
    for i, r in enumerate(b.reports):
        pos = f"reports[{i}]"
        if tdir.is_dir() and not (tdir / (r.template if r.template.endswith(".ipynb") else f"{r.template}.ipynb")).is_file():
            chk.add(pos, "template", f"template {r.template!r} not found in templates/")
        for j, e in enumerate(r.ids or []):
            chk.entity(pos, f"ids[{j}]", ENTITY_KIND[r.entities], e)


SPEC: Spec[Batch] = Spec("batches", Batch, "batches", folder=True, cross=_cross, default=lambda: None)


def load(path: Path | str) -> Batch:
    """One batch file (a path, or a bare name inside parameters/batches/)."""
    return SPEC.load(path)


def validate(obj: Batch, context: Context | None = None) -> list[Issue]:
    """Model issues plus unknown entity ids and missing templates."""
    return SPEC.validate(obj, context)


def save(obj: Batch, path: Path | str, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)
