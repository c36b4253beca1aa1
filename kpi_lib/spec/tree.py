"""parameters/kpi_tree.yaml: the KPI tree (nodes, parents, relations, owners, weights).

The tree's structural checks that need the KPI catalog (cycles, roots, relation mix, data checks)
are :func:`kpi_lib.tree.validate_tree`; this module holds the model, the default tree, the compact
YAML form and the cross-file checks (unknown KPI, unknown owner).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from ..config import StrictModel
from ..errors import DefinitionError
from ._base import Checker, Context, Issue, Spec

Layer = Literal["top", "middle", "execution"]
Relation = Literal["additive", "multiplicative", "ratio_numerator", "ratio_denominator", "informational"]


class TreeNode(StrictModel):
    """One node of a KPI tree."""

    id: str | None = Field(None, description="node id, unique in the tree (defaults to the KPI id)")
    kpi: str = Field(description="KPI id from the catalog")
    parent: str | None = Field(None, description="parent node id; empty for a root")
    layer: Layer = "middle"
    relation: Relation = "informational"
    sign: Literal[1, -1] = Field(1, description="for additive children: +1 adds, -1 subtracts")
    owner: str | None = Field(None, description="team or person id owning this KPI")
    weight: float = Field(1.0, ge=0, description="weight in scorecards")

    @model_validator(mode="after")
    def _default_id(self) -> TreeNode:
        if not self.id:
            self.id = self.kpi
        return self


class KpiTree(StrictModel):
    """parameters/kpi_tree.yaml"""

    name: str = "default"
    max_roots: int = Field(1, ge=1, description="number of roots allowed")
    nodes: list[TreeNode]

    def node(self, node_id: str) -> TreeNode:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise DefinitionError(f"tree {self.name!r} has no node {node_id!r}")

    def children(self, node_id: str) -> list[TreeNode]:
        return [n for n in self.nodes if n.parent == node_id]

    def roots(self) -> list[TreeNode]:
        return [n for n in self.nodes if not n.parent]


def _n(kpi: str, parent: str | None, layer: Layer, relation: Relation = "informational", sign: int = 1,
       id: str | None = None, owner: str | None = None) -> dict:
    d: dict[str, Any] = {"kpi": kpi, "parent": parent, "layer": layer, "relation": relation}
    if sign != 1:
        d["sign"] = sign
    if id:
        d["id"] = id
    if owner:
        d["owner"] = owner
    return d


DEFAULT_TREE: dict = {
    "name": "default",
    "max_roots": 1,
    "nodes": [
        _n("net_margin", None, "top"),
        _n("net_profit", "net_margin", "top", "ratio_numerator"),
        _n("net_sales", "net_margin", "middle", "ratio_denominator", id="net_sales_denominator"),
        _n("net_sales", "net_profit", "middle", "additive"),
        _n("gmv", "net_sales", "middle", "additive"),
        _n("sessions", "gmv", "middle", "multiplicative"),
        _n("cvr", "gmv", "middle", "multiplicative"),
        _n("aov", "gmv", "middle", "multiplicative"),
        _n("refunds", "net_sales", "middle", "additive", -1),
        _n("cogs", "net_profit", "middle", "additive", -1),
        _n("first_leg", "net_profit", "middle", "additive", -1),
        _n("duties", "net_profit", "middle", "additive", -1),
        _n("platform_fees", "net_profit", "middle", "additive", -1),
        _n("fulfillment_fees", "net_profit", "middle", "additive", -1),
        _n("storage_fees", "net_profit", "middle", "additive", -1),
        _n("return_processing", "net_profit", "middle", "additive", -1),
        _n("promotions", "net_profit", "middle", "additive", -1),
        _n("ad_spend", "net_profit", "middle", "additive", -1),
        _n("tacos", "ad_spend", "middle", "multiplicative"),
        _n("gmv", "ad_spend", "middle", "multiplicative", id="gmv_for_ads"),
        _n("acos", "ad_spend", "middle"),
        _n("roas", "ad_spend", "middle"),
        _n("cpc", "ad_spend", "middle"),
        _n("ctr", "ad_spend", "middle"),
        _n("overheads", "net_profit", "middle", "additive", -1),
        _n("new_listings", "gmv", "execution"),
        _n("active_sku_rate", "gmv", "execution"),
        _n("stockout_rate", "gmv", "execution"),
        _n("ad_optimizations", "ad_spend", "execution"),
        _n("negative_review_hours", "net_sales", "execution"),
        _n("first_response_hours", "net_sales", "execution"),
    ],
}


def default_tree() -> KpiTree:
    return KpiTree.model_validate(DEFAULT_TREE)


def tree_to_dict(tree: KpiTree) -> dict:
    """Compact YAML form: defaults and ids equal to the KPI are left out."""
    nodes = []
    for n in tree.nodes:
        d: dict[str, Any] = {}
        if n.id != n.kpi:
            d["id"] = n.id
        d["kpi"] = n.kpi
        d["parent"] = n.parent
        d["layer"] = n.layer
        d["relation"] = n.relation
        if n.sign != 1:
            d["sign"] = n.sign
        if n.owner:
            d["owner"] = n.owner
        if n.weight != 1.0:
            d["weight"] = n.weight
        nodes.append(d)
    return {"name": tree.name, "max_roots": tree.max_roots, "nodes": nodes}


def _cross(t: KpiTree, chk: Checker) -> None:
    owners = (chk.ctx.teams or set()) | (chk.ctx.people or set())
    for i, n in enumerate(t.nodes):
        chk.kpi(f"nodes[{i}] ({n.id})", "kpi", n.kpi)
        if n.owner and (chk.ctx.teams is not None or chk.ctx.people is not None) and n.owner not in owners:
            chk.add(f"nodes[{i}] ({n.id})", "owner", f"unknown owner {n.owner!r} (expected a team or person id)")


SPEC: Spec[KpiTree] = Spec("tree", KpiTree, "kpi_tree.yaml", cross=_cross, default=default_tree, dump=tree_to_dict)


def load(path: Path | None = None) -> KpiTree:
    """parameters/kpi_tree.yaml (the default tree when the file does not exist)."""
    return SPEC.load(path)


def validate(obj: KpiTree, context: Context | None = None) -> list[Issue]:
    """Model issues plus unknown KPIs and owners (structure: kpi_lib.tree.validate_tree)."""
    return SPEC.validate(obj, context)


def save(obj: KpiTree, path: Path | None = None, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)
