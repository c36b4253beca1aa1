"""The KPI tree attribution section: the waterfall of the root's change and the node table, every row a
part of the root's change (:func:`kpi_lib.tree.in_root_terms`), indented under its parent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .blocks import note, section, table
from .charts import chart_html, unit_title, waterfall_chart
from .fmt import esc, fmt_pct, t
from .sections import figure_text, record_figure, unit_formatter, with_coverage

__all__ = ['attribution_section', 'named_attribution']


def attribution_section(attr: pd.DataFrame, ctx: Any, key: str = "attribution") -> str:
    """Waterfall from the prior month's value to this month's, one bar per driver, plus the node table."""
    lang = ctx.lang
    if attr is None or attr.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    attr = named_attribution(attr, lang)
    root = attr.iloc[0]
    kids = attr[(attr["parent"] == root["node"]) & attr["contribution"].notna()]
    labels = [f'{root["name"]} {ctx.prior()}', *kids["name"], f'{root["name"]} {ctx.period}']
    vals = [root["value_a"], *kids["contribution"], root["value_b"]]
    root_unit = str(root.get("unit") or "money")
    title = t("chart.attribution", lang).format(name=root["name"], prior=ctx.prior(), period=ctx.period)
    fig = waterfall_chart(labels, vals, ["absolute", *(["relative"] * len(kids)), "total"], title=title,
                          fmt=unit_formatter(ctx, root_unit), y_title=unit_title(root_unit, ctx.currency, lang),
                          currency=ctx.currency, lang=lang, money=root_unit == "money")
    if root.get("unit") == "pct":
        fig.update_yaxes(tickformat=".1%")
    df = attr[attr["contribution"].notna()].copy()
    for r in df.to_dict("records"):
        for side, per in (("a", ctx.prior()), ("b", ctx.period)):
            record_figure(ctx, str(r["kpi"]), r[f"value_{side}"], unit=r["unit"], period=per, source="tree.attribute",
                 complete=r.get(f"complete_{side}", True), stores_covered=r.get(f"stores_covered_{side}"),
                 stores_total=r.get(f"stores_total_{side}"))
    tbl = _attr_table(df, ctx, str(root.get("root_unit", "money")))
    return section(key, lang, note(t("attribution_note", lang)) + chart_html(fig) + tbl)


def named_attribution(attr: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The attribution with every node named: a residual node (the part the tree does not split, no KPI)
    reads 'Other (not split further)'."""
    d = attr.copy()
    missing = d["name"].isna() | (d["name"].astype(str).str.strip() == "")
    d.loc[missing, "name"] = t("attribution.residual", lang)
    if "kpi" in d:
        d.loc[d["kpi"].isna(), "kpi"] = d.loc[d["kpi"].isna(), "node"].astype(str)
    return d


def _attr_value(r: Mapping[str, Any], side: str, ctx: Any) -> str:
    """A node's value for one month, with the stores it covers when that is only part of them ('(10/11)'),
    as the KPI tables print it."""
    return with_coverage(figure_text(r[f"value_{side}"], r["unit"], ctx, r["kpi"]), r.get(f"complete_{side}", True),
                         r.get(f"stores_covered_{side}"), r.get(f"stores_total_{side}"))


def _attr_table(df: pd.DataFrame, ctx: Any, root_unit: str) -> str:
    lang = ctx.lang
    d = df.copy()
    depth: dict[Any, int] = {}
    for node, parent in zip(d["node"], d["parent"]):  # rows come parent first
        depth[node] = depth[parent] + 1 if parent in depth else 0
    d["name"] = ["\u2003" * depth[n] + str(name) for n, name in zip(d["node"], d["name"])]  # indented by level
    recs = d.to_dict("records")
    d["a"] = [_attr_value(r, "a", ctx) for r in recs]
    d["b"] = [_attr_value(r, "b", ctx) for r in recs]
    return table(d, [("name", t("node", lang)), ("a", t("prior", lang)), ("b", t("actual", lang)),
                     ("contribution", t("contribution", lang)), ("share", t("share", lang))],
                 {"contribution": unit_formatter(ctx, root_unit), "share": lambda v: fmt_pct(v, 0)}, lang=lang)
