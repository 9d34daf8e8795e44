"""A crashed run must not block the next one: dead runs are failed and their pool slot freed at the next
launch, a real wait for the pool is said and bounded, two launches on a fresh Dagster home do not race,
and a full disk ends with a message instead of a traceback. Real Dagster instances and runs throughout;
the SIGKILL test runs the command line as the operator does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.storage.dagster_run import DagsterRun

from orchestration import cli, run_health
from orchestration.demo.generator import generate
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.settings import REPO_ROOT

from .conftest import TINY

PY = sys.executable


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _started_run(instance: DagsterInstance, tags: dict[str, str], slot: bool = False) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(DagsterRun(job_name="nightly_refresh", run_id=run_id, status=DagsterRunStatus.STARTED, tags=tags))
    if slot:
        instance.event_log_storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
        assert instance.event_log_storage.claim_concurrency_slot(WAREHOUSE_POOL, run_id, "raw_step").is_claimed
    return run_id


def _holders(instance: DagsterInstance) -> set[str]:
    return instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).active_run_ids


def test_dead_run_is_failed_and_its_slot_freed_others_are_named_not_guessed(home):
    instance = DagsterInstance.get()
    here = socket.gethostname()
    dead = _started_run(instance, {run_health.PID_TAG: str(_dead_pid()), run_health.HOST_TAG: here}, slot=True)
    reused = _started_run(  # a live pid that is not the run's process any more (started at another time)
        instance, {run_health.PID_TAG: str(os.getpid()), run_health.HOST_TAG: here, run_health.STARTED_TAG: "1"}
    )
    live = _started_run(instance, run_health.launch_tags())
    untagged = _started_run(instance, {})
    remote = _started_run(instance, {run_health.PID_TAG: "1", run_health.HOST_TAG: "another-host"})
    said = []

    assert sorted(run_health.recover_dead_runs(instance, said.append)) == sorted([dead, reused])

    status = {r: instance.get_run_by_id(r).status for r in (dead, reused, live, untagged, remote)}
    assert status == {
        dead: DagsterRunStatus.FAILURE,
        reused: DagsterRunStatus.FAILURE,
        live: DagsterRunStatus.STARTED,
        untagged: DagsterRunStatus.STARTED,
        remote: DagsterRunStatus.STARTED,
    }
    assert _holders(instance) == set()
    why = [e.message for e in instance.all_logs(dead) if e.dagster_event and e.dagster_event.is_engine_event]
    assert any("Marked failed by the next launch" in m and "no longer exists" in m for m in why), why
    text = "\n".join(said)
    assert f"Run {untagged} is STARTED, left alone: it was not started by this command line" in text
    assert f"Run {remote} is STARTED, left alone: it runs on host another-host" in text
    assert live not in text


def test_waiting_for_a_live_run_is_said_and_given_up_on(home, monkeypatch, capsys):
    generate(Path(os.environ["CUSTOMS_LANDING_DIR"]), TINY)
    instance = DagsterInstance.get()
    holder = _started_run(instance, run_health.launch_tags(), slot=True)  # this test process: alive
    monkeypatch.setenv(run_health.POOL_WAIT_ENV, "3")
    monkeypatch.setattr(run_health, "POOL_WAIT_MESSAGE_EVERY", 1.0)

    assert cli.main(["run"]) == 1

    out = capsys.readouterr().out
    assert out.count(f"waiting for pool {WAREHOUSE_POOL} (held by run {holder}") >= 2, out
    assert (
        f"Gave up waiting for pool {WAREHOUSE_POOL} after 3 s (${run_health.POOL_WAIT_ENV}); held by run {holder}"
        in out
    )
    mine = [r for r in instance.get_runs() if r.run_id != holder]
    assert [r.status for r in mine] == [DagsterRunStatus.FAILURE]
    assert _holders(instance) == {holder}  # the waiting run holds nothing; the live holder keeps its slot
    assert instance.get_run_by_id(holder).status == DagsterRunStatus.STARTED


def test_disk_full_in_a_step_ends_with_which_disk_and_what_to_do(home, monkeypatch, capsys):
    generate(Path(os.environ["CUSTOMS_LANDING_DIR"]), TINY)
    wal = f"{os.environ['CUSTOMS_DUCKDB_PATH']}.wal"

    def full_disk(self, read_only=False):
        raise duckdb.IOException(f'IO Error: Could not write file "{wal}": No space left on device')

    monkeypatch.setattr(WarehouseResource, "connect", full_disk)

    assert cli.main(["run"]) == 1

    out = capsys.readouterr().out
    assert "The refresh stopped because a disk is full: No space left on device." in out, out
    assert f"the file being written {wal} (same disk: the warehouse, the var folder, the Dagster home): " in out
    assert "What to do: free space on that disk" in out
    assert "Traceback" not in out
    assert [r.status for r in DagsterInstance.get().get_runs()] == [DagsterRunStatus.FAILURE]


def test_disk_full_in_dagsters_own_storage_ends_with_a_message_not_a_traceback(home, monkeypatch, capsys):
    generate(Path(os.environ["CUSTOMS_LANDING_DIR"]), TINY)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", str(home / "history" / "runs.db"))

    monkeypatch.setattr(run_health, "recover_dead_runs", full_disk)

    assert cli.main(["run"]) == 1

    out = capsys.readouterr().out
    assert "The refresh stopped because a disk is full: No space left on device." in out, out
    assert (
        f"the file being written {home / 'history' / 'runs.db'} (same disk: the warehouse, the var folder, the Dagster home): "
        in out
    )
    assert "What to do" in out and "Traceback" not in out


def test_two_launches_on_a_fresh_home_do_not_race_to_create_its_storage(home):
    """Four processes open the fresh instance at the same instant (SQLite schema creation raced without
    the lock: `UNIQUE constraint failed: alembic_version.version_num`, about one pair in eight)."""
    start = time.time() + 8  # after every process has imported Dagster
    script = (
        "import sys, time\n"
        "from orchestration import run_health\n"
        "while time.time() < float(sys.argv[1]): pass\n"
        "instance = run_health.open_instance(print)\n"
        "print('runs', len(instance.get_runs()))\n"
    )
    procs = [
        subprocess.Popen(
            [PY, "-c", script, str(start)], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, "\n---\n".join(outputs)
    assert all("runs 0" in o for o in outputs)


def test_a_run_killed_during_dbt_does_not_block_the_next_run(home):
    """The operator's command, SIGKILLed while dbt runs; the next `run` fails the dead run, frees the
    pool slot it held and completes unattended."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    demo = [PY, "-m", "orchestration.cli", "demo", "--items", str(TINY.items), "--months", str(TINY.months)]
    subprocess.run(demo, cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    first = subprocess.Popen(
        [PY, "-m", "orchestration.cli", "run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    try:
        for line in first.stdout:
            seen.append(line)
            if line.startswith("> dbt_"):
                first.send_signal(signal.SIGKILL)
                break
    finally:
        first.kill()
        first.wait()
    assert seen and seen[-1].startswith("> dbt_"), "".join(seen)
    instance = DagsterInstance.get()
    (dead,) = instance.get_runs()
    assert dead.status == DagsterRunStatus.STARTED and _holders(instance) == {dead.run_id}

    second = subprocess.run(
        [PY, "-m", "orchestration.cli", "run"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )

    assert second.returncode == 0, second.stdout + second.stderr
    assert f"Run {dead.run_id} was left STARTED by a dead process (its process {first.pid}" in second.stdout
    assert "waiting for pool" not in second.stdout
    instance = DagsterInstance.get()
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert [r.status for r in instance.get_runs() if r.run_id != dead.run_id] == [DagsterRunStatus.SUCCESS]
    assert _holders(instance) == set()
