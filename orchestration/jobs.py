"""Jobs and schedules.

The nightly refresh runs every asset and check for one lodgement day (the daily partition of
`raw/declaration_items`); the unpartitioned layers above it are rebuilt incrementally from the
earliest day that changed. A range of days (the first load, a backfill) runs the same job over a
partition range in a single run. Partner statistics are fetched per reference year by their own job.
"""

from datetime import date
from pathlib import Path

from dagster import AssetSelection, build_schedule_from_partitioned_job, define_asset_job, in_process_executor
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orchestration.assets.landing import COMTRADE_API
from orchestration.ingest.readers import file_day, scan

nightly_refresh = define_asset_job(
    "nightly_refresh",
    selection=AssetSelection.all() - AssetSelection.groups("landing"),
    executor_def=in_process_executor,
    description="Load a lodgement day (or a range), rebuild what changed, run every quality check, publish.",
)

nightly_schedule = build_schedule_from_partitioned_job(
    nightly_refresh,
    name="nightly_refresh_0200_muscat",
    hour_of_day=2,
    minute_of_hour=0,
    description="Every night at 02:00 Muscat time, the previous lodgement day, after the clearance system's extract.",
)

comtrade_refresh = define_asset_job(
    "comtrade_refresh",
    selection=AssetSelection.assets(COMTRADE_API),
    executor_def=in_process_executor,
    description="Fetch one reference year of partners' records about Oman from the UN Comtrade API.",
)


def range_tags(first: date, last: date) -> dict[str, str]:
    """Run tags that make one run cover the lodgement days `first` to `last`."""
    return {ASSET_PARTITION_RANGE_START_TAG: first.isoformat(), ASSET_PARTITION_RANGE_END_TAG: last.isoformat()}


def landing_days(landing: Path) -> tuple[date, date] | None:
    """First and last lodgement day of the loadable declaration files in the landing area."""
    days = sorted(d for f in scan(landing, "declarations") if not f.problem and (d := file_day(f.relpath)) is not None)
    return (days[0], days[-1]) if days else None
