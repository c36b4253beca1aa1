"""KPI tree designer: edit parameters/kpi_tree.yaml with live drawing, inline validation and a diff.

The edited tree is a ``kpi_lib.tree.KpiTree``; every change re-runs ``tree.validate_tree`` and shows
its issues with their YAML paths. Saving validates with ``tree.validate_tree`` (as ``tree.save_tree``
does) and writes nothing when the tree is invalid, so the saved file is never broken; the file is
updated with ``kpi_lib.yaml_roundtrip`` (only the changed nodes' lines change, comments and order are
kept, no edit = no write). The editor holds the whole ``KpiTree`` model, so every tree field is kept. Custom KPIs are checked
with the engine's formula parser as they are typed and saved to parameters/kpis.yaml only after the
catalog built with them passes ``definitions.build_catalog``.

Size (≈720 lines): one panel — node editor, custom KPI editor, thresholds, drawing and save share the
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
from ..labels import label
from ..spec import kpis as kpis_spec
from ..spec import targets as targets_spec
from ..spec import tree as tree_spec
from ..targets import thresholds
from ..tree import TreeNode, validate_tree
from .common import (
    STATUS_COLORS,
    Panel,
    StatusBox,
    details_accordion,
    diff_html,
    esc,
    headless,
    language_toggle,
    message_html,
    open_warehouse,
    show_figure,
    unified_diff,
)
from .data import reference_frame

LAYERS = ["top", "middle", "execution"]
RELATIONS = ["additive", "multiplicative", "ratio_numerator", "ratio_denominator", "informational"]
UNITS = ["money", "count", "pct", "ratio", "days", "hours"]
THRESHOLDS_FILE = "thresholds.yaml"
DIRECTIONS = ["up", "down"]


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
        self.kpi = W.Dropdown(options=self._kpi_options(cat), layout=W.Layout(width="340px"))
        self.parent = W.Dropdown(options=self._parent_options(), layout=W.Layout(width="340px"))
        self.layer = W.Dropdown(options=LAYERS, value="middle")
        self.relation = W.Dropdown(options=RELATIONS, value="additive")
        self.sign = W.Dropdown(options=[("+1", 1), ("−1", -1)], value=1)
        self.owner = W.Combobox(options=self._owner_options(), ensure_option=False)
        self.weight = W.BoundedFloatText(value=1.0, min=0.0, max=100.0, step=0.1)
        self.saved_thresholds = self._load_thresholds()
        self.pending_thresholds: dict[str, dict[str, float]] = {}
        self.green = W.BoundedFloatText(value=1.0, min=0.0, max=5.0, step=0.05)
        self.amber = W.BoundedFloatText(value=0.9, min=0.0, max=5.0, step=0.05)
        self.add_button = W.Button(button_style="success", icon="plus")
        self.node = W.Dropdown(options=self._node_options(), layout=W.Layout(width="340px"))
        self.update_button = W.Button(icon="pencil")
        self.remove_button = W.Button(button_style="warning", icon="trash")

        self.custom_id = W.Text()
        self.custom_zh = W.Text()
        self.custom_en = W.Text()
        self.custom_formula = W.Text(continuous_update=True, layout=W.Layout(width="420px"))
        self.custom_unit = W.Dropdown(options=UNITS, value="pct")
        self.custom_direction = W.Dropdown(options=DIRECTIONS, value="up")
        self.formula_check = W.HTML()
        self.formula_details = W.VBox()
        self.measures_box = W.VBox()
        self.custom_button = W.Button(icon="check")

        self.language = language_toggle(self.lang)
        self.header = W.HTML()
        self.data_note = W.HTML()
        self.section_heads = {k: W.HTML() for k in ("add", "edit", "custom", "thresholds")}
        self.outline = W.HTML()
        self.legend = W.HTML()
        self.figure_out = W.Output()
        self.issues_box = W.HTML()
        self.issues_details = W.VBox()
        self.status_details = W.VBox()
        self.diff_box = W.HTML()
        self.diff_section = W.Accordion(children=[self.diff_box], selected_index=None)
        self.diff_section.add_class("kpi-details")  # a YAML diff is technical text on purpose
        self.diff_button = W.Button(icon="columns")
        self.save_button = W.Button(button_style="primary", icon="save")
        self.reload_button = W.Button(icon="undo")
        self._quiet = False
        self._set_words()

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
        self.language.observe(lambda ch: self.set_language(ch["new"]), names="value")
        self.node.observe(lambda ch: self._quiet or self.select_node(ch["new"]), names="value")
        self.kpi.observe(lambda ch: self._quiet or self._show_thresholds(ch["new"]), names="value")
        self.custom_formula.observe(lambda ch: self.check_formula(ch["new"]), names="value")
        self.custom_button.on_click(lambda _b: self._near(self.custom_status, self.add_custom_kpi))
        self.diff_button.on_click(lambda _b: self._near(self.save_status, self.show_diff))
        self.save_button.on_click(lambda _b: self._near(self.save_status, self.save))
        self.reload_button.on_click(lambda _b: self._near(self.save_status, self.reload))

        editor = W.VBox([
            self.section_heads["add"],
            self.kpi, self.parent, self.layer, self.relation, self.sign, self.owner, self.weight,
            self.section_heads["thresholds"],
            W.HBox([self.green, self.amber]),
            W.HBox([self.add_button, self.edit_status.widget]),
            self.section_heads["edit"],
            self.node, W.HBox([self.update_button, self.remove_button]),
            self.section_heads["custom"],
            self.custom_id, self.custom_zh, self.custom_en, self.custom_formula, self.formula_check,
            self.formula_details, self.measures_box,
            self.custom_unit, self.custom_direction, W.HBox([self.custom_button, self.custom_status.widget]),
        ], layout=W.Layout(width="460px"))
        view = W.VBox([self.figure_out, self.legend, self.outline], layout=W.Layout(flex="1"))
        self.widget = W.VBox([
            W.HBox([self.header, self.language], layout=W.Layout(justify_content="space-between")),
            self.data_note,
            W.HBox([editor, view]),
            self.issues_box, self.issues_details,
            W.HBox([self.diff_button, self.save_button, self.reload_button, self.save_status.widget]),
            self.status_details, self.diff_section,
        ])
        if self.load_error:
            self.status.error(self._t("widget.tree.load_error"))
            self._details(self.load_error)
        self.refresh()

    # -- language ----------------------------------------------------------------------------
    def _set_words(self) -> None:
        """Every control's words in ``self.lang`` (values kept)."""
        t = self._t
        self.header.value = f"<h3>{esc(t('widget.tree.title'))}</h3>"
        self.language.description = t("widget.lang")
        self.data_note.value = self._data_note()
        for key, head in (("add", "add_header"), ("edit", "edit_header"), ("custom", "custom_header")):
            self.section_heads[key].value = f"<b>{esc(t(f'widget.tree.{head}'))}</b>"
        self.section_heads["thresholds"].value = f"<small>{esc(t('widget.tree.thresholds_hint'))}</small>"
        for w, key in ((self.kpi, "kpi"), (self.parent, "parent"), (self.layer, "layer"),
                       (self.relation, "relation"), (self.sign, "sign"), (self.owner, "owner"),
                       (self.weight, "weight"), (self.green, "green"), (self.amber, "amber"), (self.node, "node"),
                       (self.custom_id, "custom_id"), (self.custom_zh, "custom_zh"), (self.custom_en, "custom_en"),
                       (self.custom_formula, "formula"), (self.custom_unit, "unit"),
                       (self.custom_direction, "direction")):
            w.description = t(f"widget.tree.{key}")
        self.owner.placeholder = t("widget.tree.owner_placeholder")
        self.custom_id.placeholder = t("widget.tree.custom_id_placeholder")
        self.custom_formula.placeholder = t("widget.tree.formula_placeholder")
        self.custom_zh.placeholder = t("widget.tree.custom_zh_placeholder")
        self.custom_en.placeholder = t("widget.tree.custom_en_placeholder")
        for b, key in ((self.add_button, "add"), (self.update_button, "update"), (self.remove_button, "remove"),
                       (self.custom_button, "add_kpi"), (self.diff_button, "diff"), (self.save_button, "save"),
                       (self.reload_button, "discard")):
            b.description = t(f"widget.tree.{key}")
        self.diff_section.set_title(0, t("widget.tree.diff_title"))
        self._quiet = True
        try:
            for w, keys, prefix in ((self.layer, LAYERS, "layer"), (self.relation, RELATIONS, "relation"),
                                    (self.custom_unit, UNITS, "unit"), (self.custom_direction, DIRECTIONS, "direction")):
                keep = w.value
                w.options = [(t(f"widget.tree.{prefix}.{k}"), k) for k in keys]
                w.value = keep
            keep_s = self.sign.value
            self.sign.options = [(t("widget.tree.sign.plus"), 1), (t("widget.tree.sign.minus"), -1)]
            self.sign.value = keep_s
            keep_k = self.kpi.value
            self.kpi.options = self._kpi_options(self.catalog())
            self.kpi.value = keep_k
            self._refresh_options()
        finally:
            self._quiet = False
        cat = self.catalog()
        self.measures_box.children = (details_accordion(
            "widget.tree.measures", ["measures: " + ", ".join(sorted(cat.measures)), "KPIs: " + ", ".join(cat.ids()),
                                     "e.g. ad_sales / gmv"], self.lang),)

    def set_language(self, lang: str) -> None:
        """Switch every label, option, header and message between zh and en and redraw."""
        self.lang = lang
        if self.language.value != lang:
            self.language.value = lang
            return
        self._set_words()
        self.refresh()

    def summary(self) -> str:
        return self._t("widget.tree.summary", n=len(self.tree.nodes))

    def _details(self, lines: list[str]) -> None:
        """Technical text of the last action (file names, raw messages) in the collapsed details section."""
        self.status_details.children = (details_accordion("widget.details", [str(self.path), *lines], self.lang),
                                        ) if lines else ()

    def _near(self, box: StatusBox, action: Any) -> Any:
        """Run a button's action with its messages in the status box beside that button."""
        if box is not self.status:
            self.status.clear()
        self.status = box
        self.status_details.children = ()
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

    def _data_note(self) -> str:
        if self.warehouse is None:
            return message_html(self._t("widget.tree.no_warehouse"), "warn")
        if not self.node_status:
            return message_html(self._t("widget.tree.no_status"), "info")
        return message_html(self._t("widget.tree.coloured"), "info")

    # -- options -----------------------------------------------------------------------------
    def _kpi_options(self, cat: Any) -> list[tuple[str, str]]:
        return [(cat.name(k, self.lang), k) for k in cat.ids()]

    def _node_ids(self) -> list[str]:
        return [n.id or n.kpi for n in self.tree.nodes]

    def _kpi_name(self, kpi: str) -> str:
        cat = self.catalog()
        return cat.name(kpi, self.lang) if kpi in cat.kpis else kpi

    def node_label(self, node_id: str) -> str:
        """A node as people name it: its KPI's name, with its parent's when the KPI appears twice in the tree."""
        i = self._find(node_id)
        if i is None:
            return node_id
        n = self.tree.nodes[i]
        name = self._kpi_name(n.kpi)
        if sum(1 for m in self.tree.nodes if m.kpi == n.kpi) > 1 and n.parent:
            j = self._find(n.parent)
            parent = self._kpi_name(self.tree.nodes[j].kpi) if j is not None else n.parent
            return self._t("widget.tree.under", name=name, parent=parent)
        return name

    def _parent_options(self) -> list[tuple[str, str]]:
        return [(self._t("widget.tree.root"), "")] + [(self.node_label(i), i) for i in self._node_ids()]

    def _node_options(self) -> list[tuple[str, str]]:
        return [("—", "")] + [(self.node_label(i), i) for i in self._node_ids()]

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
        under = str(self.parent.value or "")
        twin = next((m for m in self.tree.nodes if m.kpi == kpi_id and (m.parent or "") == under), None)
        if twin is not None:  # the same KPI twice under one parent would be counted twice
            self.status.error(self._t("widget.tree.duplicate", name=self.node_label(twin.id or twin.kpi)))
            return twin.id or twin.kpi
        node_id = kpi_id
        n = 2
        while node_id in self._node_ids():
            node_id = f"{kpi_id}_{n}"
            n += 1
        self.tree.nodes.append(self._node_from_fields(node_id if node_id != kpi_id else None, kpi_id))
        self._record_thresholds(kpi_id)
        self.status.info(self._t("widget.tree.added", name=self.node_label(node_id)))
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
            self.status.error(self._t("widget.tree.choose_node"))
            return
        old = self.tree.nodes[i]
        self.tree.nodes[i] = self._node_from_fields(old.id, str(self.kpi.value))
        self._record_thresholds(str(self.kpi.value))
        self.status.info(self._t("widget.tree.updated", name=self.node_label(node_id)))
        self.refresh()

    def remove_node(self, node_id: str | None = None) -> None:
        node_id = node_id or self.node.value
        i = self._find(node_id) if node_id else None
        if i is None:
            self.status.error(self._t("widget.tree.choose_node"))
            return
        name = self.node_label(node_id)
        del self.tree.nodes[i]
        orphans = [self._kpi_name(n.kpi) for n in self.tree.nodes if n.parent == node_id]
        note = self._t("widget.tree.orphans", names="、".join(orphans) if self.lang == "zh" else ", ".join(orphans)
                       ) if orphans else ""
        self.status.info(self._t("widget.tree.removed", name=name) + note)
        self.refresh()

    def reload(self) -> None:
        """Drop the edits and show the saved tree again."""

        self.tree = tree_mod.load_tree(self.path if self.path.is_file() else None)
        self.saved_text = self._saved_text()
        self.status.info(self._t("widget.tree.discarded"))
        self.refresh()

    # -- custom KPIs -------------------------------------------------------------------------
    def check_formula(self, text: str | None = None) -> list[str]:
        """Parse a custom KPI formula with the engine's parser; issues ([] when fine) shown inline."""

        text = self.custom_formula.value if text is None else text
        kid = self.custom_id.value.strip() or "custom"
        issues: list[str] = []
        self.formula_details.children = ()
        if not text.strip():
            self.formula_check.value = ""
            return [self._t("widget.tree.formula_empty")]
        try:
            parse(text, kid)
            cat = self.catalog()
            known = set(cat.ids()) | set(cat.measures)
            unknown = sorted(n for n in names(text, kid) if n not in known)
            if unknown:  # the user's own words, echoed so they can find the typo
                issues.append(self._t("widget.tree.formula_unknown", names=", ".join(unknown)))
                self.formula_check.value = message_html(issues[-1], "error")
        except KpiError as exc:
            issues.append(str(exc))
            self.formula_check.value = message_html(self._t("widget.tree.formula_invalid"), "error")
            self.formula_details.children = (details_accordion("widget.details", [str(exc)], self.lang),)
        if not issues:
            self.formula_check.value = message_html(self._t("widget.tree.formula_ok"), "ok")
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
            self.status.error(self._t("widget.tree.kpi_not_added"), _lines(exc), show_issues=False)
            self._details([str(kpis_path), *_lines(exc)])
            return False
        cat = self.catalog()
        keep = self.kpi.value
        self.kpi.options = self._kpi_options(cat)
        self.kpi.value = spec["id"] if spec["id"] in cat.ids() else keep
        self.status.ok(self._t("widget.tree.kpi_added", name=cat.name(spec["id"], self.lang)))
        self._details([str(kpis_path)])
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
        self.diff_box.value = diff_html(d, self.lang)
        self.diff_section.selected_index = 0  # opened by the user's click
        return d

    def save(self) -> bool:
        """Validate, then update kpi_tree.yaml in place (round-trip); writes nothing when invalid."""

        issues = self.validate()
        self.show_diff()
        if any(getattr(i, "code", "") == "thresholds" for i in issues):
            self.status.error(self._t("widget.tree.fix_thresholds"), self.issue_lines(), show_issues=False)
            self._details(self.issue_lines())
            self._show_issues()
            return False
        try:
            prepared = self._prepare_thresholds()  # validated before anything is written
            written = save_tree_roundtrip(self.tree, self.path)
            th_note = self._write_thresholds(prepared)
            if not written and not th_note:
                self.status.info(self._t("widget.tree.no_changes"))
                return True
        except KpiError as exc:
            self.status.error(self._t("widget.tree.not_saved"), _lines(exc), show_issues=False)
            self._details(_lines(exc))
            self._show_issues()
            return False
        self.saved_text = self._saved_text()
        self.status.ok(self._t("widget.tree.saved", n=len(self.tree.nodes)) + th_note)
        self._details([f"targets/{THRESHOLDS_FILE}"] if th_note else [])
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
        return self._t("widget.tree.thresholds_saved", n=n)

    # -- drawing -----------------------------------------------------------------------------
    def refresh(self) -> None:
        self._refresh_options()
        self.validate()
        self._show_issues()
        self.outline.value = self.outline_html()
        self.legend.value = self.legend_html()
        if not headless():
            show_figure(self.figure_out, self.figure())
        if self.diff_box.value:
            self.show_diff()

    def _show_issues(self) -> None:
        lines = self.issue_lines()
        self.issues_box.value = (message_html(self._t("widget.tree.invalid", n=len(lines)), "error") if lines
                                 else message_html(self._t("widget.tree.valid"), "ok"))
        self.issues_details.children = (details_accordion("widget.details", lines, self.lang),) if lines else ()

    def legend_html(self) -> str:
        """What the node colours mean (the status words of the label catalog)."""
        items = "".join(f'<span style="margin-right:12px"><span style="color:{STATUS_COLORS.get(k, STATUS_COLORS[None])}">'
                        f'●</span> {esc(label(f"status.{k}", self.lang))}</span>' for k in ("green", "amber", "red", "none"))
        return f'<div style="font-size:12px"><b>{esc(self._t("widget.tree.legend"))}</b>: {items}</div>'

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
                owner = f" · {esc(self._t('widget.tree.owner'))} {esc(n.owner)}" if n.owner else ""
                info = self._t("widget.tree.outline_info", layer=self._t(f"widget.tree.layer.{n.layer}"),
                               relation=sign + self._t(f"widget.tree.relation.{n.relation}"), weight=f"{n.weight:g}")
                lines.append(
                    f'<div style="margin-left:{depth * 18}px" data-node="{esc(nid)}">'
                    f'<span style="color:{color}">●</span> <b>{esc(name(n.kpi))}</b> '
                    f'<small>（{esc(info)}{owner}）</small></div>'
                )
                walk(nid, depth + 1)

        walk("", 0)
        stray = [n for n in self.tree.nodes if (n.id or n.kpi) not in seen and n.parent not in ids]
        for n in stray:
            nid = n.id or n.kpi
            seen.add(nid)
            lines.append(f'<div data-node="{esc(nid)}" style="color:#b3261e">● <b>{esc(name(n.kpi))}</b> '
                         f'{esc(self._t("widget.tree.stray"))}</div>')
            walk(nid, 1)
        return '<div style="font-size:13px;line-height:1.5">' + "".join(lines) + "</div>"

    def figure(self) -> Any:
        """A plotly sunburst of the tree colored by status (None when the tree has a cycle)."""

        ids = self._node_ids()
        if len(set(ids)) != len(ids):
            return None
        parents = [(n.parent if n.parent in ids else "") for n in self.tree.nodes]
        colors = [STATUS_COLORS.get(self.node_status.get(n.kpi), STATUS_COLORS[None]) for n in self.tree.nodes]
        hover = [self._t("widget.tree.outline_info", layer=self._t(f"widget.tree.layer.{n.layer}"),
                         relation=self._t(f"widget.tree.relation.{n.relation}"), weight=f"{n.weight:g}")
                 + (f" · {self._t('widget.tree.owner')} {n.owner}" if n.owner else "") for n in self.tree.nodes]
        fig = go.Figure(go.Sunburst(
            ids=ids, labels=[self._kpi_name(n.kpi) for n in self.tree.nodes], parents=parents,
            marker={"colors": colors}, hovertext=hover, hoverinfo="label+text", branchvalues="remainder", maxdepth=4,
        ))
        fig.update_layout(margin={"t": 40, "l": 10, "r": 10, "b": 10}, height=440, title=self._t("widget.tree.figure_title"))
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
