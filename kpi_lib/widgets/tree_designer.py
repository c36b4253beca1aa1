"""KPI tree designer: edit parameters/kpi_tree.yaml with live drawing, inline validation and a diff.

The edited tree is a ``kpi_lib.tree.KpiTree``; every change re-runs ``tree.validate_tree`` and shows
its issues with their YAML paths. Saving validates with ``tree.validate_tree`` (as ``tree.save_tree``
does) and writes nothing when the tree is invalid, so the saved file is never broken; the file is
updated with ``kpi_lib.yaml_roundtrip`` (only the changed nodes' lines change, comments and order are
kept, no edit = no write). The editor holds the whole ``KpiTree`` model, so every tree field is kept. Custom KPIs are checked
with the engine's formula parser as they are typed and saved to parameters/kpis.yaml only after the
catalog built with them passes ``definitions.build_catalog``.

Size (≈600 lines): one panel — node editor, custom KPI editor, thresholds, drawing and save share the
edited tree; validation and saving are kpi_lib.tree and kpi_lib.spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as W
import plotly.graph_objects as go
import yaml
from pydantic import ValidationError

from .. import definitions, paths
from .. import tree as tree_mod
from ..compute import latest_status
from ..config import format_validation_error, workbench
from ..definitions import build_catalog, load_catalog
from ..errors import ConfigError, DefinitionError, KpiError
from ..formula import names, parse
from ..spec import kpis as kpis_spec
from ..spec import targets as targets_spec
from ..spec import tree as tree_spec
from ..targets import thresholds
from ..tree import TreeNode, validate_tree
from .common import (
    STATUS_COLORS,
    Panel,
    StatusBox,
    diff_html,
    esc,
    headless,
    issues_html,
    message_html,
    open_warehouse,
    show_figure,
    unified_diff,
)
from .data import reference_frame

LAYERS = ["top", "middle", "execution"]
RELATIONS = ["additive", "multiplicative", "ratio_numerator", "ratio_denominator", "informational"]
UNITS = ["money", "count", "pct", "ratio", "days", "hours"]
NONE = "(root)"
THRESHOLDS_FILE = "thresholds.yaml"


def tree_yaml(tree: Any) -> str:
    """The tree as YAML, serialised the same way for the saved and the edited tree (for diffs)."""
    data = tree.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("nodes", [])
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


class TreeDesigner(Panel):
    """Edit the KPI tree. Main methods: ``add_node``, ``select_node``, ``update_node``,
    ``remove_node``, ``check_formula``, ``add_custom_kpi``, ``validate``, ``diff``, ``save``."""

    title_text = "KPI tree designer"

    def __init__(self, path: str | None = None, lang: str | None = None) -> None:
        self.path = paths.parameters_dir() / "kpi_tree.yaml" if path is None else paths.root() / path
        self.lang = lang or workbench().default_language
        self.warehouse = open_warehouse()
        self.save_status = StatusBox()  # beside Show diff / Save / Reload
        self.edit_status = StatusBox()  # beside Add node / Update / Remove
        self.custom_status = StatusBox()  # beside "Add custom KPI"
        self.status = self.save_status  # the box of the last action (each sits next to its buttons)
        try:
            self.tree = tree_mod.load_tree(self.path if self.path.is_file() else None)
            self.load_error: list[str] = []
        except KpiError as exc:  # a broken saved file: start from the default tree, say so
            self.tree = tree_mod.default_tree()
            self.load_error = list(getattr(exc, "issues", []) or [str(exc)])
        self.saved_text = self._saved_text()
        self.issues: list[Any] = []
        self.node_status: dict[str, str] = self._load_status()

        cat = self.catalog()
        self.kpi = W.Dropdown(options=self._kpi_options(cat), description="KPI", layout=W.Layout(width="340px"))
        self.parent = W.Dropdown(options=self._parent_options(), description="Parent", layout=W.Layout(width="340px"))
        self.layer = W.Dropdown(options=LAYERS, value="middle", description="Layer")
        self.relation = W.Dropdown(options=RELATIONS, value="additive", description="Relation")
        self.sign = W.Dropdown(options=[("+1", 1), ("−1 (subtracts)", -1)], value=1, description="Sign")
        self.owner = W.Combobox(options=self._owner_options(), placeholder="team or person id", description="Owner",
                                ensure_option=False)
        self.weight = W.BoundedFloatText(value=1.0, min=0.0, max=100.0, step=0.1, description="Weight")
        self.saved_thresholds = self._load_thresholds()
        self.pending_thresholds: dict[str, dict[str, float]] = {}
        self.green = W.BoundedFloatText(value=1.0, min=0.0, max=5.0, step=0.05, description="Green ≥")
        self.amber = W.BoundedFloatText(value=0.9, min=0.0, max=5.0, step=0.05, description="Amber ≥")
        self.add_button = W.Button(description="Add node", button_style="success", icon="plus")
        self.node = W.Dropdown(options=self._node_options(), description="Edit node", layout=W.Layout(width="340px"))
        self.update_button = W.Button(description="Apply to node", icon="pencil")
        self.remove_button = W.Button(description="Remove node", button_style="warning", icon="trash")

        self.custom_id = W.Text(placeholder="e.g. ad_share", description="KPI id")
        self.custom_zh = W.Text(placeholder="广告销售占比", description="Name zh")
        self.custom_en = W.Text(placeholder="Ad sales share", description="Name en")
        self.custom_formula = W.Text(placeholder="ad_sales / gmv", description="Formula", continuous_update=True,
                                     layout=W.Layout(width="420px"))
        self.custom_unit = W.Dropdown(options=UNITS, value="pct", description="Unit")
        self.custom_direction = W.Dropdown(options=[("higher is better", "up"), ("lower is better", "down")],
                                           value="up", description="Better")
        self.formula_check = W.HTML()
        self.custom_button = W.Button(description="Add KPI to catalog", icon="check")

        self.outline = W.HTML()
        self.figure_out = W.Output()
        self.issues_box = W.HTML()
        self.diff_box = W.HTML()
        self.diff_button = W.Button(description="Show diff", icon="columns")
        self.save_button = W.Button(description="Save tree", button_style="primary", icon="save")
        self.reload_button = W.Button(description="Discard edits", icon="undo")

        for w, cls in [
            (self.green, "kpi-green"), (self.amber, "kpi-amber"),
            (self.kpi, "kpi-add-kpi"), (self.parent, "kpi-add-parent"), (self.layer, "kpi-add-layer"),
            (self.relation, "kpi-add-relation"), (self.owner, "kpi-add-owner"), (self.weight, "kpi-add-weight"),
            (self.add_button, "kpi-add-button"), (self.save_button, "kpi-save-button"),
            (self.diff_button, "kpi-diff-button"), (self.save_status.widget, "kpi-status"),
            (self.edit_status.widget, "kpi-edit-status"), (self.custom_status.widget, "kpi-custom-status"),
            (self.outline, "kpi-outline"), (self.issues_box, "kpi-issues"), (self.diff_box, "kpi-diff"),
            (self.custom_formula, "kpi-custom-formula"), (self.formula_check, "kpi-formula-check"),
        ]:
            w.add_class(cls)

        self.add_button.on_click(lambda _b: self._near(self.edit_status, self.add_node))
        self.update_button.on_click(lambda _b: self._near(self.edit_status, self.update_node))
        self.remove_button.on_click(lambda _b: self._near(self.edit_status, self.remove_node))
        self.node.observe(lambda ch: self.select_node(ch["new"]), names="value")
        self.kpi.observe(lambda ch: self._show_thresholds(ch["new"]), names="value")
        self.custom_formula.observe(lambda ch: self.check_formula(ch["new"]), names="value")
        self.custom_button.on_click(lambda _b: self._near(self.custom_status, self.add_custom_kpi))
        self.diff_button.on_click(lambda _b: self._near(self.save_status, self.show_diff))
        self.save_button.on_click(lambda _b: self._near(self.save_status, self.save))
        self.reload_button.on_click(lambda _b: self._near(self.save_status, self.reload))

        editor = W.VBox([
            W.HTML("<b>Add a node from the catalog</b>"),
            self.kpi, self.parent, self.layer, self.relation, self.sign, self.owner, self.weight,
            W.HTML("<small>Status thresholds (achievement ratio) for this KPI:</small>"),
            W.HBox([self.green, self.amber]),
            W.HBox([self.add_button, self.edit_status.widget]),
            W.HTML("<b>Edit an existing node</b> (fields above)"),
            self.node, W.HBox([self.update_button, self.remove_button]),
            W.HTML("<b>Define a custom KPI</b>"),
            self.custom_id, self.custom_zh, self.custom_en, self.custom_formula, self.formula_check,
            self.custom_unit, self.custom_direction, W.HBox([self.custom_button, self.custom_status.widget]),
        ], layout=W.Layout(width="460px"))
        view = W.VBox([self.figure_out, self.outline], layout=W.Layout(flex="1"))
        self.widget = W.VBox([
            W.HTML(f"<h3>KPI tree · {esc(self.path.name)}</h3>"),
            self._data_note(),
            W.HBox([editor, view]),
            self.issues_box,
            W.HBox([self.diff_button, self.save_button, self.reload_button, self.save_status.widget]),
            self.diff_box,
        ])
        if self.load_error:
            self.status.error(f"{self.path.name} could not be loaded; showing the default tree", self.load_error)
        self.refresh()

    def _near(self, box: StatusBox, action: Any) -> Any:
        """Run a button's action with its messages in the status box beside that button."""
        if box is not self.status:
            self.status.clear()
        self.status = box
        for b in (self.save_status, self.edit_status, self.custom_status):
            if b is not box:
                b.clear()
        return action()

    # -- data --------------------------------------------------------------------------------
    def catalog(self) -> Any:
        return load_catalog()

    def _saved_text(self) -> str:
        if not self.path.is_file():
            return ""
        try:
            return tree_yaml(tree_mod.load_tree(self.path))
        except KpiError:
            return self.path.read_text(encoding="utf-8")

    def _load_status(self) -> dict[str, str]:
        """Last period's company status per KPI (empty without a computed warehouse)."""
        if self.warehouse is None:
            return {}
        try:

            df = latest_status(warehouse=self.warehouse, entity_kind="company")
        except (KpiError, ImportError):
            return {}
        if df is None or df.empty or "kpi" not in df or "status" not in df:
            return {}
        return {str(k): str(s) for k, s in zip(df["kpi"], df["status"])}

    def _data_note(self) -> W.HTML:
        if self.warehouse is None:
            return W.HTML(message_html(
                "No warehouse yet: nodes are drawn grey. Run `make demo` to color them by last month's status.",
                "warn"))
        if not self.node_status:
            return W.HTML(message_html("No status computed yet: run `kpi compute` to color the nodes.", "info"))
        return W.HTML(message_html("Nodes are colored by the company's status in the latest period.", "info"))

    # -- options -----------------------------------------------------------------------------
    def _kpi_options(self, cat: Any) -> list[tuple[str, str]]:
        return [(f"{k} · {cat.name(k, self.lang)}", k) for k in cat.ids()]

    def _node_ids(self) -> list[str]:
        return [n.id or n.kpi for n in self.tree.nodes]

    def _parent_options(self) -> list[tuple[str, str]]:
        return [(NONE, "")] + [(i, i) for i in self._node_ids()]

    def _node_options(self) -> list[tuple[str, str]]:
        return [("—", "")] + [(i, i) for i in self._node_ids()]

    def _owner_options(self) -> list[str]:
        out: list[str] = []
        for name, col in (("teams", "team_id"), ("people", "person_id")):
            df = reference_frame(name, self.warehouse)
            if col in df:
                out.extend(str(x) for x in df[col].tolist())
        return out

    def _refresh_options(self) -> None:
        keep_parent, keep_node = self.parent.value, self.node.value
        self.parent.options = self._parent_options()
        self.parent.value = keep_parent if keep_parent in self._node_ids() else ""
        self.node.options = self._node_options()
        self.node.value = keep_node if keep_node in self._node_ids() else ""

    # -- editing -----------------------------------------------------------------------------
    def _find(self, node_id: str) -> int | None:
        for i, n in enumerate(self.tree.nodes):
            if (n.id or n.kpi) == node_id:
                return i
        return None

    def _node_from_fields(self, node_id: str | None, kpi: str) -> Any:
        return TreeNode(
            id=node_id,
            kpi=kpi,
            parent=self.parent.value or None,
            layer=self.layer.value,
            relation=self.relation.value,
            sign=int(self.sign.value),
            owner=(self.owner.value or "").strip() or None,
            weight=float(self.weight.value),
        )

    def add_node(self, kpi: str | None = None, parent: str | None = None, **fields: Any) -> str:
        """Append a node for ``kpi`` (default: the KPI dropdown) under ``parent``; returns its id."""
        if kpi is not None:
            self.kpi.value = kpi
        if parent is not None:
            self.parent.value = parent
        for name, value in fields.items():
            getattr(self, name).value = value
        kpi_id = str(self.kpi.value)
        node_id = kpi_id
        n = 2
        while node_id in self._node_ids():
            node_id = f"{kpi_id}_{n}"
            n += 1
        self.tree.nodes.append(self._node_from_fields(node_id if node_id != kpi_id else None, kpi_id))
        self._record_thresholds(kpi_id)
        self.status.info(f"Added node {node_id} (not saved yet).")
        self.refresh()
        self.node.value = node_id
        return node_id

    def select_node(self, node_id: str) -> None:
        """Load a node's fields into the editor."""
        i = self._find(node_id) if node_id else None
        if i is None:
            return
        n = self.tree.nodes[i]
        self.kpi.value = n.kpi if n.kpi in {v for _k, v in self.kpi.options} else self.kpi.value
        self.parent.value = n.parent or ""
        self.layer.value = n.layer
        self.relation.value = n.relation
        self.sign.value = int(n.sign)
        self.owner.value = n.owner or ""
        self.weight.value = float(n.weight)
        self._show_thresholds(n.kpi)

    def update_node(self, node_id: str | None = None) -> None:
        """Apply the editor fields to the selected node (KPI, parent, relation, owner, weight…)."""
        node_id = node_id or self.node.value
        i = self._find(node_id) if node_id else None
        if i is None:
            self.status.error("Choose a node to edit first.")
            return
        old = self.tree.nodes[i]
        self.tree.nodes[i] = self._node_from_fields(old.id, str(self.kpi.value))
        self._record_thresholds(str(self.kpi.value))
        self.status.info(f"Updated node {node_id} (not saved yet).")
        self.refresh()

    def remove_node(self, node_id: str | None = None) -> None:
        node_id = node_id or self.node.value
        i = self._find(node_id) if node_id else None
        if i is None:
            self.status.error("Choose a node to remove first.")
            return
        del self.tree.nodes[i]
        orphans = [n.id or n.kpi for n in self.tree.nodes if n.parent == node_id]
        note = f"; its children {', '.join(orphans)} now name a missing parent" if orphans else ""
        self.status.info(f"Removed node {node_id} (not saved yet){note}.")
        self.refresh()

    def reload(self) -> None:
        """Drop the edits and show the saved tree again."""

        self.tree = tree_mod.load_tree(self.path if self.path.is_file() else None)
        self.saved_text = self._saved_text()
        self.status.info("Edits discarded.")
        self.refresh()

    # -- custom KPIs -------------------------------------------------------------------------
    def check_formula(self, text: str | None = None) -> list[str]:
        """Parse a custom KPI formula with the engine's parser; issues ([] when fine) shown inline."""

        text = self.custom_formula.value if text is None else text
        kid = self.custom_id.value.strip() or "custom"
        issues: list[str] = []
        if not text.strip():
            self.formula_check.value = ""
            return ["formula is empty"]
        try:
            parse(text, kid)
            cat = self.catalog()
            known = set(cat.ids()) | set(cat.measures)
            unknown = sorted(n for n in names(text, kid) if n not in known)
            if unknown:
                issues.append(f"unknown measure or KPI: {', '.join(unknown)}")
        except KpiError as exc:
            issues.append(str(exc))
        self.formula_check.value = issues_html(issues) if issues else message_html("✔ formula is valid", "ok")
        return issues

    def custom_spec(self) -> dict[str, Any]:
        return {
            "id": self.custom_id.value.strip(),
            "zh": self.custom_zh.value.strip() or self.custom_en.value.strip(),
            "en": self.custom_en.value.strip() or self.custom_zh.value.strip(),
            "unit": self.custom_unit.value,
            "direction": self.custom_direction.value,
            "formula": self.custom_formula.value.strip(),
        }

    def add_custom_kpi(self) -> bool:
        """Add (or override) a KPI in parameters/kpis.yaml after validating the whole catalog."""

        spec = self.custom_spec()
        kpis_path = paths.parameters_dir() / "kpis.yaml"
        try:
            if hasattr(definitions, "add_kpi"):
                definitions.add_kpi(spec, path=kpis_path)
            else:
                _save_kpi_spec(spec, kpis_path)
        except (KpiError, ValueError) as exc:
            if isinstance(exc, KpiError):
                self.status.from_exception(exc, "KPI not added: ")
            else:
                self.status.error("KPI not added", [str(exc)])
            return False
        cat = self.catalog()
        keep = self.kpi.value
        self.kpi.options = self._kpi_options(cat)
        self.kpi.value = spec["id"] if spec["id"] in cat.ids() else keep
        self.status.ok(f"KPI {spec['id']} saved to {kpis_path.name}; add it to the tree with 'Add node'.")
        self.refresh()
        return True

    # -- validation, diff, save --------------------------------------------------------------
    def validate(self) -> list[Any]:
        try:
            self.issues = list(validate_tree(self.tree, catalog=self.catalog()))
        except KpiError as exc:
            self.issues = [_Issue("kpi_tree.yaml", line, "error") for line in _lines(exc)]
        for kpi, th in self.pending_thresholds.items():
            if th["amber"] > th["green"]:
                self.issues.append(_Issue(f"targets/{THRESHOLDS_FILE}: thresholds.{kpi}",
                                          f"amber ({th['amber']:g}) must not exceed green ({th['green']:g})",
                                          "thresholds"))
        return self.issues

    def issue_lines(self) -> list[str]:
        return [f"{getattr(i, 'path', '')}: {getattr(i, 'message', i)}" for i in self.issues]

    def edited_text(self) -> str:
        return tree_yaml(self.tree)

    def diff(self) -> str:
        return unified_diff(self.saved_text, self.edited_text(), self.path.name)

    def show_diff(self) -> str:
        d = self.diff()
        self.diff_box.value = diff_html(d)
        return d

    def save(self) -> bool:
        """Validate, then update kpi_tree.yaml in place (round-trip); writes nothing when invalid."""

        issues = self.validate()
        self.show_diff()
        if any(getattr(i, "code", "") == "thresholds" for i in issues):
            self.status.error("Not saved: fix the thresholds first", self.issue_lines())
            self._show_issues()
            return False
        try:
            prepared = self._prepare_thresholds()  # validated before anything is written
            written = save_tree_roundtrip(self.tree, self.path)
            th_note = self._write_thresholds(prepared)
            if not written and not th_note:
                self.status.info(f"No changes: {self.path.name} left as it was.")
                return True
        except KpiError as exc:
            self.status.from_exception(exc, "Not saved: ")
            self._show_issues()
            return False
        self.saved_text = self._saved_text()
        self.status.ok(f"Saved {len(self.tree.nodes)} nodes to {self.path}.{th_note}")
        self.refresh()
        return True

    # -- thresholds (stored with the targets: parameters/targets/*.yaml ``thresholds``) -------
    def _load_thresholds(self) -> dict[str, dict[str, float]]:
        try:
            return {k: v.model_dump() for k, v in thresholds().items()}
        except KpiError:
            return {}

    def effective_thresholds(self, kpi: str) -> dict[str, float]:
        return self.pending_thresholds.get(kpi) or self.saved_thresholds.get(kpi) or {"green": 1.0, "amber": 0.9}

    def _show_thresholds(self, kpi: str | None) -> None:
        if not kpi:
            return
        th = self.effective_thresholds(kpi)
        self.green.value, self.amber.value = th["green"], th["amber"]

    def _record_thresholds(self, kpi: str) -> None:
        th = {"green": float(self.green.value), "amber": float(self.amber.value)}
        if th != self.effective_thresholds(kpi) or kpi in self.pending_thresholds:
            self.pending_thresholds[kpi] = th

    def _prepare_thresholds(self) -> tuple[Path, Any] | None:
        """The thresholds file with the pending changes, validated (None when nothing changed)."""
        if not self.pending_thresholds:
            return None

        path = paths.parameters_dir() / "targets" / THRESHOLDS_FILE
        current = targets_spec.load(path) if path.is_file() else targets_spec.TargetsFile()
        merged = {**current.thresholds,
                  **{k: targets_spec.Threshold.model_validate(v) for k, v in self.pending_thresholds.items()}}
        checked = current.model_copy(update={"thresholds": merged})
        issues = targets_spec.validate(checked)  # model and references, before anything is written
        if issues:
            raise ConfigError(f"{path.name}: invalid thresholds", [str(i) for i in issues])
        return path, checked

    def _write_thresholds(self, prepared: tuple[Path, Any] | None) -> str:
        if prepared is None:
            return ""

        path, checked = prepared
        targets_spec.save(checked, path)  # round-trip, atomic: comments and other files' lines stay
        n = len(self.pending_thresholds)
        self.saved_thresholds = self._load_thresholds()
        self.pending_thresholds = {}
        return f" Thresholds of {n} KPI(s) saved to targets/{THRESHOLDS_FILE}."

    # -- drawing -----------------------------------------------------------------------------
    def refresh(self) -> None:
        self._refresh_options()
        self.validate()
        self._show_issues()
        self.outline.value = self.outline_html()
        if not headless():
            show_figure(self.figure_out, self.figure())
        if self.diff_box.value:
            self.show_diff()

    def _show_issues(self) -> None:
        lines = self.issue_lines()
        self.issues_box.value = (
            issues_html(lines, f"{len(lines)} validation issue(s): the tree cannot be saved until they are fixed")
            if lines else message_html("✔ the tree is valid", "ok")
        )

    def _children(self) -> dict[str, list[Any]]:
        kids: dict[str, list[Any]] = {}
        for n in self.tree.nodes:
            kids.setdefault(n.parent or "", []).append(n)
        return kids

    def outline_html(self) -> str:
        """An indented outline of the tree, each node with its status color, relation and owner."""
        cat = self.catalog()
        kids = self._children()
        ids = set(self._node_ids())
        lines: list[str] = []
        seen: set[str] = set()

        def name(k: str) -> str:
            try:
                return cat.name(k, self.lang)
            except KpiError:
                return "?"

        def walk(parent: str, depth: int) -> None:
            for n in kids.get(parent, []):
                nid = n.id or n.kpi
                if nid in seen:
                    continue
                seen.add(nid)
                color = STATUS_COLORS.get(self.node_status.get(n.kpi), STATUS_COLORS[None])
                sign = "−" if int(n.sign) < 0 else ""
                owner = f" · {esc(n.owner)}" if n.owner else ""
                lines.append(
                    f'<div style="margin-left:{depth * 18}px" data-node="{esc(nid)}">'
                    f'<span style="color:{color}">●</span> <b>{esc(nid)}</b> {esc(name(n.kpi))} '
                    f'<small>({esc(n.layer)}, {sign}{esc(n.relation)}, w={n.weight:g}{owner})</small></div>'
                )
                walk(nid, depth + 1)

        walk("", 0)
        stray = [n for n in self.tree.nodes if (n.id or n.kpi) not in seen and n.parent not in ids]
        for n in stray:
            nid = n.id or n.kpi
            seen.add(nid)
            lines.append(f'<div data-node="{esc(nid)}" style="color:#b3261e">● <b>{esc(nid)}</b> '
                         f'(parent {esc(n.parent)} not in the tree)</div>')
            walk(nid, 1)
        return '<div style="font-family:monospace;font-size:13px">' + "".join(lines) + "</div>"

    def figure(self) -> Any:
        """A plotly sunburst of the tree colored by status (None when the tree has a cycle)."""

        ids = self._node_ids()
        if len(set(ids)) != len(ids):
            return None
        parents = [(n.parent if n.parent in ids else "") for n in self.tree.nodes]
        colors = [STATUS_COLORS.get(self.node_status.get(n.kpi), STATUS_COLORS[None]) for n in self.tree.nodes]
        fig = go.Figure(go.Sunburst(
            ids=ids, labels=ids, parents=parents, marker={"colors": colors},
            hovertext=[f"{n.relation}, owner {n.owner or '—'}, weight {n.weight:g}" for n in self.tree.nodes],
            branchvalues="remainder", maxdepth=4,
        ))
        fig.update_layout(margin={"t": 10, "l": 10, "r": 10, "b": 10}, height=420)
        return fig


