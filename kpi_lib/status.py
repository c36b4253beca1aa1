"""KPI status words and their one colour palette (a base module: reports, widgets and the CLI read it).

A KPI × entity × period is ``green`` (on track), ``amber`` (at risk), ``red`` (off track), ``none``
(no target) or ``incomplete`` (a source is missing: grey, never green). The words people read are the
``status.*`` labels of :mod:`kpi_lib.labels`; the colours are here, once (hex, which Rich also prints).
"""

from __future__ import annotations

from typing import Any

STATUSES: tuple[str, ...] = ("green", "amber", "red", "none", "incomplete")
STATUS_COLORS: dict[str, str] = {"green": "#1a7f37", "amber": "#b7791f", "red": "#c53030", "none": "#718096",
                                 "incomplete": "#a0aec0"}


def status_color(status: Any) -> str:
    """The colour of a status (an unknown or empty status is shown like ``none``)."""
    return STATUS_COLORS.get(str(status) if status is not None else "none", STATUS_COLORS["none"])


__all__ = ["STATUSES", "STATUS_COLORS", "status_color"]
