"""The Dagster instance on PostgreSQL (dagster-postgres), configured by docs/dagster-postgres.yaml itself:
a job of the code location, run through the instance as `orchestration.cli run` runs one, leaves its run,
materializations and check evaluations in PostgreSQL, where another process sees the same history.

The server is a throwaway cluster started here. PostgreSQL refuses to run as root, so as root it runs as
the `postgres` user; without the binaries, that user, or a server that starts, the test is skipped with
the reason."""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from dagster import AssetKey

from orchestration.demo.generator import generate
from orchestration.jobs import landing_days
from orchestration.resources import WAREHOUSE_POOL
from orchestration.settings import REPO_ROOT

from .conftest import TINY, free_port

EXAMPLE = REPO_ROOT / "docs" / "dagster-postgres.yaml"
RAW_ITEMS = AssetKey(["raw", "declaration_items"])
PARTY_KEYS = AssetKey(["restricted", "party_keys"])  # loaded with the items, by the same step
SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str
    db: str

    def env(self) -> dict[str, str]:
        """The variables docs/dagster-postgres.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.db,
        }

    def connect(self, db: str | None = None):
        return psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=db or self.db
        )


def _bin_dir() -> Path | None:
    """Where initdb, pg_ctl and postgres are: on the PATH, or Debian's versioned folder (newest first)."""
    found = shutil.which("pg_ctl")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name, reverse=True)
    return next((d for d in candidates if all((d / b).exists() for b in SERVER_BINARIES)), None)


def _server_account() -> tuple[pwd.struct_passwd | None, str | None]:
    """(the account to run the server as, None for this one; why it cannot run, or None)."""
    if os.geteuid() != 0:
        return None, None
    try:
        return pwd.getpwnam("postgres"), None
    except KeyError:
        return None, "PostgreSQL refuses to run as root and there is no `postgres` user to run it as"


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL cluster of its own (password authentication, 127.0.0.1 on a free port, its socket in
    its own folder), stopped and deleted afterwards whatever happened."""
    bin_dir, (account, why) = _bin_dir(), _server_account()
    if bin_dir is None:
        pytest.skip(f"PostgreSQL's server binaries ({', '.join(SERVER_BINARIES)}) are not installed")
    if why:
        pytest.skip(why)
    # a short path (a unix socket's must stay under 108 bytes) under a folder the server's account can reach
    root = Path(tempfile.mkdtemp(prefix="customs-pg-"))
    data, log, pwfile = root / "data", root / "server.log", root / "password"
    server = Server("127.0.0.1", free_port(), "customs", uuid.uuid4().hex, "dagster")
    pwfile.write_text(server.password)
    if account:
        for path in (root, pwfile):
            os.chown(path, account.pw_uid, account.pw_gid)
    as_account = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []} if account else {}

    def pg(binary: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(bin_dir / binary), *args], cwd=root, capture_output=True, text=True, timeout=60, **as_account
        )

    try:
        init = pg(
            "initdb", "-D", str(data), "-U", server.user, f"--pwfile={pwfile}", "--auth=scram-sha-256", "--no-sync"
        )
        pwfile.unlink()
        if init.returncode:
            pytest.skip(f"initdb could not create a cluster: {(init.stderr or init.stdout)[-500:]}")
        options = f"-p {server.port} -k {shlex.quote(str(root))} -c listen_addresses=127.0.0.1 -c fsync=off"
        start = pg("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "30", "start")
        if start.returncode:
            server_log = log.read_text()[-500:] if log.exists() else ""
            pytest.skip(f"the PostgreSQL server could not start: {start.stderr[-300:]} {server_log}")
        con = server.connect("postgres")
        con.autocommit = True
        con.cursor().execute(f"CREATE DATABASE {server.db}")
        con.close()
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


FIRST_PROCESS = """
import json, sys, uuid
from datetime import date
from dagster import AssetKey
from orchestration import run_health
from orchestration.definitions import defs
from orchestration.jobs import range_tags
instance = run_health.open_instance(print)  # as the command line opens it
run_id = str(uuid.uuid4())
with run_health.pool_wait(instance, run_id, print):  # the pool's slots are claimed in PostgreSQL
    result = defs.resolve_job_def("nightly_refresh").execute_in_process(
        instance=instance,
        run_id=run_id,
        # and their checks: the nightly job's smallest real run (the party keys load with the items)
        asset_selection=[AssetKey(["raw", "declaration_items"]), AssetKey(["restricted", "party_keys"])],
        tags={**range_tags(date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2])), **run_health.launch_tags()},
        raise_on_error=False,
    )
