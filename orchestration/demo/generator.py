"""Deterministic demo dataset: declaration items, partner (mirror) statistics and reference tables
written into a landing area exactly as a customs administration would deliver them, with documented
anomalies planted and their ground truth written beside the data.

Everything is vectorised with NumPy so that the same code produces the 200k-item demo in seconds and
the 10M-item benchmark sets in minutes. The same seed and parameters always give byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.demo import catalog as cat
from orchestration.rules import omr_per_usd

DECLARATION_COLUMNS = [
    "declaration_id",
    "item_no",
    "flow",
    "lodged_at",
    "released_at",
    "office_code",
    "procedure_code",
    "declarant_id",
    "trader_id",
    "hs_code",
    "goods_description",
    "origin_country",
    "partner_country",
    "transport_mode",
    "net_mass_kg",
    "supplementary_qty",
    "supplementary_unit",
    "invoice_amount",
    "invoice_currency",
    "incoterm",
    "customs_value_omr",
    "duty_omr",
    "vat_omr",
    "preference_code",
    "risk_channel",
    "inspection_outcome",
]


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


def generate(landing: Path, config: DemoConfig = DemoConfig()) -> dict:
    """Write the demo dataset into `landing` and return a summary (counts and planted anomalies)."""
    gen = _Generator(config)
    items = gen.declarations()
    partner = gen.partner_records(items)
    landing = Path(landing)
    written = {
        "declaration_files": _write_declarations(landing / "declarations", items, gen.days),
        "partner_files": _write_partner_records(landing / "partner_trade" / "comtrade", partner),
        "reference_files": write_reference_tables(landing / "reference", gen.rates_table()),
    }
    truth_dir = landing / "_demo_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "config": {**asdict(config), "start": config.start.isoformat()},
        "items": int(len(items["item_no"])),
        "declarations": int(items["decl_count"]),
        "partner_records": len(partner),
        **written,
        "planted": asdict(gen.truth),
    }
    (truth_dir / "anomalies.json").write_text(json.dumps(summary, indent=2, default=str))
    _write_truth_items(truth_dir / "truth_items.csv", items)
    return summary


class _Generator:
    def __init__(self, config: DemoConfig):
        self.c = config
        self.rng = np.random.default_rng(config.seed)
        n_days = (config.end - config.start).days
        self.days = np.array([config.start + timedelta(days=i) for i in range(n_days)], dtype=object)
        self.day_ordinals = np.array([d.toordinal() for d in self.days])
        self.truth = PlantedTruth(slow_office={"office_code": cat.SLOW_OFFICE, "clearance_factor": 4.0})
        self.products = cat.PRODUCTS
        self.countries = [c.iso2 for c in cat.COUNTRIES]
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

        self._logistics(items, n_decl, decl_day)
        self._finance(items)

        items["declaration_id"] = np.array(
            [f"OM{self.days[d]:%Y%m%d}{i:06d}" for i, d in enumerate(decl_day)], dtype=object
        )[decl_of_item]
        items["trader_id"] = trader_ids[t_item]
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
        self._mirror_picks = picks

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
        hours = _lookup(channel, base_hours) * _lookup(office, factor)
        hours = hours * rng.lognormal(0.0, 0.6, n_decl)
        lodged = np.datetime64(self.c.start, "s") + (
            decl_day * 86400 + rng.integers(6 * 3600, 22 * 3600, n_decl)
        ).astype("timedelta64[s]")
        released = lodged + (hours * 3600).astype("timedelta64[s]")
        recent = decl_day >= len(self.days) - 3
        not_released = (recent & (rng.random(n_decl) < 0.3)) | (rng.random(n_decl) < 0.001)

        inspected = np.isin(channel, ["yellow", "red", "blue"])
        o = rng.random(n_decl)
        outcome = np.where(
            planted,
            np.where(o < 0.75, "discrepancy", "no_finding"),
            np.where(o < 0.03, "discrepancy", np.where(o < 0.033, "seizure", "no_finding")),
        )
        outcome = np.where(inspected & ~not_released, outcome, None)

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
        margin = cif_fob_margin(_lookup(partner, _ISO3), _chapter(hs6_of)[declared])
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
        rate = self._rate_on(_lookup(ccy, {c: i for i, c in enumerate(currencies)}), items["day"], currencies)
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
        lodged_date = items["lodged_at"].astype("datetime64[D]")
        vat_on = lodged_date >= np.datetime64(cat.VAT_START)
        zero = vat_zero_rated(hs6_of)[declared]
        vat_rate = np.where(vat_on & ~flow_x & (proc != "5100") & ~zero, cat.VAT_RATE, 0.0)
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

    # ---- partner (mirror) statistics -------------------------------------------------------------
    def partner_records(self, items: dict) -> list[dict]:
        """Comtrade-shaped annual records by the partners: exports to Oman (mirroring Oman's imports,
        FOB) and imports from Oman (mirroring Oman's exports, CIF), built from the *true* trade."""
        flow_x = items["flow_x"]
        hs6_of = np.array([p.hs6 for p in self.products], dtype=object)
        kgpu = np.array([p.kg_per_unit for p in self.products])[items["product"]]
        frame = pd.DataFrame(
            {
                "year": np.array([d.year for d in self.days])[items["day"]],
                "hs6": items["hs6_true"],
                "mass": items["net_mass_kg"],
                "units": np.where(kgpu > 0, items["net_mass_kg"] / np.maximum(kgpu, 1e-9), 0.0),
            }
        )
        imp = ~flow_x
        by_origin = imp & items["reported_by_origin"]
        frame["reporter"] = np.where(flow_x, items["partner"], np.where(by_origin, items["origin_true"], "AE"))
        frame["flow"] = np.where(flow_x, "M", np.where(by_origin, "X", "RX"))
        true_margin = cif_fob_margin(_lookup(frame["reporter"].to_numpy(), _ISO3), _chapter(hs6_of)[items["product"]])
        frame["value"] = np.where(flow_x, items["true_fob_usd"] * true_margin, items["true_fob_usd"])
        agg = frame.groupby(["year", "reporter", "hs6", "flow"], sort=True)[["value", "mass", "units"]].sum()
        cells = {k: list(v) for k, v in zip(agg.index, agg.to_numpy(), strict=True)}

        # plant partner exports well above what Oman recorded
        for year, origin, hs6, factor in self._mirror_picks:
            key = (year, origin, hs6, "X")
            value = cells[key][0]
            cells[key] = [x * (1 + factor) for x in cells[key]]
            iso3 = _ISO3[origin]
            margin = float(cif_fob_margin(np.array([iso3], dtype=object), np.array([hs6[:2]], dtype=object))[0])
            self.truth.mirror_excess.append(
                {
                    "year": int(year),
                    "partner_iso3": iso3,
                    "hs6": hs6,
                    "flow": "M",
                    "excess_factor": factor,
                    "excess_fob_usd": round(value * factor, 2),
                    "expected_gap_usd": -round(value * factor * margin, 2),
                }
            )
        return self._to_comtrade(cells, self.c.partner_noise)

    def _to_comtrade(self, cells: dict, noise: float) -> list[dict]:
        rng = self.rng
        late_adopters = {"IN", "PK", "EG"}  # still reporting in HS 2017 after 2022
        merged: dict[tuple, list] = {}
        for (year, reporter, hs6, flow), (value, mass, qty) in sorted(cells.items()):
            vintage = "H5" if year < 2022 or reporter in late_adopters else "H6"
            code = cat.HS2017_OF.get(hs6, hs6) if vintage == "H5" else hs6
            acc = merged.setdefault((year, reporter, code, flow, vintage), [0.0, 0.0, 0.0, hs6])
            acc[0] += value
            acc[1] += mass
            acc[2] += qty
        units = {p.hs6: p.supp_unit for p in self.products}
        desc = {p.hs6: p.description for p in self.products}
        records = []
        for (year, reporter, code, flow, vintage), (value, mass, qty, hs6) in merged.items():
            c = cat.COUNTRY_BY_ISO2[reporter]
            eps = float(np.clip(rng.normal(0, noise), -2.5 * noise, 2.5 * noise))
            mass = mass * (1 + float(np.clip(rng.normal(0, 0.01), -0.02, 0.02)))
            v = round(value * (1 + eps), 2)
            is_import = flow in ("M", "RM")
            in_units = units.get(hs6) == "u"
            records.append(
                {
                    "typeCode": "C",
                    "freqCode": "A",
                    "refPeriodId": int(f"{year}0101"),
                    "refYear": int(year),
                    "refMonth": 52,
                    "period": str(year),
                    "reporterCode": c.comtrade,
                    "reporterISO": c.iso3,
                    "reporterDesc": c.name,
                    "flowCode": flow,
                    "flowDesc": {"M": "Import", "X": "Export", "RX": "Re-export", "RM": "Re-import"}[flow],
                    "partnerCode": 512,
                    "partnerISO": "OMN",
                    "partnerDesc": "Oman",
                    "partner2Code": 0,
                    "partner2ISO": "W00",
                    "partner2Desc": "World",
                    "classificationCode": vintage,
                    "classificationSearchCode": "HS",
                    "isOriginalClassification": True,
                    "cmdCode": code,
                    "cmdDesc": desc[hs6],
                    "aggrLevel": 6,
                    "isLeaf": True,
                    "customsCode": "C00",
                    "customsDesc": "TOTAL CPC",
                    "mosCode": "0",
                    "motCode": 0,
                    "motDesc": "TOTAL MOT",
                    "qtyUnitCode": 5 if in_units else 8,
                    "qtyUnitAbbr": "u" if in_units else "kg",
                    "qty": round(qty if in_units else mass, 3),
                    "isQtyEstimated": False,
                    "altQtyUnitCode": 8,
                    "altQtyUnitAbbr": "kg",
                    "altQty": round(mass, 3),
                    "isAltQtyEstimated": False,
                    "netWgt": round(mass, 3),
                    "isNetWgtEstimated": False,
                    "grossWgt": round(mass * 1.05, 3),
                    "isGrossWgtEstimated": False,
                    "cifvalue": v if is_import else None,
                    "fobvalue": None if is_import else v,
                    "primaryValue": v,
                    "legacyEstimationFlag": 0,
                    "isReported": True,
                    "isAggregate": False,
                }
            )
        return records


# ---- vectorised tariff and margin rules shared with the reference files ------------------------------
_ISO3 = {c.iso2: c.iso3 for c in cat.COUNTRIES}


def _lookup(values: np.ndarray, mapping: dict) -> np.ndarray:
    return pd.Series(values).map(mapping).to_numpy()


def _chapter(hs6: np.ndarray) -> np.ndarray:
    return np.array([h[:2] for h in hs6], dtype=object)


def duty_rate_for(hs6: np.ndarray) -> np.ndarray:
    """Import duty of each subheading: the longest matching prefix of the tariff wins."""

    def rate(code: str) -> float:
        return max(((len(p), r) for p, r, _ in cat.DUTY_LINES if code.startswith(p)))[1]

    return np.array([rate(h) for h in hs6])


def vat_zero_rated(hs6: np.ndarray) -> np.ndarray:
    return np.array([any(h.startswith(p) for p in cat.VAT_ZERO_PREFIXES) for h in hs6])


def cif_fob_margin(partner_iso3: np.ndarray, chapter: np.ndarray) -> np.ndarray:
    """Most specific override wins: partner and chapter, then chapter, then partner, then default."""
    out = np.full(len(partner_iso3), cat.CIF_FOB_DEFAULT)
    for iso3, ch, margin, _ in sorted(cat.CIF_FOB_OVERRIDES, key=lambda r: (bool(r[1]), bool(r[0]))):
        hit = np.ones(len(out), dtype=bool)
        if iso3:
            hit &= partner_iso3 == iso3
        if ch:
            hit &= chapter == ch
        out[hit] = margin
    return out


# ---- writers ------------------------------------------------------------------------------------
def _write_declarations(folder: Path, items: dict, days: np.ndarray) -> int:
    """One file per lodgement day; every third day arrives as Parquet, the rest as CSV."""
    n = len(items["item_no"])
    ts = pa.timestamp("s")
    table = pa.table(
        {
            "declaration_id": pa.array(items["declaration_id"], pa.string()),
            "item_no": pa.array(items["item_no"], pa.int32()),
            "flow": pa.array(np.where(items["flow_x"], "X", "M"), pa.string()),
            "lodged_at": pa.array(items["lodged_at"], ts),
            "released_at": pa.array(items["released_at"], ts, from_pandas=True),
            "office_code": pa.array(items["office_code"], pa.string()),
            "procedure_code": pa.array(items["procedure_code"], pa.string()),
            "declarant_id": pa.array(items["declarant_id"], pa.string()),
            "trader_id": pa.array(items["trader_id"], pa.string()),
            "hs_code": pa.array(items["hs_code"], pa.string()),
            "goods_description": pa.array(items["goods_description"], pa.string()),
            "origin_country": pa.array(items["origin"], pa.string()),
            "partner_country": pa.array(items["partner"], pa.string()),
            "transport_mode": pa.array(items["transport_mode"], pa.string()),
            "net_mass_kg": pa.array(items["net_mass_kg"], pa.float64()),
            "supplementary_qty": pa.array(items["supplementary_qty"], pa.float64(), from_pandas=True),
            "supplementary_unit": pa.array(items["supplementary_unit"], pa.string()),
            "invoice_amount": pa.array(items["invoice_amount"], pa.float64()),
            "invoice_currency": pa.array(items["invoice_currency"], pa.string()),
            "incoterm": pa.array(items["incoterm"], pa.string()),
            "customs_value_omr": pa.array(items["customs_value_omr"], pa.float64()),
            "duty_omr": pa.array(items["duty_omr"], pa.float64(), from_pandas=True),
            "vat_omr": pa.array(items["vat_omr"], pa.float64(), from_pandas=True),
            "preference_code": pa.array(items["preference_code"], pa.string()),
            "risk_channel": pa.array(items["risk_channel"], pa.string()),
            "inspection_outcome": pa.array(items["inspection_outcome"], pa.string()),
        }
    )
    assert table.num_rows == n and table.column_names == DECLARATION_COLUMNS
    bounds = np.searchsorted(items["day"], np.arange(len(days) + 1))
    written = 0
    for d, day in enumerate(days):
        lo, hi = bounds[d], bounds[d + 1]
        if lo == hi:
            continue
        part = table.slice(lo, hi - lo)
        out = folder / f"{day:%Y}" / f"{day:%m}"
        out.mkdir(parents=True, exist_ok=True)
        if day.toordinal() % 3 == 0:
            pq.write_table(part, out / f"items_{day:%Y-%m-%d}.parquet", compression="zstd")
        else:
            pacsv.write_csv(part, out / f"items_{day:%Y-%m-%d}.csv")
        written += 1
    return written


def _write_partner_records(folder: Path, records: list[dict]) -> int:
    """One API-shaped JSON body per reporter and year; Japan's arrive as CSV, as a bulk download would."""
    folder.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["reporterISO"], r["refYear"]), []).append(r)
    for (iso3, year), rows in sorted(groups.items()):
        if iso3 == "JPN":
            pacsv.write_csv(pa.Table.from_pylist(rows), folder / f"comtrade_{iso3}_{year}.csv")
        else:
            body = {"elapsedTime": "0.42 secs", "count": len(rows), "data": rows, "error": ""}
            (folder / f"comtrade_{iso3}_{year}.json").write_text(json.dumps(body))
    return len(groups)


