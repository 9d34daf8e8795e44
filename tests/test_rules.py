"""One home for every rule: a threshold, rate, code or weight is written once, in the vars of
dbt_project/dbt_project.yml, and read from there by SQL (`var()`), Python (`orchestration.rules`),
the GX suites and the baselines (`$rule(...)`). A rule's value written anywhere else fails here."""

from __future__ import annotations

import re
import subprocess

import pytest

from orchestration.rules import render, rule, rules
from orchestration.settings import REPO_ROOT

pytestmark = pytest.mark.fast

# where rules are read, never written: code, SQL, suites, benchmarks (the YAML beside the models holds
# hand-computed unit-test figures, which restate rules on purpose)
CODE = ["orchestration/*.py", "dbt_project/*.sql", "expectations/*.json", "benchmarks/*.py", "benchmarks/*.sql"]


# the learned model's LightGBM parameters, handed to the library as they are: not business rules
LIBRARY_PARAMETERS = "risk.model.lightgbm."


def _values(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _values(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for value in node:
            yield from _values(value, path)
    else:
        yield path, node


def distinctive(value) -> bool:
    """A value whose literal cannot be a coincidence: a rate with two or more decimals (0.3845, 1.06),
    a code or amount of three or more digits that is not a round power of ten (512, 250000); not 0.2,
    0.05, 12 or 100000, which stand in the code for other reasons."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, float):
        return len(repr(value).split(".")[1]) >= 2 and value not in (0.25, 0.75, 0.5, 0.01, 0.05)
    if isinstance(value, int):  # a round 100,000 is as likely a mass in the demo's catalog as a rule
        return value >= 100 and str(value).rstrip("0") != "1"
    return isinstance(value, str) and len(value) >= 4 and value.isdigit()


def test_no_rule_value_is_written_outside_its_home():
    files = subprocess.run(["git", "ls-files", *CODE], cwd=REPO_ROOT, capture_output=True, text=True).stdout.split()
    checked = {
        (path, value)
        for path, value in _values(rules())
        if distinctive(value) and not path.startswith(LIBRARY_PARAMETERS)
    }
    assert {
        ("omr_per_usd", 0.3845),
        ("mirror.home_comtrade_code", 512),
        ("mirror.default_cif_fob_margin", 1.06),
    } <= checked
    found = []
    for name in files:
        text = (REPO_ROOT / name).read_text(encoding="utf-8")
        for path, value in sorted(checked):
            literal = re.escape(str(value))
            for number, line in enumerate(text.splitlines(), 1):
                if re.search(rf"(?<![\w.]){literal}(?![\w.]|\d)", line) and "$rule(" not in line:
                    found.append(f"{name}:{number}: {value} ({path})")
    assert found == [], "rule values restated outside dbt_project.yml:\n" + "\n".join(found)


def test_the_irregular_outcomes_are_listed_once():
    sql = subprocess.run(
        ["git", "grep", "-n", "-E", "'discrepancy', *'seizure'", "--", "dbt_project/*.sql", "benchmarks/*.sql"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    ).stdout
    assert sql == "", sql


def test_rule_references_render_from_the_vars():
    assert render("x = $rule(omr_per_usd) and c = $rule(mirror.home_comtrade_code)") == "x = 0.3845 and c = 512"
    assert render("c IN $rule_list(mirror.never_flag_commodities)") == "c IN ('9999')"
    assert rule("mirror.home_comtrade_code") == 512
    with pytest.raises(KeyError):
        render("$rule(mirror.no_such_rule)")
