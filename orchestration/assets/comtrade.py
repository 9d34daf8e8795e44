"""Partner statistics fetched from the UN Comtrade API, one partition per reference year.

The responses are written into the landing area (`partner_trade/comtrade_api/<year>/`) as received
(the key redacted); `raw/partner_trade` then loads them like any delivered file, so a load can always
be replayed offline from what was fetched. A reporter that fails does not stop the others, but the
year is marked incomplete (`_incomplete.json`) and the step fails, so a partial year is never silent.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    Config,
    Failure,
    MaterializeResult,
    TimeWindowPartitionsDefinition,
    asset,
)
from pydantic import Field

from orchestration.assets.landing import COMTRADE_API
from orchestration.ingest.comtrade import (
    Chunk,
    ComtradeError,
    FetchReport,
    clear_incomplete,
    mark_incomplete,
    year_folder,
)
from orchestration.resources import WAREHOUSE_POOL, ComtradeResource, LandingAreaResource, WarehouseResource
from orchestration.settings import TIMEZONE

YEARLY = TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1 *", fmt="%Y", start="2017", timezone=TIMEZONE, end_offset=1
)
# Oman's main trade partners (ISO alpha-3); the reporters whose records mirror Oman's trade.
MAIN_PARTNERS = [
    "ARE",
    "SAU",
    "QAT",
    "KWT",
    "BHR",
    "CHN",
    "IND",
    "PAK",
    "JPN",
    "KOR",
    "THA",
    "VNM",
    "MYS",
    "IDN",
    "USA",
    "BRA",
    "DEU",
    "FRA",
    "NLD",
    "ITA",
    "GBR",
    "CHE",
    "TUR",
    "EGY",
    "AUS",
    "NZL",
]


class ComtradeFetch(Config):
    reporters: list[str] = Field(default=MAIN_PARTNERS, description="Reporters (ISO alpha-3) to fetch.")
    flows: list[str] = Field(
        default=["X", "M", "RX"], description="Partner flows: X mirrors Oman's imports, M its exports."
    )


@asset(
    key=COMTRADE_API,
    deps=[AssetKey(["raw", "countries"]), AssetKey(["raw", "hs_nomenclature"])],  # the codes it asks for
    partitions_def=YEARLY,
    group_name="landing",
    owners=["team:customs-data-engineering"],
    kinds={"python"},
    pool=WAREHOUSE_POOL,
    description="Partners' annual records about Oman from the UN Comtrade API, stored as received in the landing area.",
)
def comtrade_api(
    context: AssetExecutionContext,
    config: ComtradeFetch,
    comtrade: ComtradeResource,
    landing: LandingAreaResource,
    warehouse: WarehouseResource,
) -> MaterializeResult:
    year = int(context.partition_key)
    client = comtrade.client()
    if not client.keyed:
        context.log.warning(
            f"${comtrade.key_env} is not set: using the keyless preview endpoint, at most "
            f"{client.record_cap} records a call; large reporters will take many calls"
        )
    with warehouse.connect(read_only=True) as con:
        codes = dict(con.execute("SELECT iso3, comtrade_code FROM raw.countries").fetchall())
        hs6 = [
            c for (c,) in con.execute("SELECT hscode FROM raw.hs_nomenclature WHERE level = 6 ORDER BY 1").fetchall()
        ]
    unknown = [r for r in config.reporters if r not in codes]
    if unknown:
        raise ComtradeError(f"reporters not in the countries table: {unknown}")
    folder = year_folder(landing.root, year)
    report = FetchReport()
    failed: dict[str, str] = {}  # reporter -> why (ComtradeError texts are already redacted)
    for iso3 in config.reporters:
        try:
            for flow in config.flows:
                client.fetch(Chunk(codes[iso3], year, flow), folder, hs6, report)
        except ComtradeError as exc:
            failed[iso3] = str(exc)
            context.log.error(f"{iso3} failed, going on with the other reporters: {exc}")
    context.log.info(
        f"{report.calls} calls ({report.retries} retried, {report.splits} chunks split), "
        f"{report.records:,} records in {len(report.files)} files -> {folder}"
    )
    metadata = {
        "calls": report.calls,
        "retries": report.retries,
        "splits": report.splits,
        "dagster/row_count": report.records,
        "files": len(report.files),
        "endpoint": "data (keyed)" if client.keyed else "public preview (keyless)",
        "folder": str(folder),
        "complete": not failed,
        "failed_reporters": sorted(failed),
    }
    if not failed:
        clear_incomplete(folder)
        return MaterializeResult(metadata=metadata)
    # What was fetched is in the landing area, so it is recorded; the year is marked, and the step fails.
    marker = mark_incomplete(folder, year, failed)
    context.log_event(
        AssetMaterialization(asset_key=context.asset_key, partition=context.partition_key, metadata=metadata)
    )
    raise Failure(
        description=f"{year} is incomplete: {len(failed)} of {len(config.reporters)} reporters failed "
        f"({', '.join(sorted(failed))}), marked in {marker}; fetch the year again to complete it. "
        + "; ".join(f"{iso3}: {why}" for iso3, why in sorted(failed.items())),
        metadata={"failed_reporters": sorted(failed)},
    )
