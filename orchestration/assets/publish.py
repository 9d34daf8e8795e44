"""The published copy BI tools read: never the live warehouse file.

After a refresh whose blocking checks passed, every table and view of the `marts` schema is copied into
a new, read-only version folder `versions/<sequence>-<run>/`, as a DuckDB file (`customs_marts.duckdb`)
and as Parquet files. Then two atomic renames make it current: the `current` link (for tools that open
one file, which is then one version) and the pointer `current.json` (for readers of several files:
resolve it once with `current_version_dir`, read everything under that folder, and all of it is one
version even if a publication lands meanwhile). A failed refresh never reaches this step, so the last
good copy stays. With the Spark engine the version's Parquet files are also registered as the
metastore's `published` tables, for BI tools on the Thrift server. Only the marts are published: raw,
staging and the restricted mapping of pseudonyms never leave the warehouse. A declaration is published
by its keyed reference (`declaration_ref`), never by `declaration_id`: whoever holds a clearance extract
(which names the trader of each declaration) could otherwise join it to the marts and undo every trader
key. An officer who must act on a published item resolves its reference with `cli reidentify`.

Versions are ordered by a publication sequence in their names, not by the wall clock, so a clock stepped
back cannot make retention delete the new version; the last three are kept (never the current one), so a
reader that resolved one a moment ago can finish.
"""

import hashlib
import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_dbt import DbtCliResource

from orchestration import settings
from orchestration.assets.dbt import model_keys, run_dbt_command
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

KEEP_VERSIONS = 3
POINTER = "current.json"
READ_ONLY = 0o444
_SEQUENCE = re.compile(r"(\d+)-")


def published_dir() -> Path:
    return settings.var_dir() / "published"


def current_version_dir(target: Path) -> Path:
    """The folder of the current version under `target`. Resolve it once per read and take every file
    from it: the files then belong to one version, whatever is published meanwhile."""
    return target / "versions" / json.loads((target / POINTER).read_text())["version"]


def _sequence(version: str) -> int:
    """Publication number of a version folder; -1 (oldest) for a folder named by the wall clock,
    as versions were before they were numbered."""
    match = _SEQUENCE.match(version)
    return int(match.group(1)) if match else -1


def _clean_interrupted(target: Path) -> None:
    """Remove what a publication killed midway leaves: its partial folder, its new link or pointer
    not yet renamed into place. None of them is ever what readers resolve."""
    for stale in (target / "versions").glob(".*.partial"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in [*target.glob(".current-*"), *target.glob(f".{POINTER}.*")]:
        stale.unlink(missing_ok=True)


WITHHELD_COLUMN = "declaration_id"  # published as its keyed reference, declaration_ref


def _copy_marts(warehouse: Path, folder: Path, version: str, published_at: datetime, run_id: str) -> dict[str, int]:
    """Every table and view of `marts` in `warehouse` into `folder` (DuckDB file and Parquet files),
    with `marts._publication` naming the version; row counts by table."""
    (folder / "parquet").mkdir(parents=True)
    con = duckdb.connect(str(folder / "customs_marts.duckdb"), config={"memory_limit": settings.duckdb_memory_limit()})
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
        withheld = {
            table
            for (table,) in con.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_catalog = ? AND table_schema = 'marts' "
                "AND column_name = ?",
                [catalog, WITHHELD_COLUMN],
            ).fetchall()
        }
        for name in tables:
            columns = f"* EXCLUDE ({WITHHELD_COLUMN})" if name in withheld else "*"
            con.execute(f'CREATE TABLE marts."{name}" AS SELECT {columns} FROM "{catalog}".marts."{name}"')
            con.execute(
                f"""COPY marts."{name}" TO '{folder / "parquet" / name}.parquet' (FORMAT parquet, COMPRESSION zstd)"""
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
    return rows


def _replace_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader sees the old content or the new, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with tmp.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def publish_marts(warehouse: Path, target: Path, run_id: str, keep: int = KEEP_VERSIONS) -> dict:
    """Copy the marts of `warehouse` into a new version under `target` and make it current."""
    versions = target / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    _clean_interrupted(target)
    existing = [d.name for d in versions.iterdir() if d.is_dir() and not d.name.startswith(".")]
    sequence = max([0, *map(_sequence, existing)]) + 1
    version = f"{sequence:06d}-{run_id[:8]}"
    published_at = datetime.now(UTC).replace(tzinfo=None)  # said, never used to order versions
    partial = versions / f".{version}.partial"
    rows = _copy_marts(warehouse, partial, version, published_at, run_id)
    manifest = {
        "version": version,
        "sequence": sequence,
        "published_at": published_at.isoformat(),
        "run_id": run_id,
        "tables": rows,
        "parquet_sha256": {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((partial / "parquet").glob("*"))
        },
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2))
    for file in (p for p in partial.rglob("*") if p.is_file()):
        file.chmod(READ_ONLY)  # readers cannot change what others read; folders stay removable
    partial.rename(versions / version)
    link = target / f".current-{version}"
    link.symlink_to(Path("versions") / version)
    os.replace(link, target / "current")  # the switch single-file readers see: atomic
    _replace_atomically(target / POINTER, json.dumps({"version": version, "sequence": sequence}))
    older = sorted(existing, key=_sequence)  # the new, current version is not among them
    for old in older[: max(len(older) - (keep - 1), 0)]:
        shutil.rmtree(versions / old, ignore_errors=True)
    return manifest


@asset(
    key=["published", "marts"],
    deps=[*model_keys("marts"), AssetKey(["quality", "rule_results"])],  # the history of this run included
    group_name="published",
    owners=["team:customs-data-engineering"],
    kinds={"duckdb", "parquet", "python"},
    pool=WAREHOUSE_POOL,
    description="Read-only copy of the marts for BI (DuckDB file, Parquet), switched atomically after a good refresh.",
)
def published_marts(
    context: AssetExecutionContext, warehouse: WarehouseResource, dbt: DbtCliResource
) -> MaterializeResult:
    target = published_dir()
    manifest = publish_marts(Path(warehouse.path), target, context.run.run_id)
    context.log.info(
        f"published {len(manifest['tables'])} marts as version {manifest['version']} -> {target / 'current'}"
    )
    spark = {}
    if warehouse.engine == "spark":
        folder = target / "versions" / manifest["version"]
        register = {"folder": str(folder), "tables": sorted(manifest["tables"])}
        command = ["run-operation", "register_published", "--args", json.dumps(register)]
        run_dbt_command(dbt, command, warehouse, warehouse.dbt_target, context.log)
        spark = {"metastore_tables": MetadataValue.json([f"published.{t}" for t in register["tables"]])}
    return MaterializeResult(
        metadata={
            "version": manifest["version"],
            "dagster/row_count": sum(manifest["tables"].values()),
            "duckdb_file": MetadataValue.path(str(target / "current" / "customs_marts.duckdb")),
            "parquet_folder": MetadataValue.path(str(target / "versions" / manifest["version"] / "parquet")),
            "pointer": MetadataValue.path(str(target / POINTER)),
            "tables": MetadataValue.json(manifest["tables"]),
            **spark,
        }
    )
