"""The one load / validate / save machinery every parameter file goes through.

A :class:`Spec` binds a pydantic model (the whole file) to where it lives under ``parameters/``:

- ``load(path)`` reads and validates the file (a missing file gives the model's empty default, or
  ``None`` for specs without one); every schema problem of the file comes in one ``ConfigError``
  whose issues name the file and the position (``contracts.yaml: contracts[1].fee.cap: …``);
- ``validate(obj, context)`` runs the model checks again plus the cross-file checks of the spec
  (unknown KPI, store, person, team ids) and returns :class:`Issue` objects naming file, position
  and field;
- ``save(obj, path, context)`` validates first and refuses an invalid object (the file is not
  touched), then merges the object into the file's round-trip document (``kpi_lib.yaml_roundtrip``:
  comments, key order and quoting of unchanged lines survive), checks the new text loads back to the
  same object, and writes it atomically. An object equal to the file's writes nothing: the bytes stay.

Nothing else in ``kpi_lib`` writes under ``parameters/`` (``tests/test_spec.py`` greps for it).
The spec package is a base layer: it imports only ``config``, ``errors``, ``paths`` and
``yaml_roundtrip``; what it needs to know about other files (KPI ids, reference ids) comes in a
:class:`Context` built from the files themselves.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from .. import paths, yaml_roundtrip
from ..config import format_validation_error, read_yaml
from ..errors import ConfigError, DefinitionError
from ..periods import period_bounds

M = TypeVar("M", bound=BaseModel)

#: validated files of this process: (spec, model, file, inode, size, mtime) -> model (callers get a deep
#: copy, so a caller editing its model never changes another's); an edited file has a new key
_LOADED: dict[tuple[str, int, str, int, int, int], BaseModel] = {}
_LOADED_SIZE = 64

# ------------------------------------------------------------------------------------ issues


@dataclass(frozen=True)
class Issue:
    """One problem of a parameter file: which file, where in it, which field, what is wrong."""

    file: str
    position: str
    field: str
    message: str

    def __str__(self) -> str:
        where = ".".join(x for x in (self.position, self.field) if x) or "<root>"
        return f"{self.file}: {where}: {self.message}"


def schema_issues(source: str, err: ValidationError) -> list[Issue]:
    """Pydantic errors as issues (position = the path of the error inside the file)."""
    out = []
    for line in format_validation_error(source, err):
        _, where, msg = line.split(": ", 2)
        out.append(Issue(source, where, "", msg))
    return out


# ------------------------------------------------------------------------------------ periods

def check_period_label(label: str) -> None:
    """ValueError unless ``label`` is a valid period label (2026-11-07, 2026-W45, 2026-11, 2026-Q4, 2026):
    :func:`kpi_lib.periods.period_bounds`' rule, as the ValueError pydantic validators turn into issues."""
    try:
        period_bounds(label)
    except DefinitionError as exc:
        raise ValueError(str(exc)) from None


# ------------------------------------------------------------------------------------ context


def _csv_ids(path: Path, column: str) -> set[str] | None:
    if not path.is_file():
        return None
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {(r.get(column) or "").strip() for r in csv.DictReader(fh)} - {""}


def _csv_column(path: Path, column: str) -> set[str]:
    return _csv_ids(path, column) or set()


@dataclass
class Context:
    """What the cross-file checks compare against. ``None`` = unknown, that check is skipped."""

    kpis: set[str] | None = None
    stores: set[str] | None = None
    people: set[str] | None = None
    teams: set[str] | None = None
    platforms: set[str] | None = None
    marketplaces: set[str] | None = None
    contracts: set[str] | None = None
    roles: set[str] | None = None

    @classmethod
    def from_files(cls, parameters: Path | None = None, reference: Path | None = None) -> Context:
        """KPI ids from the built-in catalog + kpis.yaml, ids from data/reference/*.csv and contracts.yaml.

        Files that are missing or invalid leave their ids unknown (their own validation reports them).
        """
        # in-function import: the kpis and contracts spec modules import this module (a real cycle)
        from . import contracts as contracts_spec
        from . import kpis as kpis_spec

        par = Path(parameters) if parameters is not None else paths.parameters_dir()
        ref = Path(reference) if reference is not None else paths.reference_dir()
        ctx = cls()
        try:
            ctx.kpis = kpis_spec.known_ids(kpis_spec.SPEC.load(par / "kpis.yaml"))
        except ConfigError:
            ctx.kpis = kpis_spec.known_ids(None)
        ctx.stores = _csv_ids(ref / "stores.csv", "store_id")
        ctx.people = _csv_ids(ref / "people.csv", "person_id")
        ctx.teams = _csv_ids(ref / "teams.csv", "team_id")
        if ctx.teams is None and ctx.stores is not None:
            ctx.teams = _csv_column(ref / "stores.csv", "team_id")
        if ctx.stores is not None:
            ctx.platforms = _csv_column(ref / "stores.csv", "platform")
            ctx.marketplaces = _csv_column(ref / "stores.csv", "marketplace")
        if ctx.people is not None:
            ctx.roles = _csv_column(ref / "people.csv", "role")
        try:
            ctx.contracts = {c.id for c in contracts_spec.SPEC.load(par / "contracts.yaml").contracts}
        except ConfigError:
            ctx.contracts = None
        return ctx

    def ids(self, kind: str) -> set[str] | None:
        """Known ids of an entity kind (store, person, team, platform, marketplace, contract)."""
        return {"store": self.stores, "person": self.people, "team": self.teams, "platform": self.platforms,
                "marketplace": self.marketplaces, "contract": self.contracts}.get(kind)


