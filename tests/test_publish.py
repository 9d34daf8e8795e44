"""The published copy BI tools read, on small warehouse files built here (no dbt build): readers see
one version, files are read-only, retention survives a clock stepped back, an interrupted publication
leaves the last one current; and the dbt target folder does not grow forever."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.assets import publish
from orchestration.assets.dbt import dbt_resource, prune_invocation_folders
from orchestration.assets.publish import current_version_dir, publish_marts

pytestmark = pytest.mark.fast  # `make test-fast`: no dbt build, seconds

MARTS = ("alpha", "beta", "gamma")


def _warehouse(folder: Path, tag: str) -> Path:
    """A warehouse file whose marts all carry `tag`, a view among them, beside schemas never published."""
    folder.mkdir(parents=True)
    path = folder / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        for schema in ("raw", "staging", "marts"):
            con.execute(f"CREATE SCHEMA {schema}")
        con.execute("CREATE TABLE staging.items AS SELECT 'secret' AS trader_id")
        for i, name in enumerate(MARTS):
            con.execute(f"CREATE TABLE marts.{name} AS SELECT '{tag}' AS tag, range AS n FROM range({10 + i})")
        con.execute("CREATE VIEW marts.alpha_view AS SELECT * FROM marts.alpha")
    return path


@pytest.fixture
def warehouses(tmp_path) -> dict[str, Path]:
    return {tag: _warehouse(tmp_path / tag, tag) for tag in ("A", "B")}


def _tags(version_dir: Path) -> set[str]:
    with duckdb.connect(str(version_dir / "customs_marts.duckdb"), read_only=True) as con:
        return {tag for name in MARTS for (tag,) in con.execute(f"SELECT DISTINCT tag FROM marts.{name}").fetchall()}


def test_a_reader_resolving_the_current_version_once_never_mixes_two(warehouses, tmp_path):
    """A slow reader of every Parquet file and of the DuckDB file, through the documented recipe,
    while publications of two different warehouses alternate."""
    target = tmp_path / "published"
    publish_marts(warehouses["A"], target, "run-0000")
    stop, reads, mixed, seen = threading.Event(), [0], [], set()

    def reader():
        while not stop.is_set():
            folder = current_version_dir(target)  # resolved once per read of all marts
            tags = set()
            for name in MARTS:
                tags |= set(pq.read_table(folder / "parquet" / f"{name}.parquet").column("tag").to_pylist())
                time.sleep(0.005)  # a BI tool's pause between two tables
            with duckdb.connect(str(folder / "customs_marts.duckdb"), read_only=True) as con:
                (version,) = {v for (v,) in con.execute("SELECT version FROM marts._publication").fetchall()}
            tags |= _tags(folder)
            if len(tags) != 1 or version != folder.name:
                mixed.append((folder.name, version, sorted(tags)))
            seen.update(tags)
            reads[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        publications = 0
        while reads[0] < 20 and publications < 200:
            publications += 1
            # keep=5: a reader descheduled on a busy machine still finds the version it resolved
            publish_marts(warehouses["AB"[publications % 2]], target, f"run-{publications:04d}", keep=5)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert mixed == []
    assert seen == {"A", "B"} and reads[0] >= 20


def test_only_the_marts_are_published_with_their_version_and_manifest(warehouses, tmp_path):
    target = tmp_path / "published"
    manifest = publish_marts(warehouses["A"], target, "run-0001")
    current = (target / "current").resolve()
    assert current == current_version_dir(target) == target / "versions" / manifest["version"]
    with duckdb.connect(str(target / "current" / "customs_marts.duckdb"), read_only=True) as con:
        schemas = {s for (s,) in con.execute("SELECT DISTINCT table_schema FROM information_schema.tables").fetchall()}
        publication = con.execute("SELECT DISTINCT version, run_id FROM marts._publication").fetchall()
    assert schemas == {"marts"}
    assert publication == [(manifest["version"], "run-0001")]
    assert manifest["tables"] == {"alpha": 10, "alpha_view": 10, "beta": 11, "gamma": 12}
    assert json.loads((current / "manifest.json").read_text()) == manifest
    assert set(manifest["parquet_sha256"]) == {f"{t}.parquet" for t in manifest["tables"]}


def test_the_published_files_are_read_only(warehouses, tmp_path):
    target = tmp_path / "published"
    publish_marts(warehouses["A"], target, "run-0001")
    files = [p for p in current_version_dir(target).rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"customs_marts.duckdb", "manifest.json", "alpha.parquet"}
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: "0o444" for p in files}
    assert _tags(target / "current") == {"A"}  # and a read-only connection still reads it


class _SteppedClock(datetime):
    """`datetime` whose now() returns the queued instants: a wall clock an operator can step."""

    instants: list[datetime] = []

    @classmethod
    def now(cls, tz=None):
        return cls.instants.pop(0).replace(tzinfo=tz)


def test_a_clock_stepped_back_never_deletes_the_current_version(warehouses, tmp_path, monkeypatch):
    target = tmp_path / "published"
    noon = datetime(2026, 3, 1, 12)
    monkeypatch.setattr(_SteppedClock, "instants", [noon, noon + timedelta(minutes=1), noon - timedelta(hours=1)])
    monkeypatch.setattr(publish, "datetime", _SteppedClock)
    publish_marts(warehouses["A"], target, "run-0001", keep=2)
    second = publish_marts(warehouses["A"], target, "run-0002", keep=2)
    third = publish_marts(warehouses["B"], target, "run-0003", keep=2)  # an hour "before" the others
    assert (target / "current").exists(), "retention deleted the version `current` points to"
    assert _tags(target / "current") == {"B"}
    assert (target / "current").resolve() == current_version_dir(target) == target / "versions" / third["version"]
    assert sorted(d.name for d in (target / "versions").iterdir()) == [second["version"], third["version"]]


KILLED_PUBLISHER = """
import sys, time
from pathlib import Path
from orchestration.assets import publish

