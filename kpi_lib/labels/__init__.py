"""One zh/en label catalog for every word a report, the index, a widget or the CLI shows.

The catalog is the union of the YAML files in this folder (``common.yaml``, ``reports.yaml``,
``widgets.yaml``, …); each maps a key to ``{zh: …, en: …}``. A key defined in two files is an
error, so a word has one translation everywhere. KPI names are not here: they come from the KPI
catalog (``parameters/kpis.yaml``, ``label_zh`` / ``label_en``).

Use :func:`label` (``label("status", "en") -> "Status"``); a missing key falls back to the key
itself so a page never breaks, and ``tests/test_labels.py`` scans rendered text for such keys.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

LANGS = ("zh", "en")
_DIR = Path(__file__).parent
# libyaml when PyYAML has it (the catalog is read by every report kernel, CLI call and widget: 0.12 → 0.02 s)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LabelCatalogError(ValueError):
    """A catalog file is malformed or two files define the same key."""


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    """Every label: ``{key: {"zh": ..., "en": ...}}`` merged from this folder's YAML files."""
    merged: dict[str, dict[str, str]] = {}
    where: dict[str, str] = {}
    for path in sorted(_DIR.glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        if not isinstance(data, dict):
            raise LabelCatalogError(f"{path.name}: expected a mapping of key -> {{zh, en}}")
        for key, entry in data.items():
            if not isinstance(entry, dict) or set(entry) != set(LANGS):
                raise LabelCatalogError(f"{path.name}: label {key!r} must have exactly zh and en")
            if key in merged:
                raise LabelCatalogError(f"label {key!r} is defined in both {where[key]} and {path.name}")
            merged[str(key)] = {lang: str(entry[lang]) for lang in LANGS}
            where[str(key)] = path.name
    return merged


def label(key: str, lang: str = "zh") -> str:
    """The label ``key`` in ``lang`` ("zh" or "en"); the key itself when the catalog lacks it."""
    entry = catalog().get(key)
    if entry is None:
        return key
    return entry["en" if lang == "en" else "zh"]


def has_label(key: str) -> bool:
    """Whether the catalog defines ``key``."""
    return key in catalog()


def pair(key: str) -> tuple[str, str]:
    """``(zh, en)`` for ``key`` (the key twice when missing)."""
    return label(key, "zh"), label(key, "en")


# a space a template put between a name and the Chinese word after it ("{kpi} 的目标" with kpi = 净利润率):
# Chinese sets no space between two Chinese characters; beside Latin letters or digits the space stays
# ("ACoS 的目标", "为 31.2%")
_ZH_GAP = re.compile(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])")


def tidy_zh(text: str) -> str:
    """``text`` without the single spaces between two Chinese characters that filled-in templates leave."""
    return _ZH_GAP.sub("", text)
