"""The code location: every asset, check, job, schedule and resource, assembled in one place."""

from dagster import Definitions, colored_console_logger, in_process_executor

from orchestration.assets.comtrade import comtrade_api
from orchestration.assets.dbt import dbt_models, dbt_resource
from orchestration.assets.landing import landing_specs
from orchestration.assets.networks import party_communities
from orchestration.assets.publish import published_marts
from orchestration.assets.quality import data_docs, rule_results
from orchestration.assets.raw import raw_assets
from orchestration.assets.reports import findings_report
from orchestration.assets.selectivity import risk_model, risk_scores
from orchestration.checks import gx_checks
from orchestration.jobs import (
    comtrade_refresh,
    nightly_refresh,
    nightly_schedule,
    risk_model_retrain,
    risk_model_schedule,
)
from orchestration.progress import progress_logger
from orchestration.resources import ComtradeResource, LandingAreaResource, WarehouseResource
from orchestration.sensors import landing_area_sensor, record_run_failures

# what the nightly refresh materializes; partner statistics are fetched per reference year by comtrade_refresh,
# the risk model is trained by risk_model_retrain
NIGHTLY_ASSETS = [
    *raw_assets,
    rule_results,
    *dbt_models,
    risk_scores,
    party_communities,
    data_docs,
    published_marts,
    findings_report,
]
ASSETS = [*landing_specs, comtrade_api, risk_model, *NIGHTLY_ASSETS]
CHECKS = gx_checks

defs = Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=[nightly_refresh, comtrade_refresh, risk_model_retrain],
    schedules=[nightly_schedule, risk_model_schedule],
    sensors=[landing_area_sensor, record_run_failures],
    resources={
        "warehouse": WarehouseResource(),
        "landing": LandingAreaResource(),
        "dbt": dbt_resource,
        "comtrade": ComtradeResource(),
    },
    executor=in_process_executor,
    loggers={"console": colored_console_logger, "progress": progress_logger},
)
