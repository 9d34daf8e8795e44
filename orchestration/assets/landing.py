"""The landing area as external assets: the folders other systems deliver into, upstream of the raw
loads. Dagster does not materialize them (the clearance system, partner feeds and reference owners
do); they are here so the graph starts where the data comes from. `landing/comtrade_api`, the one
landing asset Dagster fetches itself, is in `orchestration.assets.comtrade`."""

from dagster import AssetKey, AssetSpec

OWNER = "team:customs-data-engineering"


def landing_key(folder: str) -> AssetKey:
    return AssetKey(["landing", folder])


def _landing(folder: str, kinds: set[str], description: str) -> AssetSpec:
    return AssetSpec(
        landing_key(folder),
        group_name="landing",
        owners=[OWNER],
        kinds=kinds,
        description=description,
        metadata={"landing_folder": folder},
    )


landing_specs = [
    _landing(
        "declarations",
        {"csv", "parquet"},
        "Daily extracts of declaration items from the national clearance system (`items_YYYY-MM-DD`).",
    ),
    _landing(
        "partner_trade",
        {"csv"},
        "Partners' statistics about Oman delivered as files: Comtrade bulk CSV, CEPII BACI.",
    ),
    _landing(
        "reference",
        {"csv", "parquet"},
        "Reference tables delivered by their owners (HS nomenclature and concordance, countries, rates, tariff).",
    ),
]

COMTRADE_API = landing_key("comtrade_api")
_SOURCES = {
    "declaration_items": [landing_key("declarations")],
    "partner_trade": [landing_key("partner_trade"), COMTRADE_API],  # files delivered, responses fetched
}


def landing_sources(table: str) -> list[AssetKey]:
    """The landing assets a raw table is loaded from (a reference table: its delivered file)."""
    return _SOURCES.get(table, [landing_key("reference")])
