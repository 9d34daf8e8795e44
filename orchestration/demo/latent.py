"""What a learned risk model can find in the demo beyond the planted schemes: the foreign sellers on the
invoices, and a latent irregularity propensity of a few traders, sellers, routes (origin x partner) and
HS6 x origin cells that makes inspections find irregularities more often on them.

It draws from its own generator (seeded from the demo's seed) so that adding it left every other value
of the demo as it was: only `seller_id` and `inspection_outcome` depend on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BASE_RATE = 0.012  # irregular outcome of an ordinary inspected declaration
PLANTED_RATE = 0.75  # ... of one carrying a planted item (only discrepancies, never above this)
CAP = 0.5  # the most a latent propensity can reach, below the planted rate
SEIZURE_SHARE = 0.1  # irregular outcomes of ordinary declarations that are seizures
# how many risky entities of each kind, and the range of their multipliers of the base rate
RISKY = {"trader": (3, 4.0, 10.0), "seller": (3, 4.0, 8.0), "route": (2, 3.0, 6.0), "cell": (2, 3.0, 6.0)}
MIN_INSPECTED_PER_MONTH = 2  # a risky entity has at least this many inspected declarations every month
MAX_INSPECTED_SHARE = 0.05  # ... and no more than this share of them (a whole country is no finding)
SELLER_ITEMS = 40  # about one seller per this many import items of an origin country
SELLER_SLOTS = 3  # each trader buys from up to this many sellers of a country


def assign_sellers(rng: np.random.Generator, items: dict, n_traders: int) -> None:
    """`seller` (index) and `seller_id` for every import item: a seller of the goods' true origin country
    among the few the trader buys from there; popular sellers (Zipf) supply many traders. Exports have
    none (the Omani trader is the seller)."""
    n = len(items["product"])
    imports = np.flatnonzero(~items["flow_x"])
    codes, countries = pd.factorize(items["origin_true"][imports], sort=True)
    sizes = np.maximum(3, np.bincount(codes, minlength=len(countries)) // SELLER_ITEMS)
    offsets = np.r_[0, np.cumsum(sizes)]
    slots = np.empty((len(countries), n_traders, SELLER_SLOTS), dtype=np.int32)
    for c, size in enumerate(sizes):
        w = 1.0 / np.arange(1, size + 1)
        slots[c] = offsets[c] + rng.choice(size, size=(n_traders, SELLER_SLOTS), p=w / w.sum())
    seller = np.full(n, -1, dtype=np.int64)
    seller[imports] = slots[codes, items["trader"][imports], rng.integers(0, SELLER_SLOTS, len(imports))]
    ids = np.array(
        [f"{country}-S{j + 1:05d}" for country, size in zip(countries, sizes, strict=True) for j in range(size)],
        dtype=object,
    )
    items["seller"] = seller
    items["seller_id"] = np.where(seller >= 0, ids[np.maximum(seller, 0)], None)


def entity_keys(items: dict, hs6_of: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per kind of entity: an integer key per item (-1 where it has none) and the key's labels."""
    imports = ~items["flow_x"]
    route, route_labels = _pair(items["origin"], items["partner"], imports)
    cell, cell_labels = _pair(hs6_of[items["product_declared"]], items["origin"], imports)
    trader = np.where(imports, items["trader"], -1)
    seller = items["seller"]
    return {
        "trader": (trader, np.arange(trader.max() + 1)),
        "seller": (seller, np.arange(seller.max() + 1)),
        "route": (route, route_labels),
        "cell": (cell, cell_labels),
    }


