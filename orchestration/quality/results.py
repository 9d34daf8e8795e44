"""Outcomes of quality rules, kept apart from the GX runner so that reading them costs no GX import."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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
RULE_RESULTS_COLUMNS = (
    "run_id VARCHAR, validated_at TIMESTAMP, table_name VARCHAR, suite VARCHAR, rule VARCHAR, "
    "expectation VARCHAR, dimension VARCHAR, severity VARCHAR, passed BOOLEAN, unexpected_count BIGINT, "
    "checked_count BIGINT, observed VARCHAR"
)


def ensure_rule_results(con) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    con.execute(f"CREATE TABLE IF NOT EXISTS {RULE_RESULTS_TABLE} ({RULE_RESULTS_COLUMNS})")


def record_rule_results(con, run_id: str, result: SuiteResult) -> int:
    """Append one row per rule of `result` to the quality history (replacing the same run's earlier
    rows for this suite, so a re-executed check does not count twice)."""
    ensure_rule_results(con)
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
    con.execute("BEGIN TRANSACTION")
    con.execute(f"DELETE FROM {RULE_RESULTS_TABLE} WHERE run_id = ? AND suite = ?", [run_id, result.suite])
    con.executemany(f"INSERT INTO {RULE_RESULTS_TABLE} VALUES ({', '.join('?' * 12)})", rows)
    con.execute("COMMIT")
    return len(rows)