def sample_ids(ids: Iterable[str]) -> str:
    """Up to twelve ids, sorted, for a message ('none' when empty)."""
    s = sorted(ids)
    return (", ".join(s[:12]) + (" …" if len(s) > 12 else "")) if s else "none"


class Checker:
    """Collects cross-file issues of one file (helpers for the common 'unknown id' checks)."""

    def __init__(self, source: str, context: Context) -> None:
        self.source, self.ctx, self.issues = source, context, []  # type: ignore[var-annotated]

    def add(self, position: str, field: str, message: str) -> None:
        self.issues.append(Issue(self.source, position, field, message))

    def kpi(self, position: str, field: str, kpi: str | None) -> None:
        if kpi is not None and self.ctx.kpis is not None and kpi not in self.ctx.kpis:
            self.add(position, field, f"unknown KPI {kpi!r} (expected a KPI id of the catalog or kpis.yaml, "
                                      "e.g. gmv, net_margin, acos)")

    def entity(self, position: str, field: str, kind: str, entity_id: str | None) -> None:
        known = self.ctx.ids(kind)
        if entity_id is None or known is None or kind in ("company", "category", "sku"):
            return
        if entity_id not in known:
            self.add(position, field, f"unknown {kind} {entity_id!r} (known: {sample_ids(known)})")

    def store(self, position: str, field: str, store_id: str | None) -> None:
        self.entity(position, field, "store", store_id)

    def person(self, position: str, field: str, person_id: str | None) -> None:
        self.entity(position, field, "person", person_id)

    def team(self, position: str, field: str, team_id: str | None) -> None:
        self.entity(position, field, "team", team_id)


# ------------------------------------------------------------------------------------ plain data


#: keys written first in a new mapping (a subclass's id before its base class's fields)
LEADING_KEYS: tuple[str, ...] = ("id", "name", "vendor", "label_zh", "label_en")


def to_plain(x: Any) -> Any:
    """Model dump (python mode) → YAML-friendly plain data: Decimals as int/float, enums as values.

    Keys keep the model's order except :data:`LEADING_KEYS`, which come first (only new items are
    affected: the round-trip merge keeps the file's order for existing ones)."""
    if isinstance(x, dict):
        keys = [k for k in LEADING_KEYS if k in x] + [k for k in x if k not in LEADING_KEYS]
        return {str(k): to_plain(x[k]) for k in keys}
    if isinstance(x, (list, tuple)):
        return [to_plain(v) for v in x]
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, Decimal):
        return int(x) if x == x.to_integral_value() else float(x)
    if isinstance(x, Enum):
        return to_plain(x.value)
    if isinstance(x, Path):
        return str(x)
    return x