def write_reference_tables(folder: Path, rates: pa.Table | None = None) -> int:
    """The reference tables in their documented layouts (see README, 'Reference tables'); without
    `rates`, exchange rates hold only the currencies pegged to the US dollar."""
    folder.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(
        pa.Table.from_pylist(
            [
                {
                    "iso2": c.iso2,
                    "iso3": c.iso3,
                    "m49": c.m49,
                    "comtrade_code": c.comtrade,
                    "name": c.name,
                    "region": c.region,
                    "is_gcc": c.is_gcc,
                    "currency": c.currency,
                }
                for c in cat.COUNTRIES
            ]
        ),
        folder / "countries.csv",
    )
    if rates is None:  # built-in default: the currencies pegged to the US dollar, like the rial
        pegged = [(c, level) for c, (level, vol) in cat.CURRENCIES.items() if vol == 0 and c != "OMR"]
        rates = pa.table(
            {
                "rate_date": [date(2000, 1, 1)] * len(pegged),
                "currency": [c for c, _ in pegged],
                "units_per_omr": [v for _, v in pegged],
            }
        )
    pacsv.write_csv(rates, folder / "exchange_rates.csv")
    tariff = [
        {
            "hs_prefix": p,
            "tax_type": "duty",
            "rate": r,
            "specific_omr": None,
            "specific_unit": None,
            "valid_from": date(2000, 1, 1),
            "valid_to": None,
            "description": d,
        }
        for p, r, d in cat.DUTY_LINES
    ]
    tariff.append(
        {
            "hs_prefix": "",
            "tax_type": "vat",
            "rate": cat.VAT_RATE,
            "specific_omr": None,
            "specific_unit": None,
            "valid_from": cat.VAT_START,
            "valid_to": None,
            "description": "Import VAT standard rate",
        }
    )
    tariff += [
        {
            "hs_prefix": p,
            "tax_type": "vat",
            "rate": 0.0,
            "specific_omr": None,
            "specific_unit": None,
            "valid_from": cat.VAT_START,
            "valid_to": None,
            "description": "Zero-rated supply",
        }
        for p in cat.VAT_ZERO_PREFIXES
    ]
    pacsv.write_csv(pa.Table.from_pylist(tariff), folder / "tariff_schedule.csv")
    margins = [{"partner_iso3": "", "hs_chapter": "", "margin": cat.CIF_FOB_DEFAULT, "note": "Default CIF/FOB ratio"}]
    margins += [{"partner_iso3": p, "hs_chapter": c, "margin": m, "note": n} for p, c, m, n in cat.CIF_FOB_OVERRIDES]
    pacsv.write_csv(pa.Table.from_pylist(margins), folder / "cif_fob_margins.csv")
    pacsv.write_csv(pa.Table.from_pylist(_nomenclature_rows()), folder / "hs_nomenclature.csv")
    pacsv.write_csv(pa.Table.from_pylist(_concordance_rows()), folder / "hs_concordance.csv")
    return 6


