"""Apache Spark as the engine of the transformations (`dbt --target spark`, dbt-spark).

The loader (input contracts, quarantine, keys) writes the raw layer, and the Python assets write the
learned model's scores and the party graph's communities; every table dbt reads that no model builds is handed
to Spark as Parquet under the exchange folder (`<exchange>/<schema>/<table>/`), where the Spark target
registers it in its metastore before each run (`macros/spark_sources.sql`). The models, their tests and
contracts are the same SQL on both engines.
"""

import json
import shutil
from pathlib import Path

import duckdb

from orchestration.quality.results import RULE_RESULTS_TABLE, VALIDATION_RUNS_TABLE

EXCHANGE_ENV = "CUSTOMS_SPARK_EXCHANGE"
WAREHOUSE_ENV = "CUSTOMS_SPARK_WAREHOUSE"


def handed_over(manifest_path: Path) -> list[tuple[str, str]]:
    """(schema, table) of every table the models read that is not a model: the dbt sources (from the
    parsed manifest) and the quality history, which the quality assets write after the view over it
    is built (models/marts/data_quality_results.sql)."""
    manifest = json.loads(Path(manifest_path).read_text())
    sources = {(s["schema"], s["name"]) for s in manifest["sources"].values()}
    history = {tuple(name.split(".")) for name in (RULE_RESULTS_TABLE, VALIDATION_RUNS_TABLE)}
    return sorted(sources | history)


def export_sources(con: duckdb.DuckDBPyConnection, exchange: Path, sources: list[tuple[str, str]]) -> list[str]:
    """Write each source table that exists in the DuckDB warehouse as Parquet under `exchange`, replacing
    the previous copy whole (written beside it, then renamed); returns the `schema.table` names written,
    which the Spark target registers (var `spark_sources`)."""
    existing = {
        f"{s}.{t}" for s, t in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    }
    written = []
    for schema, table in sources:
        name = f"{schema}.{table}"
        if name not in existing:
            continue
        target = Path(exchange) / schema / table
        partial = target.with_name(f".{table}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        con.execute(f"COPY {name} TO '{partial / 'data.parquet'}' (FORMAT parquet)")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        written.append(name)
    return written