def _pair(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, labels = pd.factorize(pd.MultiIndex.from_arrays([a, b]), sort=True)
    return np.where(valid, codes, -1), np.array(list(labels), dtype=object)


def propensity(
    rng: np.random.Generator,
    keys: dict,
    decl: np.ndarray,
    month: np.ndarray,
    observed: np.ndarray,
    planted: np.ndarray,
) -> tuple[np.ndarray, dict]:
    """The multiplier of the base rate for every declaration (the product over the kinds of entity of
    the largest multiplier among its items) and the risky entities chosen: for each kind, a few drawn
    among those with `MIN_INSPECTED_PER_MONTH` observed inspections in every month (`month`, `observed`
    per declaration) and none with a planted item (`planted` per item), so that the two stay apart."""
    first = np.r_[0, np.flatnonzero(np.diff(decl)) + 1]
    total = np.ones(len(first))
    chosen = {}
    for kind, (k, lo, hi) in RISKY.items():
        key, labels = keys[kind]
        counts = _monthly_counts(key, decl, month, observed, len(labels))
        ok = counts.min(axis=1) >= MIN_INSPECTED_PER_MONTH
        ok &= counts.sum(axis=1) <= MAX_INSPECTED_SHARE * observed.sum()
        ok[np.unique(key[planted & (key >= 0)])] = False
        picks = np.sort(rng.choice(np.flatnonzero(ok), size=min(k, int(ok.sum())), replace=False))
        mult = np.ones(len(labels) + 1)  # the last one: items without an entity of this kind
        mult[picks] = np.round(rng.uniform(lo, hi, len(picks)), 1)
        total *= np.maximum.reduceat(mult[key], first)
        chosen[kind] = [(int(p), labels[p], float(mult[p])) for p in picks]
    return total, chosen


def _monthly_counts(key, decl, month, observed, n_keys) -> np.ndarray:
    """Observed inspected declarations per key and month (a declaration counts once per key)."""
    valid = key >= 0
    pairs = np.unique(decl[valid].astype(np.int64) * (n_keys + 1) + key[valid])
    d, k = np.divmod(pairs, n_keys + 1)
    seen = observed[d]
    counts = np.zeros((n_keys, int(month.max()) + 1), dtype=np.int64)
    np.add.at(counts, (k[seen], month[d][seen]), 1)
    return counts


def outcomes(u: np.ndarray, planted: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """Inspection outcome of every declaration from its uniform draw `u`: planted ones end in a
    discrepancy at `PLANTED_RATE`, the others at the base rate times their propensity (capped)."""
    p = np.minimum(BASE_RATE * multiplier, CAP)
    return np.where(
        planted,
        np.where(u < PLANTED_RATE, "discrepancy", "no_finding"),
        np.where(u < p * SEIZURE_SHARE, "seizure", np.where(u < p, "discrepancy", "no_finding")),
    )


def truth(items: dict, keys: dict, risky: dict, trader_ids: np.ndarray) -> dict:
    """`learnable.json`: the rates, the risky entities with their multipliers, and the irregular rates
    realised among inspected declarations on each of them, on any of them and off them all (declarations
    with a planted item apart)."""
    decl = items["decl"]
    first = np.r_[0, np.flatnonzero(np.diff(decl)) + 1]
    outcome = items["inspection_outcome"][first]
    inspected = outcome != None  # noqa: E711 (element-wise)
    irregular = np.isin(outcome, ["discrepancy", "seizure"])
    planted = np.maximum.reduceat(items["anomaly"] != "", first)
    on_any = np.zeros(len(first), dtype=bool)

    def rate(sel: np.ndarray) -> dict:
        n, hits = int((sel & inspected).sum()), int((sel & irregular).sum())
        return {"inspected": n, "irregular": hits, "rate": round(hits / n, 4) if n else None}

    entities = {}
    for kind, picks in risky.items():
        key = keys[kind][0]
        rows = []
        for index, label, multiplier in picks:
            on = np.maximum.reduceat(key == index, first)
            on_any |= on
            rows.append({**_label(kind, label, trader_ids, items), "multiplier": multiplier, **rate(on & ~planted)})
        entities[kind] = rows
    return {
        "base_rate": BASE_RATE,
        "planted_rate": PLANTED_RATE,
        "cap": CAP,
        "seizure_share": SEIZURE_SHARE,
        "risky": entities,
        "realised": {
            "all": rate(np.ones(len(first), dtype=bool)),
            "planted": rate(planted),
            "on_risky": rate(on_any & ~planted),
            "off_risky": rate(~on_any & ~planted),
        },
    }


def _label(kind: str, label, trader_ids: np.ndarray, items: dict) -> dict:
    if kind == "trader":
        return {"trader_id": str(trader_ids[label])}
    if kind == "seller":
        return {"seller_id": str(items["seller_id"][np.argmax(items["seller"] == label)])}
    if kind == "route":
        return {"origin_country": label[0], "partner_country": label[1]}
    return {"hs6": label[0], "origin_country": label[1]}
