"""Facts of the demo alone: products with their unit values and sources, customs offices, invoice
currencies, the starting levels of the floating exchange rates and the slow office. Tariff, VAT, CIF/FOB
margins, countries, the US-dollar pegs and HS codes are the built-in reference tables
(`orchestration.reference`), read from there so that the demo and the warehouse share one statement.

Unit values and volumes are plausible, not statistical truth: they exist so that the demo exercises
every rule of the warehouse (0%, 5% and 100% duty lines, GCC origin, zero-rated VAT, an HS 2017 -> 2022
split) with numbers an analyst recognises.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration import reference

COUNTRIES = reference.countries()
COUNTRY_BY_ISO2 = {c.iso2: c for c in COUNTRIES}
GCC = frozenset(c.iso2 for c in COUNTRIES if c.is_gcc)
_DESCRIPTION = {h.hscode: h.description for h in reference.hs_nomenclature()}

# Units of currency per Omani rial on the first day of the demo, and the daily volatility of the
# random walk (0 = pegged to the US dollar like the rial itself).
CURRENCIES = {
    "OMR": (1.0, 0.0),
    **{currency: (rate, 0.0) for currency, rate in reference.pegged_rates().items()},
    "KWD": (0.7862, 0.001),
    "EUR": (2.1390, 0.004),
    "GBP": (1.9020, 0.004),
    "CNY": (16.960, 0.002),
    "INR": (190.10, 0.002),
    "JPY": (269.50, 0.005),
}

# Share of a partner's invoices in a currency other than USD.
INVOICE_CURRENCY = {
    "OM": ("OMR", 0.8), "AE": ("AED", 0.6), "SA": ("SAR", 0.6), "QA": ("QAR", 0.5),
    "KW": ("KWD", 0.5), "BH": ("BHD", 0.5), "DE": ("EUR", 0.7), "FR": ("EUR", 0.7),
    "NL": ("EUR", 0.7), "IT": ("EUR", 0.7), "GB": ("GBP", 0.6), "CN": ("CNY", 0.2),
    "IN": ("INR", 0.3), "JP": ("JPY", 0.4),
}


@dataclass(frozen=True)
class Office:
    code: str
    name: str
    mode: str
    clearance_factor: float


OFFICES = [
    Office("MCT-AIR", "Muscat International Airport", "air", 1.0),
    Office("SOH-SEA", "Sohar Port", "sea", 1.1),
    Office("SLL-SEA", "Salalah Port", "sea", 1.0),
    Office("DQM-SEA", "Duqm Port", "sea", 0.9),
    Office("WAJ-ROAD", "Al Wajajah border post", "road", 0.8),
    Office("KHM-ROAD", "Khatmat Milaha border post", "road", 4.0),
    Office("RBK-ROAD", "Rub al Khali border post", "road", 1.0),
    Office("MCT-POST", "Muscat Post", "post", 1.2),
]
SLOW_OFFICE = "KHM-ROAD"


@dataclass(frozen=True)
class Product:
    hs6: str
    flow: str  # M import, X export
    uv_usd_kg: float  # median unit value
    mass_kg: float  # median net mass of one item
    weight: float  # relative share of items
    origins: dict[str, float]  # origin (M) or destination (X) weights
    supp_unit: str = ""
    kg_per_unit: float = 0.0

    @property
    def description(self) -> str:
        """The goods description declared: the subheading's text in the HS nomenclature."""
        return _DESCRIPTION[self.hs6]


