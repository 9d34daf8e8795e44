"""Run a command and report its wall time and the peak RSS of its whole process tree.

    python benchmarks/measure.py -- <command> [args...]

RSS is sampled every 50 ms over the command and all its descendants (dbt runs as a subprocess of
Dagster, for instance), and the peak of their sum is reported. So that a figure says whether it had the
machine to itself, it also reports the CPU time the rest of the machine used meanwhile (other
processes, and the hypervisor's steal), and the longest gap between two samples (a paused machine
stops the clock's readers, not the clock: a long run across a pause would count the pause).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psutil


def measure(command: list[str], env: dict | None = None, interval: float = 0.05, stdout=None, stderr=None) -> dict:
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
    root = psutil.Process(proc.pid)
    peak, at_peak = 0, []
    cpu = {}  # pid -> the CPU seconds it had used when last sampled
    machine, last, longest_gap = _machine_cpu(), time.perf_counter(), 0.0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:  # the command has just ended
            tree = []
        sizes = []
        for p in tree:  # one at a time: a process gone meanwhile must not cost the others' sample
            try:
                with p.oneshot():
                    sizes.append((_name(p), p.memory_info().rss))
                    times = p.cpu_times()
                cpu[p.pid] = times.user + times.system
            except psutil.Error:
                continue
        total = sum(rss for _, rss in sizes)
        if total > peak:
            peak, at_peak = total, sizes
        time.sleep(interval)
        now = time.perf_counter()
        longest_gap, last = max(longest_gap, now - last), now
    busy, steal = (b - a for a, b in zip(machine, _machine_cpu(), strict=True))
    return {
        "command": command,
        "returncode": proc.returncode,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(peak / 2**20, 1),
        # which processes made up the peak: where memory would have to be saved
        "peak_processes_mb": [[n, round(rss / 2**20)] for n, rss in sorted(at_peak, key=lambda x: -x[1])],
        "cpu_s": round(sum(cpu.values()), 1),
        # the machine's busy CPU time but the command's: other processes (and this sampler)
        "other_cpu_s": round(max(busy - sum(cpu.values()), 0.0), 1),
        "steal_s": round(steal, 1),
        "longest_sample_gap_s": round(longest_gap, 2),
    }


def _machine_cpu() -> tuple[float, float]:
    """The whole machine's busy and stolen CPU seconds since boot (/proc/stat; zeros where absent)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def _name(p: psutil.Process) -> str:
    """A short name: the program and its first meaningful argument (e.g. `dbt build`, `-m orchestration.cli`)."""
    try:
        args = p.cmdline()
    except psutil.ZombieProcess:  # exited, not yet reaped by its parent: no arguments left to read
        args = []
    program = args[0].rsplit("/", 1)[-1] if args else p.name()
    return " ".join([program, *args[1:3]])[:60]


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    result = measure(args)
    print(json.dumps(result))
    sys.exit(result["returncode"])
