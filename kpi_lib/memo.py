"""What is worked out once from an object (a frame) and kept while the same object is asked again.

A report asks several times for what one frame gives (an entity's monthly rows, the waterfall of the batch's
rows): :class:`ByObject` keeps the answer under the object's identity plus the caller's key, and keeps the
object itself with it, so an id is never reused while its entry lives. Bounded: the oldest entry leaves first.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any


class ByObject:
    """Answers worked out from an object, at most ``size`` of them (the oldest leaves first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: dict[tuple, tuple[Any, Any]] = {}

    def get(self, obj: Any, *key: Hashable) -> Any:
        """The answer kept for ``obj`` (the same object, not an equal one) and ``key``; None when none is."""
        hit = self._kept.get((id(obj), *key))
        return hit[1] if hit is not None and hit[0] is obj else None

    def put(self, obj: Any, *key: Hashable, value: Any) -> Any:
        """Keep ``value`` for ``obj`` and ``key``; returns it."""
        while len(self._kept) >= self.size:
            self._kept.pop(next(iter(self._kept)))
        self._kept[(id(obj), *key)] = (obj, value)
        return value
