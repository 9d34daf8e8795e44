"""Progress for headless runs (`make run`): one line when a step starts, one per asset it
materializes with its row count (one per asset, not per partition), the step's duration, failures and
failed checks as they happen; not the full event log, which stays in the Dagster UI."""

import logging
import sys

from dagster import logger

QUIET_STEPS = ("_gx_",)  # quality checks: only their "done" line; failed checks are always shown


class ProgressHandler(logging.Handler):
    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream or sys.stdout
        self.partitions: dict[str, tuple[int, object]] = {}  # asset -> (partitions materialized, last row count)

    def _say(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = getattr(record, "dagster_event", None)
        step = (event.step_key if event is not None else meta.get("step_key")) or ""
        if event is None:
            if record.levelno >= logging.WARNING or (
                step
                and not step.startswith("dbt_")
                and record.levelno >= logging.INFO
                and not any(q in step for q in QUIET_STEPS)
            ):
                self._say(f"    {meta.get('orig_message', record.getMessage())}")
            return
        kind = event.event_type_value
        if kind == "STEP_START" and not any(q in step for q in QUIET_STEPS):
            self._say(f"> {step}")
        elif kind == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            rows = materialization.metadata.get("dagster/row_count")
            key = materialization.asset_key.to_user_string()
            if materialization.partition:  # one line per asset, not per day: said when the step ends
                self.partitions[key] = (self.partitions.get(key, (0, None))[0] + 1, rows)
            else:
                self._say(f"    + {key:<45} {f'{rows.value:,} rows' if rows is not None else ''}".rstrip())
        elif kind == "STEP_SUCCESS":
            for key, (count, rows) in self.partitions.items():
                held = f", table holds {rows.value:,} rows" if rows is not None else ""
                self._say(f"    + {key:<45} {count:,} partition(s){held}")
            self.partitions.clear()
            self._say(f"  {step} done in {event.event_specific_data.duration_ms / 1000:.1f} s")
        elif kind == "STEP_FAILURE":
            error = event.event_specific_data.error
            while error is not None and error.cause is not None:
                error = error.cause
            self._say(f"  ! {step} FAILED: {error.message.strip() if error else ''}"[:400])
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                self._say(
                    f"  ! check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} "
                    f"failed ({evaluation.severity.value})"
                )


@logger(description="Concise progress on stdout for headless runs.")
def progress_logger(_init_context) -> logging.Logger:
    log = logging.getLogger("customs_warehouse.progress")
    log.setLevel(logging.DEBUG)  # Dagster logs its structured events (step started, ...) at DEBUG
    log.propagate = False
    log.handlers = [ProgressHandler()]
    return log
