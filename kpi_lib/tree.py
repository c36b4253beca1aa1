"""KPI trees (parameters/kpi_tree.yaml): validation and exact driver attribution of a gap.

A tree is a list of nodes; each node names a KPI, its parent node, its layer (top, middle,
execution), its relation to the parent, an owner and a weight. The relation says how the children
of a parent combine into it:

- ``additive`` (with ``sign`` +1/-1): parent = Σ sign × child;
- ``multiplicative``: parent = Π child;
- ``ratio_numerator`` / ``ratio_denominator``: parent = numerator / denominator;
- ``informational``: shown under the parent, not part of the arithmetic.

Attribution of a change from *a* (base: prior period or target) to *b* (actual): additive children
contribute their signed differences; multiplicative and ratio children are split with the
logarithmic-mean Divisia index (LMDI-I): contribution_i = L(P_b, P_a) · ln(x_i,b / x_i,a) (negated
for a denominator), with L(x, y) = (x − y) / (ln x − ln y). When all values are positive and the
relation holds, the contributions sum exactly to P_b − P_a. **Fallback**: if any factor (or the
parent) is zero or negative at either point, the log is undefined and the exact Shapley
decomposition is used instead (average marginal effect over all orders of switching factors from a
to b), which also sums exactly to the change. When the data do not satisfy the relation, the
unexplained remainder is returned as a ``(residual)`` row so the rows still add up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import paths
from .definitions import Catalog, load_catalog
from .errors import DefinitionError
from .metrics import compute
from .org import ENTITY_DIMENSION
from .periods import period_kind
from .spec import tree as tree_spec
from .spec.tree import DEFAULT_TREE, KpiTree, Layer, Relation, TreeNode, default_tree, tree_to_dict  # noqa: F401 - re-exported


@dataclass
class Issue:
    path: str
    message: str
    code: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def tree_path() -> Path:
    return paths.parameters_dir() / "kpi_tree.yaml"


def load_tree(path: Path | None = None) -> KpiTree:
    """The tree of parameters/kpi_tree.yaml (the default tree when the file does not exist)."""
    return tree_spec.load(Path(path) if path is not None else tree_path())


_FAMILY = {"additive": "additive", "multiplicative": "multiplicative", "ratio_numerator": "ratio",
           "ratio_denominator": "ratio"}


def expected_value(tree: KpiTree, node_id: str, values: Mapping[str, float]) -> float | None:
    """The parent's value implied by its arithmetic children (None when it has none)."""
    kids = [c for c in tree.children(node_id) if c.relation != "informational"]
    if not kids:
        return None
    fam = _FAMILY[kids[0].relation]
    v = {c.id: float(values.get(c.kpi, np.nan)) for c in kids}
    if fam == "additive":
        return float(sum(c.sign * v[c.id] for c in kids))
    if fam == "multiplicative":
        return float(np.prod([v[c.id] for c in kids]))
    num = next(c for c in kids if c.relation == "ratio_numerator")
    den = next(c for c in kids if c.relation == "ratio_denominator")
    return v[num.id] / v[den.id] if v[den.id] != 0 else float("nan")


