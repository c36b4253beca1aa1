"""The demo company: fixed ids, calendar, reference tables and the simulated order lines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# ---- fixed ids (docs/contracts.md) --------------------------------------------------------------
STORES = [
    # store_id, store_name, platform, marketplace, currency, timezone, launch (None = derived), team
    ("AMZ-US-01", "Homeware Hub US", "amazon", "US", "USD", "America/Los_Angeles", "2021-03-15", "T-AMZ"),
    ("AMZ-US-02", "GadgetNest US", "amazon", "US", "USD", "America/Los_Angeles", "2022-05-09", "T-AMZ"),
    ("AMZ-DE-01", "Homeware Hub DE", "amazon", "DE", "EUR", "Europe/Berlin", "2022-09-01", "T-AMZ"),
    ("AMZ-US-03", "PetPal Goods US", "amazon", "US", "USD", "America/Los_Angeles", None, "T-AMZ"),
    ("SHP-MY-01", "Homeware Hub MY", "shopee", "MY", "MYR", "Asia/Kuala_Lumpur", "2022-02-14", "T-SEA"),
    ("SHP-SG-01", "Homeware Hub SG", "shopee", "SG", "SGD", "Asia/Singapore", "2023-01-09", "T-SEA"),
    ("SHP-MY-02", "ActiveLife MY", "shopee", "MY", "MYR", "Asia/Kuala_Lumpur", None, "T-SEA"),
    ("TTS-US-01", "Homeware Hub TikTok", "tiktok", "US", "USD", "America/Los_Angeles", "2023-06-01", "T-DTC"),
    ("SFY-US-01", "Homeware Hub Direct", "shopify", "US", "USD", "America/New_York", "2021-11-20", "T-DTC"),
    ("LZD-TH-01", "Homeware Hub TH", "lazada", "TH", "THB", "Asia/Bangkok", "2023-03-20", "T-SEA"),
    ("WMT-US-01", "Homeware Hub Walmart", "walmart", "US", "USD", "America/Chicago", "2023-08-15", "T-DTC"),
]
STORE_IDS = [s[0] for s in STORES]
# steady-state share of order lines, number of SKUs sold, growth per year
STORE_SHAPE = {
    "AMZ-US-01": (0.21, 120, 0.25), "AMZ-US-02": (0.13, 95, 0.18), "AMZ-DE-01": (0.10, 85, 0.22),
    "AMZ-US-03": (0.08, 80, 0.0), "SHP-MY-01": (0.10, 60, 0.35), "SHP-SG-01": (0.06, 45, 0.20),
    "SHP-MY-02": (0.06, 40, 0.0), "TTS-US-01": (0.09, 35, 0.60), "SFY-US-01": (0.05, 50, 0.10),
    "LZD-TH-01": (0.06, 45, 0.30), "WMT-US-01": (0.07, 60, 0.28),
}
TEAMS = [
    ("T-AMZ", "Amazon team", "亚马逊组", "P01"),
    ("T-SEA", "Shopee/Lazada team", "东南亚组", "P06"),
    ("T-DTC", "TikTok/Shopify/Walmart team", "独立站与新平台组", "P09"),
]
PEOPLE = [
    ("P01", "Chen Wei", "陈伟", "manager"), ("P02", "Emily Zhang", "张艾米", "operator"),
    ("P03", "Liu Yang", "刘洋", "operator"), ("P04", "Jason Wang", "王杰森", "ads"),
    ("P05", "Li Na", "李娜", "operator"), ("P06", "Huang Min", "黄敏", "manager"),
    ("P07", "Sophie Lin", "林苏菲", "operator"), ("P08", "Zhao Lei", "赵磊", "service"),
    ("P09", "Michael Xu", "徐迈克", "manager"), ("P10", "Zhou Ting", "周婷", "operator"),
    ("P11", "Kevin Sun", "孙凯文", "ads"), ("P12", "Wu Fang", "吴芳", "service"),
]
CURRENCIES = ["CNY", "USD", "EUR", "MYR", "SGD", "THB"]
FX_START = {"CNY": (1.0, 1.0, 1.0), "USD": (7.2, 7.1, 7.3), "EUR": (7.85, 7.7, 8.0), "MYR": (1.55, 1.5, 1.6),
            "SGD": (5.4, 5.3, 5.5), "THB": (0.205, 0.20, 0.21)}
# price in local currency per 1 USD of base price, and rounding ending
PRICE_FACTOR = {"USD": (1.0, 0.99), "EUR": (0.97, 0.99), "MYR": (3.3, 0.90), "SGD": (1.15, 0.90), "THB": (27.0, 0.0)}

CATEGORIES = [
    # prefix, name, count, base price range USD, return rate, commission, fba fee per unit, duty
    ("HK", "home & kitchen", 50, (9, 45), 0.03, 0.15, 4.2, 0.04),
    ("EL", "electronics", 35, (15, 80), 0.08, 0.08, 4.8, 0.02),
    ("AP", "apparel", 40, (12, 50), 0.16, 0.17, 3.9, 0.12),
    ("BE", "beauty", 35, (8, 35), 0.04, 0.15, 3.3, 0.05),
    ("TY", "toys", 30, (10, 40), 0.05, 0.15, 4.5, 0.00),
    ("SP", "sports", 30, (12, 60), 0.06, 0.15, 5.1, 0.04),
    ("PT", "pet", 20, (9, 40), 0.04, 0.15, 4.6, 0.03),
]
_NAMES = {
    "HK": (["Bamboo", "Stainless", "Ceramic", "Silicone", "Glass", "Cast Iron", "Linen", "Acacia"],
           ["Cutting Board", "Spatula Set", "Storage Jar", "Knife Block", "Mixing Bowl", "Tea Kettle", "Spice Rack",
            "Dish Rack", "Oven Mitts"]),
    "EL": (["Wireless", "USB-C", "Magnetic", "Portable", "Smart", "Bluetooth", "Fast"],
           ["Charger", "Earbuds", "Power Bank", "Cable 2m", "LED Desk Lamp", "Phone Stand", "Speaker", "Hub"]),
    "AP": (["Cotton", "Merino", "Quick-Dry", "Fleece", "Linen", "Stretch"],
           ["T-Shirt", "Hoodie", "Socks 3-Pack", "Joggers", "Beanie", "Polo Shirt", "Leggings"]),
    "BE": (["Vitamin C", "Hyaluronic", "Rose", "Argan", "Charcoal", "Aloe"],
           ["Serum", "Face Mask", "Hair Oil", "Lip Balm", "Body Lotion", "Cleanser"]),
    "TY": (["Wooden", "Magnetic", "Plush", "STEM", "Musical", "Foam"],
           ["Puzzle", "Building Blocks", "Dinosaur", "Train Set", "Robot Kit", "Bath Toy"]),
    "SP": (["Non-Slip", "Adjustable", "Insulated", "Resistance", "Foldable", "Lightweight"],
           ["Yoga Mat", "Dumbbell", "Water Bottle", "Jump Rope", "Bands Set", "Gym Bag"]),
    "PT": (["Orthopedic", "Interactive", "Stainless", "Reflective", "Calming"],
           ["Dog Bed", "Cat Toy", "Pet Bowl", "Leash", "Grooming Brush", "Chew Toy"]),
}


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), *[int(k) for k in keys]]))


def add_months(ym: str, k: int) -> str:
    y, m = map(int, ym.split("-"))
    i = y * 12 + (m - 1) + k
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def default_end(today: dt.date | None = None) -> str:
    t = today or dt.date.today()
    return add_months(f"{t.year:04d}-{t.month:02d}", -1)


@dataclass
class Period:
    end: str
    months: list[str]
    start_date: np.datetime64
    end_date: np.datetime64  # inclusive, last day
    days: np.ndarray = field(repr=False)

    @classmethod
    def of(cls, end: str) -> Period:
        months = [add_months(end, -17 + i) for i in range(18)]
        start = np.datetime64(months[0] + "-01")
        last = np.datetime64(add_months(end, 1) + "-01") - np.timedelta64(1, "D")
        return cls(end, months, start, last, np.arange(start, last + np.timedelta64(1, "D")))


def launch_dates(period: Period) -> dict[str, np.datetime64]:
    out = {}
    for s in STORES:
        if s[6]:
            out[s[0]] = np.datetime64(s[6])
    out["AMZ-US-03"] = np.datetime64(add_months(period.end, -2) + "-01") + np.timedelta64(9, "D")
    out["SHP-MY-02"] = np.datetime64(add_months(period.end, -1) + "-01") + np.timedelta64(4, "D")
    return out


def p05_switch(period: Period) -> np.datetime64:
    """The day P05 starts on T-SEA: 1 July inside the period (else the period's midpoint)."""
    lo = period.start_date + np.timedelta64(60, "D")
    hi = period.end_date - np.timedelta64(60, "D")
    cands = [np.datetime64(f"{y}-07-01") for y in range(int(str(period.start_date)[:4]), int(str(period.end_date)[:4]) + 1)]
    cands = [c for c in cands if lo <= c <= hi]
    return cands[-1] if cands else period.start_date + np.timedelta64(len(period.days) // 2, "D")


# ---- reference tables ---------------------------------------------------------------------------


@dataclass
class World:
    seed: int
    scale: float
    period: Period
    stores: pd.DataFrame
    skus: pd.DataFrame  # + helper columns: base_usd, return_rate, commission, fba_fee, asin, fnsku, weight
    sku_costs: pd.DataFrame
    fx: pd.DataFrame
    teams: pd.DataFrame
    people: pd.DataFrame
    assignments: pd.DataFrame
    listings: pd.DataFrame
    store_skus: dict[str, pd.DataFrame]  # per store: sku, price, weight(popularity), listed_on, delisted_on
    launch: dict[str, np.datetime64]
    switch: np.datetime64


def _alnum(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    chars = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"))
    idx = rng.integers(0, len(chars), size=(n, k))
    return np.array(["".join(r) for r in chars[idx]], dtype=object)


def build_world(seed: int, scale: float, end: str) -> World:
    period = Period.of(end)
    launch = launch_dates(period)
    switch = p05_switch(period)
    rng = rng_for(seed, 1)
    # skus
    rows = []
    for ci, (prefix, cat, count, (lo, hi), rr, comm, fee, duty) in enumerate(CATEGORIES):
        adjs, nouns = _NAMES[prefix]
        for i in range(count):
            name = f"{adjs[i % len(adjs)]} {nouns[(i * 7 + i // len(adjs)) % len(nouns)]}"
            if i % 6 == 5:
                name += f", {2 + i % 4} pcs"
            base = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
            rows.append((f"{prefix}-{1001 + i}", name, cat, base, rr, comm, fee * rng.uniform(0.85, 1.2), duty))
    skus = pd.DataFrame(rows, columns=["sku", "name", "category", "base_usd", "return_rate", "commission",
                                       "fba_fee", "duty_rate"])
    n = len(skus)
    skus["unit_cogs"] = np.round(skus["base_usd"] * 7.2 * rng.uniform(0.28, 0.42, n), 2)  # landed cost ≈ 28–42% of the USD price
    skus["weight"] = np.round(rng.uniform(0.1, 2.5, n), 3)
    skus["first_leg_cost"] = np.round(skus["weight"] * rng.uniform(6.0, 12.0, n), 2)
    skus["cost_currency"] = "CNY"
    skus["asin"] = "B0" + pd.Series(_alnum(rng, n, 8))
    skus["fnsku"] = "X00" + pd.Series(_alnum(rng, n, 7))
    # cost history: ~18% of SKUs change cost mid-period
    costs = [pd.DataFrame({"sku": skus["sku"], "valid_from": "2023-01-01", "unit_cogs": skus["unit_cogs"],
                           "first_leg_cost": skus["first_leg_cost"]})]
    chg = np.sort(rng.choice(n, size=int(n * 0.18), replace=False))
    offs = rng.integers(90, len(period.days) - 60, size=len(chg))
    fac = rng.uniform(0.92, 1.12, size=len(chg))
    new_cogs = np.round(skus["unit_cogs"].to_numpy()[chg] * fac, 2)
    new_fl = np.round(skus["first_leg_cost"].to_numpy()[chg] * rng.uniform(0.95, 1.15, len(chg)), 2)
    costs.append(pd.DataFrame({"sku": skus["sku"].to_numpy()[chg],
                               "valid_from": [str(period.start_date + np.timedelta64(int(o), "D")) for o in offs],
                               "unit_cogs": new_cogs, "first_leg_cost": new_fl}))
    sku_costs = pd.concat(costs, ignore_index=True).sort_values(["sku", "valid_from"], kind="stable").reset_index(drop=True)
    cur = skus.set_index("sku")
    last = sku_costs.groupby("sku", sort=False).last()
    skus["unit_cogs"] = last.loc[cur.index, "unit_cogs"].to_numpy()
    skus["first_leg_cost"] = last.loc[cur.index, "first_leg_cost"].to_numpy()
    # fx: smooth bounded walk
    fx_rows = []
    for ci, c in enumerate(CURRENCIES):
        mid, lo, hi = FX_START[c]
        r = rng_for(seed, 2, ci)
        x = mid
        for m in [*period.months, add_months(period.end, 1)]:  # + the current month (late settlements)
            if c != "CNY":
                x = float(np.clip(x + r.normal(0, (hi - lo) * 0.08) + (mid - x) * 0.1, lo, hi))
            fx_rows.append((m, c, round(x, 4) if c != "THB" else round(x, 5)))
    fx = pd.DataFrame(fx_rows, columns=["month", "currency", "rate"])
    stores = pd.DataFrame([(s[0], s[1], s[2], s[3], s[4], s[5], str(launch[s[0]]), s[7]) for s in STORES],
                          columns=["store_id", "store_name", "platform", "marketplace", "currency", "timezone",
                                   "launch_date", "team_id"])
    teams = pd.DataFrame(TEAMS, columns=["team_id", "team_name", "team_name_zh", "lead_person_id"])
    people = pd.DataFrame([(p, n_, z, r, n_.lower().replace(" ", ".") + "@demo-seller.example") for p, n_, z, r in PEOPLE],
                          columns=["person_id", "name", "name_zh", "role", "email"])
    assignments = _assignments(period, launch, switch)
    store_skus, listings = _listings(seed, period, launch, skus)
    return World(seed, scale, period, stores, skus, sku_costs, fx, teams, people, assignments, listings,
                 store_skus, launch, switch)


def _assignments(period: Period, launch: dict, switch: np.datetime64) -> pd.DataFrame:
    p0 = "2023-01-01"
    sw = str(switch)
    sw1 = str(switch - np.timedelta64(1, "D"))
    rows = []

    def add(p: str, t: str, s: str, a: str, b: str = "") -> None:
        if s in launch and np.datetime64(a) < launch[s]:
            a = str(launch[s])
        rows.append((p, t, s, a, b))

    for s in ("AMZ-US-01", "AMZ-US-02", "AMZ-DE-01", "AMZ-US-03"):
        add("P01", "T-AMZ", s, p0)
        add("P04", "T-AMZ", s, p0)
    add("P02", "T-AMZ", "AMZ-US-01", p0)
    add("P02", "T-AMZ", "AMZ-US-03", p0)
    add("P03", "T-AMZ", "AMZ-US-02", p0)
    add("P05", "T-AMZ", "AMZ-DE-01", p0, sw1)
    add("P03", "T-AMZ", "AMZ-DE-01", sw)
    for s in ("SHP-MY-01", "SHP-SG-01", "SHP-MY-02", "LZD-TH-01"):
        add("P06", "T-SEA", s, p0)
        add("P08", "T-SEA", s, p0)
    add("P07", "T-SEA", "SHP-MY-01", p0)
    add("P07", "T-SEA", "SHP-SG-01", p0, sw1)
    add("P05", "T-SEA", "SHP-SG-01", sw)
    add("P05", "T-SEA", "SHP-MY-02", sw)
    add("P07", "T-SEA", "LZD-TH-01", p0)
    for s in ("TTS-US-01", "SFY-US-01", "WMT-US-01"):
        add("P09", "T-DTC", s, p0)
        add("P12", "T-DTC", s, p0)
    add("P10", "T-DTC", "TTS-US-01", p0)
    add("P11", "T-DTC", "TTS-US-01", p0)
    add("P11", "T-DTC", "SFY-US-01", p0)
    add("P10", "T-DTC", "SFY-US-01", p0)
    add("P10", "T-DTC", "WMT-US-01", p0)
    return pd.DataFrame(rows, columns=["person_id", "team_id", "store_id", "valid_from", "valid_to"])


def _listings(seed: int, period: Period, launch: dict, skus: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    rows = []
    nd = len(period.days)
    cat_pref = {"AMZ-US-03": "PT", "SHP-MY-02": "SP"}
    for si, s in enumerate(STORES):
        sid, cur = s[0], s[4]
        r = rng_for(seed, 3, si)
        k = STORE_SHAPE[sid][1]
        w = np.ones(len(skus))
        if sid in cat_pref:
            w[skus["sku"].str.startswith(cat_pref[sid]).to_numpy()] = 12.0
        idx = np.sort(r.choice(len(skus), size=k, replace=False, p=w / w.sum()))
        sub = skus.iloc[idx][["sku", "name", "category", "base_usd", "return_rate", "commission", "fba_fee",
                              "asin", "fnsku", "weight"]].reset_index(drop=True)
        factor, ending = PRICE_FACTOR[cur]
        raw = sub["base_usd"].to_numpy() * factor * r.uniform(0.9, 1.15, k)
        sub["price"] = (np.floor(raw) + ending) if cur != "THB" else np.round(raw / 10) * 10 - 1
        pop = 1.0 / np.arange(1, k + 1) ** 0.9
        sub["pop"] = r.permutation(pop)
        ld = launch[sid]
        if ld < period.start_date:
            before = r.integers(30, 700, size=k)
            listed = np.maximum(ld, period.start_date - before.astype("timedelta64[D]"))
            new = r.random(k) < 0.15
            listed = np.where(new, period.start_date + r.integers(10, nd - 20, size=k).astype("timedelta64[D]"), listed)
            deli = r.random(k) < 0.05
            dlo = period.start_date + r.integers(120, nd - 10, size=k).astype("timedelta64[D]")
            delisted = np.where(deli & ~new & (dlo > listed), dlo, np.datetime64("NaT"))
        else:
            listed = ld + np.where(r.random(k) < 0.7, 0, r.integers(1, 25, size=k)).astype("timedelta64[D]")
            delisted = np.full(k, np.datetime64("NaT"), dtype="datetime64[D]")
        sub["listed_on"] = listed.astype("datetime64[D]")
        sub["delisted_on"] = delisted.astype("datetime64[D]")
        out[sid] = sub
        rows.append(pd.DataFrame({"store_id": sid, "sku": sub["sku"], "listed_on": sub["listed_on"].astype(str),
                                  "delisted_on": [("" if pd.isna(x) else str(x)[:10]) for x in sub["delisted_on"]]}))
    return out, pd.concat(rows, ignore_index=True)


# ---- demand --------------------------------------------------------------------------------------

MONTH_SEASON = np.array([0.86, 0.80, 0.90, 0.92, 0.95, 0.95, 1.0, 1.0, 1.0, 1.05, 1.30, 1.40])
WEEKDAY = {  # Mon..Sun
    "amazon": [1.05, 1.0, 0.98, 0.97, 0.95, 0.98, 1.07], "shopee": [0.95, 0.95, 0.97, 1.0, 1.02, 1.05, 1.06],
    "tiktok": [0.9, 0.92, 0.95, 1.0, 1.05, 1.1, 1.08], "shopify": [1.08, 1.04, 1.0, 0.98, 0.95, 0.95, 1.0],
    "lazada": [0.95, 0.95, 0.97, 1.0, 1.02, 1.05, 1.06], "walmart": [1.02, 1.0, 0.98, 0.97, 0.98, 1.02, 1.03],
}


def _nth_weekday(y: int, m: int, weekday: int, n: int) -> np.datetime64:
    d = dt.date(y, m, 1)
    d += dt.timedelta(days=(weekday - d.weekday()) % 7 + 7 * (n - 1))
    return np.datetime64(d.isoformat())


def daily_intensity(store_id: str, platform: str, period: Period, launch: np.datetime64, seed: int) -> np.ndarray:
    days = period.days
    years = sorted({int(str(d)[:4]) for d in (days[0], days[-1])} | {int(str(days[0])[:4]) + 1})
    mon = (days.astype("datetime64[M]").astype(int) % 12)
    wd = (days.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    t_years = (days - days[0]).astype(int) / 365.0
    growth = np.exp(STORE_SHAPE[store_id][2] * t_years)
    x = growth * MONTH_SEASON[mon] * np.array(WEEKDAY[platform])[wd]
    ev = np.ones(len(days))

    def bump(day: np.datetime64, factors: list[float]) -> None:
        for k, f in enumerate(factors):
            ev[days == day + np.timedelta64(k, "D")] *= f

    for y in years:
        bf = _nth_weekday(y, 11, 3, 4) + np.timedelta64(1, "D")  # day after 4th Thursday
        if platform in ("amazon", "tiktok", "shopify", "walmart"):
            bump(bf - np.timedelta64(1, "D"), [1.3, 2.6, 1.9, 1.7, 2.3, 1.4])  # Thanksgiving..Cyber Monday+1
        if platform == "amazon":
            pd1 = _nth_weekday(y, 7, 1, 2)  # 2nd Tuesday of July
            bump(pd1 - np.timedelta64(1, "D"), [1.2, 3.0, 2.6, 1.1])
            bump(_nth_weekday(y, 10, 1, 2), [1.6, 1.5])  # October deals
        if platform in ("shopee", "lazada"):
            for m in (9, 10):
                bump(np.datetime64(f"{y}-{m:02d}-{m:02d}") - np.timedelta64(1, "D"), [1.3, 2.2, 1.2])
            bump(np.datetime64(f"{y}-11-10"), [1.6, 4.5, 1.6])
            bump(np.datetime64(f"{y}-12-11"), [1.5, 3.8, 1.4])
        if platform == "tiktok":
            bump(np.datetime64(f"{y}-07-{14:02d}"), [1.3, 1.8, 1.8, 1.3])  # "Deals for You Days"
    x = x * ev
    # launch ramp (new stores) and nothing before launch
    age = (days - launch).astype(int)
    ramp = np.where(age < 0, 0.0, 1.0 - 0.85 * np.exp(-np.maximum(age, 0) / 25.0))
    r = rng_for(seed, 4, STORE_IDS.index(store_id))
    noise = np.exp(r.normal(0, 0.08, len(days)))
    return x * ramp * noise


@dataclass
class Lines:
    """Order lines of one store (one row per line, vectorised columns)."""

    df: pd.DataFrame


ITEMS_P = np.array([0.76, 0.18, 0.06])
QTY_P = np.array([0.86, 0.10, 0.04])


def simulate_store(world: World, store_id: str) -> pd.DataFrame:
    """All order lines of a store, with local timestamps, statuses, amounts and returns."""
    si = STORE_IDS.index(store_id)
    s = STORES[si]
    platform = s[2]
    per = world.period
    r = rng_for(world.seed, 10, si)
    share = STORE_SHAPE[store_id][0]
    inten = daily_intensity(store_id, platform, per, world.launch[store_id], world.seed)
    # normalise so that expected lines = share × 300k × scale for a mature store's level
    mature = np.mean(daily_intensity(store_id, platform, per, per.start_date - np.timedelta64(400, "D"), world.seed))
    lines_per_order = float((ITEMS_P * np.arange(1, 4)).sum())
    lam = inten / max(mature, 1e-9) * share * 300_000.0 * 1.23 * world.scale / len(per.days) / lines_per_order
    n_orders_day = r.poisson(lam)
    n_orders = int(n_orders_day.sum())
    day_idx = np.repeat(np.arange(len(per.days)), n_orders_day)
    # time of day: evening-heavy mixture
    secs = np.where(r.random(n_orders) < 0.6, r.normal(20.5 * 3600, 2.5 * 3600, n_orders),
                    r.uniform(0, 86400, n_orders))
    secs = np.clip(secs, 0, 86399).astype(np.int64)
    ts = per.days[day_idx].astype("datetime64[s]") + secs.astype("timedelta64[s]")
    order = np.argsort(ts, kind="stable")
    ts, day_idx = ts[order], day_idx[order]
    n_items = r.choice(3, size=n_orders, p=ITEMS_P) + 1
    oi = np.repeat(np.arange(n_orders), n_items)
    first = np.r_[0, np.cumsum(n_items)[:-1]]
    line_no = np.arange(len(oi)) - np.repeat(first, n_items) + 1
    ss = world.store_skus[store_id]
    p = ss["pop"].to_numpy() / ss["pop"].sum()
    k = r.choice(len(ss), size=len(oi), p=p)
    # a line repeating the same SKU inside an order: shift to the next SKU
    dup = (line_no > 1) & (k == np.r_[-1, k[:-1]])
    k = np.where(dup, (k + 1) % len(ss), k)
    lday = per.days[day_idx[oi]]
    listed = ss["listed_on"].to_numpy()[k]
    dl = ss["delisted_on"].to_numpy()[k]
    ok = (lday >= listed) & (np.isnat(dl) | (lday < dl))
    # stock-outs (Amazon FBA): a few SKU windows with zero sales
    stockouts = stockout_windows(world, store_id)
    for sk, a, b in stockouts:
        ok &= ~((k == sk) & (lday >= a) & (lday <= b))
    oi, line_no, k = oi[ok], line_no[ok], k[ok]
    # renumber lines inside orders; drop orders that lost all lines
    keep_orders, oi = np.unique(oi, return_inverse=True)
    ts = ts[keep_orders]
    n = len(oi)
    change = np.r_[True, oi[1:] != oi[:-1]]
    start_pos = np.maximum.accumulate(np.where(change, np.arange(n), 0))
    line_no = np.arange(n) - start_pos + 1
    qty = r.choice(3, size=n, p=QTY_P) + 1
    price = ss["price"].to_numpy()[k]
    no = len(keep_orders)
    # statuses per order
    end_ts = per.end_date.astype("datetime64[s]") + np.timedelta64(86399, "s")
    age_h = (end_ts - ts).astype(np.int64) / 3600.0
    u = r.random(no)
    o_status = np.where(u < 0.03, "cancelled", "shipped").astype(object)
    o_status = np.where(age_h < 30, np.where(r.random(no) < 0.7, "pending", o_status), o_status)
    ship_ts = ts + (r.uniform(4, 40, no) * 3600).astype("timedelta64[s]")
    deliv_ts = ship_ts + (r.uniform(1.5, 6, no) * 86400).astype("timedelta64[s]")
    o_status = np.where((o_status == "shipped") & (deliv_ts < end_ts), "delivered", o_status)
    ship_ts = np.where(np.isin(o_status, ["shipped", "delivered"]), ship_ts, np.datetime64("NaT"))
    deliv_ts = np.where(o_status == "delivered", deliv_ts, np.datetime64("NaT"))
    status = o_status[oi].copy()
    rr = ss["return_rate"].to_numpy()[k]
    ret_ts = deliv_ts[oi] + (r.uniform(2, 25, n) * 86400).astype("timedelta64[s]")
    returned = (status == "delivered") & (r.random(n) < rr) & (ret_ts < end_ts)
    status = np.where(returned, "returned", status)
    ret_ts = np.where(returned, ret_ts, np.datetime64("NaT"))
    # money (local currency)
    item = price * qty
    promo = np.where(r.random(n) < 0.10, np.round(item * r.uniform(0.05, 0.2, n), 2), 0.0)
    ship_fee = np.zeros(n)
    df = pd.DataFrame({
        "order_idx": oi, "line_no": line_no, "k": k, "sku": ss["sku"].to_numpy()[k],
        "name": ss["name"].to_numpy()[k], "category": ss["category"].to_numpy()[k],
        "ts": ts[oi], "day": per.days[((ts[oi] - per.days[0].astype("datetime64[s]")) // np.timedelta64(86400, "s")).astype(int)],
        "qty": qty, "unit_price": price, "item_price": np.round(item, 2), "promo": promo,
        "status": status, "ship_ts": ship_ts[oi], "deliv_ts": deliv_ts[oi], "ret_ts": ret_ts,
        "n_lines": np.bincount(oi)[oi], "ship_fee": ship_fee,
    })
    return df


def stockout_windows(world: World, store_id: str) -> list[tuple[int, np.datetime64, np.datetime64]]:
    if not store_id.startswith("AMZ"):
        return []
    si = STORE_IDS.index(store_id)
    r = rng_for(world.seed, 20, si)
    ss = world.store_skus[store_id]
    per = world.period
    first = max(per.start_date, world.launch[store_id] + np.timedelta64(20, "D"))
    span = int((per.end_date - first).astype(int)) - 15
    if span <= 5:
        return []
    nwin = max(1, round(len(per.days) / 60 * (span / len(per.days))))
    out = []
    ks = r.choice(len(ss), size=nwin, replace=True, p=(ss["pop"] / ss["pop"].sum()).to_numpy())
    for k in ks:
        a = first + np.timedelta64(int(r.integers(0, span)), "D")
        b = a + np.timedelta64(int(r.integers(3, 12)), "D")
        out.append((int(k), a, b))
    return out
