"""A run of the command line that died must not block the next one, and a blocked or failing run says why.

`python -m orchestration.cli run` executes the job inside its own process (`execute_in_process`): no
run launcher started it and no daemon watches it. Dagster's run monitoring (`run_monitoring` in
dagster.yaml) runs in the daemon and notices a dead worker of a STARTED run only through its run
launcher's health check, which the default launcher does not have; a run executed in-process by a
command that was SIGKILLed (or died on a full disk) stays STARTED forever and keeps its slot of the
`duckdb_warehouse` pool, so every later run would wait forever. The check therefore happens where
the next run starts:

- every run records its process id, host and process start time as tags (`launch_tags`);
- at launch, any run of the instance still STARTING/STARTED whose process is gone on this host is
  reported failed through the instance, with an engine event saying why, and its pool slots are freed
  (`recover_dead_runs`); a run without those tags (launched from the UI) or from another host is
  named and left alone, since its liveness cannot be known from here;
- instance initialisation is serialised by a file lock in $DAGSTER_HOME: two runs started together on
  a fresh home would otherwise race to create the SQLite schemas (`open_instance`);
- waiting for the pool is said on the command line, naming the run that holds it, and given up after
  $CUSTOMS_POOL_WAIT_SECONDS, failing the waiting run so it holds nothing either (`pool_wait`);
- a full disk ends with which disk, how much is free and what to do (`disk_full_report`).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.events import EngineEventData, JobFailureData, RunFailureReason
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.storage.dagster_run import FINISHED_STATUSES, DagsterRun

PID_TAG, HOST_TAG, STARTED_TAG = "customs/pid", "customs/host", "customs/process_started"
POOL_WAIT_ENV = "CUSTOMS_POOL_WAIT_SECONDS"
POOL_WAIT_DEFAULT = 2 * 3600
POOL_WAIT_MESSAGE_EVERY = 60.0  # seconds between "waiting for pool" lines
BLOCKED_POLL = 0.5  # Dagster's in-process wait loop re-checks a blocked claim without sleeping
LOCK_FILE = ".customs_instance.lock"

Say = Callable[[str], None]


def _process_started(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot), which tells a reused pid apart; None
    where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _process_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def launch_tags() -> dict[str, str]:
    """Tags that let a later run tell whether this process still runs."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    if (started := _process_started(os.getpid())) is not None:
        tags[STARTED_TAG] = started
    return tags


