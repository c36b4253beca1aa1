"""Presentation helpers shared by every report template: formatting, badges, tables, charts, sections.

Templates never format a number or build HTML themselves; they call these functions (``from kpi_lib
import present as p``; ``p.show(p.kpi_status_section(...))``), so zh/en labels, money and percent
formats, status colours and the chart theme are the same in every report. Every text that comes from
data (store, person, SKU names) goes through :func:`esc`, so a name like ``<script>`` is shown as text.

The package, in the order its modules import each other:

- :mod:`.fmt` — labels (the one catalog, :mod:`kpi_lib.labels`), numbers, money, percentages,
  changes, badges;
- :mod:`.words` — sentences built from data: alerts, fee lines, contract terms, the exit clause,
  names of overhead items and activity types;
- :mod:`.blocks` — tables, notes, sections, page header and footer, the screen and print stylesheet;
- :mod:`.charts` — the chart theme (title and unit on every chart, values printed on bars, a note
  instead of an empty chart) and the figure-to-HTML embedding;
- :mod:`.sections`, :mod:`.attribution`, :mod:`.cost`, :mod:`.scorecard`, :mod:`.contract` — report sections;
- :mod:`.summary` — the opening summary: 3–5 sentences generated from the page's figures.

Charts are emitted as a ``<div>`` plus a small inline script calling ``Plotly.newPlot``; plotly.js
itself is added once per page by :mod:`kpi_lib.reports` (or once per output folder), never from a CDN.
"""

from __future__ import annotations

from .attribution import *
from .blocks import *
from .charts import *
from .contract import *
from .cost import *
from .fmt import *
from .plotly_bundle import *
from .scorecard import *
from .sections import *
from .summary import *
from .words import *
