"""`make bench`: the warehouse against bare DuckDB SQL and pandas, on the same files, in one run.

    python benchmarks/bench.py [--scales S M] [--repeats 3] [--work DIR]

For each scale (benchmarks/datasets.py) and repeat, on a fresh warehouse:
1. full refresh as users run it (`python -m orchestration.cli run`: every asset, every check), with
   the last lodgement day held back;
2. one-day incremental refresh: that day is delivered and the nightly run for it
   (`cli run --from D --to D`) processes it;
3. GX validation alone (benchmarks/gx_alone.py) on the refreshed warehouse;
4. the two baselines (benchmarks/baselines.py) on the same landing files; on the first repeat their
   results are checked equal to the marts (benchmarks/compare.py), else the benchmark fails;
5. with `--spark`, steps 1 and 2 again with `CUSTOMS_ENGINE=spark` (local Spark, session method) on a
   warehouse of its own, and where its time went by the dbt run results of the Spark invocations.
Each step is a separate process measured for wall time and the peak RSS of its process tree.
Raw measurements accumulate in benchmarks/results.json (one entry per scale, replaced when the scale
is rerun); benchmarks/results.md is rendered from all of them, with the hand-written analysis in
benchmarks/findings.md appended.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from compare import compare, differences  # noqa: E402
from datasets import MONTHS, PARTNER_RECORDS, SCALES, ensure  # noqa: E402
from measure import measure  # noqa: E402
from steps import run_steps, section  # noqa: E402

PY = sys.executable
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "results.md"
STEPS = (
    "full_refresh",
    "incremental_day",
    "gx_alone",
    "bare_sql",
    "pandas",
    "spark_full_refresh",
    "spark_incremental_day",
)
DBT_TARGET = ROOT / "dbt_project" / "target"


def _last_day_file(landing: Path) -> Path:
    return sorted((landing / "declarations").rglob("items_*"), key=lambda p: p.name)[-1]


def _run(step: str, command: list[str], env: dict, log: Path) -> dict:
    with open(log, "a") as out:
        out.write(f"\n==== {step}: {' '.join(command)}\n")
        out.flush()
        result = measure(command, env=env, stdout=out, stderr=out)
    print(f"    {step:<16} {result['seconds']:>8.1f} s  peak {result['peak_rss_mb'] / 1024:5.2f} GB", flush=True)
    if result["returncode"] != 0:
        raise SystemExit(f"{step} failed (exit {result['returncode']}); see {log}")
    return result


def _spark_time(since: float) -> dict:
    """Where a Spark run's time went: its dbt invocations' elapsed time and the sum of execution times by
    kind of node, with the five slowest models (from the run_results.json of each invocation since `since`)."""
    out = {"invocations": 0, "elapsed_s": 0.0, "by_kind_s": {}, "slowest_models_s": {}}
    models = {}
    for results in DBT_TARGET.glob("*/run_results.json"):
        if results.stat().st_mtime < since:
            continue
        r = json.loads(results.read_text())
        if r["args"].get("target") != "spark":
            continue
        out["invocations"] += 1
        out["elapsed_s"] += r["elapsed_time"]
        for node in r["results"]:
            kind = node["unique_id"].split(".")[0]
            out["by_kind_s"][kind] = out["by_kind_s"].get(kind, 0) + node["execution_time"]
            if kind == "model":
                models[node["unique_id"].split(".")[-1]] = (
                    models.get(node["unique_id"].split(".")[-1], 0) + node["execution_time"]
                )
    out["slowest_models_s"] = {m: round(t, 1) for m, t in sorted(models.items(), key=lambda x: -x[1])[:5]}
    out["by_kind_s"] = {k: round(v, 1) for k, v in out["by_kind_s"].items()}
    out["elapsed_s"] = round(out["elapsed_s"], 1)
    return out


def _fresh_var(var: Path) -> None:
    shutil.rmtree(var, ignore_errors=True)
    (var / "dagster_home").mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", var / "dagster_home" / "dagster.yaml")


class _Progress:
    """A scale's measurements so far, kept in a file as soon as each step is measured, so that an
    interrupted benchmark (hours at L on Spark) goes on from its first step not measured; a complete one
    is never resumed. A step interrupted half-way runs again: a full refresh on a fresh warehouse, the
    others on the warehouse as the interruption left it, which their result then says."""

    def __init__(self, path: Path, held: Path, aside: Path):
        self.path, self.held, self.aside, self.state = path, held, aside, {}
        if aside.exists() and not held.exists():  # a benchmark killed while it held the day back
            aside.rename(held)

    def begin(self, options: dict, started: datetime, resume: bool) -> None:
        self.state = json.loads(self.path.read_text()) if resume and self.path.exists() else {}
        if self.state.get("options") == options and not self.state.get("complete"):
            self.state.setdefault("resumed", []).append(started.isoformat(timespec="seconds"))
            print(f"   resuming the run started {self.state['started']}", flush=True)
        else:
            self.state = {"options": options, "started": started.isoformat(timespec="seconds"), "runs": []}

    def repeat(self, repeat: int) -> dict:
        if repeat == len(self.state["runs"]):
            self.state["runs"].append({})
        return self.state["runs"][repeat]

    def step(
        self,
        repeat: int,
        name: str,
        command: list[str],
        env: dict,
        log: Path,
        fresh: Path | None = None,
        hold_back: bool = False,
    ) -> float | None:
        """Measure `name` unless it was measured already (then None, else when it started); `fresh`:
        the var folder it starts from, emptied; `hold_back`: the last day's file is no delivery meanwhile."""
        run = self.state["runs"][repeat]
        if name in run:
            print(f"    {name:<16} measured already ({run[name]['seconds']:.1f} s)", flush=True)
            return None
        again = self.state.get("interrupted") == [repeat, name] and fresh is None
        if fresh is not None:
            _fresh_var(fresh)
        self.state["interrupted"] = [repeat, name]  # until it is measured
        self.save()
        since = time.time()
        if hold_back:
            self.held.rename(self.aside)
        try:
            run[name] = _run(name, command, env, log)
        finally:
            if hold_back:
                self.aside.rename(self.held)
        if command[1:3] == ["-m", "orchestration.cli"]:  # its Dagster runs, step by step
            run[name]["runs"] = run_steps(section(log, name))
        if again:
            run[name]["after_an_interrupted_attempt"] = True
        self.save()
        return since

    def finish(self) -> None:
        self.state.pop("interrupted", None)
        self.state["complete"] = True
        self.save()

    def save(self) -> None:
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(self.state, indent=1))
        os.replace(partial, self.path)


