"""Where a measured `cli run` spent its time, from what it printed: each Dagster run it launched (the
nightly refresh, then the model's first training) with its time, and each step's, so that the two
engines compare step by step in `results.md` rather than in a hand-made table.

    python benchmarks/steps.py <benchmark log> <step>   # e.g. /tmp/customs-bench/L/run1.log spark_full_refresh
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_STEP_DONE = re.compile(r"^  (\S+) done in ([0-9.]+) s$")
_RUN_DONE = re.compile(r"^(\w[\w ]*) succeeded in ([0-9.]+) s \(run ")
_BENCH_STEP = re.compile(r"^==== (\w+): ")
CHECKS = "asset checks (GX)"  # the check steps are many and short: one figure for all of them


def run_steps(lines: list[str]) -> list[dict]:
    """The Dagster runs in the output of one `cli run`, in order: what (as the command line named it),
    seconds, and the seconds of each step, the asset checks' summed under CHECKS (a step that ran twice
    in a run, a re-execution, counts twice)."""
    runs, steps = [], {}
    for line in lines:
        if m := _STEP_DONE.match(line):
            name = CHECKS if "_gx_" in m[1] else m[1]
            steps[name] = round(steps.get(name, 0.0) + float(m[2]), 1)
        elif m := _RUN_DONE.match(line):
            runs.append({"run": m[1].lower(), "seconds": float(m[2]), "steps": steps})
            steps = {}
    return runs


def section(log: Path, step: str) -> list[str]:
    """The lines the benchmark's `step` wrote into its log (the last time it ran: a resumed benchmark
    appends)."""
    lines, found = [], None
    for line in log.read_text(errors="replace").splitlines():
        if m := _BENCH_STEP.match(line):
            found = m[1] == step
            if found:
                lines = []
        elif found:
            lines.append(line)
    return lines


if __name__ == "__main__":
    print(json.dumps(run_steps(section(Path(sys.argv[1]), sys.argv[2])), indent=1))
