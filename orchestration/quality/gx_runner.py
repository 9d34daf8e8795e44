"""Run Great Expectations 1.x suites against warehouse tables, in DuckDB, through SQL.

The data never leaves DuckDB: GX compiles each expectation to SQL and DuckDB answers with aggregates,
so validating 10M rows costs seconds and no memory in Python. Out of the box this path is broken on
DuckDB in two ways, both fixed here:
- every expectation fails with an IndexError on `table.row_count`: GX reads each result after
  returning the connection to its pool, and a DuckDB connection drops its pending result on release.
  `_buffer_duckdb_results` fetches DuckDB results before the connection is released;
- SQLAlchemy 2.1 reflects columns through `pg_catalog.pg_collation`, which DuckDB lacks, so GX falls
  back to reading the whole table to learn its column names: the project pins SQLAlchemy < 2.1.
The warehouse is opened read-only.
"""

from __future__ import annotations

import json
import os
import warnings
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import cursor as sa_cursor  # noqa: E402

from orchestration.quality.results import DIMENSIONS, RuleResult, SuiteResult  # noqa: E402
from orchestration.settings import EXPECTATIONS_DIR  # noqa: E402

SEVERITIES = {"critical": "blocking", "warning": "warning", "info": "warning"}


def _buffer_duckdb_results(conn, cursor, statement, parameters, context, executemany) -> None:
    if conn.dialect.name == "duckdb" and cursor.description is not None:
        context.cursor_fetch_strategy = sa_cursor.FullyBufferedCursorFetchStrategy(
            cursor, cursor.description, cursor.fetchall()
        )


if not sa.event.contains(sa.engine.Engine, "after_cursor_execute", _buffer_duckdb_results):
    sa.event.listen(sa.engine.Engine, "after_cursor_execute", _buffer_duckdb_results)


def suite_path(name: str) -> Path:
    return EXPECTATIONS_DIR / f"{name}.json"


def load_suite(name: str) -> gx.ExpectationSuite:
    """A suite stored in `expectations/<name>.json` (GX's own JSON layout); each expectation carries
    its GX `severity` (critical = blocking) and a `meta` with the rule name and quality dimension."""
    spec = json.loads(suite_path(name).read_text())
    for e in spec["expectations"]:
        meta = e.get("meta", {})
        if meta.get("dimension") not in DIMENSIONS or not meta.get("rule"):
            raise ValueError(f"{name}: every expectation needs meta.rule and meta.dimension in {DIMENSIONS}: {e}")
        if e.get("severity", "critical") not in SEVERITIES:
            raise ValueError(f"{name}: unknown severity {e.get('severity')!r}")
    return gx.ExpectationSuite(name=spec["name"], expectations=spec["expectations"], meta=spec.get("meta", {}))


def validate_table(db_path: Path, schema: str, table: str, suite: gx.ExpectationSuite) -> SuiteResult:
    """Validate `schema.table` of the DuckDB file at `db_path` (opened read-only) against `suite`."""
    started = datetime.now(UTC)
    opened = []  # GX creates engines of its own; close every DuckDB connection it opened

    def track(dbapi_connection, _record) -> None:
        opened.append(dbapi_connection)

    sa.event.listen(sa.pool.Pool, "connect", track)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_sql(
        name="warehouse",
        connection_string=f"duckdb:///{db_path}",
        kwargs={"connect_args": {"read_only": True}},
    )
    try:
        with warnings.catch_warnings():  # DuckDB cannot take a schema in its connection settings
            warnings.filterwarnings("ignore", "`schema_name` is deprecated", DeprecationWarning)
            asset = source.add_table_asset(name=table, table_name=table, schema_name=schema)
        batch = asset.add_batch_definition_whole_table("all").get_batch()
        outcome = batch.validate(suite, result_format="SUMMARY")
    finally:  # release the file for the next writer, which may be another process
        sa.event.remove(sa.pool.Pool, "connect", track)
        source.get_engine().dispose()
        for connection in opened:
            connection.close()
    result = SuiteResult(suite.name, f"{schema}.{table}", started.replace(tzinfo=None))
    for r in outcome.results:
        cfg = r.expectation_config
        res = r.result or {}
        error = (r.exception_info or {}).get("exception_message")
        unexpected = res.get("unexpected_count")
        checked = res.get("element_count")
        observed = res.get("observed_value")
        result.rules.append(
            RuleResult(
                table_name=f"{schema}.{table}",
                rule=cfg.meta["rule"],
                expectation=cfg.type,
                dimension=cfg.meta["dimension"],
                severity=SEVERITIES[getattr(cfg, "severity", None) or "critical"],
                passed=bool(r.success) and not error,
                unexpected_count=int(unexpected) if unexpected is not None else (0 if r.success else None),
                checked_count=int(checked) if checked is not None else None,
                observed=f"error: {error}" if error else (str(observed) if observed is not None else None),
            )
        )
    result.seconds = (datetime.now(UTC) - started).total_seconds()
    return result