class Hang:  # stops the publication after its files are copied, before its manifest and switch
    @staticmethod
    def sha256(data):
        Path(sys.argv[3]).touch()
        time.sleep(600)

publish.hashlib = Hang
publish.publish_marts(Path(sys.argv[1]), Path(sys.argv[2]), "run-0002")
"""


def test_a_killed_publication_leaves_the_last_version_current_and_is_cleaned_up(warehouses, tmp_path):
    target = tmp_path / "published"
    first = publish_marts(warehouses["A"], target, "run-0001")
    copying = tmp_path / "copying"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_PUBLISHER, str(warehouses["B"]), str(target), str(copying)],
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        deadline = time.monotonic() + 120
        while not copying.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert copying.exists(), "the publisher never reached the copy"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert [p.name for p in (target / "versions").glob(".*.partial")] == [".000002-run-0002.partial"]
    assert current_version_dir(target) == (target / "current").resolve() == target / "versions" / first["version"]
    assert _tags(target / "current") == {"A"}

    second = publish_marts(warehouses["B"], target, "run-0003")
    assert list((target / "versions").glob(".*")) == [] and list(target.glob(".*")) == []
    assert current_version_dir(target).name == second["version"] and _tags(target / "current") == {"B"}


def _invocation(target: Path, name: str, minutes_ago: float, finished: bool) -> str:
    """An invocation folder last changed `minutes_ago`, with dbt's last file if `finished`."""
    folder, when = target / name, time.time() - 60 * minutes_ago
    folder.mkdir()
    (folder / "manifest.json").write_text("{}")  # written when dbt has parsed, long before it finishes
    if finished:
        (folder / "run_results.json").write_text("{}")
        os.utime(folder / "run_results.json", (when, when))
    os.utime(folder, (when, when))
    return name


def test_dbt_target_keeps_only_the_latest_finished_invocation_folders(tmp_path):
    target = tmp_path / "target"
    dbt_files = ["manifest.json", "partial_parse.msgpack", "semantic_manifest.json", "perf_info.json"]
    for name in dbt_files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_text("{}")
    (target / "compiled").mkdir()  # a developer's own `dbt build`
    outside_a_run = dbt_resource._get_unique_target_path(context=None).name  # the installed naming
    names = [f"dbt_staging-{i:07x}-{i + 1:07x}" for i in range(5)] + [outside_a_run]
    for age, name in enumerate(reversed(names)):
        _invocation(target, name, minutes_ago=age, finished=True)
    in_use = target / names[0]  # the oldest, yet in use
    removed = prune_invocation_folders(target, keep=2, in_use=in_use)
    assert sorted(p.name for p in removed) == sorted(names[1:4])
    assert sorted(p.name for p in target.iterdir()) == sorted([*dbt_files, "compiled", names[0], *names[4:]])


def test_pruning_never_removes_the_folder_of_an_invocation_that_may_still_be_running(tmp_path):
    """Two runs at once (or two test workers) share dbt's target folder: a run's pruning must spare the
    folder another run's dbt is working in, however old its start, and only a long-abandoned one goes."""
    target = tmp_path / "target"
    target.mkdir()
    running = _invocation(target, "dbt_warehouse-aaaaaaa-bbbbbbb", minutes_ago=90, finished=False)  # a Spark build
    just_started = _invocation(target, "ccccccc", minutes_ago=0, finished=False)
    killed = _invocation(target, "dbt_staging-ddddddd-eeeeeee", minutes_ago=4 * 24 * 60, finished=False)
    done = [_invocation(target, f"dbt_scored-{i:07x}-fffffff", minutes_ago=30 - i, finished=True) for i in range(4)]
    mine = target / done[-1]

    removed = prune_invocation_folders(target, keep=2, in_use=mine)

    assert sorted(p.name for p in removed) == sorted([killed, *done[:2]])
    assert sorted(p.name for p in target.iterdir()) == sorted([running, just_started, *done[2:]])
    # keeping none: every finished folder but the caller's, and still none that may be running
    assert prune_invocation_folders(target, keep=0, in_use=mine) == [target / done[2]]
