"""The nightly refresh: every asset and check, in one process (steps share the warehouse file one at a
time anyway, and one process avoids a start-up cost per step)."""

from dagster import AssetSelection, ScheduleDefinition, define_asset_job, in_process_executor

from orchestration.settings import TIMEZONE

nightly_refresh = define_asset_job(
    "nightly_refresh",
    # partner statistics are fetched from the API per reference year, by their own job
    selection=AssetSelection.all() - AssetSelection.assets(["landing", "comtrade_api"]),
    executor_def=in_process_executor,
    description="Load the landing area, rebuild every layer and run every quality check.",
)

nightly_schedule = ScheduleDefinition(
    name="nightly_refresh_0200_muscat",
    job=nightly_refresh,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    description="Every night at 02:00 Muscat time, after the clearance system's end-of-day extract.",
)

comtrade_refresh = define_asset_job(
    "comtrade_refresh",
    selection=AssetSelection.assets(["landing", "comtrade_api"]),
    executor_def=in_process_executor,
    description="Fetch one reference year of partners' records about Oman from the UN Comtrade API.",
)