def validate_tree(tree: KpiTree, data: pd.DataFrame | None = None, catalog: Catalog | None = None,
                  tolerance: float = 1e-6, source: str = "kpi_tree.yaml") -> list[Issue]:
    """Every issue of the tree (unknown KPI, bad parent, cycle, roots, relation mix, data check)."""
    catalog = catalog or load_catalog()
    issues: list[Issue] = []
    ids: dict[str, int] = {}
    for i, n in enumerate(tree.nodes):
        p = f"{source}: nodes[{i}]"
        if n.id in ids:
            issues.append(Issue(f"{p}.id", f"duplicate node id {n.id!r} (also nodes[{ids[n.id]}]); give one an `id:`",
                                "duplicate"))
        ids.setdefault(n.id or n.kpi, i)
        if n.kpi not in catalog.kpis:
            issues.append(Issue(f"{p}.kpi", f"unknown KPI {n.kpi!r}", "unknown_kpi"))
        if n.parent and n.parent not in {m.id for m in tree.nodes}:
            issues.append(Issue(f"{p}.parent", f"unknown parent node {n.parent!r}", "unknown_parent"))
        if n.parent == n.id:
            issues.append(Issue(f"{p}.parent", f"node {n.id!r} is its own parent", "cycle"))
    # cycles
    parent = {n.id: n.parent for n in tree.nodes}
    reported: set[frozenset] = set()
    for start in parent:
        seen: list[str] = []
        cur: str | None = start
        while cur is not None and cur in parent:
            if cur in seen:
                cyc = seen[seen.index(cur):] + [cur]
                key = frozenset(cyc)
                if key not in reported and len(cyc) > 2:
                    reported.add(key)
                    i = ids.get(cur, 0)
                    issues.append(Issue(f"{source}: nodes[{i}].parent", "cycle: " + " -> ".join(cyc), "cycle"))
                break
            seen.append(cur)
            cur = parent[cur]
    roots = tree.roots()
    if not roots:
        issues.append(Issue(f"{source}: nodes", "the tree has no root (a node without parent)", "roots"))
    elif len(roots) > tree.max_roots:
        issues.append(Issue(f"{source}: nodes", f"{len(roots)} roots ({', '.join(r.id or '' for r in roots)}) where "
                            f"{tree.max_roots} expected; give the extra ones a parent or raise max_roots", "roots"))
    # relation consistency per parent
    for pid in {n.parent for n in tree.nodes if n.parent}:
        kids = [(i, n) for i, n in enumerate(tree.nodes) if n.parent == pid and n.relation != "informational"]
        fams = {_FAMILY[n.relation] for _, n in kids}
        if len(fams) > 1:
            i = kids[0][0]
            issues.append(Issue(f"{source}: nodes[{i}].relation",
                                f"children of {pid!r} mix relations {sorted(fams)}; use one kind per parent", "relation"))
        if fams == {"ratio"}:
            nn = sum(1 for _, n in kids if n.relation == "ratio_numerator")
            nd = sum(1 for _, n in kids if n.relation == "ratio_denominator")
            if nn != 1 or nd != 1:
                issues.append(Issue(f"{source}: nodes[{kids[0][0]}].relation",
                                    f"{pid!r} needs exactly one ratio_numerator and one ratio_denominator child", "relation"))
    if data is not None and not issues:
        issues += _check_data(tree, data, tolerance, source, ids)
    return issues


def _check_data(tree: KpiTree, data: pd.DataFrame, tol: float, source: str, ids: dict[str, int]) -> list[Issue]:
    out = []
    for n in tree.nodes:
        kids = [c for c in tree.children(n.id or "") if c.relation != "informational"]
        if not kids or n.kpi not in data.columns or any(c.kpi not in data.columns for c in kids):
            continue
        bad = 0
        worst = None
        for _, row in data.iterrows():
            vals = row.to_dict()
            exp = expected_value(tree, n.id or "", vals)
            act = float(vals[n.kpi])
            if exp is None or not np.isfinite(exp) or not np.isfinite(act):
                continue
            if abs(exp - act) > tol * max(1.0, abs(act)):
                bad += 1
                worst = worst or (row.get("period"), act, exp)
        if bad:
            out.append(Issue(f"{source}: nodes[{ids.get(n.id or '', 0)}]",
                             f"relation of {n.id!r} to its children does not hold on {bad} row(s) of data "
                             f"(e.g. period {worst[0]}: {worst[1]:.6g} vs {worst[2]:.6g})", "data"))
    return out