class _Issue:
    def __init__(self, path: str, message: str, code: str) -> None:
        self.path, self.message, self.code = path, message, code


def save_tree_roundtrip(tree: Any, path: Path) -> bool:
    """Validate the tree, then update only its changed lines in ``path`` (comments and order kept).

    False when the file already holds this tree (nothing written, bytes unchanged). The structure is
    checked by ``tree.validate_tree``; the file is written by :mod:`kpi_lib.spec.tree` (references,
    round-trip, read-back check, atomic write)."""

    issues = tree_mod.validate_tree(tree)
    if issues:
        raise DefinitionError(f"the KPI tree is invalid ({len(issues)} issue(s)):\n" +
                              "\n".join(f"  - {i}" for i in issues))
    return tree_spec.save(tree, path)


def _lines(exc: BaseException) -> list[str]:
    issues = list(getattr(exc, "issues", None) or [])
    return issues or [ln.strip(" -") for ln in str(exc).splitlines() if ln.strip()]


def _save_kpi_spec(spec: dict[str, Any], path: Any) -> None:
    """Add/replace one entry of parameters/kpis.yaml; the whole catalog must build first."""


    current = kpis_spec.load(path) if path.is_file() else kpis_spec.KpisFile()
    try:
        new = kpis_spec.KpiSpec.model_validate({k: v for k, v in spec.items() if v not in ("", None)})
    except ValidationError as err:

        raise ConfigError("invalid KPI", format_validation_error("kpis.yaml", err)) from None
    specs = [s for s in current.kpis if s.id != new.id] + [new]
    build_catalog(specs, path.name)  # raises DefinitionError with every issue; nothing written
    kpis_spec.save(current.model_copy(update={"kpis": specs}), path)
