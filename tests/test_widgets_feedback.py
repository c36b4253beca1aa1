"""Feedback where the user looks (issue 13.4): a button's message appears in the row of that button."""

from __future__ import annotations

import ipywidgets as W


def _row_of(root: W.Widget, target: W.Widget) -> W.Widget | None:
    """The innermost Box that holds ``target`` as a direct child."""
    for child in getattr(root, "children", ()) or ():
        if child is target:
            return root
        found = _row_of(child, target)
        if found is not None:
            return found
    return None


def test_tree_designer_messages_beside_their_buttons(project):
    from kpi_lib.widgets import TreeDesigner

    app = TreeDesigner(lang="en")
    used = {n.kpi for n in app.tree.nodes}
    app.kpi.value = next(k for k in app.catalog().ids() if k not in used)
    app.parent.value = "net_profit"
    app.add_button.click()
    assert "Added node" in app.edit_status.text
    assert _row_of(app.widget, app.edit_status.widget) is _row_of(app.widget, app.add_button)
    assert app.save_status.text == ""  # nothing far below
    app.save_button.click()
    assert "Saved" in app.save_status.text and app.edit_status.text == ""
    assert _row_of(app.widget, app.save_status.widget) is _row_of(app.widget, app.save_button)
