"""Run a command and report its wall time and the peak RSS of its whole process tree.

    python benchmarks/measure.py -- <command> [args...]

RSS is sampled every 50 ms over the command and all its descendants (dbt runs as a subprocess of
Dagster, for instance), and the peak of their sum is reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import psutil


def measure(command: list[str], env: dict | None = None, interval: float = 0.05, stdout=None, stderr=None) -> dict:
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
    root = psutil.Process(proc.pid)
    peak, at_peak = 0, []
    while proc.poll() is None:
        try:
            sizes = [(_name(p), p.memory_info().rss) for p in [root, *root.children(recursive=True)] if p.is_running()]
            total = sum(rss for _, rss in sizes)
            if total > peak:
                peak, at_peak = total, sizes
        except psutil.Error:
            pass
        time.sleep(interval)
    return {
        "command": command,
        "returncode": proc.returncode,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(peak / 2**20, 1),
        # which processes made up the peak: where memory would have to be saved
        "peak_processes_mb": [[n, round(rss / 2**20)] for n, rss in sorted(at_peak, key=lambda x: -x[1])],
    }


def _name(p: psutil.Process) -> str:
    """A short name: the program and its first meaningful argument (e.g. `dbt build`, `-m orchestration.cli`)."""
    args = p.cmdline()
    program = args[0].rsplit("/", 1)[-1] if args else p.name()
    return " ".join([program, *args[1:3]])[:60]


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    result = measure(args)
    print(json.dumps(result))
    sys.exit(result["returncode"])
