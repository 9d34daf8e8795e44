"""The GX suites in `expectations/` as data, each file read (and its `$rule(...)` references rendered
from the dbt vars) once per process: the code location reads them to define the checks, the runner
to validate, without reading a file twice or importing Great Expectations to do it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from orchestration.rules import render
from orchestration.settings import EXPECTATIONS_DIR


@cache
def suite_spec(name: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    return json.loads(render((directory / f"{name}.json").read_text()))


def suite_names(directory: Path = EXPECTATIONS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.json"))
