"""A Spark Thrift server for the Spark engine: one Spark application that every dbt step of every run
talks to (dbt-spark's thrift method, `CUSTOMS_SPARK_THRIFT=host:port`), where the session method starts
a Spark of its own in each dbt process: a JVM to start for each of a run's dbt invocations, whose first
queries run several times slower than a warm one's (docs/scale-out.md has the figures).

Locally, `python -m orchestration.engines.spark_server` runs one with the Spark parameters of the
session target in dbt_project/profiles.yml (their one home) on the configured Spark warehouse. It keeps
the embedded metastore, which admits one process: while it runs, it is the only way in. A cluster's
server (a Thrift server, a Databricks SQL warehouse) is run by its owners; `check` refuses one whose
sessions would compute other results than the profile's (another time zone, another overwrite mode,
another warehouse folder than the one the engine reads the tables from).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestration import settings

PROFILE, SESSION_OUTPUT = "customs_warehouse", "spark"
WAREHOUSE_VAR = "customs_spark_warehouse"  # the profile's var naming the Spark warehouse (resources.py)
SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
# what a session's results depend on; the rest of the parameters (memory, partitions, UI) only tune it
DECISIVE = (
    "spark.sql.session.timeZone",
    "spark.sql.sources.partitionOverwriteMode",
    "spark.sql.parquet.outputTimestampType",
    "spark.sql.warehouse.dir",
)


def session_parameters(spark_warehouse: Path) -> dict[str, str]:
    """The Spark parameters of the profile's session target, rendered for this Spark warehouse as dbt
    renders them (`var`, then the environment)."""
    import jinja2
    import yaml

    profile = yaml.safe_load((settings.DBT_PROJECT_DIR / "profiles.yml").read_text())
    parameters = profile[PROFILE]["outputs"][SESSION_OUTPUT]["server_side_parameters"]
    names = {WAREHOUSE_VAR: str(spark_warehouse)}
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    functions = {
        "var": lambda name, default=None: names.get(name, default),
        "env_var": lambda name, default=None: os.environ.get(name, default),
    }
    return {key: env.from_string(str(value)).render(**functions) for key, value in parameters.items()}


def address(value: str) -> tuple[str, int]:
    """`host:port` of $CUSTOMS_SPARK_THRIFT, or an error that says what is expected."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{settings.SPARK_THRIFT_ENV}={value!r}: expected host:port, e.g. 127.0.0.1:10000")
    return host, int(port)


def command(spark_warehouse: Path, host: str, port: int) -> list[str]:
    """spark-submit of the Thrift server, from the pyspark package, with the profile's parameters."""
    import pyspark

    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    confs = [a for k, v in session_parameters(spark_warehouse).items() for a in ("--conf", f"{k}={v}")]
    listen = [
        a for k, v in (("bind.host", host), ("port", port)) for a in ("--hiveconf", f"hive.server2.thrift.{k}={v}")
    ]
    master = f"local[{os.cpu_count() or 1}]"
    return [str(submit), "--class", SERVER_CLASS, "--master", master, *confs, *listen, "spark-internal"]


def _listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


@contextmanager
def running(
    spark_warehouse: Path, port: int, host: str = "127.0.0.1", log: Path | None = None, start_timeout: float = 180
) -> Iterator[str]:
    """A local Thrift server on this Spark warehouse for as long as the block runs; yields its
    `host:port`. Its output goes to `log` (default: `thrift_server.log` beside the warehouse); it is
    stopped with its process group, also when the block fails."""
    import pyspark

    spark_warehouse = Path(spark_warehouse)
    spark_warehouse.parent.mkdir(parents=True, exist_ok=True)
    log = log or spark_warehouse.parent / "thrift_server.log"
    env = {**os.environ, "SPARK_HOME": str(Path(pyspark.__file__).parent)}
    with open(log, "ab") as out:
        server = subprocess.Popen(
            command(spark_warehouse, host, port),
            cwd=spark_warehouse.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + start_timeout
        while not _listening(host, port):
            if server.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the Spark Thrift server did not start on {host}:{port} (see {log}):\n{tail}")
            time.sleep(0.5)
        yield f"{host}:{port}"
    finally:
        _stop(server)


def _stop(server: subprocess.Popen, grace: float = 30) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)  # the launcher script and its JVM
    try:
        server.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def check(thrift: str, spark_warehouse: Path) -> None:
    """Refuse a server whose sessions differ from the profile's session target in what decides results,
    or that keeps its tables elsewhere than the Spark warehouse the engine reads them from."""
    from pyhive import hive

    host, port = address(thrift)
    expected = session_parameters(Path(spark_warehouse))
    connection = hive.connect(host, port)
    try:
        cursor = connection.cursor()
        found = {}
        for key in DECISIVE:
            cursor.execute(f"SET {key}")
            found[key] = cursor.fetchall()[0][1]
    finally:
        connection.close()

    def same(key: str) -> bool:
        if key == "spark.sql.warehouse.dir":
            return Path(found[key].removeprefix("file:")).resolve() == Path(expected[key]).resolve()
        return found[key] == expected[key]

    wrong = [f"{k} is {found[k]!r}, not {expected[k]!r}" for k in DECISIVE if not same(k)]
    if wrong:
        raise RuntimeError(
            f"the Spark Thrift server at {thrift} runs other sessions than the profile's: " + "; ".join(wrong)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=10000)
    args = parser.parse_args()
    warehouse = settings.spark_warehouse_dir()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stopped by a service manager: stop the server too
    with running(warehouse, args.port, args.host) as listening:
        print(f"Spark Thrift server on {warehouse}: export {settings.SPARK_THRIFT_ENV}={listening} (Ctrl-C stops it)")
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
