"""One home per parameter file: its pydantic model, ``load``, ``validate`` and ``save``.

==================  =====================================  ===========================================
module              file under parameters/                 model
==================  =====================================  ===========================================
``kpis``            kpis.yaml                              :class:`~kpi_lib.spec.kpis.KpisFile`
``tree``            kpi_tree.yaml                          :class:`~kpi_lib.spec.tree.KpiTree`
``targets``         targets/*.yaml                         :class:`~kpi_lib.spec.targets.TargetsFile`
``adjustments``     adjustments.yaml                       :class:`~kpi_lib.spec.adjustments.AdjustmentsFile`
``alerts``          alerts.yaml                            :class:`~kpi_lib.spec.alerts.AlertConfig`
``contracts``       contracts.yaml                         :class:`~kpi_lib.spec.contracts.ContractsFile`
``scorecards``      scorecards.yaml                        :class:`~kpi_lib.spec.scorecards.ScorecardConfig`
``overheads``       overheads.yaml                         :class:`~kpi_lib.spec.overheads.Overheads`
``mappings``        mappings/*.yaml                        :class:`~kpi_lib.spec.mappings.Mapping`
``batches``         batches/*.yaml                         :class:`~kpi_lib.spec.batches.Batch`
``actions``         actions.yaml                           :class:`~kpi_lib.spec.actions.ActionsFile`
``recipients``      recipients.yaml                        :class:`~kpi_lib.spec.recipients.RecipientsFile`
``workbench``       workbench.yaml                         :class:`~kpi_lib.spec.workbench.Workbench`
==================  =====================================  ===========================================

Each module has ``SPEC`` (a :class:`Spec`), ``load(path=None)``, ``validate(obj, context=None)``
(schema and cross-file issues, each naming file, position and field) and ``save(obj, path=None)``
(validate, refuse invalid, round-trip merge, atomic write; an unchanged object writes nothing).
Nothing else writes a parameter file. This package is a base layer: it imports ``config``,
``errors``, ``paths``, ``yaml_roundtrip`` and the ``schemas`` data dictionary, never the engine.
"""

from __future__ import annotations

from . import (
    actions,
    adjustments,
    alerts,
    batches,
    contracts,
    kpis,
    mappings,
    overheads,
    recipients,
    scorecards,
    targets,
    tree,
    workbench,
)
from ._base import Checker, Context, Issue, Spec, check_period_label

#: every spec, in the order `kpi validate` checks the files
ALL: tuple[Spec, ...] = (workbench.SPEC, kpis.SPEC, tree.SPEC, targets.SPEC, adjustments.SPEC, alerts.SPEC,
                         actions.SPEC, contracts.SPEC, scorecards.SPEC, overheads.SPEC, batches.SPEC,
                         recipients.SPEC, mappings.SPEC)

__all__ = ["ALL", "Checker", "Context", "Issue", "Spec", "actions", "adjustments", "alerts", "batches",
           "check_period_label", "contracts", "kpis", "mappings", "overheads", "recipients", "scorecards", "targets",
           "tree", "workbench"]
