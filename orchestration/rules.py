"""Every business rule in one home: the `vars` of `dbt_project/dbt_project.yml`.

Thresholds, rates, codes and weights are written once there; dbt models read them with `var()`, and
Python (the loader, the Comtrade client, the demo, the GX suites through their parameters, the
benchmarks) reads them here, so a rule changed in one place changes everywhere. `tests/test_rules.py`
fails when a rule's value is written anywhere else.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml

from orchestration.settings import DBT_PROJECT_DIR


@cache
def rules() -> dict[str, Any]:
    """The project's vars, read once per process."""
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


def rule(path: str) -> Any:
    """One rule by its dotted path, e.g. `rule("mirror.home_comtrade_code")`."""
    value: Any = rules()
    for part in path.split("."):
        value = value[part]
    return value


_REFERENCE = re.compile(r"\$rule\(([a-z0-9_.]+)\)")
_LIST_REFERENCE = re.compile(r"\$rule_list\(([a-z0-9_.]+)\)")


def _sql_list(values: list) -> str:
    """A list rule as SQL's `(v1, v2)`, which `x IN ...` reads on every engine (DuckDB's `['a']` is not Spark's)."""
    if not values:  # `IN ()` parses on no engine; a rule emptied must be written another way
        raise ValueError("an empty list rule cannot be rendered as an SQL list")
    quoted = ("'" + v.replace("'", "''") + "'" if isinstance(v, str) else str(v) for v in values)
    return "(" + ", ".join(quoted) + ")"


def render(text: str) -> str:
    """`text` (a GX suite, a baseline's SQL) with every `$rule(dotted.path)` replaced by the rule's value
    (and `$rule_list(dotted.path)` by a list rule's values as SQL's `(v1, v2)`), so that files which
    cannot read dbt vars still state no rule of their own."""
    text = _LIST_REFERENCE.sub(lambda m: _sql_list(rule(m.group(1))), text)
    return _REFERENCE.sub(lambda m: str(rule(m.group(1))), text)


def omr_per_usd() -> float:
    """The rial's peg to the US dollar."""
    return float(rule("omr_per_usd"))


def home_comtrade_code() -> int:
    """Oman's code as reporter or partner in Comtrade and BACI records."""
    return int(rule("mirror.home_comtrade_code"))
