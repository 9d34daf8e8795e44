"""Great Expectations suites from `expectations/` as Dagster asset checks.

One check per suite, on the asset named by the suite's `meta.table` (`schema.table`). A failing
`critical` expectation fails the check with severity ERROR, and the check is blocking, so downstream
assets in the run do not materialize; failing `warning` expectations fail it with severity WARN only.
A check opens the warehouse read-only, so a reader holding the file never fails it: every rule's
outcome, passed or not, goes to a result file of the run (`orchestration/quality/results.py`), which
`quality/rule_results` records in the history once every check of the run has finished. A failing
check also rebuilds the GX Data Docs so that a stopped run can be read there. With the Spark engine, a
suite on a table Spark built is validated on Spark (GX's Spark execution engine); the loader's tables
and the views over the quality history stay in DuckDB and are validated there.
"""

from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from orchestration import settings
from orchestration.engines import spark
from orchestration.quality.parameters import as_of_date, suite_parameters
from orchestration.quality.results import SuiteResult, write_suite_result
from orchestration.quality.suites import suite_names, suite_spec
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource


def gx_project_dir() -> Path:
    return settings.var_dir() / "quality" / "gx"


def results_dir() -> Path:
    """Result files of the checks, one folder per run, until `quality/rule_results` records them."""
    return settings.var_dir() / "quality" / "results"


def rules_markdown(result: SuiteResult) -> str:
    lines = ["| rule | dimension | severity | passed | unexpected | checked |", "|---|---|---|---|---|---|"]
    for r in sorted(result.rules, key=lambda r: (r.passed, r.severity != "blocking", r.rule)):
        lines.append(
            f"| {r.rule} | {r.dimension} | {r.severity} | {'yes' if r.passed else '**no**'} "
            f"| {'' if r.unexpected_count is None else r.unexpected_count} "
            f"| {'' if r.checked_count is None else r.checked_count} |"
        )
    return "\n".join(lines)


def check_result(result: SuiteResult, data_docs: Path | None = None, engine: str = "duckdb") -> AssetCheckResult:
    blocking, warning = result.blocking_failures, result.warning_failures
    failed = blocking or warning
    links = {"data_docs": MetadataValue.path(str(data_docs))} if data_docs else {}
    return AssetCheckResult(
        passed=not failed,
        severity=AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN,
        description=("failed: " + ", ".join(r.rule for r in failed)) if failed else None,
        metadata={
            "rules": MetadataValue.md(rules_markdown(result)),
            "rules_checked": len(result.rules),
            "blocking_failures": len(blocking),
            "warning_failures": len(warning),
            "validation_seconds": round(result.seconds, 3),
            "engine": engine,  # where GX validated: DuckDB through SQL, or Spark's execution engine
            **links,
        },
    )


def gx_suite_check(name: str):
    spec = suite_spec(name)
    schema, table = spec["meta"]["table"].split(".")

    @asset_check(
        asset=AssetKey([schema, table]),
        name=f"gx_{name}",
        description=f"Great Expectations suite `expectations/{name}.json`: {len(spec['expectations'])} rules.",
        blocking=True,
        pool=WAREHOUSE_POOL,
    )
    def _check(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
        from orchestration.quality import gx_runner  # slow import

        run_id = context.run.run_id
        options = {
            "gx_root": gx_project_dir(),
            "run_name": run_id,
            "parameters": suite_parameters(as_of_date(context.run.tags)),
        }
        tables_on_spark = spark.recorded_columns(Path(warehouse.spark_warehouse)) if warehouse.engine == "spark" else {}
        engine = "spark" if (schema, table) in tables_on_spark else "duckdb"
        if engine == "spark":
            session = spark.quality_session(Path(warehouse.spark_warehouse), Path(warehouse.spark_exchange))
            result = gx_runner.validate_spark_table(session, schema, table, gx_runner.load_suite(name), **options)
        else:
            # the restricted schema is a file of its own (orchestration.ingest.restricted)
            restricted = schema == "restricted"
            db, in_schema = (warehouse.restricted_path, "main") if restricted else (Path(warehouse.path), schema)
            result = gx_runner.validate_table(db, in_schema, table, gx_runner.load_suite(name), **options)
        write_suite_result(results_dir(), run_id, result)
        failures = result.blocking_failures + result.warning_failures
        for r in failures:
            context.log.warning(
                f"{result.table_name}: rule {r.rule} ({r.severity}, {r.dimension}) failed: "
                f"{r.unexpected_count} unexpected of {r.checked_count} {r.observed or ''}"
            )
        return check_result(result, gx_runner.build_data_docs(gx_project_dir()) if failures else None, engine)

    return _check


gx_checks = [gx_suite_check(name) for name in suite_names()]