def plain_nodes(x: Any) -> Any:
    """Round-trip nodes → plain dicts/lists/scalars."""
    if isinstance(x, dict):
        return {str(k): plain_nodes(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain_nodes(v) for v in x]
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return float(x)
    if isinstance(x, str):
        return str(x)
    return x


# ------------------------------------------------------------------------------------ the spec


class Spec(Generic[M]):
    """One parameter file kind: its model, where it lives, its cross-file checks."""

    def __init__(self, name: str, model: type[M], relpath: str, *, folder: bool = False,
                 cross: Callable[[M, Checker], None] | None = None,
                 default: Callable[[], M | None] | None = None,
                 dump: Callable[[M], Any] | None = None, header: str = "",
                 align: Callable[[Any, Any], Any] | None = None) -> None:
        self.name = name
        self.model = model
        self.relpath = relpath  # 'contracts.yaml' or, for folders, 'targets' (files *.yaml inside)
        self.folder = folder
        self._cross = cross
        self._default = default if default is not None else model
        self._dump = dump
        self.header = header  # comment lines a new file starts with
        self._align = align  # (new plain, old plain) -> new plain spelled like the old where they mean the same

    # -- where ----------------------------------------------------------------------------------
    def default_path(self, parameters: Path | None = None) -> Path:
        """The file (or, for folder specs, the folder) under parameters/."""
        return (Path(parameters) if parameters is not None else paths.parameters_dir()) / self.relpath

    def files(self, parameters: Path | None = None) -> list[Path]:
        """Every file of this spec under parameters/ (one, or the folder's *.yaml / *.yml)."""
        p = self.default_path(parameters)
        if not self.folder:
            return [p] if p.is_file() else []
        if not p.is_dir():
            return []
        return sorted(x for x in p.rglob("*") if x.suffix in (".yaml", ".yml") and x.is_file())

    def _path(self, path: Path | str | None) -> Path:
        if path is not None:
            p = Path(path)
            if self.folder and not p.suffix and not p.is_absolute() and len(p.parts) == 1:
                return self.default_path() / f"{p}.yaml"  # a bare name inside the folder
            return p
        if self.folder:
            raise ConfigError(f"{self.relpath}/: give the file to use (one of {', '.join(x.name for x in self.files())})")
        return self.default_path()

    # -- load -----------------------------------------------------------------------------------
    def parse(self, data: Any, source: str) -> M:
        """Validate plain data against the model; every problem in one ConfigError naming ``source``."""
        try:
            return self.model.model_validate(data if data is not None else {})
        except ValidationError as err:
            issues = format_validation_error(source, err)
            raise ConfigError(f"{source}: {len(issues)} problem(s)", issues) from None

    def load(self, path: Path | str | None = None) -> M:
        """The validated file; a missing file gives the spec's default (an empty file model)."""
        p = self._path(path)
        if not p.is_file():
            d = self._default()
            if d is None:
                raise ConfigError(f"{p}: file not found")
            return d
        st = p.stat()
        key = (self.relpath, id(self.model), str(p), st.st_ino, st.st_size, st.st_mtime_ns)
        hit = _LOADED.get(key)
        if hit is not None:  # the same file unchanged: a copy of the model validated before
            return hit.model_copy(deep=True)
        data = read_yaml(p)
        try:
            obj = self.model.model_validate(data if data is not None else {})
        except ValidationError as err:
            issues = format_validation_error(p.name, err)
            raise ConfigError(f"{p}: {len(issues)} problem(s)", issues) from None
        while len(_LOADED) >= _LOADED_SIZE:
            _LOADED.pop(next(iter(_LOADED)), None)
        _LOADED[key] = obj.model_copy(deep=True)
        return obj

    # -- validate -------------------------------------------------------------------------------
    def validate(self, obj: M, context: Context | None = None, source: str | None = None) -> list[Issue]:
        """Model checks (again, on the dumped object) and the cross-file checks; [] = valid."""
        src = source or (self.relpath if not self.folder else f"{self.relpath}/<file>")
        try:
            obj = self.model.model_validate(self.plain(obj))
        except ValidationError as err:
            return schema_issues(src, err)
        if self._cross is None:
            return []
        ctx = context if context is not None else Context.from_files()
        chk = Checker(src, ctx)
        self._cross(obj, chk)
        return chk.issues

    def check_file(self, path: Path, context: Context | None = None) -> list[Issue | str]:
        """Every issue of one file (schema errors, then cross-file ones): what `kpi validate` reports."""
        try:
            obj = self.load(path)
        except ConfigError as exc:
            return list(exc.issues) or [str(exc)]
        return list(self.validate(obj, context, source=Path(path).name))

    # -- save -----------------------------------------------------------------------------------
    def plain(self, obj: M) -> Any:
        """The object as the plain data its YAML holds (fields the file did not spell out stay out)."""
        if self._dump is not None:
            return self._dump(obj)
        return to_plain(obj.model_dump(mode="python", by_alias=True, exclude_unset=True))

    def text(self, obj: M, old_text: str = "") -> str:
        """The file text holding ``obj``: ``old_text`` with only the changed lines changed."""
        doc = yaml_roundtrip.loads(old_text) if old_text.strip() else None
        plain = self.plain(obj)
        if doc is None:
            return self.header + yaml_roundtrip.dumps(yaml_roundtrip.update(None, plain))
        if self._align is not None:
            plain = self._align(plain, plain_nodes(doc))
        return yaml_roundtrip.dumps(yaml_roundtrip.update(doc, plain))

    def save(self, obj: M, path: Path | str | None = None, context: Context | None = None) -> bool:
        """Validate ``obj``, then write it into its file (round-trip, atomic). False when nothing changed.

        An invalid object raises ConfigError listing every issue; the file is left as it was.
        """
        p = self._path(path)
        issues = self.validate(obj, context, source=p.name)
        if issues:
            raise ConfigError(f"{p}: {len(issues)} problem(s); nothing saved", [str(i) for i in issues])
        old_text = p.read_text(encoding="utf-8") if p.is_file() else ""
        if old_text.strip():
            try:
                if self.parse(read_text_yaml(old_text, p.name), p.name) == self.model.model_validate(self.plain(obj)):
                    return False  # the file already holds this object: not a byte changes
            except ConfigError:
                pass  # an invalid old file is replaced by the valid new object
        new_text = self.text(obj, old_text)
        back = self.parse(read_text_yaml(new_text, p.name), p.name)
        if back != self.model.model_validate(self.plain(obj)):
            raise ConfigError(f"{p.name}: the round-trip writer would not read back as the object; nothing saved")
        if new_text == old_text:
            return False
        yaml_roundtrip.write_text_atomic(p, new_text)
        return True


def read_text_yaml(text: str, source: str) -> Any:
    """Plain data of YAML text (a syntax error becomes a ConfigError naming ``source``)."""
    try:
        return plain_nodes(yaml_roundtrip.loads(text))
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
