"""Jobs and schedules.

The nightly refresh runs every asset and check for one lodgement day (the daily partition of
`raw/declaration_items`); the unpartitioned layers above it are rebuilt incrementally from the
earliest day that changed. A range of days (the first load, a backfill) runs the same job over a
partition range in a single run. Partner statistics are fetched per reference year by their own job;
the learned risk model is retrained monthly (and on demand) by its own job.
"""

from datetime import date
from pathlib import Path

from dagster import (
    AssetSelection,
    ScheduleDefinition,
    build_schedule_from_partitioned_job,
    define_asset_job,
    in_process_executor,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orchestration.assets.landing import COMTRADE_API
from orchestration.assets.selectivity import RISK_MODEL
from orchestration.ingest.readers import file_day, scan
from orchestration.rules import rule

nightly_refresh = define_asset_job(
    "nightly_refresh",
    selection=AssetSelection.all() - AssetSelection.groups("landing") - AssetSelection.assets(RISK_MODEL),
    executor_def=in_process_executor,
    description="Load a lodgement day (or a range), rebuild what changed, score it with the champion risk "
    "model, run every quality check, publish.",
)

risk_model_retrain = define_asset_job(
    "risk_model_retrain",
    selection=AssetSelection.assets(RISK_MODEL).downstream(),
    executor_def=in_process_executor,
    description="Train a challenger risk model on every inspection outcome; if it beats the champion on the "
    "latest out-of-time month it takes over, and the items are scored again, the marts rebuilt and published.",
)

# monthly by default (var risk.model.retrain_cron), once the month's outcomes are in; on demand from the
# UI's job page or `python -m orchestration.cli retrain`
risk_model_schedule = ScheduleDefinition(
    name="risk_model_retrain_monthly",
    job=risk_model_retrain,
    cron_schedule=rule("risk.model.retrain_cron"),
    execution_timezone="Asia/Muscat",
    description="Retrain the risk model every month on the outcomes recorded since.",
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
