"""Safe KPI formulas: parsed with Python's ``ast`` against a short allow-list, never evaluated as Python.

A formula is arithmetic over measure ids and KPI ids: ``+ - * /``, unary minus, parentheses,
numeric constants and the functions ``min``, ``max``, ``abs`` with positional arguments. Anything
else (attribute access, subscripts, other calls, lambdas, comparisons, strings…) is a
``DefinitionError`` naming the KPI and the offending token. Evaluation walks the tree over pandas
Series (vectorised), so ratios are computed from the grouped sums: a ratio of sums at every grain.
Division by zero yields NaN.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import DefinitionError

if TYPE_CHECKING:  # pragma: no cover - types only: kpi_lib.definitions imports this module (formulas)
    from .definitions import Catalog

FUNCTIONS = {"min", "max", "abs"}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)

Value = pd.Series | float


def _token(node: ast.AST, source: str) -> str:
    seg = ast.get_source_segment(source, node)
    return seg if seg else type(node).__name__


def _who(kpi: str | None) -> str:
    """How an error names the formula's owner: ``KPI 'net_margin'``, or just ``formula`` when none is given."""
    return f"KPI {kpi!r}" if kpi else "formula"


@lru_cache(maxsize=1024)
def _parse_cached(formula: str, kpi: str | None) -> ast.Expression:
    if not isinstance(formula, str) or not formula.strip():
        raise DefinitionError(f"{_who(kpi)}: empty formula")
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except SyntaxError as exc:
        raise DefinitionError(
            f"{_who(kpi)}: formula {formula!r} is not valid arithmetic ({exc.msg} at column {exc.offset})"
        ) from None
    src = formula.strip()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Expression, ast.Load, *_BINOPS)):
            continue
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BINOPS):
                raise DefinitionError(
                    f"{_who(kpi)}: operator {type(node.op).__name__} in {_token(node, src)!r} is not allowed "
                    "(use + - * / and parentheses)"
                )
            continue
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise DefinitionError(f"{_who(kpi)}: {_token(node, src)!r} is not allowed (only unary minus)")
            continue
        if isinstance(node, (ast.USub, ast.UAdd)):
            continue
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise DefinitionError(f"{_who(kpi)}: constant {_token(node, src)!r} is not allowed (numbers only)")
            continue
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise DefinitionError(f"{_who(kpi)}: name {node.id!r} is not allowed")
            continue
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise DefinitionError(
                    f"{_who(kpi)}: call {_token(node.func, src)!r} is not allowed (only min, max, abs)"
                )
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args) or not node.args:
                raise DefinitionError(f"{_who(kpi)}: {_token(node, src)!r}: use positional arguments only")
            if node.func.id == "abs" and len(node.args) != 1:
                raise DefinitionError(f"{_who(kpi)}: abs takes exactly one argument in {_token(node, src)!r}")
            continue
        raise DefinitionError(
            f"{_who(kpi)}: {_token(node, src)!r} ({type(node).__name__}) is not allowed in a formula; "
            "use arithmetic over measures and KPIs (+ - * /, numbers, min, max, abs)"
        )
    return tree


def parse(formula: str, kpi: str | None = None) -> ast.Expression:
    """The checked syntax tree of ``formula`` (DefinitionError on anything outside the allow-list)."""
    return _parse_cached(formula, kpi)


def names(formula: str, kpi: str | None = None) -> set[str]:
    """Measure and KPI ids a formula refers to (function names excluded)."""
    tree = parse(formula, kpi)
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in funcs}


def split_ratio(formula: str, kpi: str | None = None) -> tuple[str, str] | None:
    """``(numerator, denominator)`` source text when the formula is a top-level division."""
    tree = parse(formula, kpi)
    body = tree.body
    if isinstance(body, ast.BinOp) and isinstance(body.op, ast.Div):
        src = formula.strip()
        return ast.get_source_segment(src, body.left) or "", ast.get_source_segment(src, body.right) or ""
    return None


def dependency_order(catalog: Catalog, kpis: list[str]) -> list[str]:
    """KPIs (the requested ones and every KPI they use) in an order where dependencies come first.

    A reference that is neither a KPI nor a measure, or a cycle, is a DefinitionError; a cycle is
    shown as its path (``a -> b -> a``).
    """
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(k: str, stack: list[str]) -> None:
        if state.get(k) == 2:
            return
        if state.get(k) == 1:
            cyc = stack[stack.index(k):] + [k]
            raise DefinitionError(f"KPI formulas form a cycle: {' -> '.join(cyc)}")
        state[k] = 1
        d = catalog.get(k)
        for n in sorted(names(d.formula, k)):
            if n in catalog.kpis:
                visit(n, stack + [k])
            elif n not in catalog.measures:
                raise DefinitionError(
                    f"KPI {k!r}: formula {d.formula!r} refers to unknown name {n!r} "
                    "(not a measure or KPI; see `kpi_lib.definitions.MEASURES`)"
                )
        state[k] = 2
        order.append(k)

    for k in kpis:
        visit(k, [])
    return order


def required_measures(catalog: Catalog, kpis: list[str]) -> set[str]:
    """Base measures needed to evaluate ``kpis``."""
    out: set[str] = set()
    for k in dependency_order(catalog, kpis):
        out |= {n for n in names(catalog.kpis[k].formula, k) if n in catalog.measures and n not in catalog.kpis}
    return out


def _div(a: Value, b: Value) -> Value:
    # no np.errstate needed: pandas silences NumPy's flags in Series arithmetic itself, scalars are
    # Python floats here (``_eval`` converts names), and a zero divisor never reaches the division
    if isinstance(b, pd.Series):
        b = b.astype("float64").where(b != 0)
        return a / b
    if b == 0 or (isinstance(b, float) and np.isnan(b)):
        return a * np.nan if isinstance(a, pd.Series) else float("nan")
    return a / b


def _eval(node: ast.AST, env: Mapping[str, Value], kpi: str | None) -> Value:
    if isinstance(node, ast.Expression):
        return _eval(node.body, env, kpi)
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise DefinitionError(f"{_who(kpi)}: unknown name {node.id!r}")
        v = env[node.id]
        return v.astype("float64") if isinstance(v, pd.Series) else float(v)
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env, kpi)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, env, kpi), _eval(node.right, env, kpi)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        return _div(a, b)
    if isinstance(node, ast.Call):
        args = [_eval(a, env, kpi) for a in node.args]
        fn = node.func.id  # type: ignore[attr-defined]
        if fn == "abs":
            return abs(args[0])
        out = args[0]
        for x in args[1:]:
            out = (np.minimum if fn == "min" else np.maximum)(out, x)
        return out
    raise DefinitionError(f"{_who(kpi)}: unsupported node {type(node).__name__}")  # unreachable after parse


def evaluate(formula: str, env: Mapping[str, Value], kpi: str | None = None) -> Value:
    """Evaluate a checked formula over Series/scalars in ``env`` (x / 0 -> NaN)."""
    return _eval(parse(formula, kpi), env, kpi)
