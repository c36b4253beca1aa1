"""Start-up of `kpi report`: defer the IRI grammar jsonschema builds when nbformat imports it.

``jsonschema`` (imported by nbformat) imports ``rfc3987_syntax`` when it is installed, and that
module compiles a Lark grammar at import: ≈ 1 s of the command's start-up on a quiet machine, for a
format checker (``iri``, ``iri-reference``) that no notebook schema uses. :func:`defer_iri_grammar`
puts a stand-in module in ``sys.modules`` whose ``is_valid_syntax`` imports the real module on its
first call, so an IRI is still validated exactly as before, only the grammar is built when needed.
Importing this module applies it (``kpi_lib.reports`` imports it before nbformat).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

NAME = "rfc3987_syntax"
_LOCK = threading.Lock()


class DeferredModule(types.ModuleType):
    """Stands in for ``rfc3987_syntax`` until an attribute other than ``is_valid_syntax`` is read."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(real_module(), attr)


def real_module() -> types.ModuleType:
    """The real ``rfc3987_syntax`` (imported now if only the stand-in was there)."""
    with _LOCK:
        mod = sys.modules.get(NAME)
        if isinstance(mod, DeferredModule):
            del sys.modules[NAME]
            try:
                mod = importlib.import_module(NAME)
            except BaseException:
                sys.modules[NAME] = mod
                raise
        return mod if mod is not None else importlib.import_module(NAME)


def is_valid_syntax(term: str, value: str) -> bool:
    """``rfc3987_syntax.is_valid_syntax``, building its grammar on the first call."""
    return real_module().is_valid_syntax(term, value)


def defer_iri_grammar() -> bool:
    """Install the stand-in unless ``rfc3987_syntax`` (or jsonschema) is already imported or the
    package is not installed; True when installed now."""
    if NAME in sys.modules or "jsonschema" in sys.modules:
        return False
    spec = importlib.util.find_spec(NAME)
    if spec is None:
        return False
    stub = DeferredModule(NAME, __doc__)
    stub.__spec__ = spec
    stub.__path__ = list(spec.submodule_search_locations or [])
    stub.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[NAME] = stub
    return True


defer_iri_grammar()