P = Product
PRODUCTS = [
    P("020130", "M", 7.5, 2000, 1.0, {"AU": .4, "IN": .2, "BR": .2, "PK": .2}),
    P("020230", "M", 5.0, 9000, 1.0, {"BR": .4, "IN": .3, "AU": .3}),
    P("020714", "M", 2.2, 12000, 1.5, {"BR": .6, "US": .2, "SA": .2}),
    P("040210", "M", 3.0, 8000, .8, {"NZ": .5, "FR": .2, "NL": .3}),
    P("040221", "M", 3.6, 8000, .8, {"NZ": .5, "NL": .2, "SA": .3}),
    P("040690", "M", 5.0, 3000, 1.0, {"SA": .3, "AE": .2, "DE": .2, "FR": .15, "NZ": .15}),
    P("070190", "M", .35, 20000, .8, {"IN": .4, "EG": .3, "PK": .3}),
    P("080390", "M", .6, 15000, .7, {"IN": .6, "PH": .4}),
    P("100630", "M", .9, 25000, 2.0, {"IN": .5, "PK": .35, "TH": .15}),
    P("100199", "M", .32, 300000, .3, {"AU": .6, "US": .4}),
    P("151190", "M", 1.0, 20000, .8, {"MY": .6, "ID": .4}),
    P("170199", "M", .55, 50000, .6, {"BR": .6, "IN": .4}),
    P("190590", "M", 3.5, 2000, 1.0, {"AE": .4, "SA": .3, "TR": .15, "MY": .15}),
    P("210690", "M", 6.0, 1000, 1.0, {"AE": .3, "US": .2, "SA": .2, "CH": .1, "DE": .2}),
    P("220210", "M", .9, 10000, 1.0, {"AE": .5, "SA": .4, "TR": .1}, "l", 1.02),
    P("220300", "M", 1.6, 5000, .2, {"NL": .4, "DE": .3, "GB": .3}, "l", 1.02),
    P("220830", "M", 14.0, 1000, .15, {"GB": .9, "US": .1}, "l", 1.1),
    P("240220", "M", 30.0, 1500, .3, {"AE": .3, "CH": .3, "DE": .2, "ID": .2}, "u", .001),
    P("240311", "M", 9.0, 2000, .2, {"AE": .5, "EG": .3, "TR": .2}),
    P("252329", "M", .06, 200000, .3, {"AE": .6, "PK": .4}),
    P("271019", "M", .9, 20000, .6, {"AE": .6, "SA": .2, "IN": .2}),
    P("300490", "M", 60.0, 300, 1.5, {"IN": .3, "DE": .2, "CH": .2, "US": .15, "GB": .15}),
    P("330499", "M", 25.0, 400, 1.0, {"FR": .3, "AE": .2, "US": .2, "KR": .15, "DE": .15}),
    P("340250", "M", 1.8, 5000, .8, {"SA": .4, "AE": .3, "TR": .15, "CN": .15}),
    P("392330", "M", 2.5, 3000, .8, {"AE": .4, "SA": .3, "CN": .3}),
    P("401110", "M", 4.5, 4000, .8, {"CN": .4, "JP": .2, "TH": .2, "KR": .2}, "u", 9.0),
    P("610910", "M", 14.0, 600, 1.0, {"CN": .45, "IN": .3, "TR": .1, "VN": .15}, "u", .2),
    P("611020", "M", 18.0, 500, .8, {"CN": .6, "TR": .2, "VN": .2}, "u", .4),
    P("620342", "M", 16.0, 700, .8, {"CN": .5, "IN": .2, "PK": .2, "TR": .1}, "u", .5),
    P("640399", "M", 25.0, 700, .7, {"CN": .6, "VN": .3, "IT": .1}, "u", .8),
    P("711311", "M", 800.0, 8, .3, {"IN": .5, "IT": .2, "TH": .3}),
    P("711319", "M", 45000.0, 3, .3, {"IN": .4, "AE": .3, "IT": .2, "TR": .1}),
    P("721049", "M", .85, 50000, .6, {"CN": .5, "IN": .3, "KR": .2}),
    P("721420", "M", .65, 100000, .6, {"AE": .3, "SA": .3, "TR": .2, "IN": .2}),
    P("730630", "M", 1.3, 20000, .6, {"CN": .5, "IN": .3, "AE": .2}),
    P("760429", "M", 4.0, 5000, .5, {"AE": .5, "CN": .3, "TR": .2}),
    P("841451", "M", 12.0, 1000, .6, {"CN": .85, "TH": .15}, "u", 5.0),
    P("841510", "M", 9.0, 5000, .8, {"CN": .6, "TH": .25, "JP": .15}, "u", 35.0),
    P("841810", "M", 4.5, 6000, .6, {"CN": .4, "TR": .2, "KR": .2, "TH": .2}, "u", 60.0),
    P("845011", "M", 6.0, 5000, .5, {"CN": .5, "TR": .2, "KR": .2, "TH": .1}, "u", 65.0),
    P("847130", "M", 220.0, 300, 1.0, {"CN": .85, "US": .05, "VN": .1}, "u", 2.2),
    P("851713", "M", 900.0, 150, 1.2, {"CN": .6, "VN": .3, "KR": .1}, "u", .2),
    P("851714", "M", 110.0, 300, .6, {"CN": .8, "IN": .2}, "u", .15),
    P("851762", "M", 150.0, 200, .8, {"CN": .6, "US": .2, "MY": .2}, "u", 1.0),
    P("852872", "M", 14.0, 4000, .8, {"CN": .4, "KR": .3, "MY": .15, "TR": .15}, "u", 12.0),
    P("854449", "M", 6.0, 5000, .7, {"CN": .4, "AE": .3, "SA": .3}),
    P("870323", "M", 14.0, 12000, 1.5, {"JP": .45, "KR": .25, "US": .1, "DE": .1, "CN": .1}, "u", 1400.0),
    P("870324", "M", 18.0, 15000, .8, {"JP": .4, "US": .4, "DE": .2}, "u", 2000.0),
    P("870421", "M", 8.0, 10000, .6, {"JP": .6, "TH": .3, "CN": .1}, "u", 1800.0),
    P("870899", "M", 9.0, 2000, 1.0, {"JP": .3, "CN": .3, "DE": .2, "AE": .2}),
    P("871120", "M", 6.0, 3000, .4, {"IN": .5, "JP": .3, "CN": .2}, "u", 110.0),
    P("901890", "M", 120.0, 200, .7, {"US": .4, "DE": .3, "CN": .3}),
    P("940360", "M", 4.0, 3000, .8, {"CN": .5, "MY": .2, "TR": .2, "IT": .1}),
    P("950300", "M", 6.0, 1500, .8, {"CN": .9, "VN": .1}),
    P("030389", "X", 1.6, 20000, 1.0, {"VN": .2, "TH": .2, "AE": .2, "SA": .2, "CN": .2}),
    P("080410", "X", 1.8, 10000, .8, {"IN": .4, "AE": .3, "GB": .1, "US": .2}),
    P("252329", "X", .05, 300000, .5, {"AE": .4, "QA": .3, "KW": .3}),
    P("271019", "X", .9, 40000, .6, {"AE": .4, "IN": .3, "PK": .3}),
    P("281410", "X", .35, 500000, .3, {"IN": .6, "TH": .4}),
    P("310210", "X", .35, 1000000, .5, {"IN": .4, "BR": .3, "US": .2, "AU": .1}),
    P("390120", "X", 1.2, 50000, .6, {"CN": .4, "IN": .3, "TR": .2, "PK": .1}),
    P("390210", "X", 1.1, 50000, .6, {"CN": .4, "IN": .3, "TR": .2, "EG": .1}),
    P("760110", "X", 2.4, 100000, .4, {"IN": .3, "KR": .3, "JP": .2, "TR": .2}),
    P("720711", "X", .55, 500000, .3, {"AE": .4, "SA": .3, "QA": .3}),
    P("290511", "X", .35, 500000, .3, {"CN": .5, "IN": .3, "KR": .2}),
    P("740311", "X", 8.0, 50000, .2, {"CN": .5, "IN": .5}),
]
