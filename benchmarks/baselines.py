"""The two baselines the warehouse races, on the same landing files:

    python benchmarks/baselines.py sql    LANDING OUT   # benchmarks/baseline.sql in one DuckDB session
    python benchmarks/baselines.py pandas LANDING OUT   # benchmarks/baseline_pandas.py

Each writes OUT/mirror_gaps.parquet and OUT/declaration_risk.parquet with the figures that
benchmarks/compare.py checks against the marts.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import duckdb

from orchestration.rules import render

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ("mirror_gaps", "declaration_risk")
PASSES = 8  # label-propagation passes of int_hs6_concordance_groups


def run_sql(landing: Path, out: Path) -> None:
    script = render((ROOT / "benchmarks" / "baseline.sql").read_text())  # its rules from the dbt vars
    script = script.replace("{landing}", str(landing)).replace("{dbt_seeds}", str(ROOT / "dbt_project" / "seeds"))
    script = re.sub(r"-- begin pass.*?\n(.*?)-- end pass\n", lambda m: m.group(1) * PASSES, script, flags=re.S)
    script = script.replace("{passes}", str(PASSES))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:  # a file, so that DuckDB can spill as it would for a user
        con = duckdb.connect(str(Path(work) / "baseline.duckdb"))
        con.execute(script)
        for table in RESULTS:
            con.execute(f"COPY {table} TO '{out / table}.parquet' (FORMAT parquet)")
        con.close()


def main(argv: list[str]) -> int:
    kind, landing, out = argv[0], Path(argv[1]).resolve(), Path(argv[2]).resolve()
    if kind == "sql":
        run_sql(landing, out)
    elif kind == "pandas":
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from baseline_pandas import run

        run(landing, ROOT / "dbt_project" / "seeds", out)
    else:
        raise SystemExit(f"unknown baseline {kind!r}: sql or pandas")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
