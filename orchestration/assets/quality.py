"""Quality history and its readable form.

`quality/rule_results` is the append-only table every GX check writes its rule outcomes to (the dbt
view `marts.data_quality_results` reads it). `quality/data_docs` rebuilds the Great Expectations
Data Docs site once every check of the run has finished, and links it from its metadata.
"""

import json

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.assets.table_metadata import table_metadata
from orchestration.checks import gx_project_dir
from orchestration.quality.results import RULE_RESULTS_TABLE, ensure_rule_results
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.settings import EXPECTATIONS_DIR

OWNER = "team:data-governance"
CHECKED_ASSETS = sorted(
    {tuple(json.loads(p.read_text())["meta"]["table"].split(".")) for p in EXPECTATIONS_DIR.glob("*.json")}
)


@asset(
    key=["quality", "rule_results"],
    group_name="quality",
    owners=[OWNER],
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Append-only outcomes of every quality rule of every validation run (written by the GX checks).",
)
def rule_results(warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.connect() as con:
        ensure_rule_results(con)
        runs = con.execute(f"SELECT count(DISTINCT run_id) FROM {RULE_RESULTS_TABLE}").fetchall()[0][0]
        metadata = table_metadata(con, *RULE_RESULTS_TABLE.split("."))
    return MaterializeResult(metadata={**metadata, "validation_runs": runs})


@asset(
    key=["quality", "data_docs"],
    deps=[AssetKey(list(key)) for key in CHECKED_ASSETS],
    group_name="quality",
    owners=[OWNER],
    kinds={"gx", "python"},
    pool=WAREHOUSE_POOL,
    description="Great Expectations Data Docs (HTML) of recent validation runs, rebuilt after every check of a run.",
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
