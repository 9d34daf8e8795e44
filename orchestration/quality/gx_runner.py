"""Run Great Expectations 1.x suites against warehouse tables: in DuckDB through SQL, or, for the
tables the Spark engine built, through GX's Spark execution engine (`validate_spark_table`).

The data never leaves DuckDB: GX compiles each expectation to SQL and DuckDB answers with aggregates,
so validating 10M rows costs seconds and no memory in Python. Out of the box this path is broken on
DuckDB in two ways, both fixed here:
- every expectation fails with an IndexError on `table.row_count`: GX reads each result after
  returning the connection to its pool, and a DuckDB connection drops its pending result on release.
  `_buffer_duckdb_results` fetches DuckDB results before the connection is released;
- SQLAlchemy 2.1 reflects columns through `pg_catalog.pg_collation`, which DuckDB lacks, so GX falls
  back to reading the whole table to learn its column names: the project pins SQLAlchemy < 2.1.
The warehouse is opened read-only. Results are stored in a file-backed GX project (one per var
folder) so that Data Docs can be built from them.
"""

from __future__ import annotations

import copy
import os
import shutil
import warnings
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from sqlalchemy.engine import cursor as sa_cursor  # noqa: E402

from orchestration.quality.results import DIMENSIONS, RuleResult, SuiteResult  # noqa: E402
from orchestration.quality.suites import suite_spec  # noqa: E402
from orchestration.settings import EXPECTATIONS_DIR, duckdb_memory_limit  # noqa: E402

SEVERITIES = {"critical": "blocking", "warning": "warning", "info": "warning"}


def _buffer_duckdb_results(conn, cursor, statement, parameters, context, executemany) -> None:
    if conn.dialect.name == "duckdb" and cursor.description is not None:
        context.cursor_fetch_strategy = sa_cursor.FullyBufferedCursorFetchStrategy(
            cursor, cursor.description, cursor.fetchall()
        )


if not sa.event.contains(sa.engine.Engine, "after_cursor_execute", _buffer_duckdb_results):
    sa.event.listen(sa.engine.Engine, "after_cursor_execute", _buffer_duckdb_results)


def suite_path(name: str, directory: Path = EXPECTATIONS_DIR) -> Path:
    return directory / f"{name}.json"


def load_suite(name: str, directory: Path = EXPECTATIONS_DIR) -> gx.ExpectationSuite:
    """A suite stored in `expectations/<name>.json` (GX's own JSON layout); each expectation carries
    its GX `severity` (critical = blocking) and a `meta` with the rule name and quality dimension.
    Rule values are written `$rule(dotted.path)` and come from the dbt vars (orchestration/rules.py)."""
    spec = copy.deepcopy(suite_spec(name, directory))  # GX may annotate what it is given: keep the cache clean
    for e in spec["expectations"]:
        meta = e.get("meta", {})
        if meta.get("dimension") not in DIMENSIONS or not meta.get("rule"):
            raise ValueError(f"{name}: every expectation needs meta.rule and meta.dimension in {DIMENSIONS}: {e}")
        if e.get("severity", "critical") not in SEVERITIES:
            raise ValueError(f"{name}: unknown severity {e.get('severity')!r}")
    return gx.ExpectationSuite(name=spec["name"], expectations=spec["expectations"], meta=spec.get("meta", {}))


def _context(root: Path):
    """The file-backed GX project under `root` (suites, validation results, Data Docs), one per process."""
    if root not in _CONTEXTS:
        context = gx.get_context(mode="file", project_root_dir=root)
        context.variables.progress_bars = {"globally": False}
        _CONTEXTS[root] = context
    return _CONTEXTS[root]


_CONTEXTS: dict[Path, object] = {}


