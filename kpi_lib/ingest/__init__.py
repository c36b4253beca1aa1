"""Ingestion of platform exports into the canonical warehouse (see ``pipeline.ingest``)."""

from __future__ import annotations

_LOADED = False


def load_builtin_readers() -> None:
    """Import the reader modules once so their ``@register`` decorators run."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import importlib
    import pkgutil

    from . import readers as _pkg

    for mod in pkgutil.iter_modules(_pkg.__path__):
        importlib.import_module(f"{_pkg.__name__}.{mod.name}")
