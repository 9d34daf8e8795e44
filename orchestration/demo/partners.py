"""The partners' (mirror) statistics: Comtrade-shaped annual records built from the demo's *true*
trade, with the planted over-reporting and the HS 2017 codes of partners still on that edition."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from orchestration import reference
from orchestration.demo import catalog as cat
from orchestration.demo.declarations import Generator
from orchestration.demo.tariff import ISO3, chapter, cif_fob_margin, lookup
from orchestration.rules import home_comtrade_code


@cache
def _hs2017_of() -> dict[str, str]:
    """The HS 2017 code a partner on that edition reports for an HS 2022 subheading: the same code when
    the concordance keeps it, else its (first) source."""
    sources: dict[str, list[str]] = {}
    for after, before in reference.hs_concordance():
        sources.setdefault(after, []).append(before)
    return {after: after if after in before else min(before) for after, before in sources.items()}


def partner_records(gen: Generator, items: dict) -> list[dict]:
    """Comtrade-shaped annual records by the partners: exports to Oman (mirroring Oman's imports,
    FOB) and imports from Oman (mirroring Oman's exports, CIF), built from the *true* trade."""
    flow_x = items["flow_x"]
    hs6_of = np.array([p.hs6 for p in gen.products], dtype=object)
    kgpu = np.array([p.kg_per_unit for p in gen.products])[items["product"]]
    frame = pd.DataFrame(
        {
            "year": np.array([d.year for d in gen.days])[items["day"]],
            "hs6": items["hs6_true"],
            "mass": items["net_mass_kg"],
            "units": np.where(kgpu > 0, items["net_mass_kg"] / np.maximum(kgpu, 1e-9), 0.0),
        }
    )
    imp = ~flow_x
    by_origin = imp & items["reported_by_origin"]
    frame["reporter"] = np.where(flow_x, items["partner"], np.where(by_origin, items["origin_true"], "AE"))
    frame["flow"] = np.where(flow_x, "M", np.where(by_origin, "X", "RX"))
    true_margin = cif_fob_margin(lookup(frame["reporter"].to_numpy(), ISO3), chapter(hs6_of)[items["product"]])
    frame["value"] = np.where(flow_x, items["true_fob_usd"] * true_margin, items["true_fob_usd"])
    agg = frame.groupby(["year", "reporter", "hs6", "flow"], sort=True)[["value", "mass", "units"]].sum()
    cells = {k: list(v) for k, v in zip(agg.index, agg.to_numpy(), strict=True)}

    # plant partner exports well above what Oman recorded
    for year, origin, hs6, factor in gen.mirror_picks:
        key = (year, origin, hs6, "X")
        value = cells[key][0]
        cells[key] = [x * (1 + factor) for x in cells[key]]
        iso3 = ISO3[origin]
        margin = float(cif_fob_margin(np.array([iso3], dtype=object), np.array([hs6[:2]], dtype=object))[0])
        gen.truth.mirror_excess.append(
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
    return _to_comtrade(gen, cells, gen.c.partner_noise)


def _to_comtrade(gen: Generator, cells: dict, noise: float) -> list[dict]:
    rng = gen.rng
    late_adopters = {"IN", "PK", "EG"}  # still reporting in HS 2017 after 2022
    merged: dict[tuple, list] = {}
    for (year, reporter, hs6, flow), (value, mass, qty) in sorted(cells.items()):
        vintage = "H5" if year < 2022 or reporter in late_adopters else "H6"
        code = _hs2017_of().get(hs6, hs6) if vintage == "H5" else hs6
        acc = merged.setdefault((year, reporter, code, flow, vintage), [0.0, 0.0, 0.0, hs6])
        acc[0] += value
        acc[1] += mass
        acc[2] += qty
    units = {p.hs6: p.supp_unit for p in gen.products}
    desc = {p.hs6: p.description for p in gen.products}
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
                "partnerCode": home_comtrade_code(),
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
