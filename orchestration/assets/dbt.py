"""The dbt project as Dagster assets.

Asset keys are `[schema, model]` (`staging/stg_declaration_items`, `marts/mirror_gaps`), groups are
the schema (the key's prefix, as for every asset), owners and data classification come from the
model's `meta`. The dbt sources `raw.<table>` map onto the raw assets of the same keys.

The one dbt project is materialized by three `@dbt_assets` from the same manifest: `dbt_staging`
(staging models, seeds and int_declaration_items), then `dbt_warehouse` (intermediate models and the
marts that need no model score), then, after the learned model has scored the items
(`models/risk_scores`) and the party graph's communities are found (`networks/party_communities`),
`dbt_scored` (declaration_risk and what reads it, and the network marts). A blocking asset check only
stops assets in *other* steps (Dagster leaves gating inside one multi-asset step to that step), so the
Great Expectations checks on staged tables can stop the marts only if the marts are built by a
separate step. Each split costs one more dbt invocation (about 5 s) per run.
"""

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, Config, MetadataValue, Output
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.compat import DBT_PYTHON_VERSION
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer
from dagster_shared.record import replace
from pydantic import Field

from orchestration import settings
from orchestration.assets.table_metadata import column_descriptions, existing_tables, table_metadata
from orchestration.engines import spark, spark_server
from orchestration.resources import DBT_TARGETS, WAREHOUSE_POOL, WarehouseResource

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the environment's dbt, activated or not
DBT_INVOCATIONS_KEPT = 4  # two nightly runs' worth, to read their logs and run results
# an invocation folder without run results, untouched this long, is a killed run's: longer than any run
DBT_INVOCATION_STALE_AFTER = 3 * 24 * 3600.0
# dagster-dbt's folder per invocation: `<op>-<run id[:7]>-<uuid[:7]>`, or `<uuid[:7]>` outside a run
_INVOCATION_DIR = re.compile(r"(\w+-[0-9a-f]{7}-)?[0-9a-f]{7}")
PROJECT_FILES = ("models", "macros", "seeds", "tests", "dbt_project.yml", "profiles.yml")
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's saved parse, in each invocation's target folder
_WHOLE_PARSE = re.compile(r"Unable to do partial parsing because ([^\"\n]+)")
WHOLE_PARSE_LOGGED = "dbt parsed the whole project"  # what a step logs then, with dbt's reason
# read by the macros when a model runs (dbt_environment)
REFRESH_FROM_ENV, SPARK_SOURCES_ENV = "CUSTOMS_REFRESH_FROM", "CUSTOMS_SPARK_SOURCES"


@cache
def dbt_project() -> DbtProject:
    """The dbt project. Its manifest is built before the code location loads (`make setup` runs
    `dbt parse`), so loading it runs nothing; only under `dagster dev` is it re-parsed on load."""
    project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
    project = replace(project, preparer=_EnvironmentsDbt())
    project.prepare_if_dev()
    return project


class WarehouseDbtCli(DbtCliResource):
    """dagster-dbt's dbt resource, without the two things it does in this process before invoking dbt
    that cost seconds and tell it nothing here: it runs `dbt --version` (3 s, once per run) to learn the
    version of a dbt that is this environment's own (`DBT_EXECUTABLE`), and it opens a dbt adapter before
    every invocation (2 to 3 s each, most of it loading dbt's macros again), which only its
    `fetch_row_counts` and `fetch_column_metadata` read: the outputs' row counts and columns come from the
    warehouse once dbt has released it (`enrich_outputs`), on either engine."""

    @cached_property
    def _cli_version(self):  # the dbt-core package of this environment, whose executable this is
        return DBT_PYTHON_VERSION

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


