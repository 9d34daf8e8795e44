"""The published copy BI tools read: never the live warehouse file.

After a refresh whose blocking checks passed, every table and view of the `marts` schema is copied
into a new version folder, as a DuckDB file (`customs_marts.duckdb`) and as Parquet files, and then the
`current` link is switched to it in one atomic rename. A reader therefore sees a whole version, old
or new, never half a refresh, and never contends with the writer's lock; a failed refresh never
reaches this step, so the last good copy stays. Only the marts are published: raw, staging and the
restricted mapping of pseudonyms never leave the warehouse. The last three versions are kept, so a
reader that opened one a moment ago can finish.
"""

import hashlib
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration import settings
from orchestration.assets.dbt import model_keys
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

KEEP_VERSIONS = 3


def published_dir() -> Path:
    return settings.var_dir() / "published"


def publish_marts(warehouse: Path, target: Path, run_id: str, keep: int = KEEP_VERSIONS) -> dict:
    """Copy the marts of `warehouse` into a new version under `target` and make it `current`."""
    versions = target / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    for stale in versions.glob(".*.partial"):  # left by an interrupted publication
        shutil.rmtree(stale, ignore_errors=True)
    published_at = datetime.now(UTC).replace(tzinfo=None)
    version = f"{published_at:%Y%m%dT%H%M%S%f}-{run_id[:8]}"
    partial = versions / f".{version}.partial"
    (partial / "parquet").mkdir(parents=True)
    con = duckdb.connect(str(partial / "customs_marts.duckdb"), config={"memory_limit": settings.duckdb_memory_limit()})
    try:
        # attached under its own name, so that views keep resolving their fully qualified references
        con.execute(f"ATTACH '{warehouse}' (READ_ONLY)")
        catalog = warehouse.stem
        tables = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'marts' "
                "ORDER BY table_name",
                [catalog],
            ).fetchall()
        ]
        con.execute("CREATE SCHEMA marts")
        rows = {}
        for name in tables:
            con.execute(f'CREATE TABLE marts."{name}" AS SELECT * FROM "{catalog}".marts."{name}"')
            con.execute(
                f"""COPY marts."{name}" TO '{partial / "parquet" / name}.parquet' (FORMAT parquet, COMPRESSION zstd)"""
            )
            rows[name] = con.execute(f'SELECT count(*) FROM marts."{name}"').fetchall()[0][0]
        con.execute(
            "CREATE TABLE marts._publication (version VARCHAR, published_at TIMESTAMP, run_id VARCHAR, "
            "table_name VARCHAR, row_count BIGINT)"
        )
        con.executemany(
            "INSERT INTO marts._publication VALUES (?, ?, ?, ?, ?)",
            [(version, published_at, run_id, name, n) for name, n in rows.items()],
        )
        con.execute(f'DETACH "{catalog}"')
    finally:
        con.close()
    manifest = {
        "version": version,
        "published_at": published_at.isoformat(),
        "run_id": run_id,
        "tables": rows,
        "parquet_sha256": {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((partial / "parquet").glob("*"))
        },
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2))
    final = versions / version
    partial.rename(final)
    link = target / f".current-{version}"
    link.symlink_to(Path("versions") / version)
    os.replace(link, target / "current")  # the switch readers see: atomic
    for old in sorted(d for d in versions.iterdir() if d.is_dir() and not d.name.startswith("."))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return manifest


@asset(
    key=["published", "marts"],
    deps=[*model_keys("marts"), AssetKey(["quality", "rule_results"])],  # the history of this run included
    group_name="marts",
    owners=["team:customs-data-engineering"],
    kinds={"duckdb", "parquet", "python"},
    pool=WAREHOUSE_POOL,
    description="Read-only copy of the marts for BI (DuckDB file, Parquet), switched atomically after a good refresh.",
)
def published_marts(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    target = published_dir()
    manifest = publish_marts(Path(warehouse.path), target, context.run.run_id)
    context.log.info(
        f"published {len(manifest['tables'])} marts as version {manifest['version']} -> {target / 'current'}"
    )
    return MaterializeResult(
        metadata={
            "version": manifest["version"],
            "dagster/row_count": sum(manifest["tables"].values()),
            "duckdb_file": MetadataValue.path(str(target / "current" / "customs_marts.duckdb")),
            "parquet_folder": MetadataValue.path(str(target / "current" / "parquet")),
            "tables": MetadataValue.json(manifest["tables"]),
        }
    )
