"""Hand-written facts the demo dataset is built from: real HS 2022 subheadings, Oman's main trade
partners, currencies, customs offices and a simplified GCC-style tariff.

The tariff and unit values are plausible, not legal or statistical truth: they exist so that the demo
exercises every rule of the warehouse (0%, 5% and 100% duty lines, GCC origin, zero-rated VAT, an HS
2017 -> 2022 split) with numbers an analyst recognises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

VAT_START = date(2021, 4, 16)
VAT_RATE = 0.05
GENERAL_DUTY = 0.05


@dataclass(frozen=True)
class Country:
    iso2: str
    iso3: str
    m49: int
    comtrade: int
    name: str
    is_gcc: bool
    currency: str
    region: str


COUNTRIES = [
    Country("OM", "OMN", 512, 512, "Oman", True, "OMR", "Western Asia"),
    Country("AE", "ARE", 784, 784, "United Arab Emirates", True, "AED", "Western Asia"),
    Country("SA", "SAU", 682, 682, "Saudi Arabia", True, "SAR", "Western Asia"),
    Country("QA", "QAT", 634, 634, "Qatar", True, "QAR", "Western Asia"),
    Country("KW", "KWT", 414, 414, "Kuwait", True, "KWD", "Western Asia"),
    Country("BH", "BHR", 48, 48, "Bahrain", True, "BHD", "Western Asia"),
    Country("YE", "YEM", 887, 887, "Yemen", False, "YER", "Western Asia"),
    Country("CN", "CHN", 156, 156, "China", False, "CNY", "Eastern Asia"),
    Country("IN", "IND", 356, 699, "India", False, "INR", "Southern Asia"),
    Country("PK", "PAK", 586, 586, "Pakistan", False, "PKR", "Southern Asia"),
    Country("JP", "JPN", 392, 392, "Japan", False, "JPY", "Eastern Asia"),
    Country("KR", "KOR", 410, 410, "Republic of Korea", False, "KRW", "Eastern Asia"),
    Country("TH", "THA", 764, 764, "Thailand", False, "THB", "South-eastern Asia"),
    Country("VN", "VNM", 704, 704, "Viet Nam", False, "VND", "South-eastern Asia"),
    Country("MY", "MYS", 458, 458, "Malaysia", False, "MYR", "South-eastern Asia"),
    Country("ID", "IDN", 360, 360, "Indonesia", False, "IDR", "South-eastern Asia"),
    Country("PH", "PHL", 608, 608, "Philippines", False, "PHP", "South-eastern Asia"),
    Country("US", "USA", 840, 842, "United States of America", False, "USD", "Northern America"),
    Country("BR", "BRA", 76, 76, "Brazil", False, "BRL", "South America"),
    Country("DE", "DEU", 276, 276, "Germany", False, "EUR", "Western Europe"),
    Country("FR", "FRA", 250, 251, "France", False, "EUR", "Western Europe"),
    Country("NL", "NLD", 528, 528, "Netherlands", False, "EUR", "Western Europe"),
    Country("CH", "CHE", 756, 757, "Switzerland", False, "CHF", "Western Europe"),
    Country("IT", "ITA", 380, 380, "Italy", False, "EUR", "Southern Europe"),
    Country("GB", "GBR", 826, 826, "United Kingdom", False, "GBP", "Northern Europe"),
    Country("TR", "TUR", 792, 792, "Turkiye", False, "TRY", "Western Asia"),
    Country("EG", "EGY", 818, 818, "Egypt", False, "EGP", "Northern Africa"),
    Country("AU", "AUS", 36, 36, "Australia", False, "AUD", "Australia and New Zealand"),
    Country("NZ", "NZL", 554, 554, "New Zealand", False, "NZD", "Australia and New Zealand"),
]
COUNTRY_BY_ISO2 = {c.iso2: c for c in COUNTRIES}
GCC = frozenset(c.iso2 for c in COUNTRIES if c.is_gcc)

# Units of currency per Omani rial on the first day of the demo, and the daily volatility of the
# random walk (0 = pegged to the US dollar like the rial itself).
CURRENCIES = {
    "OMR": (1.0, 0.0),
    "USD": (2.6008, 0.0),
    "AED": (9.5514, 0.0),
    "SAR": (9.7529, 0.0),
    "QAR": (9.4668, 0.0),
    "BHD": (0.9779, 0.0),
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
    description: str
    flow: str  # M import, X export
    uv_usd_kg: float  # median unit value
    mass_kg: float  # median net mass of one item
    weight: float  # relative share of items
    origins: dict[str, float]  # origin (M) or destination (X) weights
    supp_unit: str = ""
    kg_per_unit: float = 0.0


P = Product
PRODUCTS = [
    P("020130", "Bovine meat, boneless, fresh or chilled", "M", 7.5, 2000, 1.0, {"AU": .4, "IN": .2, "BR": .2, "PK": .2}),
    P("020230", "Bovine meat, boneless, frozen", "M", 5.0, 9000, 1.0, {"BR": .4, "IN": .3, "AU": .3}),
    P("020714", "Fowls; cuts and offal, frozen", "M", 2.2, 12000, 1.5, {"BR": .6, "US": .2, "SA": .2}),
    P("040210", "Milk powder, fat content not exceeding 1.5%", "M", 3.0, 8000, .8, {"NZ": .5, "FR": .2, "NL": .3}),
    P("040221", "Milk powder, fat content exceeding 1.5%, unsweetened", "M", 3.6, 8000, .8, {"NZ": .5, "NL": .2, "SA": .3}),
    P("040690", "Cheese, other", "M", 5.0, 3000, 1.0, {"SA": .3, "AE": .2, "DE": .2, "FR": .15, "NZ": .15}),
    P("070190", "Potatoes, fresh or chilled", "M", .35, 20000, .8, {"IN": .4, "EG": .3, "PK": .3}),
    P("080390", "Bananas, fresh or dried", "M", .6, 15000, .7, {"IN": .6, "PH": .4}),
    P("100630", "Rice, semi-milled or wholly milled", "M", .9, 25000, 2.0, {"IN": .5, "PK": .35, "TH": .15}),
    P("100199", "Wheat and meslin, other", "M", .32, 300000, .3, {"AU": .6, "US": .4}),
    P("151190", "Palm oil and its fractions, refined", "M", 1.0, 20000, .8, {"MY": .6, "ID": .4}),
    P("170199", "Cane or beet sugar, refined, other", "M", .55, 50000, .6, {"BR": .6, "IN": .4}),
    P("190590", "Bread, pastry, cakes, biscuits, other", "M", 3.5, 2000, 1.0, {"AE": .4, "SA": .3, "TR": .15, "MY": .15}),
    P("210690", "Food preparations n.e.c.", "M", 6.0, 1000, 1.0, {"AE": .3, "US": .2, "SA": .2, "CH": .1, "DE": .2}),
    P("220210", "Waters, with added sugar or flavoured", "M", .9, 10000, 1.0, {"AE": .5, "SA": .4, "TR": .1}, "l", 1.02),
    P("220300", "Beer made from malt", "M", 1.6, 5000, .2, {"NL": .4, "DE": .3, "GB": .3}, "l", 1.02),
    P("220830", "Whiskies", "M", 14.0, 1000, .15, {"GB": .9, "US": .1}, "l", 1.1),
    P("240220", "Cigarettes containing tobacco", "M", 30.0, 1500, .3, {"AE": .3, "CH": .3, "DE": .2, "ID": .2}, "u", .001),
    P("240311", "Water pipe tobacco", "M", 9.0, 2000, .2, {"AE": .5, "EG": .3, "TR": .2}),
    P("252329", "Portland cement, other than white", "M", .06, 200000, .3, {"AE": .6, "PK": .4}),
    P("271019", "Medium and heavy oils and preparations", "M", .9, 20000, .6, {"AE": .6, "SA": .2, "IN": .2}),
    P("300490", "Medicaments, in measured doses, other", "M", 60.0, 300, 1.5, {"IN": .3, "DE": .2, "CH": .2, "US": .15, "GB": .15}),
    P("330499", "Beauty or make-up preparations, other", "M", 25.0, 400, 1.0, {"FR": .3, "AE": .2, "US": .2, "KR": .15, "DE": .15}),
    P("340250", "Washing and cleaning preparations, put up for retail sale", "M", 1.8, 5000, .8, {"SA": .4, "AE": .3, "TR": .15, "CN": .15}),
    P("392330", "Carboys, bottles, flasks, of plastics", "M", 2.5, 3000, .8, {"AE": .4, "SA": .3, "CN": .3}),
    P("401110", "New pneumatic tyres, for motor cars", "M", 4.5, 4000, .8, {"CN": .4, "JP": .2, "TH": .2, "KR": .2}, "u", 9.0),
    P("610910", "T-shirts, singlets, of cotton, knitted", "M", 14.0, 600, 1.0, {"CN": .45, "IN": .3, "TR": .1, "VN": .15}, "u", .2),
    P("611020", "Jerseys, pullovers, of cotton, knitted", "M", 18.0, 500, .8, {"CN": .6, "TR": .2, "VN": .2}, "u", .4),
    P("620342", "Men's trousers, of cotton", "M", 16.0, 700, .8, {"CN": .5, "IN": .2, "PK": .2, "TR": .1}, "u", .5),
    P("640399", "Footwear, outer soles of rubber, uppers of leather, other", "M", 25.0, 700, .7, {"CN": .6, "VN": .3, "IT": .1}, "u", .8),
    P("711311", "Jewellery of silver", "M", 800.0, 8, .3, {"IN": .5, "IT": .2, "TH": .3}),
    P("711319", "Jewellery of other precious metal", "M", 45000.0, 3, .3, {"IN": .4, "AE": .3, "IT": .2, "TR": .1}),
    P("721049", "Flat-rolled iron, zinc-coated, other", "M", .85, 50000, .6, {"CN": .5, "IN": .3, "KR": .2}),
    P("721420", "Bars and rods of iron, with deformations (rebar)", "M", .65, 100000, .6, {"AE": .3, "SA": .3, "TR": .2, "IN": .2}),
    P("730630", "Tubes and pipes of iron, welded, circular", "M", 1.3, 20000, .6, {"CN": .5, "IN": .3, "AE": .2}),
    P("760429", "Aluminium bars, rods and profiles, alloyed", "M", 4.0, 5000, .5, {"AE": .5, "CN": .3, "TR": .2}),
    P("841451", "Table, floor, wall, ceiling fans", "M", 12.0, 1000, .6, {"CN": .85, "TH": .15}, "u", 5.0),
    P("841510", "Air conditioning machines, window or wall types", "M", 9.0, 5000, .8, {"CN": .6, "TH": .25, "JP": .15}, "u", 35.0),
    P("841810", "Combined refrigerator-freezers", "M", 4.5, 6000, .6, {"CN": .4, "TR": .2, "KR": .2, "TH": .2}, "u", 60.0),
    P("845011", "Washing machines, fully automatic", "M", 6.0, 5000, .5, {"CN": .5, "TR": .2, "KR": .2, "TH": .1}, "u", 65.0),
    P("847130", "Portable computers, weighing not more than 10 kg", "M", 220.0, 300, 1.0, {"CN": .85, "US": .05, "VN": .1}, "u", 2.2),
    P("851713", "Smartphones", "M", 900.0, 150, 1.2, {"CN": .6, "VN": .3, "KR": .1}, "u", .2),
    P("851714", "Other telephones for cellular networks", "M", 110.0, 300, .6, {"CN": .8, "IN": .2}, "u", .15),
    P("851762", "Machines for reception, conversion, transmission of data", "M", 150.0, 200, .8, {"CN": .6, "US": .2, "MY": .2}, "u", 1.0),
    P("852872", "Reception apparatus for television, colour", "M", 14.0, 4000, .8, {"CN": .4, "KR": .3, "MY": .15, "TR": .15}, "u", 12.0),
    P("854449", "Electric conductors, for a voltage not exceeding 1000 V, other", "M", 6.0, 5000, .7, {"CN": .4, "AE": .3, "SA": .3}),
    P("870323", "Motor cars, spark-ignition, 1500 to 3000 cc", "M", 14.0, 12000, 1.5, {"JP": .45, "KR": .25, "US": .1, "DE": .1, "CN": .1}, "u", 1400.0),
    P("870324", "Motor cars, spark-ignition, over 3000 cc", "M", 18.0, 15000, .8, {"JP": .4, "US": .4, "DE": .2}, "u", 2000.0),
    P("870421", "Goods vehicles, diesel, g.v.w. not exceeding 5 tonnes", "M", 8.0, 10000, .6, {"JP": .6, "TH": .3, "CN": .1}, "u", 1800.0),
    P("870899", "Parts and accessories of motor vehicles, other", "M", 9.0, 2000, 1.0, {"JP": .3, "CN": .3, "DE": .2, "AE": .2}),
    P("871120", "Motorcycles, 50 to 250 cc", "M", 6.0, 3000, .4, {"IN": .5, "JP": .3, "CN": .2}, "u", 110.0),
    P("901890", "Medical, surgical instruments and appliances, other", "M", 120.0, 200, .7, {"US": .4, "DE": .3, "CN": .3}),
    P("940360", "Wooden furniture, other", "M", 4.0, 3000, .8, {"CN": .5, "MY": .2, "TR": .2, "IT": .1}),
    P("950300", "Toys; scale models; puzzles", "M", 6.0, 1500, .8, {"CN": .9, "VN": .1}),
    P("030389", "Fish, frozen, other", "X", 1.6, 20000, 1.0, {"VN": .2, "TH": .2, "AE": .2, "SA": .2, "CN": .2}),
    P("080410", "Dates, fresh or dried", "X", 1.8, 10000, .8, {"IN": .4, "AE": .3, "GB": .1, "US": .2}),
    P("252329", "Portland cement, other than white", "X", .05, 300000, .5, {"AE": .4, "QA": .3, "KW": .3}),
    P("271019", "Medium and heavy oils and preparations", "X", .9, 40000, .6, {"AE": .4, "IN": .3, "PK": .3}),
    P("281410", "Anhydrous ammonia", "X", .35, 500000, .3, {"IN": .6, "TH": .4}),
    P("310210", "Urea", "X", .35, 1000000, .5, {"IN": .4, "BR": .3, "US": .2, "AU": .1}),
    P("390120", "Polyethylene, specific gravity of 0.94 or more", "X", 1.2, 50000, .6, {"CN": .4, "IN": .3, "TR": .2, "PK": .1}),
    P("390210", "Polypropylene", "X", 1.1, 50000, .6, {"CN": .4, "IN": .3, "TR": .2, "EG": .1}),
    P("760110", "Aluminium, not alloyed, unwrought", "X", 2.4, 100000, .4, {"IN": .3, "KR": .3, "JP": .2, "TR": .2}),
    P("720711", "Semi-finished products of iron, rectangular section", "X", .55, 500000, .3, {"AE": .4, "SA": .3, "QA": .3}),
    P("290511", "Methanol", "X", .35, 500000, .3, {"CN": .5, "IN": .3, "KR": .2}),
    P("740311", "Refined copper cathodes", "X", 8.0, 50000, .2, {"CN": .5, "IN": .5}),
]

# Import duty by HS prefix (longest prefix wins); the general rate applies to everything else.
DUTY_LINES = [
    ("", GENERAL_DUTY, "GCC Common External Tariff general rate"),
    ("0201", 0.0, "Basic foodstuffs"), ("0202", 0.0, "Basic foodstuffs"), ("0207", 0.0, "Basic foodstuffs"),
    ("0402", 0.0, "Basic foodstuffs"), ("0701", 0.0, "Basic foodstuffs"), ("0803", 0.0, "Basic foodstuffs"),
    ("1001", 0.0, "Basic foodstuffs"), ("1006", 0.0, "Basic foodstuffs"), ("1511", 0.0, "Basic foodstuffs"),
    ("1701", 0.0, "Basic foodstuffs"),
    ("2203", 1.0, "Alcoholic beverages"), ("2204", 1.0, "Alcoholic beverages"), ("2208", 1.0, "Alcoholic beverages"),
    ("24", 1.0, "Tobacco and manufactured tobacco substitutes"),
    ("3004", 0.0, "Medicaments"), ("9018", 0.0, "Medical instruments"),
    ("847130", 0.0, "Information technology products"), ("851713", 0.0, "Information technology products"),
    ("851762", 0.0, "Information technology products"), ("711311", 0.0, "Silver jewellery (demo line)"),
]
# Import VAT: standard rate from VAT_START, zero-rated basic food and medical goods.
VAT_ZERO_PREFIXES = ["0201", "0202", "0207", "0402", "0701", "0803", "1001", "1006", "1511", "1701", "3004", "9018"]

# HS 2022 subheadings whose HS 2017 code differs (from the Comtrade concordance); all others map 1:1.
HS2017_OF = {"851713": "851712", "851714": "851712", "340250": "340220"}
# HS 2022 codes fed by more than one HS 2017 code.
HS2017_EXTRA = {"841810": ["841850"]}

# CIF/FOB margins: default, then overrides by partner (road neighbours are cheaper to reach) and chapter.
CIF_FOB_DEFAULT = 1.06
CIF_FOB_OVERRIDES = [
    ("ARE", "", 1.02, "Road and short-sea freight from the UAE"),
    ("SAU", "", 1.03, "Road freight from Saudi Arabia"),
    ("QAT", "", 1.03, "Short-sea freight from Qatar"),
    ("KWT", "", 1.03, "Short-sea freight from Kuwait"),
    ("BHR", "", 1.03, "Short-sea freight from Bahrain"),
    ("USA", "", 1.08, "Long-haul freight"),
    ("BRA", "", 1.08, "Long-haul freight"),
    ("", "27", 1.04, "Bulk fuels"),
    ("", "71", 1.01, "Precious goods, freight negligible against value"),
]

HS_SECTIONS = [  # (section, first chapter, last chapter)
    ("I", 1, 5), ("II", 6, 14), ("III", 15, 15), ("IV", 16, 24), ("V", 25, 27), ("VI", 28, 38),
    ("VII", 39, 40), ("VIII", 41, 43), ("IX", 44, 46), ("X", 47, 49), ("XI", 50, 63), ("XII", 64, 67),
    ("XIII", 68, 70), ("XIV", 71, 71), ("XV", 72, 83), ("XVI", 84, 85), ("XVII", 86, 89), ("XVIII", 90, 92),
    ("XIX", 93, 93), ("XX", 94, 96), ("XXI", 97, 97),
]
HS_CHAPTERS = {
    "02": "Meat and edible meat offal", "03": "Fish and crustaceans", "04": "Dairy produce; eggs; honey",
    "07": "Edible vegetables", "08": "Edible fruit and nuts", "10": "Cereals",
    "15": "Animal, vegetable or microbial fats and oils", "17": "Sugars and sugar confectionery",
    "19": "Preparations of cereals, flour, starch or milk", "21": "Miscellaneous edible preparations",
    "22": "Beverages, spirits and vinegar", "24": "Tobacco and manufactured tobacco substitutes",
    "25": "Salt; sulphur; earths, stone; lime and cement", "26": "Ores, slag and ash",
    "27": "Mineral fuels, mineral oils", "28": "Inorganic chemicals", "29": "Organic chemicals",
    "30": "Pharmaceutical products", "31": "Fertilizers", "33": "Essential oils; perfumery, cosmetics",
    "34": "Soap, washing preparations", "39": "Plastics and articles thereof", "40": "Rubber and articles thereof",
    "61": "Apparel, knitted or crocheted", "62": "Apparel, not knitted or crocheted", "64": "Footwear",
    "71": "Pearls, precious stones and metals; jewellery", "72": "Iron and steel", "73": "Articles of iron or steel",
    "74": "Copper and articles thereof", "76": "Aluminium and articles thereof",
    "84": "Nuclear reactors, boilers, machinery", "85": "Electrical machinery and equipment",
    "87": "Vehicles other than railway", "90": "Optical, medical instruments", "94": "Furniture; bedding; lighting",
    "95": "Toys, games and sports requisites",
}
HS_HEADINGS = {
    "0201": "Meat of bovine animals, fresh or chilled", "0202": "Meat of bovine animals, frozen",
    "0207": "Meat and edible offal of poultry", "0303": "Fish, frozen", "0402": "Milk and cream, concentrated",
    "0406": "Cheese and curd", "0701": "Potatoes, fresh or chilled", "0803": "Bananas", "0804": "Dates, figs",
    "1001": "Wheat and meslin", "1006": "Rice", "1511": "Palm oil", "1701": "Cane or beet sugar",
    "1905": "Bread, pastry, cakes, biscuits", "2106": "Food preparations n.e.c.",
    "2202": "Waters, with added sugar", "2203": "Beer made from malt", "2208": "Spirits, liqueurs",
    "2402": "Cigars, cigarettes", "2403": "Other manufactured tobacco", "2523": "Portland cement",
    "2710": "Petroleum oils, not crude", "2814": "Ammonia", "2905": "Acyclic alcohols", "3004": "Medicaments",
    "3102": "Mineral or chemical fertilisers, nitrogenous", "3304": "Beauty or make-up preparations",
    "3402": "Washing preparations", "3901": "Polymers of ethylene", "3902": "Polymers of propylene",
    "3923": "Articles for the conveyance of goods, of plastics", "4011": "New pneumatic tyres, of rubber",
    "6109": "T-shirts, singlets", "6110": "Jerseys, pullovers", "6203": "Men's suits, trousers",
    "6403": "Footwear with uppers of leather", "7113": "Articles of jewellery",
    "7207": "Semi-finished products of iron", "7210": "Flat-rolled iron, clad, plated or coated",
    "7214": "Other bars and rods of iron", "7306": "Other tubes and pipes of iron", "7403": "Refined copper",
    "7601": "Unwrought aluminium", "7604": "Aluminium bars, rods and profiles", "8414": "Air pumps, fans",
    "8415": "Air conditioning machines", "8418": "Refrigerators, freezers", "8450": "Household washing machines",
    "8471": "Automatic data-processing machines", "8517": "Telephone sets, incl. smartphones",
    "8528": "Monitors, projectors, television receivers", "8544": "Insulated wire, cable",
    "8703": "Motor cars for the transport of persons", "8704": "Motor vehicles for the transport of goods",
    "8708": "Parts of motor vehicles", "8711": "Motorcycles", "9018": "Medical, surgical instruments",
    "9403": "Other furniture", "9503": "Toys",
}