class _EnvironmentsDbt(DagsterDbtProjectPreparer):
    """Parses with this environment's dbt: `dagster dev` started as `.venv/bin/dagster` (`make ui`) has
    no dbt on its PATH, and the default preparer looks there. dbt parses into a folder of its own and
    the files it wrote replace the target's whole: every other process (a run, the command line) reads
    target/manifest.json at import, and dbt writes it in place, so a reader could find half a file."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        target = Path(project.project_dir) / project.target_path
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".parse-", dir=target) as private:
            WarehouseDbtCli(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
                self._prepare_project_cli_args, target_path=Path(private)
            ).wait()
            artifacts = [f for f in Path(private).iterdir() if f.suffix in (".json", ".msgpack")]  # not its log
            for written in sorted(artifacts, key=lambda f: f.name == "manifest.json"):  # the manifest last
                os.replace(written, target / written.name)


@cache
def manifest() -> dict[str, Any]:
    """The parsed manifest, read once per process."""
    path = Path(dbt_project().manifest_path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make setup` (it runs `dbt parse`) before loading the code")
    if path.stat().st_mtime < _newest_project_file():
        warnings.warn(f"{path} is older than the dbt project's files: run `make setup` to parse it again", stacklevel=2)
    return json.loads(path.read_text())


def _newest_project_file() -> float:
    paths = [settings.DBT_PROJECT_DIR / name for name in PROJECT_FILES]
    files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return max(f.stat().st_mtime for f in files)


def model_keys(schema: str) -> list[AssetKey]:
    """Asset keys of the dbt models built into `schema` (e.g. every mart)."""
    nodes = manifest()["nodes"].values()
    names = sorted(n["name"] for n in nodes if n["resource_type"] == "model" and n["config"].get("schema") == schema)
    return [AssetKey([schema, name]) for name in names]


class CustomsDbtTranslator(DagsterDbtTranslator):
    """Keys and groups by schema, owners and classification from `meta`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            schema = dbt_resource_props["config"].get("schema") or "main"
            return AssetKey([schema, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return self.get_asset_key(dbt_resource_props).path[0]
        return super().get_group_name(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        owner = dbt_resource_props.get("meta", {}).get("owner")
        return [owner] if owner else super().get_owners(dbt_resource_props)

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        classification = dbt_resource_props.get("meta", {}).get("classification")
        tags = dict(super().get_tags(dbt_resource_props))
        if classification:
            tags["classification"] = classification
        return tags


class DbtBuildConfig(Config):
    full_refresh: bool = Field(default=False, description="Rebuild incremental models from scratch.")


def refresh_window(warehouse: WarehouseResource) -> tuple[str | None, str | None]:
    """(earliest changed day not yet built, latest change considered): what the incremental models
    rebuild, from raw.load_changes after the watermark of the last successful build."""
    with warehouse.connect(read_only=True) as con:
        tables = {
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
            ).fetchall()
        }
        if "load_changes" not in tables:
            return None, None
        since = "SELECT max(consumed_until) FROM raw.dbt_watermark" if "dbt_watermark" in tables else "SELECT NULL"
        day, until = con.execute(f"""
            SELECT min(day), max(logged_at) FROM raw.load_changes
            WHERE logged_at > coalesce(({since}), TIMESTAMP '1900-01-01')""").fetchall()[0]
    return (day.isoformat() if day else None), (until.isoformat() if until else None)


def dbt_build_args(full_refresh: bool, warehouse_vars: dict, target: str) -> list[str]:
    """The `dbt build` arguments of one step: the engine's target, and the warehouse as vars that
    profiles.yml reads (`WarehouseResource.dbt_vars`), so the invocation builds what this run is
    configured with. The vars are the same every night for a warehouse: what changes from night to night
    goes in the environment (`dbt_environment`), so dbt's partial parsing holds. No selection:
    dagster-dbt adds the step's selected models itself. dbt's unit tests prove the models' logic on
    fixed inputs: they run in CI (`tests/test_dbt_unit.py`), not every night, where they would only
    repeat the same proof."""
    return [
        "build",
        "--target",
        target,
        "--vars",
        json.dumps(warehouse_vars, sort_keys=True),
        "--exclude-resource-type",
        "unit_test",
        *(["--full-refresh"] if full_refresh else []),
    ]


def dbt_environment(refresh_from: str | None, spark_sources: Sequence[str] = ()) -> dict[str, str]:
    """What one invocation's models read from the environment (macros/refresh_window.sql,
    macros/spark_engine.sql): the first day the incremental models rebuild from (empty: none), and the
    tables handed over to Spark. A changed `--vars` would make dbt parse the whole project again
    (about 5 s per invocation, three or more a night); dbt reads an environment variable when the model
    runs, and none of these is read while parsing."""
    return {REFRESH_FROM_ENV: refresh_from or "", SPARK_SOURCES_ENV: ",".join(spark_sources)}


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in this process's environment while dbt's process starts (it copies the environment)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def invoke_dbt(
    dbt: DbtCliResource,
    args: list[str],
    warehouse: WarehouseResource,
    target: str,
    environment: Mapping[str, str],
    context: AssetExecutionContext | None = None,
    manifest: Mapping[str, Any] | None = None,
):
    """dbt on `warehouse`, starting from the parse that warehouse's last invocation on `target` left
    (dbt's `partial_parse.msgpack`, kept beside the warehouse file): dbt then re-parses only the files that
    changed. The project's own parse (`make setup`) names no warehouse, and dbt parses everything again
    when the profile's connection (the warehouse path) or the vars differ from the saved parse's. Says
    so in the log when dbt had to parse the whole project."""
    name = uuid.uuid4().hex[:7]
    if context is not None:
        name = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{name}"
    folder = Path(dbt_project().target_path) / name
    saved = warehouse.dbt_parse_state(target)
    if saved.exists():
        absolute = Path(dbt_project().project_dir) / folder
        absolute.mkdir(parents=True, exist_ok=True)
        shutil.copy(saved, absolute / PARTIAL_PARSE)
    with _environment(environment):
        return dbt.cli(args, context=context, manifest=manifest, target_path=folder)


def keep_parse_state(invocation, warehouse: WarehouseResource, target: str, log) -> None:
    """After an invocation: its parse becomes the warehouse's saved one (written beside, then renamed,
    so a reader never finds half a file), and a whole parse is reported with dbt's reason."""
    written = invocation.target_path / PARTIAL_PARSE
    if written.exists():
        saved = warehouse.dbt_parse_state(target)
        saved.parent.mkdir(parents=True, exist_ok=True)
        partial = saved.with_name(f".{saved.name}.{uuid.uuid4().hex[:7]}")
        shutil.copy(written, partial)
        os.replace(partial, saved)
    dbt_log = invocation.target_path / "dbt.log"
    reasons = _WHOLE_PARSE.findall(dbt_log.read_text(errors="replace")) if dbt_log.exists() else []
    if reasons:
        log.info(f"{WHOLE_PARSE_LOGGED}: {reasons[0]}")


def run_dbt_build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DbtBuildConfig,
    also_from: str | None = None,
):
    """`dbt build` of the selected models against the warehouse file Dagster is configured with,
    incremental models rebuilding from the earliest day changed since the last successful build (or
    from `also_from`, if earlier)."""
    refresh_from, _ = refresh_window(warehouse)
    starts = [d for d in (refresh_from, also_from) if d]
    refresh_from = min(starts) if starts else None
    sources = _hand_over(context, dbt, warehouse) if warehouse.engine == "spark" else []
    target = warehouse.dbt_target
    args = dbt_build_args(config.full_refresh, warehouse.dbt_vars(), target)
    context.log.info(
        f"incremental models rebuild from {refresh_from or 'nothing (no change since the last build)'}"
        + (" (full refresh)" if config.full_refresh else "")
    )
    outputs = []
    invocation = invoke_dbt(dbt, args, warehouse, target, dbt_environment(refresh_from, sources), context)
    events = invocation.stream()
    if "progress" in (context.run.run_config.get("loggers") or {}):
        events = _console_to_file(events, settings.var_dir() / "logs" / "dbt_console.log")
    try:
        for event in events:
            if isinstance(event, Output):  # enriched once dbt has released the file
                outputs.append(event)
            else:
                yield event
    finally:  # also after a failed build: the tables it rebuilt have new files (the views must list them),
        # and dbt's parse of the project is as good as after a success
        if warehouse.engine == "spark":
            with warehouse.connect() as con:
                linked = spark.link_tables(con, Path(warehouse.spark_warehouse))
            context.log.info(f"{len(linked)} tables Spark built are views in {warehouse.path}")
        keep_parse_state(invocation, warehouse, target, context.log)
    prune_invocation_folders(invocation.target_path.parent, DBT_INVOCATIONS_KEPT, in_use=invocation.target_path)
    yield from enrich_outputs(context, warehouse, outputs)


def run_dbt_command(dbt: DbtCliResource, command: list[str], warehouse: WarehouseResource, target: str, log) -> None:
    """A dbt command besides a step's build (the views before a Spark step, the metastore's published
    tables) on `target` with the warehouse's vars, from the warehouse's last parse and keeping its parse
    as the steps do: not a whole parse of the project. Raises if dbt fails."""
    args = [*command, "--target", target, "--vars", json.dumps(warehouse.dbt_vars(), sort_keys=True)]
    invocation = invoke_dbt(dbt, args, warehouse, target, dbt_environment(None), manifest=manifest()).wait()
    keep_parse_state(invocation, warehouse, target, log)


def _hand_over(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> list[str]:
    """Before a dbt step on Spark: the DuckDB file gets what the models' hooks create there for the
    Python assets (the scores' and communities' tables) and the views, which read the quality history
    live (`dbt run` of the views on the DuckDB target, seconds); then every source goes to Spark. A
    Thrift server is first asked whether its sessions are the profile's (spark_server.check)."""
    spark.require_spark()
    if warehouse.spark_thrift:
        spark_server.check(warehouse.spark_thrift, Path(warehouse.spark_warehouse))
    run_dbt_command(dbt, ["run", "--select", "config.materialized:view"], warehouse, DBT_TARGETS["duckdb"], context.log)
    with warehouse.connect(read_only=True) as con:
        written = spark.export_sources(
            con, Path(warehouse.spark_exchange), spark.handed_over(Path(dbt_project().manifest_path))
        )
    context.log.info(f"handed {len(written)} tables over to Spark under {warehouse.spark_exchange}")
    return written


def prune_invocation_folders(
    target: Path, keep: int, in_use: Path, stale_after: float = DBT_INVOCATION_STALE_AFTER
) -> list[Path]:
    """Delete the invocation folders under dbt's `target` (dagster-dbt gives each invocation its own,
    about 13 MB, never removed) that no invocation can still be using: finished ones (dbt wrote their
    `run_results.json`, its last file) but the `keep` most recently finished, and unfinished ones whose
    folder has not changed for `stale_after` seconds (a killed run's: no run lasts that long). Never
    `in_use`, and never a folder without `run_results.json` younger than that: another run, or another
    step of this one, may be running dbt in it right now. dbt's own files and folders there
    (manifest.json, partial_parse.msgpack, compiled/) do not look like invocation folders and stay."""
    finished, stale, now = [], [], time.time()
    for folder in (d for d in target.iterdir() if d.is_dir() and _INVOCATION_DIR.fullmatch(d.name)):
        try:
            finished.append(((folder / "run_results.json").stat().st_mtime, folder))
        except FileNotFoundError:
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile, by another run's pruning
                if now - folder.stat().st_mtime > stale_after:
                    stale.append(folder)
    older = [folder for _, folder in sorted(finished, key=lambda pair: pair[0])[: max(len(finished) - keep, 0)]]
    doomed = [d for d in older + stale if d.resolve() != in_use.resolve()]
    for folder in doomed:
        shutil.rmtree(folder, ignore_errors=True)
    return doomed


def _console_to_file(events: Iterator, path: Path) -> Iterator:
    """dagster-dbt echoes every dbt console line to stdout (the compute log the UI shows). A headless
    run with the concise progress logger sends those lines to `path` instead of the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as sink:
        while True:
            with contextlib.redirect_stdout(sink):  # only while dbt's events are read, not while yielding
                event = next(events, None)
            if event is None:
                return
            yield event


def enrich_outputs(context: AssetExecutionContext, warehouse: WarehouseResource, outputs: list[Output]):
    """Each model's row count and column types, and for marts the findings a reader asks for first
    (previews, charts)."""
    from orchestration.reports.findings import mart_insights

    with warehouse.connect(read_only=True) as con:
        for output in outputs:
            key = context.assets_def.keys_by_output_name[output.output_name]
            schema, table = key.path
            documented = column_descriptions(context.assets_def.specs_by_key[key].metadata)
            extra = table_metadata(con, schema, table, documented)
            if schema == "marts":
                extra.update({k: MetadataValue.md(v) for k, v in mart_insights(con, table).items()})
            yield output.with_metadata({**output.metadata, **extra})


def rescored_from(warehouse: WarehouseResource) -> str | None:
    """The first month the learned model scored again since the last successful build (a new champion
    rescores every month): the scored marts rebuild from there too."""
    with warehouse.connect(read_only=True) as con:
        tables = existing_tables(con)
        if "models.risk_scores" not in tables:
            return None
        since = "SELECT max(built_at) FROM raw.dbt_watermark" if "raw.dbt_watermark" in tables else "SELECT NULL"
        (month,) = con.execute(f"""SELECT min(period_month) FROM models.risk_scores
            WHERE scored_at > coalesce(({since}), TIMESTAMP '1900-01-01')""").fetchone()
    return month.isoformat() if month else None


def advance_watermark(warehouse: WarehouseResource, until: str | None) -> None:
    """The changes up to `until` are built: later runs start after them."""
    if until is None:
        return
    with warehouse.connect() as con:
        con.execute("CREATE TABLE IF NOT EXISTS raw.dbt_watermark (consumed_until TIMESTAMP, built_at TIMESTAMP)")
        con.execute("INSERT INTO raw.dbt_watermark VALUES (CAST(? AS TIMESTAMP), current_timestamp)", [until])


# int_declaration_items is built with the staged tables: its countries are checked by the gate too
STAGING_SELECTION = "path:models/staging path:seeds path:models/intermediate/int_declaration_items.sql"
# the models that read what Python assets write back, built after them: the learned model's scores
# (source `models`, `models/risk_scores`) and the party graph's communities (`networks/party_communities`)
SCORED_SELECTION = "declaration_risk+ risk_model_performance party_networks network_alerts"


@dbt_assets(
    manifest=manifest(),
    project=dbt_project(),
    dagster_dbt_translator=CustomsDbtTranslator(),
    select=STAGING_SELECTION,
    name="dbt_staging",
    pool=WAREHOUSE_POOL,
)
def dbt_staging(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtBuildConfig
):
    yield from run_dbt_build(context, dbt, warehouse, config)


@dbt_assets(
    manifest=manifest(),
    project=dbt_project(),
    dagster_dbt_translator=CustomsDbtTranslator(),
    exclude=f"{STAGING_SELECTION} {SCORED_SELECTION}",
    name="dbt_warehouse",
    pool=WAREHOUSE_POOL,
)
def dbt_warehouse(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtBuildConfig
):
    yield from run_dbt_build(context, dbt, warehouse, config)


@dbt_assets(
    manifest=manifest(),
    project=dbt_project(),
    dagster_dbt_translator=CustomsDbtTranslator(),
    select=SCORED_SELECTION,
    name="dbt_scored",
    pool=WAREHOUSE_POOL,
)
def dbt_scored(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtBuildConfig
):
    _, until = refresh_window(warehouse)
    yield from run_dbt_build(context, dbt, warehouse, config, also_from=rescored_from(warehouse))
    advance_watermark(warehouse, until)  # only reached when the last dbt step succeeded


dbt_models = [dbt_staging, dbt_warehouse, dbt_scored]


dbt_resource = WarehouseDbtCli(project_dir=dbt_project(), dbt_executable=DBT_EXECUTABLE)
