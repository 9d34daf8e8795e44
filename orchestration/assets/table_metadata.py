"""Row count and column schema of a warehouse table, read from DuckDB after it was written, so the
Dagster UI shows what a materialization actually produced (types included) and not what was planned."""

import duckdb
from dagster import TableColumn, TableSchema


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The `schema.table` names the warehouse holds: what a step checks before reading a table that
    an earlier run (or none yet) wrote."""
    return {
        t for (t,) in con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
    }


def table_metadata(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, descriptions: dict[str, str] | None = None
) -> dict:
    """`dagster/row_count` and `dagster/column_schema` of `schema.table`; column descriptions, where
    given (e.g. from the dbt YAML), are kept beside the actual types."""
    descriptions = descriptions or {}
    columns = con.execute(
        """SELECT column_name, data_type, is_nullable FROM information_schema.columns
           WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position""",
        [schema, table],
    ).fetchall()
    rows = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0]
    return {
        "dagster/row_count": rows,
        "dagster/column_schema": TableSchema(
            columns=[
                TableColumn(name, data_type.lower(), description=descriptions.get(name))
                for name, data_type, _ in columns
            ]
        ),
    }


def column_descriptions(metadata: dict) -> dict[str, str]:
    """Descriptions from a definition-time `dagster/column_schema` (dbt's documented columns)."""
    schema = metadata.get("dagster/column_schema")
    return {c.name: c.description for c in schema.columns if c.description} if schema else {}