def save_tree(tree: KpiTree, path: Path | None = None, catalog: Catalog | None = None) -> Path:
    """Validate (structure here, references in the spec), then write the tree YAML through
    :mod:`kpi_lib.spec.tree` (round-trip, atomic); an invalid tree is never written."""
    issues = validate_tree(tree, catalog=catalog)
    if issues:
        raise DefinitionError(f"the KPI tree is invalid ({len(issues)} issue(s)):\n" +
                              "\n".join(f"  - {i}" for i in issues))
    p = Path(path) if path is not None else tree_path()
    tree_spec.save(tree, p)
    return p


# -------------------------------------------------------------------------------------- attribution


def _logmean(x: float, y: float, lx: float | None = None, ly: float | None = None) -> float:
    """L(x, y) = (x − y) / (ln x − ln y) for x, y > 0, with the logs given or taken apart.

    Log differences, never ln(x/y) (which underflows for tiny ratios); a product's log is best given
    as the sum of its factors' logs (``split_raw``): a product rounded in the subnormal range keeps
    its exact log that way, so the parts still sum to the change.
    """
    lx = math.log(x) if lx is None else lx
    ly = math.log(y) if ly is None else ly
    d = lx - ly
    if x == y or d == 0 or abs(x - y) <= 1e-12 * max(abs(x), abs(y)):
        return (x + y) / 2  # limit of the log-mean as x -> y
    return (x - y) / d


def _shapley(factors_a: list[float], factors_b: list[float], combine: Callable[[list[float]], float]) -> list[float]:
    n = len(factors_a)
    out = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        phi = 0.0
        for r in range(n):
            w = math.factorial(r) * math.factorial(n - r - 1) / math.factorial(n)
            for S in combinations(others, r):
                with_i = [factors_b[j] if (j in S or j == i) else factors_a[j] for j in range(n)]
                without = [factors_b[j] if j in S else factors_a[j] for j in range(n)]
                phi += w * (combine(with_i) - combine(without))
        out.append(phi)
    return out


@dataclass
class Split:
    """One split of a change: the method's own parts, the float leftover, and the closed parts."""

    raw: list[float]  # LMDI or Shapley parts exactly as the formula gives them
    leftover: float  # change − Σ raw (float rounding only, when the relation holds)
    parts: list[float]  # raw, with the leftover added to the largest part (sums exactly to the change)
    method: str  # "lmdi" or "shapley"
    change: float


def _combine(exps: list[int]) -> Callable[[list[float]], float]:
    def combine(xs: list[float]) -> float:
        out = 1.0
        for x, e in zip(xs, exps):
            if e < 0:
                out = out / x if x != 0 else float("nan")
            else:
                out *= x
        return out

    return combine


def split_raw(a: list[float], b: list[float], exponents: list[int] | None = None) -> tuple[list[float], str]:
    """The parts of the change of Π factor**exponent from a to b as the method gives them (no closure).

    LMDI-I when every factor is positive and finite and both products are finite: part_i = L(P_b, P_a) · e_i ·
    (ln x_i,b − ln x_i,a), with log differences (ln(x_b/x_a) underflows for tiny ratios). Otherwise
    (a zero, a sign change, a product that under- or overflows, or any part not finite) the exact
    Shapley decomposition.
    """
    exps = list(exponents or [1] * len(a))
    combine = _combine(exps)
    pa, pb = combine(a), combine(b)
    if all(x > 0 and math.isfinite(x) for x in a + b) and math.isfinite(pa) and math.isfinite(pb):
        la, lb = [math.log(x) for x in a], [math.log(x) for x in b]
        L = _logmean(pb, pa, math.fsum(e * v for e, v in zip(exps, lb)), math.fsum(e * v for e, v in zip(exps, la)))
        parts = [L * e * (vb - va) for va, vb, e in zip(la, lb, exps)]
        if all(math.isfinite(x) for x in parts):
            return parts, "lmdi"
    return _shapley(a, b, combine), "shapley"


