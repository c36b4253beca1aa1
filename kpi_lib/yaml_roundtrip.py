"""Round-trip YAML for the editors: load a parameter file, update one sub-tree, write it back.

Comments, key order, flow/block style and number spelling of everything that did not change are kept
(``ruamel.yaml`` round-trip mode). :func:`update` merges new plain data into the loaded node *in place*:
a value equal to the old one (numbers compared as decimals, so ``30000`` == ``"30000.0"``) keeps the
old node untouched; mappings are merged key by key (old order kept, new keys appended, missing keys
removed); lists are matched item by item by an identity key (``id``, ``kpi``, ``from``, ``name``)
or by position. Loading and dumping an unedited file gives the same bytes for the files under
parameters/ (tested). Writes are atomic (temporary file in the same folder, then rename).
"""

from __future__ import annotations

import io
import os
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .errors import ConfigError

IDENTITY_KEYS: tuple[str, ...] = ("id", "kpi", "from", "name")


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    y.representer.ignore_aliases = lambda *_a: True  # equal objects (dates) are written twice, never as &anchors
    return y


def loads(text: str) -> Any:
    """Parse YAML text into round-trip nodes (CommentedMap / CommentedSeq / scalars)."""
    try:
        return _yaml().load(text)
    except Exception as exc:  # noqa: BLE001 - ruamel raises many parser error types, all a user's YAML error
        raise ConfigError(f"YAML could not be parsed: {exc}") from None


def load(path: Path) -> Any:
    """The round-trip document of ``path`` (None for an empty or missing file)."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        return _yaml().load(p.read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001 - as in loads
        raise ConfigError(f"{p.name}: YAML could not be parsed: {exc}") from None


def dumps(doc: Any) -> str:
    """The document as YAML text (round-trip: comments and styles kept)."""
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    return buf.getvalue()


def dump(doc: Any, path: Path) -> None:
    """Write the document to ``path`` atomically."""
    write_text_atomic(Path(path), dumps(doc))


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path`` and rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _number(x: Any) -> Decimal | None:
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, (int, float, Decimal)):
        try:
            return Decimal(str(x))
        except InvalidOperation:
            return None
    if isinstance(x, str):
        try:
            return Decimal(x.strip())
        except InvalidOperation:
            return None
    return None


def same(old: Any, new: Any) -> bool:
    """Semantic equality of plain data (numbers as decimals; a number string equals the number)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(same(old[k], new[k]) for k in old)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(same(a, b) for a, b in zip(old, new, strict=True))
    if isinstance(old, (dict, list)) or isinstance(new, (dict, list)):
        return False
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool) and old == new
    a, b = _number(old), _number(new)
    if a is not None and b is not None and not (isinstance(old, str) and isinstance(new, str)):
        return a == b
    if isinstance(old, str) and isinstance(new, str):
        return str(old) == str(new)
    return old == new


def _identity(item: Any) -> Any:
    if isinstance(item, dict):
        for k in IDENTITY_KEYS:
            if k in item:
                v = item[k]
                return (k, str(v) if _number(v) is None else _number(v))
    return None


def _fresh(value: Any, like: Any = None) -> Any:
    """New plain data as round-trip nodes; a mapping inside a flow-style list is flow style too."""
    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            m[k] = _fresh(v)
        if isinstance(like, CommentedMap) and like.fa.flow_style():
            m.fa.set_flow_style()
        return m
    if isinstance(value, list):
        s = CommentedSeq()
        for v in value:
            s.append(_fresh(v))
        return s
    return value


def update(old: Any, new: Any) -> Any:
    """Merge plain ``new`` into round-trip ``old``; returns the node to keep (``old`` when equal)."""
    if same(old, new):
        return old
    if isinstance(old, CommentedMap) and isinstance(new, dict):
        for k in [k for k in old if k not in new]:
            del old[k]
        for k, v in new.items():
            if k in old:
                merged = update(old[k], v)
                if merged is not old[k]:
                    old[k] = merged
            else:
                old[k] = _fresh(v)
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        _update_list(old, new)
        return old
    return _fresh(new)


def _update_list(old: CommentedSeq, new: list[Any]) -> None:
    old_ids = [_identity(x) for x in old]
    new_ids = [_identity(x) for x in new]
    keyed = (None not in old_ids and None not in new_ids and len(set(old_ids)) == len(old_ids)
             and len(set(new_ids)) == len(new_ids))
    if not keyed:
        if len(old) == len(new):
            for i, v in enumerate(new):
                merged = update(old[i], v)
                if merged is not old[i]:
                    old[i] = merged
            return
        like = old[0] if len(old) else None
        del old[:]
        for v in new:
            old.append(_fresh(v, like))
        return
    like = old[0] if len(old) else None
    for i in reversed(range(len(old))):  # drop removed items first (the others keep their comments)
        if old_ids[i] not in new_ids:
            del old[i]
    ids = [_identity(x) for x in old]
    for pos, (ident, v) in enumerate(zip(new_ids, new, strict=True)):
        if ident in ids[pos:]:
            cur = ids.index(ident, pos)
            if cur != pos:
                old.insert(pos, old.pop(cur))
                ids.insert(pos, ids.pop(cur))
            merged = update(old[pos], v)
            if merged is not old[pos]:
                old[pos] = merged
        else:
            old.insert(pos, _fresh(v, like))
            ids.insert(pos, ident)


def update_file(path: Path, new: Any, at: tuple[Any, ...] = ()) -> tuple[str, str]:
    """(old text, new text) of ``path`` with the sub-tree at key path ``at`` replaced by ``new``.

    Nothing is written; call :func:`write_text_atomic` with the new text once it has been validated.
    """
    p = Path(path)
    old_text = p.read_text(encoding="utf-8") if p.is_file() else ""
    doc = loads(old_text) if old_text.strip() else None
    if not at:
        doc = update(doc, new) if doc is not None else _fresh(new)
    else:
        if doc is None:
            doc = CommentedMap()
        node = doc
        for key in at[:-1]:
            node = node[key]
        last = at[-1]
        if isinstance(node, dict) and last not in node:
            node[last] = _fresh(new)
        else:
            merged = update(node[last], new)
            if merged is not node[last]:
                node[last] = merged
    return old_text, dumps(doc)


__all__ = ["dump", "dumps", "load", "loads", "same", "update", "update_file", "write_text_atomic"]