def validate_table(
    db_path: Path,
    schema: str,
    table: str,
    suite: gx.ExpectationSuite,
    gx_root: Path,
    run_name: str = "manual",
    parameters: dict | None = None,
) -> SuiteResult:
    """Validate `schema.table` of the DuckDB file at `db_path` (opened read-only) against `suite`;
    the validation result is stored in the GX project at `gx_root` for Data Docs."""
    started = datetime.now(UTC)
    opened = []  # GX creates engines of its own; close every DuckDB connection it opened

    def track(dbapi_connection, _record) -> None:
        opened.append(dbapi_connection)

    sa.event.listen(sa.pool.Pool, "connect", track)
    context = _context(gx_root)
    source = context.data_sources.add_or_update_sql(
        name="warehouse",
        connection_string=f"duckdb:///{db_path}",
        # DuckDB would otherwise take 80% of the machine's memory for GX's aggregates
        kwargs={"connect_args": {"read_only": True, "config": {"memory_limit": duckdb_memory_limit()}}},
    )
    try:
        name = f"{schema}.{table}"
        with warnings.catch_warnings():  # DuckDB cannot take a schema in its connection settings
            warnings.filterwarnings("ignore", "`schema_name` is deprecated", DeprecationWarning)
            asset = source.add_table_asset(name=name, table_name=table, schema_name=schema)
        batch_definition = asset.add_batch_definition_whole_table("whole_table")
        outcome = _run(context, batch_definition, suite, name, run_name, parameters)
    finally:  # release the file for the next writer, which may be another process
        sa.event.remove(sa.pool.Pool, "connect", track)
        source.get_engine().dispose()
        for connection in opened:
            connection.close()
    return _suite_result(outcome, suite, f"{schema}.{table}", started)


def validate_spark_table(
    spark,
    schema: str,
    table: str,
    suite: gx.ExpectationSuite,
    gx_root: Path,
    run_name: str = "manual",
    parameters: dict | None = None,
) -> SuiteResult:
    """Validate the table `schema.table` of the Spark session `spark` against `suite` through GX's
    Spark execution engine: the table is the batch's DataFrame, and the other tables a rule's query
    names resolve in the session's catalog (orchestration.engines.spark.quality_session)."""
    started = datetime.now(UTC)
    context = _context(gx_root)
    name = f"{schema}.{table}"
    asset = context.data_sources.add_or_update_spark(name="spark").add_dataframe_asset(name=name)
    batch_definition = asset.add_batch_definition_whole_dataframe("whole_dataframe")
    outcome = _run(context, batch_definition, suite, name, run_name, parameters, {"dataframe": spark.table(name)})
    return _suite_result(outcome, suite, name, started)


def _run(context, batch_definition, suite, name: str, run_name: str, parameters, batch_parameters=None):
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch_definition, suite=context.suites.add_or_update(suite))
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(name=name, validation_definitions=[definition], result_format="SUMMARY")
    )
    run = checkpoint.run(
        batch_parameters=batch_parameters,
        expectation_parameters=parameters or {},
        run_id=RunIdentifier(run_name=run_name),
    )
    return next(iter(run.run_results.values()))


def _suite_result(outcome, suite: gx.ExpectationSuite, table_name: str, started: datetime) -> SuiteResult:
    result = SuiteResult(suite.name, table_name, started.replace(tzinfo=None))
    for r in outcome.results:
        cfg = r.expectation_config
        res = r.result or {}
        error = _exception_message(r.exception_info or {})
        unexpected = res.get("unexpected_count")
        observed = res.get("observed_value")
        if cfg.type == "unexpected_rows_expectation":  # GX reports the count of offending rows as observed
            unexpected, observed = observed, None
        result.rules.append(
            RuleResult(
                table_name=table_name,
                rule=cfg.meta["rule"],
                expectation=cfg.type,
                dimension=cfg.meta["dimension"],
                severity=SEVERITIES[getattr(cfg, "severity", None) or "critical"],
                passed=bool(r.success) and not error,
                unexpected_count=int(unexpected) if unexpected is not None else (0 if r.success else None),
                checked_count=int(res["element_count"]) if res.get("element_count") is not None else None,
                observed=f"error: {error}" if error else (str(observed) if observed is not None else None),
            )
        )
    result.seconds = (datetime.now(UTC) - started).total_seconds()
    return result


def _exception_message(info: dict) -> str | None:
    """What an expectation raised: GX gives it flat, or per metric that failed (a query Spark could not parse)."""
    if info.get("exception_message"):
        return info["exception_message"]
    nested = [v["exception_message"] for v in info.values() if isinstance(v, dict) and v.get("exception_message")]
    return "; ".join(nested) or None


def build_data_docs(gx_root: Path, keep_runs: int = 30) -> Path:
    """Rebuild the GX Data Docs site from the stored validation results (the last `keep_runs` runs of
    each suite are kept) and return the path of its index page."""
    validations = gx_root / "gx" / "uncommitted" / "validations"
    for suite_dir in (d for d in validations.glob("*") if d.is_dir()):
        runs = sorted((d for d in suite_dir.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime)
        for old in runs[:-keep_runs]:
            shutil.rmtree(old, ignore_errors=True)
    context = _context(gx_root)
    context.build_data_docs()
    return gx_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
