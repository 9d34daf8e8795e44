"""Outcomes of quality rules, kept apart from the GX runner so that reading them costs no GX import.

A check needs no write lock on the warehouse: it writes its SuiteResult to a file of its run
(`var/quality/results/<run_id>/<suite>.json`) and the asset `quality/rule_results`, which runs after
every check of the run, records the files in the history. A run that never got there (killed, or
stopped by a blocking rule) leaves its files behind; the next recording takes them in and marks that
run `incomplete`, so its rows never pass for a whole validation run.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness", "accuracy")


@dataclass(frozen=True)
class RuleResult:
    table_name: str
    rule: str
    expectation: str
    dimension: str
    severity: str  # blocking | warning
    passed: bool
    unexpected_count: int | None
    checked_count: int | None
    observed: str | None = None


@dataclass
class SuiteResult:
    suite: str
    table_name: str
    validated_at: datetime
    rules: list[RuleResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def blocking_failures(self) -> list[RuleResult]:
        return [r for r in self.rules if not r.passed and r.severity == "blocking"]

    @property
    def warning_failures(self) -> list[RuleResult]:
        return [r for r in self.rules if not r.passed and r.severity == "warning"]


RULE_RESULTS_TABLE = "quality.rule_results"
VALIDATION_RUNS_TABLE = "quality.validation_runs"
# dbt_project/models/marts/data_quality_results.sql creates the same tables (dbt builds that view
# before the first run has recorded anything); `ensure_quality_tables` refuses a drifted layout
TABLES = {
    RULE_RESULTS_TABLE: (
        ("run_id", "VARCHAR"),
        ("validated_at", "TIMESTAMP"),
        ("table_name", "VARCHAR"),
        ("suite", "VARCHAR"),
        ("rule", "VARCHAR"),
        ("expectation", "VARCHAR"),
        ("dimension", "VARCHAR"),
        ("severity", "VARCHAR"),
        ("passed", "BOOLEAN"),
        ("unexpected_count", "BIGINT"),
        ("checked_count", "BIGINT"),
        ("observed", "VARCHAR"),
    ),
    VALIDATION_RUNS_TABLE: (
        ("run_id", "VARCHAR"),
        ("started_at", "TIMESTAMP"),
        ("finished_at", "TIMESTAMP"),
        ("status", "VARCHAR"),
        ("recorded_by", "VARCHAR"),
    ),
}
COMPLETE, STOPPED, INCOMPLETE = "complete", "stopped", "incomplete"


def ensure_quality_tables(con) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    for table, columns in TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(f'{c} {t}' for c, t in columns)})")
        schema, name = table.split(".")
        found = tuple(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, name],
            ).fetchall()
        )
        if found != columns:
            raise ValueError(f"{table} has columns {found}, expected {columns}")


def write_suite_result(root: Path, run_id: str, result: SuiteResult) -> Path:
    """Write `result` to `root/<run_id>/<suite>.json` atomically: a reader finds the whole file or none,
    and a re-executed check replaces its own earlier file."""
    path = root / run_id / f"{result.suite}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps({**asdict(result), "validated_at": result.validated_at.isoformat()}))
    os.replace(partial, path)
    return path


def read_suite_result(path: Path) -> SuiteResult:
    try:
        data = json.loads(path.read_text())
        rules = [RuleResult(**r) for r in data.pop("rules")]
        return SuiteResult(**{**data, "validated_at": datetime.fromisoformat(data["validated_at"])}, rules=rules)
    except (ValueError, TypeError, KeyError) as exc:  # never written by a check: atomic writes leave no halves
        raise ValueError(f"{path}: not a suite result ({exc}); move it away to record the others") from exc


@dataclass(frozen=True)
class RecordedRun:
    run_id: str
    status: str
    suites: int
    rules: int


def record_validation_runs(
    con, root: Path, current_run_id: str, status_of_current: str = COMPLETE
) -> list[RecordedRun]:
    """Record every result file under `root` in the history, one transaction per run, then remove the
    files. `current_run_id` (whose checks have all finished) is marked `status_of_current` (complete,
    or stopped when the run failed before its recording step); any other run found there did not reach
    this step and is marked incomplete, unless it was already recorded."""
    ensure_quality_tables(con)
    pending = {d.name: sorted(d.glob("*.json")) for d in root.glob("*") if any(d.glob("*.json"))}
    pending.setdefault(current_run_id, [])
    recorded = []
    for run_id, files in sorted(pending.items()):
        results = [read_suite_result(f) for f in files]
        previous = con.execute(
            f"SELECT started_at, finished_at, status FROM {VALIDATION_RUNS_TABLE} WHERE run_id = ?", [run_id]
        ).fetchall()
        if not results and not previous:
            continue  # the current run validated nothing
        started = min([r.validated_at for r in results] + [p[0] for p in previous])
        if run_id == current_run_id:
            status, finished = status_of_current, datetime.now(UTC).replace(tzinfo=None)
        else:
            status, finished = (previous[0][2], previous[0][1]) if previous else (INCOMPLETE, None)
        con.execute("BEGIN TRANSACTION")
        for result in results:
            _replace_rules(con, run_id, result)
        con.execute(f"DELETE FROM {VALIDATION_RUNS_TABLE} WHERE run_id = ?", [run_id])
        con.execute(
            f"INSERT INTO {VALIDATION_RUNS_TABLE} VALUES (?, ?, ?, ?, ?)",
            [run_id, started, finished, status, current_run_id],
        )
        con.execute("COMMIT")
        for f in files:  # only what was recorded: a check of a run still going may be writing another
            f.unlink()
        with contextlib.suppress(OSError):  # not empty: a check of that run is writing, or was killed doing so
            (root / run_id).rmdir()
        recorded.append(RecordedRun(run_id, status, len(results), sum(len(r.rules) for r in results)))
    return recorded


def _replace_rules(con, run_id: str, result: SuiteResult) -> None:
    """One row per rule of `result`, replacing the same run's earlier rows for this suite (a check
    re-executed in the same run, or files recorded twice, do not count twice)."""
    rows = [
        (
            run_id,
            result.validated_at,
            r.table_name,
            result.suite,
            r.rule,
            r.expectation,
            r.dimension,
            r.severity,
            r.passed,
            r.unexpected_count,
            r.checked_count,
            r.observed,
        )
        for r in result.rules
    ]
    con.execute(f"DELETE FROM {RULE_RESULTS_TABLE} WHERE run_id = ? AND suite = ?", [run_id, result.suite])
    con.executemany(f"INSERT INTO {RULE_RESULTS_TABLE} VALUES ({', '.join('?' * 12)})", rows)
