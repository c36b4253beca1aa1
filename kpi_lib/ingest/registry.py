"""The one reader registry: built-in platform readers and the user's column mappings.

Readers are chosen by a file's header and content, never its name. Built-in readers register
themselves when their module under ``kpi_lib.ingest.readers`` is imported (``@register`` for a
``Reader`` class, ``register_instance`` for a built reader such as a built-in mapping). Sources
whose readers can change while the process runs (the user mappings in
``parameters/mappings/*.yaml``) add a *refresh hook* that is run before every lookup, so a mapping
saved by the onboarding notebook is used by the next ingest without a restart.

``REGISTRY.readers()`` lists them in sniffing order (specific readers first, by ``priority`` then
name; user mappings last); ``REGISTRY.detect(path, store)`` returns the first reader for the
store's platform whose ``sniff`` accepts the file; ``detect_and_read`` is the per-file work unit
both the in-process and the Dask ingest run.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import traceback
from collections.abc import Callable
from pathlib import Path

from ..errors import IngestError, KpiError
from .base import Reader, ReadResult, Store, file_head

READERS_PACKAGE = "kpi_lib.ingest.readers"


class ReaderRegistry:
    """Every reader the ingest knows, by name; built-ins loaded once, refresh hooks run per lookup."""

    def __init__(self, package: str = READERS_PACKAGE) -> None:
        self._readers: dict[str, Reader] = {}
        self._hooks: list[Callable[[], object]] = []
        self._package = package
        self._loaded = False

    # -- registration ------------------------------------------------------------------------
    def add(self, reader: Reader) -> Reader:
        """Register (or replace) a reader instance under its ``name``."""
        self._readers[reader.name] = reader
        return reader

    def remove(self, name: str) -> None:
        """Forget a reader (no error when unknown)."""
        self._readers.pop(name, None)

    def add_refresh_hook(self, hook: Callable[[], object]) -> None:
        """Run ``hook()`` before every lookup (e.g. re-read the user mappings when they changed)."""
        if hook not in self._hooks:
            self._hooks.append(hook)

    def load_builtins(self) -> None:
        """Import every module of the readers package once, so their registrations run."""
        if self._loaded:
            return
        self._loaded = True
        pkg = importlib.import_module(self._package)
        for mod in pkgutil.walk_packages(pkg.__path__, prefix=f"{self._package}."):
            importlib.import_module(mod.name)

    def builtin_readers(self) -> dict[str, Reader]:
        """A copy of the registry without the user mappings (readers built from a YAML file), by
        name: what a test or preview that must not see the project's mappings installs."""
        self.readers()
        return {k: r for k, r in self._readers.items()
                if not str(getattr(r, "source", "")).endswith((".yaml", ".yml"))}

    # -- lookup ------------------------------------------------------------------------------
    def readers(self) -> list[Reader]:
        """All readers in sniffing order: specific ones first, user mapping readers last."""
        self.load_builtins()
        for hook in self._hooks:
            hook()
        return sorted(self._readers.values(), key=lambda r: (getattr(r, "priority", 50), r.name))

    def get(self, name: str) -> Reader:
        """The reader called ``name``; an IngestError listing the known names otherwise."""
        found = {r.name: r for r in self.readers()}
        if name not in found:
            raise IngestError(f"unknown reader {name!r}; known: {', '.join(found)}")
        return found[name]

    def detect(self, path: Path, store: Store) -> Reader:
        """The reader that recognises this file (by header and content) for the store's platform."""
        head = file_head(path)
        if not head.raw:
            raise IngestError(f"{path}: file is empty (expected a platform export with a header row)")
        if head.xlsx_rows is None and not head.text.strip():
            raise IngestError(f"{path}: not a text or xlsx file (binary content); expected CSV/TSV/xlsx")
        candidates = self.readers()
        for r in candidates:
            if r.platforms and store.platform not in r.platforms:
                continue
            try:
                ok = r.sniff(head)
            except Exception:  # noqa: BLE001 - a sniffer failing means "not mine"
                ok = False
            if ok:
                return r
        expected = ", ".join(sorted({r.name for r in candidates if not r.platforms or store.platform in r.platforms}))
        first = head.lines[0][:120] if head.lines else (str(head.xlsx_rows[0])[:120] if head.xlsx_rows else "")
        raise IngestError(
            f"{path}: no reader recognises this file for a {store.platform} store "
            f"(header starts {first!r}); expected one of: {expected}; "
            "for a new export add a mapping in parameters/mappings/"
        )


REGISTRY = ReaderRegistry()


def register(cls: type[Reader]) -> type[Reader]:
    """Class decorator: add an instance of a reader class to the registry (by its ``name``)."""
    REGISTRY.add(cls())
    return cls


def register_instance(reader: Reader) -> None:
    """Add a built reader (e.g. a mapping reader) to the registry."""
    REGISTRY.add(reader)


def unregister(name: str) -> None:
    """Remove a reader from the registry."""
    REGISTRY.remove(name)


def readers() -> list[Reader]:
    """All registered readers in sniffing order (see ``ReaderRegistry.readers``)."""
    return REGISTRY.readers()


def get_reader(name: str) -> Reader:
    """The registered reader called ``name``."""
    return REGISTRY.get(name)


def detect(path: Path, store: Store) -> Reader:
    """The reader that recognises ``path`` for ``store`` (see ``ReaderRegistry.detect``)."""
    return REGISTRY.detect(path, store)


def detect_and_read(path: Path, store: Store) -> tuple[str | None, ReadResult | None, str | None]:
    """Work unit: detect and read one file → (reader name, result, error). A user error (KpiError)
    or any failure of an unreadable file comes back as the error text, so the other files go on."""
    try:
        reader = detect(path, store)
        return reader.name, reader.read(path, store), None
    except KpiError as exc:
        return None, None, str(exc)
    except Exception as exc:
        if os.environ.get("KPI_DEBUG"):
            raise
        return None, None, (f"{path}: cannot be read ({type(exc).__name__}: {exc})\n"
                                   + traceback.format_exc(limit=3))