print(json.dumps({
    "storage": type(instance.run_storage).__name__,
    "run_id": run_id,
    "success": result.success,
    "checks": sorted(c.check_name for c in result.get_asset_check_evaluations()),
}))
"""

SECOND_PROCESS = """
import json, sys
from dagster import AssetKey, DagsterEventType, DagsterInstance
instance = DagsterInstance.get()
run = instance.get_run_by_id(sys.argv[1])
checks = instance.get_records_for_run(sys.argv[1], of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
latest = instance.get_latest_materialization_event(AssetKey(["raw", "declaration_items"]))
print(json.dumps({
    "storage": type(instance.run_storage).__name__,
    "runs": [r.run_id for r in instance.get_runs()],
    "status": run.status.value,
    "latest_materialization_run": latest.run_id,
    "checks": sorted(r.event_log_entry.dagster_event.asset_check_evaluation_data.check_name for r in checks),
}))
"""


def _python(script: str, *args: str, timeout: float) -> tuple[subprocess.CompletedProcess, dict]:
    """`script` in a Python process of its own (this environment, the test's variables) and the JSON of
    its last line of output."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO_ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads(done.stdout.strip().splitlines()[-1])


def test_a_run_of_the_code_location_is_stored_in_postgresql(postgres_server, tmp_path, monkeypatch, capfd):
    home, var = tmp_path / "dagster_home", tmp_path / "var"
    home.mkdir()
    shutil.copy(EXAMPLE, home / "dagster.yaml")  # the documented file, unchanged
    for name, value in {
        **postgres_server.env(),
        "DAGSTER_HOME": str(home),
        "CUSTOMS_VAR_DIR": str(var),
        "CUSTOMS_DUCKDB_PATH": str(var / "warehouse.duckdb"),
        "CUSTOMS_LANDING_DIR": str(var / "landing"),
        "CUSTOMS_AS_OF_DATE": TINY.end.isoformat(),
    }.items():
        monkeypatch.setenv(name, value)
    generate(var / "landing", TINY)
    first, last = landing_days(var / "landing")

    # a process of its own, as `cli run` is: the code location's resources read the paths set above
    done, ran = _python(FIRST_PROCESS, first.isoformat(), last.isoformat(), timeout=600)
    assert ran["storage"] == "PostgresRunStorage" and ran["success"], done.stderr[-3000:]
    run_id = ran["run_id"]
    days = (last - first).days + 1

    with postgres_server.connect() as con, con.cursor() as cur:
        cur.execute("SELECT pipeline_name, status FROM runs WHERE run_id = %s", (run_id,))
        assert cur.fetchall() == [("nightly_refresh", "SUCCESS")]
        cur.execute("SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = %s GROUP BY 1", (run_id,))
        events = dict(cur.fetchall())
        cur.execute(
            "SELECT count(DISTINCT partition) FROM event_logs WHERE run_id = %s AND asset_key = %s "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (run_id, RAW_ITEMS.to_string()),
        )
        (days_stored,) = cur.fetchone()
        cur.execute('SELECT concurrency_key, "limit" FROM concurrency_limits')
        pools = cur.fetchall()
        cur.execute("SELECT count(*) FROM concurrency_slots WHERE run_id = %s", (run_id,))
        (held,) = cur.fetchone()
        secret = f"%{postgres_server.password}%"
        cur.execute(
            "SELECT (SELECT count(*) FROM event_logs WHERE event LIKE %s) + (SELECT count(*) FROM runs "
            "WHERE run_body LIKE %s)",
            (secret, secret),
        )
        (leaks,) = cur.fetchone()
    con.close()
    assert days_stored == days  # a materialization of raw/declaration_items per lodgement day
    assert events["ASSET_CHECK_EVALUATION"] == len(ran["checks"]) >= 4
    assert pools == [(WAREHOUSE_POOL, 1)] and held == 0  # the example's pool limit, its slot given back
    assert leaks == 0
    assert not list(home.rglob("*.db"))  # no SQLite storage beside it: the history is only in PostgreSQL

    seen, report = _python(SECOND_PROCESS, run_id, timeout=120)
    logged = "".join(capfd.readouterr()) + done.stdout + done.stderr + seen.stdout + seen.stderr
    assert "RUN_SUCCESS" in logged and postgres_server.password not in logged
    assert report["storage"] == "PostgresRunStorage"
    assert report["runs"] == [run_id] and report["status"] == "SUCCESS"
    assert report["latest_materialization_run"] == run_id
    assert report["checks"] == ran["checks"]
    assert {"load_reconciles", "gx_raw_declaration_items"} <= set(report["checks"])