def split_detail(relation: str, a: list[float], b: list[float], exponents: list[int] | None = None) -> Split:
    """``split_raw`` plus the closure: the float leftover goes to the largest part."""
    exps = list(exponents or [1] * len(a))
    combine = _combine(exps)
    raw, method = split_raw(a, b, exps)
    change = combine(b) - combine(a)
    parts = list(raw)
    leftover = float("nan")
    if math.isfinite(change) and all(math.isfinite(x) for x in parts) and parts:
        leftover = change - math.fsum(parts)
        i = max(range(len(parts)), key=lambda j: abs(parts[j]))
        parts[i] += leftover
    return Split(raw=raw, leftover=leftover, parts=parts, method=method, change=change)


def split_change(relation: str, a: list[float], b: list[float], exponents: list[int] | None = None
                 ) -> tuple[list[float], str]:
    """Contributions of each factor to the change of Π factor**exponent (exponent ±1) from a to b.

    The parts sum exactly to the change: the float remainder (≈1e-12 relative) of ``split_raw`` is
    added to the largest part (``split_detail`` shows both). Never raises on tiny or huge ratios.
    """
    s = split_detail(relation, a, b, exponents)
    return s.parts, s.method


def attribute_values(tree: KpiTree, a: Mapping[str, float], b: Mapping[str, float], root: str | None = None
                     ) -> pd.DataFrame:
    """Attribution of the change a → b over the tree (a, b map KPI id → value); see module docstring."""
    roots = [tree.node(root)] if root else tree.roots()
    rows: list[dict] = []

    def val(m: Mapping[str, float], k: str) -> float:
        v = m.get(k, np.nan)
        return float(v) if v is not None else float("nan")

    def visit(n: TreeNode, contribution: float, share: float, method: str) -> None:
        rows.append({"node": n.id, "kpi": n.kpi, "parent": n.parent, "relation": n.relation, "layer": n.layer,
                     "value_a": val(a, n.kpi), "value_b": val(b, n.kpi), "contribution": contribution,
                     "share": share, "method": method})
        kids = tree.children(n.id or "")
        arith = [c for c in kids if c.relation != "informational"]
        change = val(b, n.kpi) - val(a, n.kpi)
        contribs: dict[str, float] = {}
        cmethod = ""
        if arith:
            fam = _FAMILY[arith[0].relation]
            xa = [val(a, c.kpi) for c in arith]
            xb = [val(b, c.kpi) for c in arith]
            if not all(np.isfinite(xa + xb)):
                contribs = {c.id or "": float("nan") for c in arith}
                cmethod = "missing"
            elif fam == "additive":
                contribs = {c.id or "": c.sign * (vb - va) for c, va, vb in zip(arith, xa, xb)}
                cmethod = "difference"
            else:
                exps = [1 if c.relation != "ratio_denominator" else -1 for c in arith]
                parts, cmethod = split_change(fam, xa, xb, exps)
                contribs = {c.id or "": p for c, p in zip(arith, parts)}
        for c in kids:
            if c.relation == "informational":
                visit(c, float("nan"), float("nan"), "informational")
            else:
                cv = contribs[c.id or ""]
                visit(c, cv, cv / change if change else float("nan"), cmethod)
        if arith and cmethod != "missing":
            resid = change - sum(contribs.values())
            scale = max(1.0, abs(val(a, n.kpi)), abs(val(b, n.kpi)), *(abs(x) for x in contribs.values()))
            if np.isfinite(change) and abs(resid) > 1e-9 * scale:
                rows.append({"node": f"{n.id}:(residual)", "kpi": None, "parent": n.id, "relation": "residual",
                             "layer": n.layer, "value_a": np.nan, "value_b": np.nan, "contribution": resid,
                             "share": resid / change if change else np.nan, "method": "residual"})

    for r in roots:
        ch = val(b, r.kpi) - val(a, r.kpi)
        visit(r, ch, 1.0 if ch else float("nan"), "change")
    return pd.DataFrame(rows, columns=["node", "kpi", "parent", "relation", "layer", "value_a", "value_b",
                                       "contribution", "share", "method"])


