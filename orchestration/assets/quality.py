"""Quality history and its readable form.

`quality/rule_results` records the result files the GX checks wrote in the append-only history
(`quality.rule_results`, one row per rule per validation run, and `quality.validation_runs`, whether
each run was recorded whole), which the dbt view `marts.data_quality_results` reads live. It sits
downstream of every checked asset, so it runs after their blocking checks: the checks themselves
never need the warehouse's write lock. `quality/data_docs` then rebuilds the Great Expectations Data
Docs site and links it from its metadata.
"""

import json

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.assets.table_metadata import table_metadata
from orchestration.checks import gx_project_dir, results_dir
from orchestration.quality.results import RULE_RESULTS_TABLE, VALIDATION_RUNS_TABLE, record_validation_runs
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.settings import EXPECTATIONS_DIR

OWNER = "team:data-governance"
CHECKED_ASSETS = sorted(
    {tuple(json.loads(p.read_text())["meta"]["table"].split(".")) for p in EXPECTATIONS_DIR.glob("*.json")}
)


@asset(
    key=["quality", "rule_results"],
    deps=[AssetKey(list(key)) for key in CHECKED_ASSETS],
    group_name="quality",
    owners=[OWNER],
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Append-only outcomes of every quality rule of every validation run, recorded from the GX "
    "checks' result files after every check of the run; a run that never got here is marked incomplete.",
)
def rule_results(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
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
