"""Ingestion of platform exports into the canonical warehouse (see ``pipeline.ingest``).

Readers live in one registry (``registry.REGISTRY``); ``load_builtin_readers`` is kept for callers
that want the built-in readers imported up front.
"""

from __future__ import annotations

from .registry import REGISTRY


def load_builtin_readers() -> None:
    """Import the reader modules once so their registrations run."""
    REGISTRY.load_builtins()
