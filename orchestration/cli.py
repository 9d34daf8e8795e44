"""Command line: `python -m orchestration.cli demo|run|map|reidentify`.

`run` executes the nightly job headlessly (the same job the schedule runs) against the instance in
$DAGSTER_HOME, so the run appears in the UI afterwards, then prints where the warehouse is and what
each layer holds. `reidentify` is the one way back from a pseudonymous key to the party, for an
authorised officer: it needs the pseudonymisation key, a name and a reason, and logs the request.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import duckdb

from orchestration import settings
from orchestration.demo.generator import DemoConfig, generate
from orchestration.quality.parameters import AS_OF_ENV, AS_OF_TAG


def _demo(args: argparse.Namespace) -> None:
    landing = settings.landing_dir()
    if (landing / "declarations").exists() and not args.force:
        print(f"Landing area {landing} already holds declarations; use --force to regenerate.")
        return
    if args.force:
        _clear_demo(landing)
    started = time.perf_counter()
    summary = generate(landing, DemoConfig(items=args.items, months=args.months, seed=args.seed))
    print(
        f"Demo data: {summary['items']:,} declaration items in {summary['declaration_files']} daily files, "
        f"{summary['partner_records']:,} partner records, {summary['reference_files']} reference tables "
        f"-> {landing} ({time.perf_counter() - started:.1f} s)"
    )
    print(f"Planted anomalies and their ground truth: {landing / '_demo_truth'}")


def _clear_demo(landing: Path) -> None:
    import shutil

    for sub in ("declarations", "partner_trade", "reference", "_demo_truth"):
        shutil.rmtree(landing / sub, ignore_errors=True)


def _run(args: argparse.Namespace) -> int:
    landing = settings.landing_dir()
    if not (landing / "declarations").exists():
        print(f"No declarations in {landing}: generating the built-in demo dataset first.")
        _demo(argparse.Namespace(items=args.items, months=args.months, seed=args.seed, force=False))

    as_of = _demo_as_of_tags(landing)

    from orchestration.jobs import landing_days, range_tags

    days = landing_days(landing)
    if days is None:
        print(f"No declaration files with a lodgement day in their name (items_YYYY-MM-DD.csv) in {landing}.")
        return 1
    first, last = (
        (date.fromisoformat(args.first) if args.first else days[0]),
        (date.fromisoformat(args.last) if args.last else days[1]),
    )
    print(f"Refreshing lodgement days {first} to {last} in one run.")
    result = _launch("nightly_refresh", {**range_tags(first, last), **as_of}, "refresh")
    if result is None:
        return 1
    if (due := _retrain_due(as_of)) is not None:
        print(f"\nTraining the risk model: {due}.")
        if _launch("risk_model_retrain", as_of, "retraining") is None:
            return 1
    print(summary(settings.duckdb_path()))
    published = settings.var_dir() / "published" / "current"
    docs = settings.var_dir() / "quality" / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    print(
        f"BI tools read the published copy, never that file: {published}/customs_marts.duckdb; Parquet readers "
        f"resolve {published.parent / 'current.json'} once and read that version's folder (README)"
    )
    print(f"Quality history: marts.data_quality_results; Great Expectations Data Docs: {docs}")
    print(
        "Risk model: versions in models.risk_model_versions, its selection performance in marts.risk_model_performance"
    )
    print(f"Findings report for managers (opens offline): {settings.var_dir() / 'reports' / 'findings.html'}")
    return 0


def _retrain(args: argparse.Namespace) -> int:
    """On demand: train a challenger now, whatever the schedule."""
    as_of = _demo_as_of_tags(settings.landing_dir())
    return 0 if _launch("risk_model_retrain", as_of, "retraining") is not None else 1


def _retrain_due(as_of_tags: dict[str, str]) -> str | None:
    """Why the risk model should be trained after this refresh (no champion yet, or a complete month
    of outcomes it was not trained on), or None."""
    from orchestration.assets.selectivity import retrain_due
    from orchestration.quality.parameters import as_of_date

    with duckdb.connect(str(settings.duckdb_path()), read_only=True) as con:
        return retrain_due(con, settings.model_dir(settings.duckdb_path()), as_of_date(as_of_tags))


def _launch(job: str, tags: dict[str, str], what: str):
    """Run `job` in this process under the instance's pool and run-health rules, print its outcome;
    the result, or None when it failed."""
    from orchestration import run_health
    from orchestration.definitions import defs

    started = time.perf_counter()
    instance = run_health.open_instance(print)
    run_id = str(uuid.uuid4())
    with run_health.pool_wait(instance, run_id, print) as wait:
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            tags={**tags, **run_health.launch_tags()},
            run_config={"loggers": {"progress": {}}},  # concise progress here; the full log is in the UI
        )
    elapsed = time.perf_counter() - started
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    if not result.success:
        print(f"\nThe {what} FAILED after {elapsed:.1f} s (run {result.run_id}); failed step(s): {', '.join(failed)}.")
        if wait.gave_up:
            print(wait.gave_up)
            return None
        if disk_full := run_health.disk_full_report(run_health.error_texts(result.all_events), _written_paths()):
            print(disk_full)
            return None
        _record_stopped_validations(result.run_id)
        print("Open the run in the Dagster UI (`make ui`) for the failing asset and its reason;")
        print(f"dbt's own console output is in {settings.var_dir() / 'logs' / 'dbt_console.log'}.")
        return None
    checks = result.get_asset_check_evaluations()
    failing = [c for c in checks if not c.passed]
    print(
        f"\n{what.capitalize()} succeeded in {elapsed:.1f} s (run {result.run_id}); "
        f"{len(checks) - len(failing)} of {len(checks)} checks passed."
    )
    for c in failing:
        print(
            f"  check {c.check_name} on {c.asset_key.to_user_string()} FAILED ({c.severity.value}): "
            f"{c.description or ''}"[:300]
        )
    for event in result.all_events:
        if event.is_step_materialization and event.asset_key and event.asset_key.path == ["models", "risk_model"]:
            print(f"  risk model {event.step_materialization_data.materialization.metadata['decision'].value}")
    return result


def _record_stopped_validations(run_id: str) -> None:
    """A run stopped by a blocking rule never reaches `quality/rule_results`: record what it validated
    (marked `stopped`), so the failure is in the quality history now, not after the next run."""
    from orchestration.checks import results_dir
    from orchestration.quality.results import STOPPED, record_validation_runs

    if not (results_dir() / run_id).exists():
        return
    with duckdb.connect(str(settings.duckdb_path()), config={"memory_limit": settings.duckdb_memory_limit()}) as con:
        recorded = record_validation_runs(con, results_dir(), run_id, STOPPED)
    rules = sum(r.rules for r in recorded if r.run_id == run_id)
    print(f"{rules} rule result(s) of the stopped run are in marts.data_quality_results (run_status = stopped).")


def _reidentify(args: argparse.Namespace) -> int:
    from orchestration.ingest.restricted import reidentify

    try:
        found = reidentify(args.key, args.officer, args.reason)
    except (PermissionError, LookupError) as refused:
        print(f"refused: {refused}" if isinstance(refused, PermissionError) else str(refused))
        return 1
    print(f"{found.party_type} {found.party_id} (key {found.party_key}); this request is in the audit log")
    return 0


def _map(args: argparse.Namespace) -> None:
    from orchestration.ingest.mapping import Mapping

    written = Mapping.load(args.mapping).apply(Path(args.source), settings.landing_dir())
    print(f"{len(written)} file(s) written into {settings.landing_dir()} (first: {written[0]})")


def _demo_as_of_tags(landing: Path) -> dict[str, str]:
    """The demo's declarations end in the past: the run judges their timeliness as of the day after the
    last one (a run tag the quality checks read; this process's environment stays as it was)."""
    truth = landing / "_demo_truth" / "anomalies.json"
    if os.environ.get(AS_OF_ENV) or not truth.exists():
        return {}
    config = json.loads(truth.read_text())["config"]
    end = DemoConfig(start=date.fromisoformat(config["start"]), months=config["months"]).end
    print(f"Demo dataset: timeliness rules judge it as of {end} (set ${AS_OF_ENV} to change).")
    return {AS_OF_TAG: end.isoformat()}


def summary(db_path: Path) -> str:
    """Where the warehouse is and the row count of every table, marts first."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = con.execute("""
            SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_schema IN ('marts', 'intermediate', 'staging', 'raw') ORDER BY 1, 2
        """).fetchall()
        order = {"marts": 0, "intermediate": 1, "staging": 2, "raw": 3}
        lines = [f"Warehouse: {db_path}"]
        if settings.engine() == "spark":
            server = f" on the Thrift server at {settings.spark_thrift()}" if settings.spark_thrift() else ""
            lines.append(
                f"Engine: Spark{server}; "
                f"its tables and metastore are under {settings.spark_warehouse_dir()} (the tables "
                "below are views over them; BI tools on the Thrift server read published.<mart>)"
            )
        for schema, table in sorted(tables, key=lambda t: (order[t[0]], t[1])):
            rows = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0]
            lines.append(f"  {schema}.{table:<32} {rows:>12,} rows")
        if not any(s == "marts" for s, _ in tables):
            lines.append("  (no marts yet)")
        return "\n".join(lines)
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in (
        ("demo", "write the demo dataset into the landing area"),
        ("run", "run the nightly job over a range of lodgement days (all, by default) and print a summary"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--items", type=int, default=DemoConfig.items, help="demo declaration items")
        p.add_argument("--months", type=int, default=DemoConfig.months, help="demo months from 2021-01")
        p.add_argument("--seed", type=int, default=DemoConfig.seed)
        if name == "demo":
            p.add_argument("--force", action="store_true", help="replace an existing demo dataset")
        else:
            p.add_argument("--from", dest="first", help="first lodgement day (default: the landing area's first)")
            p.add_argument("--to", dest="last", help="last lodgement day (default: the landing area's last)")
    sub.add_parser("retrain", help="train a challenger risk model now (it is otherwise trained monthly)")
    mapper = sub.add_parser("map", help="bring another layout onto a contract with a mapping file")
    mapper.add_argument("mapping", help="a mapping name in orchestration/ingest/mappings/ or a YAML path")
    mapper.add_argument("source", help="folder holding the source files")
    who = sub.add_parser(
        "reidentify",
        help="for an authorised officer: the party (T-/D-) or declaration (R-) behind a key; needs the "
        "pseudonymisation key and is logged",
    )
    who.add_argument("key", help="a trader_key, declarant_key or declaration_ref")
    who.add_argument("--officer", required=True, help="who asks (recorded in the audit log)")
    who.add_argument("--reason", required=True, help="why: a case or file reference (recorded)")
    args = parser.parse_args(argv)
    if args.command == "reidentify":
        return _reidentify(args)
    if args.command == "demo":
        _demo(args)
        return 0
    if args.command == "map":
        _map(args)
        return 0
    if args.command == "retrain":
        return _retrain(args)
    try:
        return _run(args)
    except Exception as error:  # a full disk outside any step (Dagster's own storage, the summary)
        from orchestration import run_health

        if disk_full := run_health.disk_full_report(run_health.exception_texts(error), _written_paths()):
            print(f"\n{disk_full}")
            return 1
        raise


def _written_paths() -> dict[str, Path]:
    """Where a refresh writes, for the disk-full message."""
    return {
        "the warehouse": settings.duckdb_path(),
        "the var folder": settings.var_dir(),
        "the Dagster home": Path(os.environ.get("DAGSTER_HOME", settings.var_dir() / "dagster_home")),
        **({"the Spark warehouse": settings.spark_warehouse_dir()} if settings.engine() == "spark" else {}),
    }


if __name__ == "__main__":
    sys.exit(main())
