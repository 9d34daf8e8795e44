"""Sensors: a delivery to the landing area starts a refresh; a failed run is recorded with the step
that failed and why.

The landing sensor compares each file's size and modification time with what it saw last time (its
cursor), so a new or re-delivered file is noticed without reading it; the run then loads it by
content hash as usual. Declaration files start a run over the lodgement days they carry; partner and
reference files start a run over the landing area's latest day, which reloads them and rebuilds
what they change. It starts stopped: switch it on in the UI where deliveries should trigger runs.
"""

import hashlib
import json
from datetime import UTC, datetime

from dagster import (
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from orchestration import settings
from orchestration.ingest.readers import deliverable_paths, file_day
from orchestration.jobs import landing_days, nightly_refresh, range_tags
from orchestration.resources import LandingAreaResource

WATCHED = ("declarations", "partner_trade", "reference")


def landing_signatures(root) -> dict[str, list[int]]:
    return {
        p.relative_to(root).as_posix(): [p.stat().st_size, p.stat().st_mtime_ns]
        for sub in WATCHED
        for p in deliverable_paths(root, sub)
    }


def runs_for_changes(changed: list[str], landing) -> list[RunRequest]:
    """One run over the lodgement days of the changed declaration files; or, when only partner or
    reference files changed, one run over the landing area's latest day."""
    days = sorted({d for rel in changed if rel.startswith("declarations/") and (d := file_day(rel))})
    if not days:
        latest = landing_days(landing)
        if latest is None:
            return []
        days = [latest[1]]
    key = hashlib.sha256("\n".join(sorted(changed)).encode()).hexdigest()[:16]
    return [RunRequest(run_key=f"landing-{days[0]}-{days[-1]}-{key}", tags=range_tags(days[0], days[-1]))]


@sensor(
    job=nightly_refresh,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="New or re-delivered files in the landing area start a refresh of what they change.",
)
def landing_area_sensor(context: SensorEvaluationContext, landing: LandingAreaResource):
    root = landing.root
    seen = json.loads(context.cursor) if context.cursor else {}
    current = landing_signatures(root)
    changed = sorted(rel for rel, signature in current.items() if seen.get(rel) != signature)
    context.update_cursor(json.dumps(current))
    if not changed:
        yield SkipReason(f"no new or re-delivered file in {root}")
        return
    context.log.info(f"{len(changed)} new or re-delivered file(s), e.g. {changed[:3]}")
    yield from runs_for_changes(changed, root)


def _reason(error) -> str:
    """The innermost cause of a step failure: what actually went wrong, not the wrapper's message."""
    if error is None:
        return ""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


@run_failure_sensor(
    description="Records every failed run with the steps that failed and their errors.",
    default_status=DefaultSensorStatus.RUNNING,
)
def record_run_failures(context: RunFailureSensorContext):
    failures = [
        {
            "step": e.step_key,
            "error": _reason(e.event_specific_data.error if e.event_specific_data else None),
        }
        for e in context.get_step_failure_events()
    ]
    entry = {
        "at": datetime.now(UTC).isoformat(),
        "run_id": context.dagster_run.run_id,
        "job": context.dagster_run.job_name,
        "failed_steps": failures,
    }
    alerts = settings.var_dir() / "alerts" / "run_failures.jsonl"
    alerts.parent.mkdir(parents=True, exist_ok=True)
    with alerts.open("a") as fh:
        fh.write(json.dumps(entry) + "\n")
    context.log.error(
        f"run {entry['run_id']} of {entry['job']} failed: "
        + "; ".join(f"{f['step']}: {f['error'][:200]}" for f in failures)
    )