def bench_scale(
    scale: str,
    repeats: int,
    work: Path,
    pandas: bool,
    full_only: bool = False,
    spark: bool = False,
    resume: bool = False,
) -> dict:
    """One scale's measurements; with `resume`, an interrupted run of the same options goes on from
    `<work>/<scale>/progress.json` (`_Progress`)."""
    print(f"== scale {scale}: {SCALES[scale]:,} items over {MONTHS} months", flush=True)
    started = datetime.now(UTC)
    landing = ensure(work, scale)
    print(f"   dataset ready in {(datetime.now(UTC) - started).total_seconds():.0f} s: {landing}", flush=True)
    held = _last_day_file(landing)
    day = held.stem.removeprefix("items_")
    aside = held.with_name("_" + held.name)  # names starting with '_' are not deliveries
    progress = _Progress(work / scale / "progress.json", held, aside)
    progress.begin({"repeats": repeats, "pandas": pandas, "full_only": full_only, "spark": spark}, started, resume)
    for repeat in range(repeats):
        var, spark_var = work / scale / "var", work / scale / "var_spark"
        env = {
            **os.environ,
            "CUSTOMS_VAR_DIR": str(var),
            "CUSTOMS_LANDING_DIR": str(landing),
            "DAGSTER_HOME": str(var / "dagster_home"),
        }
        spark_env = {
            **env,
            "CUSTOMS_ENGINE": "spark",
            "CUSTOMS_VAR_DIR": str(spark_var),
            "DAGSTER_HOME": str(spark_var / "dagster_home"),
        }
        log = work / scale / f"run{repeat + 1}.log"
        print(f"  repeat {repeat + 1}/{repeats} (log {log})", flush=True)
        run = progress.repeat(repeat)
        if not run:  # nothing of this repeat measured yet: its log starts afresh
            log.unlink(missing_ok=True)
        cli = [PY, "-m", "orchestration.cli", "run"]
        one_day = [*cli, "--from", day, "--to", day]
        progress.step(repeat, "full_refresh", cli, env, log, fresh=var, hold_back=True)
        if not full_only:
            progress.step(repeat, "incremental_day", one_day, env, log)
            warehouse = var / "warehouse.duckdb"
            progress.step(repeat, "gx_alone", [PY, str(HERE / "gx_alone.py"), str(warehouse)], env, log)
            for kind in ("sql", "pandas") if pandas else ("sql",):
                out = work / scale / f"baseline_{kind}"
                name = "bare_sql" if kind == "sql" else "pandas"
                command = [PY, str(HERE / "baselines.py"), kind, str(landing), str(out)]
                if progress.step(repeat, name, command, env, log) is not None and repeat == 0:
                    found = compare(warehouse, out)
                    if any(differences(found).values()):
                        raise SystemExit(f"the {kind} baseline differs: {json.dumps(differences(found))}")
                    run[name]["equal_to_marts"] = {m: c["rows"] for m, c in found.items()}
                    progress.save()
            if spark:
                for name, command, fresh in (
                    ("spark_full_refresh", cli, spark_var),
                    ("spark_incremental_day", one_day, None),
                ):
                    since = progress.step(
                        repeat, name, command, spark_env, log, fresh=fresh, hold_back=fresh is not None
                    )
                    if since is not None:
                        run[name]["dbt"] = _spark_time(since)
                        progress.save()
    progress.finish()
    return {
        "scale": scale,
        "items": SCALES[scale],
        "months": MONTHS,
        "partner_records": PARTNER_RECORDS,
        "measured_at": progress.state["started"],
        **({"resumed_at": progress.state["resumed"]} if progress.state.get("resumed") else {}),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "incremental_day": day,
        "runs": progress.state["runs"],
    }