def attribute(tree: KpiTree | None = None, entity_kind: str = "company", entity_id: str | None = None,
              period_a: str | None = None, period_b: str | None = None, targets: Mapping[str, float] | None = None,
              warehouse: Any = None, root: str | None = None) -> pd.DataFrame:
    """Attribute the gap between base (period_a or targets) and actual (period_b) for one entity.

    With ``targets`` (KPI → target value), a = targets (KPIs without a target take the actual value
    of period_a, i.e. no gap) and b = actual of ``period_b or period_a``.
    """
    tree = tree or load_tree()
    if period_a is None:
        raise DefinitionError("attribute needs period_a (e.g. '2026-10')")
    kpis = sorted({n.kpi for n in tree.nodes})
    dim = ENTITY_DIMENSION.get(entity_kind, "missing")
    if dim == "missing":
        raise DefinitionError(f"unknown entity kind {entity_kind!r}")
    filters = {dim: entity_id} if dim else None
    kind = period_kind(period_a)

    def values(label: str) -> dict[str, float]:
        df = compute(kpis, by=[], period=kind, start=label, end=label, filters=filters, warehouse=warehouse)
        if df.empty:
            return {k: float("nan") for k in kpis}
        return {k: float(df.iloc[0][k]) for k in kpis}

    if targets is not None:
        b = values(period_b or period_a)
        a = {k: float(targets.get(k, b[k])) for k in kpis}
    else:
        if period_b is None:
            raise DefinitionError("attribute needs period_b or targets")
        a, b = values(period_a), values(period_b)
    return attribute_values(tree, a, b, root=root)



def in_root_terms(tree: KpiTree, attr: pd.DataFrame) -> pd.DataFrame:
    """``attr`` (from :func:`attribute_values` over ``tree``) with every row's ``contribution`` and ``share``
    as a part of the *root's* change.

    :func:`attribute_values` gives each node its contribution to its parent's change, in the parent's unit.
    Read down a tree, that misleads: the children of a cost subtracted from profit add up to the cost's
    own change (ad spend up 152,574: its sales part +162,956), not to what they did to profit (−162,956).
    Each node's factor, f(root) = 1, f(additive child) = f(parent) × sign, f(other child) = its part in the
    root's unit / its own change (an unchanged factor of a product or ratio: the LMDI weight's limit,
    L(P_a, P_b) / x), turns its children's parts into the root's unit; the parts still add up at every level.
    Under a node without a factor (unknown values) the rows read NaN.
    """
    d = attr.copy()
    if d.empty:
        return d
    signs = {n.id: n.sign for n in tree.nodes}
    factor: dict[Any, float] = {}
    values: dict[Any, tuple[float, float]] = {}
    root_change = float(d["contribution"].iloc[0])
    contribs: list[float] = []
    for i, r in enumerate(d.itertuples(index=False)):
        xa, xb = float(r.value_a), float(r.value_b)
        if i == 0:  # the root (its parent, if any, is outside this attribution)
            rc, f = root_change, 1.0
        else:
            f_parent = factor.get(r.parent, float("nan"))
            rc = f_parent * float(r.contribution)
            if r.relation == "additive":
                f = f_parent * signs.get(r.node, 1)
            elif not np.isfinite(xb - xa):  # an unknown value: no factor, the rows under it read NaN
                f = float("nan")
            elif xb != xa:
                f = rc / (xb - xa)
            else:  # unchanged factor of a product or ratio: the LMDI weight's limit, L(P_a, P_b) / x
                pa, pb = values.get(r.parent, (float("nan"), float("nan")))
                expo = -1 if r.relation == "ratio_denominator" else 1
                f = (f_parent * expo * _logmean(pb, pa) / xa) if min(pa, pb, xa) > 0 else float("nan")
        factor[r.node] = f if np.isfinite(f) else float("nan")
        values[r.node] = (xa, xb)
        contribs.append(rc)
    d["contribution"] = contribs
    d["share"] = [c / root_change if np.isfinite(root_change) and root_change != 0 else float("nan") for c in contribs]
    return d