def process_gone(run: DagsterRun) -> tuple[bool | None, str]:
    """(True, why) if the run's process is gone, (False, why) if it runs, (None, why) if unknowable here."""
    tags = run.tags
    if PID_TAG not in tags or HOST_TAG not in tags:
        return None, "it was not started by this command line (no process tags; the UI or another tool started it)"
    if tags[HOST_TAG] != socket.gethostname():
        return None, f"it runs on host {tags[HOST_TAG]}, not here"
    pid = int(tags[PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True, f"its process {pid} on {tags[HOST_TAG]} no longer exists"
    except PermissionError:
        pass  # the process exists, under another user
    if _process_state(pid) == "Z":
        return True, f"its process {pid} has exited (a zombie not yet reaped)"
    if STARTED_TAG in tags and (started := _process_started(pid)) is not None and started != tags[STARTED_TAG]:
        return True, f"its process {pid} exited; that pid now belongs to another process"
    return False, f"its process {pid} on {tags[HOST_TAG]} is still running"


def recover_dead_runs(instance: DagsterInstance, say: Say, exclude: Iterable[str] = ()) -> list[str]:
    """Fail every unfinished run whose process is gone and free its pool slots; free the slots of
    finished runs that still hold some. Returns the ids of the runs failed."""
    exclude = set(exclude)
    failed = []
    runs = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]))
    for run in runs:
        if run.run_id in exclude:
            continue
        gone, why = process_gone(run)
        if gone is None:
            say(f"Run {run.run_id} is {run.status.value}, left alone: {why}. If it is dead, terminate it in the UI.")
            continue
        if not gone:
            continue
        message = f"Marked failed by the next launch: {why}, so this run can no longer finish."
        instance.report_engine_event(message, run, EngineEventData(metadata={"reason": why}))
        instance.report_run_failed(
            run, message=message, job_failure_data=JobFailureData(None, RunFailureReason.UNEXPECTED_TERMINATION)
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        say(f"Run {run.run_id} was left {run.status.value} by a dead process ({why}): marked FAILURE, slots freed.")
        failed.append(run.run_id)
    for run_id in instance.event_log_storage.get_concurrency_run_ids() - exclude:
        run = instance.get_run_by_id(run_id)
        if run is None or run.status in FINISHED_STATUSES:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            say(f"Run {run_id} had ended ({run.status.value if run else 'deleted'}) but still held pool slots: freed.")
    return failed


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    with open(home / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def open_instance(say: Say) -> DagsterInstance:
    """The instance in $DAGSTER_HOME, created under a lock (SQLite schema creation is not safe against a
    second process), with the dead runs it holds failed; a temporary instance without $DAGSTER_HOME."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return DagsterInstance.local_temp()
    with _locked(Path(home)):
        instance = DagsterInstance.get()
        recover_dead_runs(instance, say)
    return instance


def pool_wait_seconds() -> float:
    return float(os.environ.get(POOL_WAIT_ENV, POOL_WAIT_DEFAULT))


def pool_holders(instance: DagsterInstance, pool: str, exclude: str) -> list[str]:
    info = instance.event_log_storage.get_concurrency_info(pool)
    return sorted({slot.run_id for slot in info.claimed_slots} - {exclude})


class PoolWaitTimeout(Exception):
    """Raised out of Dagster's step loop: the run fails with this message and its pending claims are freed."""


class PoolWait:
    """While a run waits for a pool slot: say so every POOL_WAIT_MESSAGE_EVERY seconds with the holder's
    id, fail holders that died meanwhile, and give up after `timeout` seconds."""

    def __init__(self, instance: DagsterInstance, run_id: str, say: Say, timeout: float):
        self.instance, self.run_id, self.say, self.timeout = instance, run_id, say, timeout
        self.blocked_since: float | None = None
        self.said_at = 0.0
        self.gave_up: str | None = None
        self._said: set[str] = set()

    def _say_once(self, text: str) -> None:
        if text not in self._said:
            self._said.add(text)
            self.say(text)

    def blocked(self, pool: str) -> None:
        now = time.monotonic()
        if self.blocked_since is None:
            self.blocked_since, self.said_at = now, 0.0
        if now - self.said_at >= POOL_WAIT_MESSAGE_EVERY or now - self.blocked_since >= self.timeout:
            self.said_at = now
            recover_dead_runs(self.instance, self._say_once, exclude=[self.run_id])
            holders = ", ".join(pool_holders(self.instance, pool, self.run_id)) or "none now, retrying"
            if now - self.blocked_since >= self.timeout:
                self.gave_up = (
                    f"Gave up waiting for pool {pool} after {self.timeout:.0f} s (${POOL_WAIT_ENV}); held by run "
                    f"{holders}. Let that run finish or terminate it in the UI, then run again."
                )
                raise PoolWaitTimeout(self.gave_up)
            waited = f", {now - self.blocked_since:.0f} s so far" if now > self.blocked_since else ""
            self.say(f"waiting for pool {pool} (held by run {holders}{waited}) ...")
        time.sleep(BLOCKED_POLL)


@contextmanager
def pool_wait(instance: DagsterInstance, run_id: str, say: Say, timeout: float | None = None) -> Iterator[PoolWait]:
    """Watch this process's claims of pool slots. Dagster's in-process executor retries a blocked claim
    silently, without a limit, in a loop that neither sleeps (a core at 100%) nor checks for interrupts, so
    neither Ctrl-C nor a timeout could stop it from outside; wrapping the claim is the one place inside it."""
    wait = PoolWait(instance, run_id, say, pool_wait_seconds() if timeout is None else timeout)
    original = InstanceConcurrencyContext.claim

    def claim(self, concurrency_key, step_key, step_priority=0):
        claimed = original(self, concurrency_key, step_key, step_priority)
        if claimed:
            wait.blocked_since = None
        else:
            wait.blocked(concurrency_key)
        return claimed

    InstanceConcurrencyContext.claim = claim
    try:
        yield wait
    finally:
        InstanceConcurrencyContext.claim = original
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


DISK_FULL = re.compile(r"No space left on device|database or disk is full|disk quota exceeded", re.I)
QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")


def error_texts(events) -> list[str]:
    """Messages of every error (with causes and contexts) in the failure events of a run."""
    texts = []
    for event in events:
        if not (event.is_step_failure or event.is_failure):
            continue
        error = getattr(event.event_specific_data, "error", None)
        stack = [error]
        while stack:
            if (e := stack.pop()) is not None:
                texts.append(e.message)
                stack += [e.cause, e.context]
    return texts


def exception_texts(exc: BaseException | None) -> list[str]:
    texts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        texts.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return texts


def disk_full_report(texts: Iterable[str], paths: dict[str, Path]) -> str | None:
    """What to tell the operator when one of `texts` says a disk is full; None otherwise.
    `paths` names the places the warehouse writes to (label -> path)."""
    hit = next((t for t in texts if DISK_FULL.search(t)), None)
    if hit is None:
        return None
    places = dict(paths)
    if m := QUOTED_PATH.search(hit):
        places = {"the file being written": Path(m.group(1)), **places}
    lines = [f"The refresh stopped because a disk is full: {DISK_FULL.search(hit).group(0)}."]
    disks: dict[int, list[tuple[str, Path, Path]]] = {}  # device -> the places on it
    for label, path in places.items():
        if existing := next((p for p in (path, *path.parents) if p.exists()), None):
            disks.setdefault(existing.stat().st_dev, []).append((label, path, existing))
    for (label, path, existing), *others in disks.values():
        usage = shutil.disk_usage(existing)
        also = f" (same disk: {', '.join(o[0] for o in others)})" if others else ""
        lines.append(f"  {label} {path}{also}: {_size(usage.free)} free of {_size(usage.total)}")
    lines.append(
        "What to do: free space on that disk (old folders in published/, logs/, DuckDB's spill files beside the "
        "warehouse) or point $CUSTOMS_VAR_DIR at a larger disk, then run again: a load interrupted by the full "
        "disk left nothing half-written and runs again."
    )
    return "\n".join(lines)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
