"""Quality history and its readable form.

`quality/rule_results` records the result files the GX checks wrote in the append-only history
(`quality.rule_results`, one row per rule per validation run, and `quality.validation_runs`, whether
each run was recorded whole), which the dbt view `marts.data_quality_results` reads live. It runs
after every GX check of the run (see `last_checked` for why a few deps suffice), so the checks
themselves never need the warehouse's write lock. `quality/data_docs` then rebuilds the Great
Expectations Data Docs site and links it from its metadata.
"""

from collections import defaultdict
from collections.abc import Sequence

from dagster import (
    AssetChecksDefinition,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.assets.comtrade import comtrade_api
from orchestration.assets.dbt import dbt_models
from orchestration.assets.landing import landing_specs
from orchestration.assets.raw import raw_assets
from orchestration.assets.selectivity import risk_model, risk_scores
from orchestration.assets.table_metadata import table_metadata
from orchestration.checks import gx_checks, gx_project_dir, results_dir
from orchestration.quality.results import RULE_RESULTS_TABLE, VALIDATION_RUNS_TABLE, record_validation_runs
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

OWNER = "team:data-governance"
# every asset a GX check can be on, and the model assets between the dbt steps
UPSTREAM = [*landing_specs, comtrade_api, *raw_assets, *dbt_models, risk_model, risk_scores]


def last_checked(assets: Sequence[AssetsDefinition | AssetSpec], checks: Sequence[AssetChecksDefinition]):
    """The checked assets `quality/rule_results` depends on: those whose checks no other checked
    asset's materialization waits for. The GX checks are blocking, so a step that reads a checked
    asset made by another step waits for that asset's checks, and so does everything downstream of
    that step, its own checks included. Depending on these few assets (Dagster then also waits for
    their blocking checks) therefore waits for every check, without an edge to each checked asset.
    An asset followed only by checked assets of its own step (a mart and its roll-up, both built by
    `dbt_warehouse`) stays in: nothing there waits for its check."""
    step = {}  # asset key -> the node (step) materializing it
    children = defaultdict(set)
    for node, definition in enumerate(assets):
        for spec in definition.specs if isinstance(definition, AssetsDefinition) else [definition]:
            step[spec.key] = node
            for dep in spec.deps:
                children[dep.asset_key].add(spec.key)
    checked = {key.asset_key for check in checks for key in check.check_keys}

    def waits_for(key: AssetKey) -> set[AssetKey]:
        """Assets materialized after `key`'s checks: downstream of a step that reads it from another."""
        found, todo = set(), [c for c in children[key] if step.get(c) != step[key]]
        while todo:
            if (child := todo.pop()) not in found:
                found.add(child)
                todo.extend(children[child])
        return found

    last = [key for key in checked if not waits_for(key) & (checked - {key})]
    return sorted(last, key=AssetKey.to_user_string)


@asset(
    key=["quality", "rule_results"],
    deps=last_checked(UPSTREAM, gx_checks),
    group_name="quality",
    owners=[OWNER],
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Append-only outcomes of every quality rule of every validation run, recorded from the GX "
    "checks' result files after every check of the run; a run that never got here is marked incomplete.",
)
def rule_results(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    return record_run(context, warehouse)


def record_run(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """The body of `quality/rule_results`: this run's result files (complete) and any left by others."""
    with warehouse.connect() as con:
        recorded = record_validation_runs(con, results_dir(), context.run.run_id)
        runs = con.execute(f"SELECT status, count(*) FROM {VALIDATION_RUNS_TABLE} GROUP BY ALL").fetchall()
        metadata = table_metadata(con, *RULE_RESULTS_TABLE.split("."))
    for run in recorded:
        if run.status != "complete":
            context.log.warning(
                f"run {run.run_id} never recorded its validations (killed or stopped): "
                f"{run.rules} rule results of {run.suites} suite(s) recorded now, marked {run.status}"
            )
    lines = "\n".join(f"| {r.run_id} | {r.status} | {r.suites} | {r.rules} |" for r in recorded)
    return MaterializeResult(
        metadata={
            **metadata,
            "recorded_now": MetadataValue.md("| run | status | suites | rules |\n|---|---|---|---|\n" + lines),
            "validation_runs": sum(n for _, n in runs),
            "incomplete_runs": sum(n for status, n in runs if status != "complete"),
        }
    )


@asset(
    key=["quality", "data_docs"],
    deps=[rule_results],
    group_name="quality",
    owners=[OWNER],
    kinds={"gx", "python"},
    pool=WAREHOUSE_POOL,
    description="Great Expectations Data Docs (HTML) of recent validation runs, rebuilt once a run is recorded.",
)
def data_docs(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from orchestration.quality.gx_runner import build_data_docs  # GX takes seconds to import

    index = build_data_docs(gx_project_dir())
    with warehouse.connect(read_only=True) as con:
        summary = con.execute(
            f"""
            SELECT severity, count(*) FILTER (WHERE passed), count(*) FROM {RULE_RESULTS_TABLE}
            WHERE run_id = ? GROUP BY severity ORDER BY severity""",
            [context.run.run_id],
        ).fetchall()
    table = "| severity | passed | rules |\n|---|---|---|\n" + "\n".join(f"| {s} | {p} | {n} |" for s, p, n in summary)
    return MaterializeResult(
        metadata={
            "data_docs": MetadataValue.path(str(index)),
            "this_run": MetadataValue.md(table),
            "rules_checked": sum(n for _, _, n in summary),
            "rules_failed": sum(n - p for _, p, n in summary),
        }
    )
