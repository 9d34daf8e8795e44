"""The built-in reference tables: what the warehouse loads for a table the landing area does not
deliver, and the tariff, margins, countries and HS codes the demo generator is built on.

The CSV files beside this module are the defaults in their documented layouts (README, "Reference
tables"); `README.md` here gives each one's source, version and licence. Two tables are completed from
the rules when written, so that the rial's peg and the default CIF/FOB margin are stated only in
`dbt_project.yml` (`orchestration.rules`): `exchange_rates.csv` is derived from the US-dollar pegs in
`usd_pegs.csv`, and the catch-all row of `cif_fob_margins.csv` (the contract requires a margin on every
row) carries `mirror.default_cif_fob_margin`.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from orchestration.rules import omr_per_usd, rule

HERE = Path(__file__).parent
# written as they are; the IPR register is a header only: no rights are recorded unless delivered
SHIPPED = ("countries", "tariff_schedule", "hs_nomenclature", "hs_concordance", "ipr_recordations")
PEGGED_SINCE = date(2000, 1, 1)  # the pegged rates hold from before any plausible lodgement


@dataclass(frozen=True)
class Country:
    iso2: str
    iso3: str
    m49: int
    comtrade: int
    name: str
    region: str
    is_gcc: bool
    currency: str


@dataclass(frozen=True)
class TariffLine:
    hs_prefix: str  # empty: every code
    tax_type: str  # duty or vat
    rate: float
    valid_from: date
    valid_to: date | None
    description: str


@dataclass(frozen=True)
class Margin:
    partner_iso3: str  # empty: any partner
    hs_chapter: str  # empty: any chapter
    margin: float
    note: str


@dataclass(frozen=True)
class HsCode:
    section: str
    hscode: str
    description: str
    parent: str
    level: int


def _rows(name: str) -> list[dict[str, str]]:
    with open(HERE / f"{name}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


@cache
def countries() -> tuple[Country, ...]:
    return tuple(
        Country(
            r["iso2"],
            r["iso3"],
            int(r["m49"]),
            int(r["comtrade_code"]),
            r["name"],
            r["region"],
            r["is_gcc"] == "true",
            r["currency"],
        )
        for r in _rows("countries")
    )


@cache
def tariff_lines() -> tuple[TariffLine, ...]:
    """Duty and VAT lines; none of the defaults is a specific (per-unit) duty."""
    return tuple(
        TariffLine(
            r["hs_prefix"],
            r["tax_type"],
            float(r["rate"]),
            _date(r["valid_from"]),
            _date(r["valid_to"]),
            r["description"],
        )
        for r in _rows("tariff_schedule")
    )


@cache
def cif_fob_margins() -> tuple[Margin, ...]:
    """The catch-all row from the rule, then the overrides by partner and chapter."""
    default = Margin("", "", float(rule("mirror.default_cif_fob_margin")), "Default CIF/FOB ratio")
    rows = _rows("cif_fob_margins")
    return (default, *(Margin(r["partner_iso3"], r["hs_chapter"], float(r["margin"]), r["note"]) for r in rows))


@cache
def pegged_rates() -> dict[str, float]:
    """Units per rial of the currencies pegged to the US dollar, to 4 decimals as rates are published."""
    return {r["currency"]: round(float(r["units_per_usd"]) / omr_per_usd(), 4) for r in _rows("usd_pegs")}


@cache
def hs_nomenclature() -> tuple[HsCode, ...]:
    return tuple(
        HsCode(r["section"], r["hscode"], r["description"], r["parent"], int(r["level"]))
        for r in _rows("hs_nomenclature")
    )


@cache
def hs_concordance() -> tuple[tuple[str, str], ...]:
    """(HS 2022 code, HS 2017 code) pairs, with the leading zeros the Growth Lab layout strips restored."""
    return tuple((r["code.after"].zfill(6), r["code.before"].zfill(6)) for r in _rows("hs_concordance"))


def write_defaults(folder: Path) -> int:
    """Write the built-in reference tables into `folder`; return how many."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED:
        shutil.copyfile(HERE / f"{name}.csv", folder / f"{name}.csv")
    rates = pegged_rates()
    pacsv.write_csv(
        pa.table(
            {
                "rate_date": [PEGGED_SINCE] * len(rates),
                "currency": list(rates),
                "units_per_omr": list(rates.values()),
            }
        ),
        folder / "exchange_rates.csv",
    )
    margins = [vars(m) for m in cif_fob_margins()]
    pacsv.write_csv(pa.Table.from_pylist(margins), folder / "cif_fob_margins.csv")
    return len(SHIPPED) + 2
