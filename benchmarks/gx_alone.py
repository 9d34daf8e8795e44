"""Great Expectations validation alone: every suite in expectations/ against a built warehouse, as the
asset checks run them (read-only, through SQL), without Dagster or dbt around them.

    python benchmarks/gx_alone.py WAREHOUSE.duckdb
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from orchestration.quality.gx_runner import load_suite, validate_table
from orchestration.quality.parameters import suite_parameters
from orchestration.settings import EXPECTATIONS_DIR, restricted_path


def main(db: Path) -> int:
    checked = failed = 0
    with tempfile.TemporaryDirectory() as gx_root:
        for path in sorted(EXPECTATIONS_DIR.glob("*.json")):
            schema, table = json.loads(path.read_text())["meta"]["table"].split(".")
            # the restricted schema is a file of its own beside the warehouse, as the asset checks read it
            where = (restricted_path(db), "main") if schema == "restricted" else (db, schema)
            result = validate_table(*where, table, load_suite(path.stem), Path(gx_root), "bench", suite_parameters())
            checked += len(result.rules)
            failed += len(result.blocking_failures)
    print(json.dumps({"rules": checked, "blocking_failures": failed}))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve()))
