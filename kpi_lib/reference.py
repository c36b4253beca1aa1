"""Reference tables (data/reference/*.csv): stores, SKUs, cost history, FX, org, listings.

They are validated on load (every issue collected, with file, row and column) and copied into each
warehouse snapshot, so a figure can always be reproduced from the snapshot alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import paths
from .errors import ConfigError, IngestError

# file stem -> (required columns, key columns, date columns, numeric columns)
SPECS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "stores": (("store_id", "platform", "marketplace", "currency", "timezone", "launch_date", "team_id"),
               ("store_id",), ("launch_date",), ()),
    "skus": (("sku", "category", "unit_cogs", "first_leg_cost"), ("sku",), (), ("unit_cogs", "first_leg_cost", "duty_rate")),
    "sku_costs": (("sku", "valid_from", "unit_cogs", "first_leg_cost"), ("sku", "valid_from"), ("valid_from",),
                  ("unit_cogs", "first_leg_cost")),
    "fx_rates": (("month", "currency", "rate"), ("month", "currency"), (), ("rate",)),
    "teams": (("team_id",), ("team_id",), (), ()),
    "people": (("person_id", "name"), ("person_id",), (), ()),
    "assignments": (("person_id", "team_id", "store_id", "valid_from"), (), ("valid_from", "valid_to"), ()),
    "listings": (("store_id", "sku", "listed_on"), ("store_id", "sku", "listed_on"), ("listed_on", "delisted_on"), ()),
}
REQUIRED = ("stores", "fx_rates")


@dataclass
class Reference:
    """The validated reference tables, as pandas frames keyed by file stem."""

    tables: dict[str, pd.DataFrame]
    hashes: dict[str, str]
    directory: Path

    @property
    def stores(self) -> pd.DataFrame:
        return self.tables["stores"]

    def store(self, store_id: str) -> dict:
        s = self.stores
        row = s[s["store_id"] == store_id]
        if row.empty:
            known = ", ".join(s["store_id"].astype(str).tolist())
            raise IngestError(
                f"unknown store {store_id!r}: not in {self.directory / 'stores.csv'} (known stores: {known})"
            )
        return {k: ("" if pd.isna(v) else v) for k, v in row.iloc[0].to_dict().items()}

    def fx_lookup(self) -> dict[tuple[str, str], float]:
        fx = self.tables["fx_rates"]
        return {(str(m), str(c)): float(r) for m, c, r in zip(fx["month"], fx["currency"], fx["rate"])}

    def known_skus(self) -> set[str] | None:
        skus = self.tables.get("skus")
        return None if skus is None else set(skus["sku"].astype(str))


def load_reference(directory: Path | None = None) -> Reference:
    """Read and validate every reference CSV present; raise ConfigError listing all issues."""
    d = Path(directory) if directory else paths.reference_dir()
    if not d.is_dir():
        raise ConfigError(f"reference directory {d} not found: run `kpi generate` or pass --reference DIR")
    issues: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    hashes: dict[str, str] = {}
    for stem, (required, key, dates, numbers) in SPECS.items():
        f = d / f"{stem}.csv"
        if not f.is_file():
            if stem in REQUIRED:
                issues.append(f"{f}: missing (required)")
            continue
        raw = f.read_bytes()
        hashes[stem] = hashlib.sha256(raw).hexdigest()
        try:
            df = pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except Exception as exc:  # noqa: BLE001 - any parse failure is a user error about this file
            issues.append(f"{f}: cannot be read as CSV ({exc})")
            continue
        df.columns = [c.strip() for c in df.columns]
        missing = [c for c in required if c not in df.columns]
        if missing:
            issues.append(f"{f}: missing column(s) {', '.join(missing)} (expected at least {', '.join(required)})")
            continue
        for c in df.columns:
            df[c] = df[c].str.strip()
        for c in dates:
            if c in df.columns:
                parsed = pd.to_datetime(df[c].replace("", None), errors="coerce", format="%Y-%m-%d")
                bad = parsed.isna() & (df[c] != "")
                for i in df.index[bad][:5]:
                    issues.append(f"{f}: row {i + 2}, column {c}: {df.at[i, c]!r} is not a date (expected YYYY-MM-DD)")
                df[c] = parsed
        for c in numbers:
            if c in df.columns:
                vals = pd.to_numeric(df[c].replace("", None), errors="coerce")
                bad = vals.isna() & (df[c] != "")
                for i in df.index[bad][:5]:
                    issues.append(f"{f}: row {i + 2}, column {c}: {df.at[i, c]!r} is not a number")
                df[c] = vals
        if key:
            dup = df.duplicated(list(key), keep=False)
            if dup.any():
                first = df.index[dup][0]
                issues.append(f"{f}: duplicate key {tuple(df.loc[first, list(key)])} (row {first + 2}); {', '.join(key)} must be unique")
        tables[stem] = df
    if "fx_rates" in tables:
        fx = tables["fx_rates"]
        badm = ~fx["month"].str.fullmatch(r"\d{4}-\d{2}")
        for i in fx.index[badm][:5]:
            issues.append(f"{d / 'fx_rates.csv'}: row {i + 2}, column month: {fx.at[i, 'month']!r} (expected YYYY-MM)")
        nonpos = fx["rate"] <= 0
        for i in fx.index[nonpos.fillna(False)][:5]:
            issues.append(f"{d / 'fx_rates.csv'}: row {i + 2}, column rate: must be > 0")
    if "stores" in tables:
        s = tables["stores"]
        badc = ~s["currency"].str.fullmatch(r"[A-Z]{3}")
        for i in s.index[badc][:5]:
            issues.append(f"{d / 'stores.csv'}: row {i + 2}, column currency: {s.at[i, 'currency']!r} (expected an ISO code like USD)")
        import zoneinfo

        for i, tz in zip(s.index, s["timezone"]):
            try:
                zoneinfo.ZoneInfo(tz)
            except Exception:  # noqa: BLE001
                issues.append(f"{d / 'stores.csv'}: row {i + 2}, column timezone: unknown time zone {tz!r}")
    if issues:
        raise ConfigError(f"reference data in {d} is invalid", issues)
    return Reference(tables, hashes, d)


def reference_hashes_json(ref: Reference) -> str:
    return json.dumps(ref.hashes, sort_keys=True)