def _section_of(chapter: str) -> str:
    ch = int(chapter)
    return next(s for s, lo, hi in cat.HS_SECTIONS if lo <= ch <= hi)


def _nomenclature_rows() -> list[dict]:
    rows = []
    for ch, d in sorted(cat.HS_CHAPTERS.items()):
        rows.append({"section": _section_of(ch), "hscode": ch, "description": d, "parent": "TOTAL", "level": 2})
    for h, d in sorted(cat.HS_HEADINGS.items()):
        rows.append({"section": _section_of(h[:2]), "hscode": h, "description": d, "parent": h[:2], "level": 4})
    for hs6, d in sorted({p.hs6: p.description for p in cat.PRODUCTS}.items()):
        rows.append({"section": _section_of(hs6[:2]), "hscode": hs6, "description": d, "parent": hs6[:4], "level": 6})
    return rows


def _concordance_rows() -> list[dict]:
    """HS 2022 <- HS 2017 rows for the demo's subheadings, in the Growth Lab layout (leading zeros stripped)."""
    rows = []
    fed_by: dict[str, list[str]] = {}
    for hs6 in sorted({p.hs6 for p in cat.PRODUCTS}):
        fed_by[hs6] = [cat.HS2017_OF.get(hs6, hs6), *cat.HS2017_EXTRA.get(hs6, [])]
    splits = {}
    for after, befores in fed_by.items():
        for b in befores:
            splits.setdefault(b, []).append(after)
    for after, befores in fed_by.items():
        for b in befores:
            many_after, many_before = len(splits[b]) > 1, len(befores) > 1
            rel = "n:n" if many_after and many_before else "1:n" if many_after else "n:1" if many_before else "1:1"
            rows.append(
                {
                    "code.after": after.lstrip("0"),
                    "code.before": b.lstrip("0"),
                    "Relationship": rel,
                    "adjustment": "2022 to 2017",
                }
            )
    return rows


def _write_truth_items(path: Path, items: dict) -> None:
    sel = np.flatnonzero(items["anomaly"] != "")
    true_value = np.round(items["customs_value_omr"][sel] / items["declared_factor"][sel], 3)
    pacsv.write_csv(
        pa.table(
            {
                "declaration_id": pa.array(items["declaration_id"][sel], pa.string()),
                "item_no": pa.array(items["item_no"][sel], pa.int32()),
                "anomaly": pa.array(items["anomaly"][sel], pa.string()),
                "trader_id": pa.array(items["trader_id"][sel], pa.string()),
                "declared_hs6": pa.array(items["hs6"][sel], pa.string()),
                "true_hs6": pa.array(items["hs6_true"][sel], pa.string()),
                "declared_origin": pa.array(items["origin"][sel], pa.string()),
                "true_origin": pa.array(items["origin_true"][sel], pa.string()),
                "declared_value_omr": pa.array(items["customs_value_omr"][sel], pa.float64()),
                "true_value_omr": pa.array(true_value, pa.float64()),
            }
        ),
        path,
    )