def _median(entry: dict, step: str, field: str) -> float | None:
    values = [r[step][field] for r in entry["runs"] if step in r]
    return statistics.median(values) if values else None


def render(results: dict) -> str:
    order = [s for s in SCALES if s in results]
    lines = [
        "# Benchmark results",
        "",
        "Generated by `make bench` (benchmarks/bench.py); do not edit by hand. Medians of the repeats; peak",
        "memory is the RSS of the whole process tree (Dagster, dbt, DuckDB), sampled every 50 ms. Every",
        "baseline's `mirror_gaps` and `declaration_risk` were checked equal to the marts, row by row.",
        "",
    ]
    for scale in order:
        e = results[scale]
        t = {s: _median(e, s, "seconds") for s in STEPS}
        m = {s: _median(e, s, "peak_rss_mb") for s in STEPS}
        lines += [
            f"## {scale}: {e['items']:,} declaration items, {e['months']} months, "
            f"{e['partner_records']:,} bulk partner records",
            "",
            f"{len(e['runs'])} repeat(s), measured {e['measured_at']} on {e['machine']}.",
            "",
            "| step | wall time (s) | peak memory (GB) | the rest of the machine: CPU, steal (s) |",
            "|---|---:|---:|---:|",
        ]
        names = {
            "full_refresh": "warehouse: full refresh (all assets and checks)",
            "incremental_day": f"warehouse: one-day incremental ({e['incremental_day']})",
            "gx_alone": "GX validation alone (all suites)",
            "bare_sql": "baseline: bare DuckDB SQL script",
            "pandas": "baseline: pandas",
            "spark_full_refresh": "Spark engine: full refresh (all assets and checks)",
            "spark_incremental_day": f"Spark engine: one-day incremental ({e['incremental_day']})",
        }
        for s in STEPS:
            if t[s] is not None:
                others = [r[s] for r in e["runs"] if s in r and "other_cpu_s" in r[s]]
                load = (
                    f"{max(o['other_cpu_s'] for o in others):.0f}, {max(o['steal_s'] for o in others):.0f}"
                    if others
                    else "not measured"
                )
                lines.append(f"| {names[s]} | {t[s]:.1f} | {m[s] / 1024:.2f} | {load} |")
            elif s == "pandas" and e.get("pandas_note"):
                lines.append(f"| {names[s]} | {e['pandas_note']} | | |")
        lines.append("")
        lines += _step_table(e["runs"][0])
        paused = sorted(
            {
                s
                for r in e["runs"]
                for s, v in r.items()
                if isinstance(v, dict) and v.get("longest_sample_gap_s", 0) > 10
            }
        )
        if paused:
            lines.append(f"- the machine stalled for over 10 s during (the time includes it): {', '.join(paused)}")
        if t["bare_sql"]:
            lines.append(f"- warehouse / bare SQL: **{t['full_refresh'] / t['bare_sql']:.1f}x**")
        if t["pandas"]:
            lines.append(f"- pandas / warehouse: **{t['pandas'] / t['full_refresh']:.2f}x**")
        if t["incremental_day"]:
            lines.append(f"- incremental / full: **{100 * t['incremental_day'] / t['full_refresh']:.0f}%**")
        if t["gx_alone"]:
            lines.append(f"- GX alone / full: **{100 * t['gx_alone'] / t['full_refresh']:.0f}%**")
        if t["spark_full_refresh"]:
            lines.append(
                f"- Spark engine / DuckDB engine, full refresh: **{t['spark_full_refresh'] / t['full_refresh']:.1f}x**"
            )
            dbt = e["runs"][0]["spark_full_refresh"]["dbt"]
            kinds = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(dbt["by_kind_s"].items(), key=lambda x: -x[1]))
            slowest = ", ".join(f"{m} {v:.0f} s" for m, v in dbt["slowest_models_s"].items())
            lines.append(
                f"- Spark full refresh: {dbt['invocations']} dbt invocations, {dbt['elapsed_s']:.0f} s in dbt "
                f"(node time: {kinds}); slowest models: {slowest}"
            )
        lines.append("")
    if len(order) > 1:
        lines += [
            "## Growth",
            "",
            "| from | to | items | warehouse | bare SQL | pandas |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for a, b in zip(order, order[1:], strict=False):
            row = [a, b, f"{results[b]['items'] / results[a]['items']:.0f}x"]
            for s in ("full_refresh", "bare_sql", "pandas"):
                ta, tb = _median(results[a], s, "seconds"), _median(results[b], s, "seconds")
                row.append(f"{tb / ta:.1f}x" if ta and tb else "")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    lines += _targets(results)
    findings = HERE / "findings.md"
    if findings.exists():
        lines += ["", findings.read_text().rstrip("\n")]
    return "\n".join(lines) + "\n"


def _step_table(run: dict) -> list[str]:
    """The Dagster runs of the refreshes, step by step, each engine beside the other (first repeat)."""
    lines = []
    for duck, spark in (("full_refresh", "spark_full_refresh"), ("incremental_day", "spark_incremental_day")):
        found = {k: run[k]["runs"] for k in (duck, spark) if "runs" in run.get(k, {})}
        if not found:
            continue
        header = ["DuckDB engine (s)" if k == duck else "Spark engine (s)" for k in found]
        refresh = "full refresh" if duck == "full_refresh" else "one-day refresh"
        lines += [
            f"Where the {refresh}'s time went, by run and step:",
            "",
            "| run: step | " + " | ".join(header) + (" | Spark / DuckDB |" if len(found) == 2 else " |"),
            "|---|" + "---:|" * (len(found) + (len(found) == 2)),
        ]
        for i, dagster_run in enumerate(next(iter(found.values()))):
            rows = [(dagster_run["run"], "the whole run", "seconds")]
            rows += [(dagster_run["run"], step, step) for step in dagster_run["steps"]]
            for what, label, step in rows:
                figures = []
                for runs in found.values():
                    r = runs[i] if i < len(runs) else {}
                    figures.append(r.get("seconds") if step == "seconds" else r.get("steps", {}).get(step))
                cells = [f"{f:,.1f}" if f is not None else "" for f in figures]
                if len(figures) == 2:
                    cells.append(f"{figures[1] / figures[0]:.1f}x" if figures[0] and figures[1] else "")
                lines.append(f"| {what}: {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _targets(results: dict) -> list[str]:
    lines = ["## Targets", ""]
    at = "L" if "L" in results else max(results, key=lambda s: SCALES[s])
    e = results[at]
    full, sql, pd_ = (_median(e, s, "seconds") for s in ("full_refresh", "bare_sql", "pandas"))
    peak = max(_median(e, s, "peak_rss_mb") or 0 for s in ("full_refresh", "incremental_day")) / 1024
    inc, gx = _median(e, "incremental_day", "seconds"), _median(e, "gx_alone", "seconds")

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    lines.append(f"Judged at {at}{'' if at == 'L' else ' (L not measured yet: `make bench-large`)'}.")
    lines.append("")
    lines.append("| target | figure | verdict |")
    lines.append("|---|---|---|")
    lines.append(f"| full refresh within 1.5x bare SQL | {full / sql:.1f}x | {verdict(full <= 1.5 * sql)} |")
    if pd_:
        lines.append(
            f"| full refresh faster than pandas | pandas {pd_:.0f} s vs {full:.0f} s | {verdict(full < pd_)} |"
        )
    lines.append(f"| peak memory under 4 GB | {peak:.2f} GB | {verdict(peak < 4)} |")
    lines.append(f"| one-day incremental under 10% of full | {100 * inc / full:.0f}% | {verdict(inc < 0.1 * full)} |")
    lines.append(f"| GX validation under 25% of full | {100 * gx / full:.0f}% | {verdict(gx < 0.25 * full)} |")
    if "M" in results and "L" in results:
        growth = _median(results["L"], "full_refresh", "seconds") / _median(results["M"], "full_refresh", "seconds")
        lines.append(f"| M to L at most 12x | {growth:.1f}x | {verdict(growth <= 12)} |")
    if "XL" in results:
        xl_peak = _median(results["XL"], "full_refresh", "peak_rss_mb") / 1024
        lines.append(f"| XL completes within 4 GB | {xl_peak:.2f} GB | {verdict(xl_peak < 4)} |")
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", default=["S", "M"], choices=list(SCALES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("CUSTOMS_BENCH_DIR", "/tmp/customs-bench")))
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline (XL: it cannot fit)")
    parser.add_argument("--full-only", action="store_true", help="only the full refresh (XL: the memory cap)")
    parser.add_argument("--spark", action="store_true", help="the Spark engine too, on the same files, in the same run")
    parser.add_argument(
        "--resume", action="store_true", help="go on from the last measured step of an interrupted run (progress.json)"
    )
    args = parser.parse_args(argv)
    if ROOT in args.work.resolve().parents or args.work.resolve() == ROOT:
        raise SystemExit("the benchmark's datasets go outside the repository: choose another --work")
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    for scale in args.scales:
        results[scale] = bench_scale(
            scale, args.repeats, args.work, not args.no_pandas, args.full_only, args.spark, args.resume
        )
        if args.no_pandas:
            results[scale]["pandas_note"] = "not run: L's 9.2 GB times five does not fit in 24 GB"
        RESULTS_JSON.write_text(json.dumps(results, indent=1) + "\n")
        RESULTS_MD.write_text(render(results))
    print(f"Results: {RESULTS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
