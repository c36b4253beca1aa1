"""The user-facing exception hierarchy.

Every error a user can cause (a bad file, a bad YAML key, a missing FX rate) is a ``KpiError``
subclass whose message says what was expected and how to fix it. The CLI prints these as one red
line and exits non-zero; anything else is a bug and shows its traceback.
"""

from __future__ import annotations


class KpiError(Exception):
    """Root of all user errors raised by kpi_lib."""

    exit_code: int = 1


class ConfigError(KpiError):
    """A YAML or reference file under parameters/ or data/reference/ is invalid.

    ``issues`` holds every problem found (path within the file + message), so callers can show all
    of them at once instead of stopping at the first.
    """

    def __init__(self, message: str, issues: list[str] | None = None) -> None:
        self.issues = list(issues or [])
        full = message if not self.issues else message + "\n" + "\n".join(f"  - {i}" for i in self.issues)
        super().__init__(full)


class IngestError(KpiError):
    """A raw export cannot be read (unknown format, unknown store, wrong currency, missing FX)."""

    exit_code = 2


class DefinitionError(KpiError):
    """A KPI definition, formula or KPI tree is invalid."""


class TargetError(KpiError):
    """Targets, cascades or adjustments are invalid or inconsistent."""


class SettlementError(KpiError):
    """A contract or its fee terms cannot be settled."""


class RenderError(KpiError):
    """A report template or its parameters are invalid, or rendering failed."""


class WarehouseError(KpiError):
    """The warehouse is missing, empty or inconsistent (run `kpi ingest` first)."""


class DeliveryError(KpiError):
    """`kpi send` cannot deliver: SMTP settings missing, a recipient unknown, or a send failed."""


__all__ = [
    "ConfigError",
    "DefinitionError",
    "DeliveryError",
    "IngestError",
    "KpiError",
    "RenderError",
    "SettlementError",
    "TargetError",
    "WarehouseError",
]
