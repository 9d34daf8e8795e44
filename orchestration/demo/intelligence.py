"""Plants for the intelligence marts (issue 15): counterfeits against a fictional IPR register, a fraud
ring, a phoenix trader and split consignments, plus the delivered `finding_type` and trader address /
phone hashes.

It draws from its own generator (seeded `[seed, 2]`) and works on declarations already drawn, so every
other value of the demo stays as it was. Only clean, green (uninspected) import declarations that touch
no planted scheme, no latent risky entity, no mirror cell and not the slow office are re-used: they are
handed to new parties or re-written as the plant needs (goods, mode, money recomputed as the demo
does), so `learnable.json`, the mirror gaps and the slow-office count stay true.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from orchestration.demo import catalog as cat
from orchestration.demo.tariff import ISO3, chapter, cif_fob_margin, duty_rate_for, lookup, vat_standard, vat_zero_rated
from orchestration.rules import omr_per_usd

FINDINGS = {"undervaluation": 0.5, "misclassification": 0.2, "origin": 0.1, "prohibited": 0.05, "other": 0.15}
PLANTED_FINDING = {
    "undervaluation": "undervaluation",
    "misclassification": "misclassification",
    "false_origin": "origin",
}
HASH_SHARE = 0.95  # import rows that carry the trader's address / phone hashes
OFFICE_OF_MODE = {"air": "MCT-AIR", "post": "MCT-POST", "sea": "SOH-SEA"}
REGISTER_COLUMNS = [
    "recordation_id",
    "right_holder",
    "brand",
    "brand_variants",
    "hs_scope",
    "authorised_importers",
    "authorised_origins",
    "authorised_partner_countries",
    "price_floor_omr",
    "price_floor_basis",
    "valid_from",
    "valid_to",
    "contact",
]


@dataclass(frozen=True)
class Brand:
    """A fictional trademark: what genuine goods look like and how fakers spell it."""

    recordation_id: str
    right_holder: str
    brand: str
    variants: tuple[str, ...]  # recorded in the register
    hs_scope: tuple[str, ...]
    hs6: str  # the demo product its goods are declared under
    generic: str  # the goods words after the brand
    origins: tuple[str, ...]
    partners: tuple[str, ...]
    floor: float  # OMR per basis
    basis: str
    genuine: float  # OMR per basis of genuine goods (well above the floor)
    fakes: tuple[str, ...]  # descriptions on counterfeits (variants, odd case, one-letter misspellings)
    mode: str  # how the counterfeits come


# fmt: off
BRANDS = [
    Brand("AFA-OM-2019-0147", "Velocor Athletic GmbH", "Velocor", ("VELOKOR", "Vel0cor"), ("6403", "6404"),
          "640399", "sport shoes", ("VN", "IT"), ("VN", "IT", "AE"), 12.0, "unit", 30.0,
          ("VEL0COR Sport shoes", "velocor. SPORT SHOES", "Velocr running shoes"), "air"),
    Brand("AFA-OM-2020-0311", "Zentrix Mobile Co., Ltd.", "Zentrix", ("ZENTR1X",), ("851713",),
          "851713", "smartphones", ("KR", "VN"), (), 60.0, "unit", 150.0,
          ("ZENTR1X smart phone", "Zentrixx mobile phones"), "post"),
    Brand("AFA-OM-2018-0089", "Maison Auralis SA", "Auralis", ("AURALYS", "Aurallis"), ("3304",),
          "330499", "face cream", ("FR", "DE"), ("FR", "DE", "AE"), 15.0, "kg", 40.0, ("AURALYS face cream",), "air"),
    Brand("AFA-OM-2021-0022", "Norvane Apparel Ltd", "Norvane", ("N0RVANE",), ("6109", "6110"),
          "610910", "t-shirts", ("TR", "IN"), (), 3.0, "unit", 8.0, ("N0RVANE T-Shirts",), "post"),
    Brand("AFA-OM-2020-0175", "Orvella S.p.A.", "Orvella", ("ORVELA", "Orvela"), ("6203",),
          "620342", "trousers", ("IT", "TR"), ("IT", "TR"), 6.0, "unit", 18.0, ("orvela TROUSERS",), "air"),
]
# counterfeit slots in lodgement order: brand index, seized (an earlier seizure on the route of later ones)
COUNTERFEIT_SLOTS = [(0, True), (1, True), (2, False), (0, False), (3, False), (1, False), (4, False), (0, False)]
FAKE_ORIGINS = ("CN", "TR", "VN", "IN", "TH")
# (hs6, origins to try, partners to try) of each plant's ordinary goods
RING_BEFORE = ("940360", ("MY", "TR", "CN"), ("AE",))
RING_AFTER = ("841451", ("CN", "TH"), ("AE",))
PHOENIX_GOODS = ("852872", ("TR", "KR", "MY"), ("TR", "KR", "MY", "AE"))
SPLIT_GOODS = ("950300", ("CN", "VN"), ("CN", "VN", "AE"))


def plant(gen, items: dict) -> dict:
    """Plant everything into `items` (in place) and return the truth of `intelligence.json` plus the
    register rows."""
    p = _Planter(gen, items)
    register, counterfeit, legitimate = p.ipr()
    ring = p.ring()
    phoenix = p.phoenix()
    split = p.split()
    p.finding_types(counterfeit, ring, phoenix)
    p.hashes(ring, phoenix)
    truth = {
        "counterfeit": counterfeit,
        "legitimate_branded": legitimate,
        "ring": ring,
        "phoenix": phoenix,
        "split_consignments": split,
    }
    return {"truth": truth, "register": register}


class _Planter:
    def __init__(self, gen, items: dict):
        self.gen, self.items = gen, items
        self.rng = np.random.default_rng([gen.c.seed, 2])
        self.n_days = len(gen.days)
        d = items["decl"]
        self.n_decl = int(items["decl_count"])
        self.start = np.searchsorted(d, np.arange(self.n_decl))
        self.size = np.diff(np.r_[self.start, len(d)])
        self.decl_day = items["day"][self.start]
        self.free = self._eligible()
        self.next_trader = len(gen.trader_ids)
        self.next_broker = 1 + max(int(b[3:]) for b in np.unique(items["declarant_id"]))
        self.seller_no = {}
        for s in np.unique(items["seller_id"][items["seller_id"] != None]):  # noqa: E711 (element-wise)
            country, no = s.split("-S")
            self.seller_no[country] = max(self.seller_no.get(country, 0), int(no))
        self.years = {d.year for d in gen.days}

    # ---- which declarations may be re-used --------------------------------------------------------
    def _eligible(self) -> np.ndarray:
        items, gen = self.items, self.gen
        bad = (items["anomaly"] != "") | items["flow_x"] | (items["office_code"] == cat.SLOW_OFFICE)
        for kind, (key, _) in gen.latent_keys.items():
            bad |= np.isin(key, [p[0] for p in gen.risky[kind]])
        years = np.array([d.year for d in gen.days])[items["day"]]
        for year, origin, hs6, _ in gen.mirror_picks:
            bad |= (years == year) & (items["origin_true"] == origin) & (items["hs6_true"] == hs6)
        bad_decl = np.zeros(self.n_decl, dtype=bool)
        np.logical_or.at(bad_decl, items["decl"], bad)
        first = self.start
        green = (items["risk_channel"][first] == "green") & (items["inspection_outcome"][first] == None)  # noqa: E711
        return ~bad_decl & green

    def _safe(self, hs6: str, origin: str, partner: str) -> bool:
        """Re-written goods must not land on a risky route or cell, nor in a mirror cell."""
        risky = self.gen.risky
        if (origin, partner) in {tuple(p[1]) for p in risky["route"]} | {(o, o) for o in cat.GCC}:
            return False
        if (hs6, origin) in {tuple(p[1]) for p in risky["cell"]}:
            return False
        return not any((y, origin, hs6) == (m[0], m[1], m[2]) for m in self.gen.mirror_picks for y in self.years)

    def _route(self, hs6: str, origins, partners) -> tuple[str, str]:
        return next(
            (o, p if p != "=" else o)
            for o in origins
            for p in ("=", *partners)
            if self._safe(hs6, o, p if p != "=" else o) and (p == "=" or p != o)
        )

    def _take(self, lo: int, hi: int, *, single: bool = False, k: int = 1, near: int | None = None) -> np.ndarray:
        """`k` free declarations lodged on days lo..hi (random, or the ones nearest day `near`)."""
        ok = self.free & (self.decl_day >= lo) & (self.decl_day <= hi)
        if single:
            ok &= self.size == 1
        pool = np.flatnonzero(ok)
        if len(pool) < k:
            raise ValueError(f"the demo is too small for its intelligence plants (days {lo}..{hi})")
        if near is None:
            picks = np.sort(self.rng.choice(pool, size=k, replace=False))
        else:
            picks = pool[np.argsort(np.abs(self.decl_day[pool] - near), kind="stable")[:k]]
        self.free[picks] = False
        return picks

    def _take_items(self, lo: int, hi: int, target: int, cap: int) -> list[int]:
        """Free declarations on days lo..hi adding up to `target`..`cap` items."""
        pool = np.flatnonzero(self.free & (self.decl_day >= lo) & (self.decl_day <= hi))
        chosen, total = [], 0
        for dcl in self.rng.permutation(pool):
            if total >= target:
                break
            if total + self.size[dcl] <= cap:
                chosen.append(int(dcl))
                total += int(self.size[dcl])
        if total < target:
            raise ValueError(f"the demo is too small for its intelligence plants (days {lo}..{hi})")
        self.free[chosen] = False
        return sorted(chosen)

    def _rows(self, decls) -> np.ndarray:
        return np.concatenate([np.arange(self.start[d], self.start[d] + self.size[d]) for d in decls])

    # ---- new parties --------------------------------------------------------------------------------
    def _new_trader(self) -> str:
        i, self.next_trader = self.next_trader, self.next_trader + 1
        return f"OM{1000000 + 7919 * i % 9000000:07d}"  # the demo's id style, distinct from every other

    def _new_declarant(self) -> str:
        i, self.next_broker = self.next_broker, self.next_broker + 1
        return f"BRK{i}"

    def _new_seller(self, country: str) -> str:
        self.seller_no[country] = self.seller_no.get(country, 0) + 1
        return f"{country}-S{self.seller_no[country]:05d}"

    def _assign(self, decls, trader: str, seller: str | None = None, declarant: str | None = None) -> None:
        rows = self._rows(decls)
        self.items["trader_id"][rows] = trader
        if seller:
            self.items["seller_id"][rows] = seller
        if declarant:
            self.items["declarant_id"][rows] = declarant

    # ---- goods and money ------------------------------------------------------------------------------
    def _rewrite(self, rows, hs6: str, origin: str, partner: str, mass, value_omr, description=None, factor=1.0):
        """Other goods on `rows`: product, origin, mass and declared value, with every money field derived
        as the demo derives them (CIF customs value, invoice in USD, duty and VAT by the tariff)."""
        items, gen = self.items, self.gen
        product = gen._product_index(hs6)
        prod = gen.products[product]
        for col in ("product", "product_declared"):
            items[col][rows] = product
        items["origin"][rows] = items["origin_true"][rows] = origin
        items["partner"][rows] = partner
        items["transit"][rows] = partner != origin
        items["reported_by_origin"][rows] = True
        items["net_mass_kg"][rows] = np.round(mass, 3).clip(0.1)
        items["hs6"][rows] = items["hs6_true"][rows] = hs6
        items["hs_code"][rows] = hs6 + "00"
        items["goods_description"][rows] = description if description is not None else prod.description
        hs = np.full(len(rows), hs6, dtype=object)
        margin = cif_fob_margin(lookup(np.full(len(rows), partner, dtype=object), ISO3), chapter(hs))
        cv = np.round(value_omr, 3)
        fob_usd = cv / omr_per_usd() / margin
        items["cif_fob_margin"][rows] = margin
        items["declared_factor"][rows] = factor
        items["true_fob_usd"][rows] = fob_usd / factor
        items["unit_value_usd"][rows] = items["true_fob_usd"][rows] / items["net_mass_kg"][rows]
        items["customs_value_omr"][rows] = cv
        currencies = list(cat.CURRENCIES)
        rate = gen._rate_on(np.full(len(rows), currencies.index("USD")), items["day"][rows], currencies)
        items["invoice_amount"][rows] = np.round(cv * rate, 2)
        items["invoice_currency"][rows] = "USD"
        items["incoterm"][rows] = "CIF"
        items["preference_code"][rows] = None
        items["procedure_code"][rows] = "4000"
        duty = np.round(cv * duty_rate_for(hs), 3)
        vat_start, vat_rate = vat_standard()
        vat_on = items["lodged_at"][rows].astype("datetime64[D]") >= np.datetime64(vat_start)
        vat = np.where(vat_on & ~vat_zero_rated(hs), vat_rate, 0.0)
        items["duty_omr"][rows] = duty
        items["vat_omr"][rows] = np.round((cv + duty) * vat, 3)
        items["supplementary_unit"][rows] = prod.supp_unit or None
        qty = np.maximum(1, np.round(items["net_mass_kg"][rows] / prod.kg_per_unit)) if prod.kg_per_unit else np.nan
        items["supplementary_qty"][rows] = qty

    def _ordinary(self, rows, hs6: str, origin: str, partner: str, factor: float = 1.0) -> None:
        prod = self.gen.products[self.gen._product_index(hs6)]
        mass = prod.mass_kg * self.rng.lognormal(0.0, 0.6, len(rows))
        years = (self.gen.day_ordinals[self.items["day"][rows]] - self.gen.day_ordinals[0]) / 365.0
        uv = prod.uv_usd_kg * self.rng.lognormal(0.0, 0.25, len(rows)) * 1.03**years
        margin = cif_fob_margin(lookup(np.array([partner], dtype=object), ISO3), np.array([hs6[:2]], dtype=object))
        self._rewrite(rows, hs6, origin, partner, mass, mass * uv * margin * omr_per_usd() * factor, factor=factor)

    def _set_mode(self, decls, mode: str) -> None:
        rows = self._rows(decls)
        self.items["transport_mode"][rows] = mode
        self.items["office_code"][rows] = OFFICE_OF_MODE[mode]

    def _seize(self, decl: int) -> dict:
        rows = self._rows([decl])
        self.items["risk_channel"][rows] = "red"
        self.items["inspection_outcome"][rows] = "seizure"
        return {"declaration_id": self.items["declaration_id"][rows[0]], "item_no": int(self.items["item_no"][rows[0]])}

    def _day(self, i: int) -> str:
        return str(self.gen.days[i])

    # ---- the plants -------------------------------------------------------------------------------------
    def ipr(self) -> tuple[list[dict], list[dict], list[dict]]:
        """The register, the legitimate branded imports of the authorised importers and the counterfeits."""
        items, rng, last = self.items, self.rng, self.n_days - 1
        traders = items["trader_id"][self.start]
        single = self.free & (self.size == 1)
        counts = {t: int(n) for t, n in zip(*np.unique(traders[single], return_counts=True), strict=True)}
        regulars = sorted(t for t, n in counts.items() if n >= 3)
        pool = list(rng.permutation(regulars))
        register, legitimate, authorised_all = [], [], set()
        for b in BRANDS:
            importers = sorted(pool.pop() for _ in range(int(rng.integers(1, 4))))
            authorised_all |= set(importers)
            for trader in importers:
                mine = np.flatnonzero(self.free & (self.size == 1) & (traders == trader))
                for dcl in np.sort(rng.choice(mine, size=int(rng.integers(1, 3)), replace=False)):
                    self.free[dcl] = False
                    rows = self._rows([dcl])
                    origin, partner = self._route(b.hs6, rng.permutation(b.origins), b.partners)
                    self._branded(rows, b, origin, partner, genuine=True)
                    self._set_mode([dcl], "sea")
                    legitimate.append(
                        {"declaration_id": items["declaration_id"][rows[0]], "item_no": 1,
                         "recordation_id": b.recordation_id}
                    )
            register.append(self._recordation(b, importers, open_ended=b is BRANDS[-1]))
        counterfeit, routes, used = [], {}, set(authorised_all)
        for slot, (bi, seized) in enumerate(COUNTERFEIT_SLOTS):
            b = BRANDS[bi]
            if bi not in routes:
                bad = set(b.origins)
                routes[bi] = self._route(b.hs6, [o for o in FAKE_ORIGINS if o not in bad], ("AE",))
            origin, partner = routes[bi]
            near = int((slot + 0.5) / len(COUNTERFEIT_SLOTS) * last)
            ok = self.free & (self.size == 1) & ~np.isin(traders, sorted(used))
            pool_c = np.flatnonzero(ok)
            dcl = int(pool_c[np.argmin(np.abs(self.decl_day[pool_c] - near))])
            self.free[dcl] = False
            used.add(traders[dcl])
            rows = self._rows([dcl])
            nth = sum(s[0] == bi for s in COUNTERFEIT_SLOTS[:slot])  # this brand's nth fake
            self._branded(rows, b, origin, partner, genuine=False, fake=b.fakes[nth % len(b.fakes)])
            self._set_mode([dcl], b.mode)
            if seized:
                self._seize(dcl)
            counterfeit.append(
                {"declaration_id": items["declaration_id"][rows[0]], "item_no": 1,
                 "recordation_id": b.recordation_id, "brand": b.brand, "seized": seized}
            )
        return register, counterfeit, legitimate

    def _branded(self, rows, b: Brand, origin: str, partner: str, *, genuine: bool, fake: str = "") -> None:
        rng = self.rng
        prod = self.gen.products[self.gen._product_index(b.hs6)]
        if genuine:
            mass = prod.mass_kg * rng.lognormal(0.0, 0.3)
            per_basis = b.genuine * rng.lognormal(0.0, 0.1)
            description = f"{b.brand} {b.generic}"
        else:
            kg_cap = 25.0
            mass = rng.uniform(3.0, kg_cap)
            per_basis = b.floor * rng.uniform(0.15, 0.35)
            description = fake
        if b.basis == "unit":
            qty = max(1.0, float(np.round(mass / prod.kg_per_unit)))
            mass, value = qty * prod.kg_per_unit, qty * per_basis
        else:
            value = mass * per_basis
        if not genuine:
            value = min(value, 380.0)
        self._rewrite(rows, b.hs6, origin, partner, np.array([mass]), np.array([value]), description)

    def _recordation(self, b: Brand, importers: list[str], open_ended: bool) -> dict:
        start = self.gen.c.start
        return {
            "recordation_id": b.recordation_id,
            "right_holder": b.right_holder,
            "brand": b.brand,
            "brand_variants": ";".join(b.variants),
            "hs_scope": ";".join(b.hs_scope),
            "authorised_importers": ";".join(importers),
            "authorised_origins": ";".join(b.origins),
            "authorised_partner_countries": ";".join(b.partners),
            "price_floor_omr": f"{b.floor:.3f}",
            "price_floor_basis": b.basis,
            "valid_from": f"{start.year - 2}-{start.month:02d}-01",
            "valid_to": "" if open_ended else f"{self.gen.c.end.year + 3}-12-31",
            "contact": f"IPR desk, {b.right_holder} (brand-protection@{b.brand.lower()}.example)",
        }

    def ring(self) -> dict:
        """5-6 new traders sharing one new seller and one new declarant; one seizure; a community shift."""
        rng, last = self.rng, self.n_days - 1
        lo = 0 if self.gen.c.months < 6 else int(0.1 * last)
        members = [self._new_trader() for _ in range(5 if self.gen.c.items < 50_000 else 6)]
        target = int(np.clip(self.gen.c.items // 400, 15, 36))
        late = max(3, round(0.25 * target))  # the community shift: the last quarter's goods differ
        # the shift starts three quarters into the ring's period, or earlier in a short demo so that the
        # new goods fill about a quarter's window (100 days; never before half way); in a sparse demo the
        # last quarter may not hold enough clean declarations: earlier still
        free_days = np.sort(self.decl_day[self.free & (self.decl_day >= lo)])
        planned = max(lo + (last - lo) // 2, min(lo + int(0.75 * (last - lo)), last - 100))
        shift = min(planned, int(free_days[-2 * late * len(members)]))
        before = self._route(*RING_BEFORE)
        after = self._route(RING_AFTER[0], [o for o in RING_AFTER[1] if o != before[0]], RING_AFTER[2])
        seller, declarant = self._new_seller(before[1]), self._new_declarant()
        seized = int(self._take(lo, shift - 1, single=True)[0])
        all_decls = []
        for m, trader in enumerate(members):
            decls = self._take_items(lo, shift - 1, target - late - (m == 0), 38 - late - (m == 0))
            decls += self._take_items(shift, last, late, late + 2) + ([seized] if m == 0 else [])
            self._assign(decls, trader, seller, declarant)
            all_decls += decls
        rows = self._rows(all_decls)
        day = self.items["day"][rows]
        self._ordinary(rows[day < shift], RING_BEFORE[0], *before)
        self._ordinary(rows[day >= shift], RING_AFTER[0], *after)
        self._ordinary(self._rows([seized]), RING_BEFORE[0], *before, factor=round(float(rng.uniform(0.3, 0.45)), 3))
        return {
            "trader_ids": members,
            "seller_id": seller,
            "declarant_id": declarant,
            "seizure": self._seize(seized),
            "shift_from": self._day(shift),
            "shared_address_trader_ids": members[:2],
            "goods": {"before": [RING_BEFORE[0], *before], "after": [RING_AFTER[0], *after]},
        }

    def phoenix(self) -> dict:
        """A trader who stops after a seizure and its successor with the same seller, declarant and phone."""
        rng, last = self.rng, self.n_days - 1
        a_end = int(0.55 * last)
        origin, partner = self._route(*PHOENIX_GOODS)
        seller, declarant = self._new_seller(origin), self._new_declarant()
        a, b = self._new_trader(), self._new_trader()
        target = int(np.clip(self.gen.c.items // 400, 15, 40))
        seized = int(self._take(0, a_end, single=True, near=a_end - 2)[0])
        a_decls = self._take_items(0, self.decl_day[seized], target - 1, 39) + [seized]
        a_last = int(self.decl_day[a_decls].max())
        gap_hi = max(10, min(40, last - a_last - 7))
        first = int(self._take(a_last + 10, a_last + 40, near=a_last + int(rng.integers(10, gap_hi + 1)))[0])
        b_first = int(self.decl_day[first])
        tail = [int(self._take(last - 6, last)[0])]
        b_decls = sorted({first, *tail, *self._take_items(b_first + 1, last, target - 2, 38)})
        self._assign(a_decls, a, seller, declarant)
        self._assign(b_decls, b, seller, declarant)
        self._ordinary(self._rows(a_decls + b_decls), PHOENIX_GOODS[0], origin, partner)
        factor = round(float(rng.uniform(0.3, 0.45)), 3)
        self._ordinary(self._rows([seized]), PHOENIX_GOODS[0], origin, partner, factor=factor)
        return {
            "predecessor_trader_id": a,
            "successor_trader_id": b,
            "seller_id": seller,
            "declarant_id": declarant,
            "predecessor_last_day": self._day(a_last),
            "successor_first_day": self._day(b_first),
            "seizure": self._seize(seized),
        }

    def split(self) -> dict:
        """One new seller's parcels spread over 12-15 new small traders within about 90 days."""
        rng, last = self.rng, self.n_days - 1
        traders = [self._new_trader() for _ in range(int(rng.integers(12, 16)))]
        parcels = rng.integers(2, 5, len(traders))
        per_day = np.bincount(self.decl_day[self.free & (self.size == 1)], minlength=self.n_days)
        cum = np.r_[0, np.cumsum(per_day)]
        width = min(89, last)
        while True:  # about 90 days; a sparse demo stretches the window until the parcels fit
            room = cum[width + 1 :] - cum[: len(cum) - width - 1]  # free parcels in the window from each day
            fits = np.flatnonzero(room >= 1.2 * parcels.sum())
            if len(fits) or width == last:
                break
            width = min(width + 30, last)
        lo = int(rng.choice(fits)) if len(fits) else 0
        origin, partner = self._route(*SPLIT_GOODS)
        seller = self._new_seller(origin)
        for trader, k in zip(traders, parcels, strict=True):
            decls = list(self._take(lo, lo + width, single=True, k=int(k)))
            self._assign(decls, trader, seller)
            self._set_mode(decls, "post" if rng.random() < 0.6 else "air")
            rows = self._rows(decls)
            mass = rng.uniform(2.0, 15.0, len(rows))
            self._rewrite(rows, SPLIT_GOODS[0], origin, partner, mass, rng.uniform(40.0, 290.0, len(rows)))
        return {"seller_id": seller, "trader_ids": traders, "window": [self._day(lo), self._day(lo + width)]}

    # ---- delivered columns ------------------------------------------------------------------------------
    def finding_types(self, counterfeit: list[dict], ring: dict, phoenix: dict) -> None:
        """What each discrepancy or seizure found: the planted scheme where there is one, else drawn."""
        items = self.items
        names = list(FINDINGS)
        drawn = np.array(names, dtype=object)[
            self.rng.choice(len(names), size=self.n_decl, p=np.array([FINDINGS[k] for k in names]))
        ][items["decl"]]
        for anomaly, finding in PLANTED_FINDING.items():
            drawn[items["anomaly"] == anomaly] = finding
        keys = items["declaration_id"]
        for c in counterfeit:
            drawn[keys == c["declaration_id"]] = "counterfeit"
        for s in (ring["seizure"], phoenix["seizure"]):
            drawn[keys == s["declaration_id"]] = "undervaluation"
        irregular = np.isin(items["inspection_outcome"], ["discrepancy", "seizure"])
        items["finding_type"] = np.where(irregular, drawn, None)

    def hashes(self, ring: dict, phoenix: dict) -> None:
        """Per trader constant address and phone hashes on about 95% of import rows; shared only where
        planted (two ring members' address, the phoenix pair's phone)."""
        items, seed = self.items, self.gen.c.seed
        tid = items["trader_id"]
        address = {t: _hash("address", seed, t) for t in np.unique(tid)}
        phone = {t: _hash("phone", seed, t) for t in address}
        first, second = ring["shared_address_trader_ids"]
        address[second] = address[first]
        phone[phoenix["successor_trader_id"]] = phone[phoenix["predecessor_trader_id"]]
        planted = set(ring["trader_ids"]) | {phoenix["predecessor_trader_id"], phoenix["successor_trader_id"]}
        shown = ~items["flow_x"] & ((self.rng.random(len(tid)) < HASH_SHARE) | np.isin(tid, sorted(planted)))
        items["trader_address_hash"] = np.where(shown, lookup(tid, address), None)
        items["trader_phone_hash"] = np.where(shown, lookup(tid, phone), None)


def _hash(kind: str, seed: int, trader_id: str) -> str:
    """A stand-in for the clearance system's keyed hash of a synthetic address or phone number."""
    return hashlib.sha256(f"demo-{kind}|{seed}|{trader_id}".encode()).hexdigest()


def summary(truth: dict) -> dict:
    """The plants in a line each, for `anomalies.json`."""
    return {
        "counterfeit_items": len(truth["counterfeit"]),
        "counterfeit_seized": sum(c["seized"] for c in truth["counterfeit"]),
        "legitimate_branded_items": len(truth["legitimate_branded"]),
        "ring_traders": len(truth["ring"]["trader_ids"]),
        "phoenix": [truth["phoenix"]["predecessor_trader_id"], truth["phoenix"]["successor_trader_id"]],
        "split_consignment_traders": len(truth["split_consignments"]["trader_ids"]),
    }
