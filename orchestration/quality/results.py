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
