"""The demo's declaration items: traders, goods, planted schemes, logistics and money, drawn with NumPy
from one seeded generator (the order of draws is part of the output: same seed, same files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from orchestration.demo import catalog as cat
from orchestration.demo import latent
from orchestration.demo.tariff import ISO3, chapter, cif_fob_margin, duty_rate_for, lookup, vat_standard, vat_zero_rated
from orchestration.rules import omr_per_usd


@dataclass(frozen=True)
class DemoConfig:
    items: int = 200_000
    start: date = date(2021, 1, 1)
    months: int = 24
    seed: int = 968  # Oman's calling code
    partner_noise: float = 0.002  # std-dev of partners' reporting noise on values (clipped at 2.5x)

    @property
    def end(self) -> date:
        """First day after the period."""
        y, m = divmod(self.start.month - 1 + self.months, 12)
        return date(self.start.year + y, m + 1, 1)


@dataclass
class PlantedTruth:
    undervaluation: list[dict] = field(default_factory=list)
    misclassification: list[dict] = field(default_factory=list)
    false_origin: list[dict] = field(default_factory=list)
    mirror_excess: list[dict] = field(default_factory=list)
    slow_office: dict = field(default_factory=dict)


class Generator:
    def __init__(self, config: DemoConfig):
        self.c = config
        self.rng = np.random.default_rng(config.seed)
        self.latent_rng = np.random.default_rng([config.seed, 1])  # sellers and propensities (`latent`)
        n_days = (config.end - config.start).days
        self.days = np.array([config.start + timedelta(days=i) for i in range(n_days)], dtype=object)
        self.day_ordinals = np.array([d.toordinal() for d in self.days])
        self.truth = PlantedTruth(slow_office={"office_code": cat.SLOW_OFFICE, "clearance_factor": 4.0})
        self.products = cat.PRODUCTS
        self.rates = self._exchange_rates()

    # ---- reference data -------------------------------------------------------------------------
    def _exchange_rates(self) -> dict[str, np.ndarray]:
        """Units per OMR for every calendar day (a random walk for floating currencies)."""
        n = len(self.days) + 14
        out = {}
        for ccy, (level, vol) in cat.CURRENCIES.items():
            steps = self.rng.normal(0.0, vol, n) if vol else np.zeros(n)
            out[ccy] = np.round(level * np.exp(np.cumsum(steps)), 6)
        return out

    def rates_table(self) -> pa.Table:
        """Rates as published: working days only (Sunday to Thursday), from a week before the period."""
        first = self.c.start - timedelta(days=14)
        rows = {"rate_date": [], "currency": [], "units_per_omr": []}
        for i in range(len(self.days) + 14):
            d = first + timedelta(days=i)
            if d.weekday() in (4, 5):  # Friday, Saturday
                continue
            for ccy, series in self.rates.items():
                if ccy == "OMR":
                    continue
                rows["rate_date"].append(d)
                rows["currency"].append(ccy)
                rows["units_per_omr"].append(float(series[i]))
        return pa.table(rows)

    def _rate_on(self, ccy_idx: np.ndarray, day_idx: np.ndarray, currencies: list[str]) -> np.ndarray:
        """Rate in force on each lodgement day: the last published working-day rate (as-of rule)."""
        first = self.c.start - timedelta(days=14)
        published = np.array([(first + timedelta(days=i)).weekday() not in (4, 5) for i in range(len(self.days) + 14)])
        last_pub = np.maximum.accumulate(np.where(published, np.arange(len(published)), 0))
        idx = last_pub[day_idx + 14]
        table = np.stack([self.rates[c] for c in currencies])
        return table[ccy_idx, idx]

    # ---- declarations ---------------------------------------------------------------------------
    def declarations(self) -> dict:
        c, rng = self.c, self.rng
        n = c.items
        # declaration sizes (1..8 items), cut to exactly n items
        sizes = np.minimum(rng.geometric(0.45, size=int(n / 2.0) + 10), 8)
        cut = int(np.searchsorted(np.cumsum(sizes), n))
        sizes = sizes[: cut + 1]
        sizes[-1] -= int(sizes.sum()) - n
        sizes = sizes[sizes > 0]
        n_decl = len(sizes)

        weekday = np.array([d.weekday() for d in self.days])
        day_w = np.where(weekday == 4, 0.25, np.where(weekday == 5, 0.5, 1.0))
        day_w = day_w * (1 + 0.08 * np.arange(len(self.days)) / 365)
        decl_day = np.sort(rng.choice(len(self.days), size=n_decl, p=day_w / day_w.sum()))

        flow_x = rng.random(n_decl) < 0.18
        n_imp, n_exp = max(40, n // 80), max(12, n // 800)
        imp_w = 1 / np.arange(1, n_imp + 1) ** 0.8
        exp_w = 1 / np.arange(1, n_exp + 1) ** 0.8
        trader = np.where(
            flow_x,
            n_imp + rng.choice(n_exp, size=n_decl, p=exp_w / exp_w.sum()),
            rng.choice(n_imp, size=n_decl, p=imp_w / imp_w.sum()),
        )
        trader_ids = np.array([f"OM{1000000 + 7919 * i % 9000000:07d}" for i in range(n_imp + n_exp)])
        n_brk = max(10, n // 1500)
        trader_broker = rng.integers(0, n_brk, size=n_imp + n_exp)
        broker = np.where(rng.random(n_decl) < 0.85, trader_broker[trader], rng.integers(0, n_brk, n_decl))

        # trader portfolios: 3-8 products of the trader's flow, drawn by product weight
        m_idx = np.array([i for i, p in enumerate(self.products) if p.flow == "M"])
        x_idx = np.array([i for i, p in enumerate(self.products) if p.flow == "X"])
        pw = np.array([p.weight for p in self.products])
        portfolio = np.zeros((n_imp + n_exp, 8), dtype=int)
        k = rng.integers(3, 9, size=n_imp + n_exp)
        for t in range(n_imp + n_exp):
            pool = x_idx if t >= n_imp else m_idx
            portfolio[t] = rng.choice(pool, size=8, replace=False, p=pw[pool] / pw[pool].sum())

        # items
        decl_of_item = np.repeat(np.arange(n_decl), sizes)
        item_no = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1
        t_item = trader[decl_of_item]
        product = portfolio[t_item, (rng.random(n) * k[t_item]).astype(int)]
        day_item = decl_day[decl_of_item]
        flow_item = flow_x[decl_of_item]

        items = {
            "decl": decl_of_item,
            "item_no": item_no,
            "trader": t_item,
            "day": day_item,
            "flow_x": flow_item,
            "product": product,
            "decl_count": n_decl,
            "anomaly": np.full(n, "", dtype=object),
        }
        planted_products = self._plant_products(items, n_imp)
        self._draw_goods(items)
        self._plant_values(items, planted_products)
        self._choose_mirror_cells(items)
        latent.assign_sellers(self.latent_rng, items, n_imp + n_exp)

        self._logistics(items, n_decl, decl_day)
        self._finance(items)

        items["declaration_id"] = np.array(
            [f"OM{self.days[d]:%Y%m%d}{i:06d}" for i, d in enumerate(decl_day)], dtype=object
        )[decl_of_item]
        items["trader_id"] = trader_ids[t_item]
        self.trader_ids = trader_ids
        items["declarant_id"] = np.array([f"BRK{1000 + i}" for i in range(n_brk)], dtype=object)[broker[decl_of_item]]
        return items

    def _plant_products(self, items: dict, n_imp: int) -> dict:
        """Choose the traders behind each planted scheme and steer some of their items to its goods."""
        rng = self.rng
        pidx = {(p.hs6, p.flow): i for i, p in enumerate(self.products)}
        # mid-sized importers, away from the very largest (which would dominate any ranking anyway)
        candidates = rng.permutation(np.arange(5, max(40, n_imp // 4)))
        schemes = {
            "undervaluation": [("851713",), ("870323",), ("847130",), ("330499",), ("640399",), ("711319",)],
            "misclassification": [("851714", "851713"), ("711319", "711311")],
            "false_origin": [("841510", "AE"), ("611020", "AE"), ("950300", "SA")],
        }
        chosen, pos = {}, 0
        for scheme, specs in schemes.items():
            for spec in specs:
                trader = int(candidates[pos])
                pos += 1
                mine = np.flatnonzero(items["trader"] == trader)
                steer = mine[rng.random(len(mine)) < 0.6]
                items["product"][steer] = pidx[(spec[0], "M")]
                chosen[(scheme, trader)] = spec
        return chosen

    def _draw_goods(self, items: dict) -> None:
        rng, n = self.rng, len(items["product"])
        prods = self.products
        origin = np.empty(n, dtype=object)
        for i, p in enumerate(prods):
            sel = np.flatnonzero(items["product"] == i)
            if len(sel) == 0:
                continue
            names = list(p.origins)
            w = np.array([p.origins[o] for o in names])
            origin[sel] = np.array(names, dtype=object)[rng.choice(len(names), size=len(sel), p=w / w.sum())]
        flow_x = items["flow_x"]
        # exports: the catalog weights are destinations, origin is Oman
        items["partner"] = origin.copy()
        items["origin"] = np.where(flow_x, "OM", origin)
        # imports consigned through the UAE: the partner (consignment) country becomes AE
        transit = (~flow_x) & (rng.random(n) < 0.3) & ~np.isin(origin, list(cat.GCC))
        items["partner"] = np.where(transit, "AE", items["partner"])
        items["transit"] = transit
        # origin countries report exports to Oman when they know the final destination
        items["reported_by_origin"] = ~transit | (rng.random(n) < 0.5)

        uv = np.array([p.uv_usd_kg for p in prods])[items["product"]]
        mass_med = np.array([p.mass_kg for p in prods])[items["product"]]
        years = (self.day_ordinals[items["day"]] - self.day_ordinals[0]) / 365.0
        items["net_mass_kg"] = np.round(mass_med * rng.lognormal(0.0, 0.9, n), 3).clip(0.1)
        items["unit_value_usd"] = uv * rng.lognormal(0.0, 0.3, n) * (1.03**years)
        items["true_fob_usd"] = items["net_mass_kg"] * items["unit_value_usd"]
        items["product_declared"] = items["product"].copy()
        items["origin_true"] = items["origin"].copy()
        items["declared_factor"] = np.ones(n)

    def _product_index(self, hs6: str, flow: str = "M") -> int:
        return next(i for i, p in enumerate(self.products) if p.hs6 == hs6 and p.flow == flow)

    def _plant_values(self, items: dict, planted: dict) -> None:
        rng, t = self.rng, self.truth
        days = items["day"]
        half = len(self.days) // 4
        for (scheme, trader), spec in planted.items():
            sel = np.flatnonzero((items["trader"] == trader) & (items["product"] == self._product_index(spec[0])))
            if scheme == "undervaluation":
                sel = sel[days[sel] >= half]  # the scheme starts some months into the period
                factor = round(float(rng.uniform(0.30, 0.45)), 3)
                items["declared_factor"][sel] = factor
                items["anomaly"][sel] = "undervaluation"
                t.undervaluation.append(
                    {
                        "trader_index": trader,
                        "hs6": spec[0],
                        "declared_share_of_true_value": factor,
                        "items": len(sel),
                        "from": str(self.days[half]),
                    }
                )
            elif scheme == "misclassification":
                sel = sel[rng.random(len(sel)) < 0.8]
                items["product_declared"][sel] = self._product_index(spec[1])
                items["anomaly"][sel] = "misclassification"
                t.misclassification.append(
                    {"trader_index": trader, "true_hs6": spec[0], "declared_hs6": spec[1], "items": len(sel)}
                )
            else:
                sel = sel[(items["partner"][sel] != "AE")]
                items["origin"][sel] = spec[1]
                items["anomaly"][sel] = "false_origin"
                t.false_origin.append(
                    {"trader_index": trader, "hs6": spec[0], "claimed_origin": spec[1], "items": len(sel)}
                )

    def _choose_mirror_cells(self, items: dict) -> None:
        """Pick four large import cells (year x origin x HS6) that no other scheme touches, for the partner
        to over-report later. Their goods are shipped direct, so the planted excess is the only gap."""
        rng = self.rng
        touched = {self.products[i].hs6 for i in np.unique(items["product"][items["anomaly"] != ""])}
        imports = ~items["flow_x"]
        frame = pd.DataFrame(
            {
                "year": np.array([d.year for d in self.days])[items["day"]][imports],
                "origin": items["origin_true"][imports],
                "hs6": np.array([p.hs6 for p in self.products], dtype=object)[items["product"][imports]],
                "value": items["true_fob_usd"][imports],
            }
        )
        frame = frame[~frame["origin"].isin(list(cat.GCC | {"IN", "PK", "EG"})) & ~frame["hs6"].isin(list(touched))]
        ranked = frame.groupby(["year", "origin", "hs6"])["value"].sum().sort_values(ascending=False)
        picks, used = [], set()
        for year, origin, hs6 in ranked.index:
            if len(picks) < 4 and (origin, hs6) not in used and rng.random() < 0.5:
                picks.append((int(year), origin, hs6, round(float(rng.uniform(1.5, 2.5)), 3)))
                used.add((origin, hs6))
        years = np.array([d.year for d in self.days])[items["day"]]
        hs6_true = np.array([p.hs6 for p in self.products], dtype=object)[items["product"]]
        for year, origin, hs6, _ in picks:
            cell = imports & (years == year) & (items["origin_true"] == origin) & (hs6_true == hs6)
            items["partner"][cell] = origin
            items["transit"][cell] = False
            items["reported_by_origin"][cell] = True
        self.mirror_picks = picks

    # ---- logistics: offices, modes, channels, times -----------------------------------------------
    def _logistics(self, items: dict, n_decl: int, decl_day: np.ndarray) -> None:
        rng = self.rng
        first = np.r_[0, np.flatnonzero(np.diff(items["decl"])) + 1]  # first item of each declaration
        lead_partner = items["partner"][first]
        lead_uv = items["unit_value_usd"][first]
        neighbour = np.isin(lead_partner, ["AE", "SA", "QA", "KW", "BH", "YE"])
        u = rng.random(n_decl)
        mode = np.where(
            neighbour,
            np.where(u < 0.6, "road", np.where(u < 0.9, "sea", "air")),
            np.where(lead_uv > 100, np.where(u < 0.7, "air", "sea"), np.where(u < 0.8, "sea", "air")),
        ).astype(object)
        mode[(mode == "air") & (rng.random(n_decl) < 0.06)] = "post"
        v = rng.random(n_decl)
        office = np.empty(n_decl, dtype=object)
        office[mode == "air"] = "MCT-AIR"
        office[mode == "post"] = "MCT-POST"
        sea = mode == "sea"
        office[sea] = np.where(v[sea] < 0.55, "SOH-SEA", np.where(v[sea] < 0.85, "SLL-SEA", "DQM-SEA"))
        road = mode == "road"
        office[road] = np.where(
            lead_partner[road] == "AE", np.where(v[road] < 0.55, "WAJ-ROAD", "KHM-ROAD"), "RBK-ROAD"
        )

        planted = np.zeros(n_decl, dtype=bool)
        np.logical_or.at(planted, items["decl"], items["anomaly"] != "")
        w = rng.random(n_decl)
        channel = np.where(w < 0.72, "green", np.where(w < 0.87, "yellow", np.where(w < 0.96, "red", "blue")))
        channel = np.where(planted & (rng.random(n_decl) < 0.3), "red", channel).astype(object)
        base_hours = {"green": 1.5, "yellow": 8.0, "red": 30.0, "blue": 2.0}
        factor = {o.code: o.clearance_factor for o in cat.OFFICES}
        hours = lookup(channel, base_hours) * lookup(office, factor)
        hours = hours * rng.lognormal(0.0, 0.6, n_decl)
        lodged = np.datetime64(self.c.start, "s") + (
            decl_day * 86400 + rng.integers(6 * 3600, 22 * 3600, n_decl)
        ).astype("timedelta64[s]")
        released = lodged + (hours * 3600).astype("timedelta64[s]")
        recent = decl_day >= len(self.days) - 3
        not_released = (recent & (rng.random(n_decl) < 0.3)) | (rng.random(n_decl) < 0.001)

        observed = np.isin(channel, ["yellow", "red", "blue"]) & ~not_released
        o = rng.random(n_decl)
        months = np.array([(d.year - self.c.start.year) * 12 + d.month - self.c.start.month for d in self.days])
        hs6_of = np.array([p.hs6 for p in self.products], dtype=object)
        self.latent_keys = latent.entity_keys(items, hs6_of)
        multiplier, self.risky = latent.propensity(
            self.latent_rng, self.latent_keys, items["decl"], months[decl_day], observed, items["anomaly"] != ""
        )
        outcome = np.where(observed, latent.outcomes(o, planted, multiplier), None)

        d = items["decl"]
        items.update(
            transport_mode=mode[d],
            office_code=office[d],
            risk_channel=channel[d],
            lodged_at=lodged[d],
            released_at=np.where(not_released[d], np.datetime64("NaT"), released[d]),
            inspection_outcome=outcome[d],
        )
        self.truth.slow_office["declarations"] = int((office == cat.SLOW_OFFICE).sum())

    # ---- money: currencies, values, duty, VAT ------------------------------------------------------
    def _finance(self, items: dict) -> None:
        rng, n = self.rng, len(items["product"])
        flow_x = items["flow_x"]
        partner, origin = items["partner"], items["origin"]
        declared = items["product_declared"]
        hs6_of = np.array([p.hs6 for p in self.products], dtype=object)
        margin = cif_fob_margin(lookup(partner, ISO3), chapter(hs6_of)[declared])
        items["cif_fob_margin"] = margin

        # declared values: the true value times the planted under-declaration factor
        fob = items["true_fob_usd"] * items["declared_factor"]
        cif = fob * margin
        value_usd = np.where(flow_x, fob, cif)
        items["customs_value_omr"] = np.round(value_usd * omr_per_usd(), 3)

        currencies = list(cat.CURRENCIES)
        ccy = np.full(n, "USD", dtype=object)
        for p, (local, share) in cat.INVOICE_CURRENCY.items():
            ccy[(partner == p) & (rng.random(n) < share)] = local
        rate = self._rate_on(lookup(ccy, {c: i for i, c in enumerate(currencies)}), items["day"], currencies)
        u = rng.random(n)
        incoterm = np.where(
            flow_x,
            np.where(u < 0.8, "FOB", "CIF"),
            np.where(
                u < 0.35, "FOB", np.where(u < 0.5, "CFR", np.where(u < 0.9, "CIF", np.where(u < 0.95, "EXW", "DAP")))
            ),
        )
        invoice_usd = np.where(
            np.isin(incoterm, ["FOB", "EXW"]), fob, np.where(incoterm == "CFR", fob * (1 + (margin - 1) * 0.8), cif)
        )
        items["invoice_amount"] = np.round(invoice_usd * omr_per_usd() * rate, 2)
        items["invoice_currency"] = ccy
        items["incoterm"] = incoterm.astype(object)

        gcc_origin = np.isin(origin, list(cat.GCC))
        claims = (rng.random(n) < 0.97) | (items["anomaly"] == "false_origin")
        pref = np.where(~flow_x & gcc_origin & claims, "GCC", None)
        items["preference_code"] = pref
        v = rng.random(n)
        proc = np.where(flow_x, "1000", np.where(v < 0.96, "4000", np.where(v < 0.98, "4071", "5100")))
        items["procedure_code"] = proc.astype(object)

        duty_rate = duty_rate_for(hs6_of)[declared]
        duty_rate = np.where(flow_x | (pref == "GCC") | (proc != "4000"), 0.0, duty_rate)
        duty = np.round(items["customs_value_omr"] * duty_rate, 3)
        items["duty_omr"] = np.where(flow_x, np.nan, duty)
        vat_start, vat_rate_standard = vat_standard()
        lodged_date = items["lodged_at"].astype("datetime64[D]")
        vat_on = lodged_date >= np.datetime64(vat_start)
        zero = vat_zero_rated(hs6_of)[declared]
        vat_rate = np.where(vat_on & ~flow_x & (proc != "5100") & ~zero, vat_rate_standard, 0.0)
        items["vat_omr"] = np.where(flow_x, np.nan, np.round((items["customs_value_omr"] + duty) * vat_rate, 3))

        prods = self.products
        unit = np.array([p.supp_unit or None for p in prods], dtype=object)[declared]
        kgpu = np.array([p.kg_per_unit for p in prods])[declared]
        items["supplementary_unit"] = unit
        items["supplementary_qty"] = np.where(
            kgpu > 0, np.maximum(1, np.round(items["net_mass_kg"] / np.maximum(kgpu, 1e-9))), np.nan
        )
        items["goods_description"] = np.array([p.description for p in prods], dtype=object)[declared]
        items["hs6"] = hs6_of[declared]
        items["hs6_true"] = hs6_of[items["product"]]
        items["hs_code"] = items["hs6"] + rng.choice(np.array(["00", "10", "90"], dtype=object), size=n)
