"""Great Expectations suites validating DuckDB tables through SQL: results are right, counts are exact,
severities are honoured, and the warehouse file is released afterwards."""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.checks import check_result
from orchestration.quality.gx_runner import load_suite, suite_path, validate_table
from orchestration.quality.parameters import MAX_LODGEMENT_LEAD_DAYS, suite_parameters

pytestmark = pytest.mark.fast  # `make test-fast`: no dbt build, seconds

ROWS = 2_000


def _build(db, bad_origin: int = 0, bad_channel: int = 0, duplicate: int = 0) -> None:
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA staging")
    con.execute(f"""
        CREATE TABLE staging.stg_declaration_items AS
        SELECT 'D' || (i // 3) AS declaration_id, (i % 3) + 1 AS item_no,
               CASE WHEN i % 5 = 0 THEN 'X' ELSE 'M' END AS flow,
               TIMESTAMP '2022-01-01 08:00:00' + INTERVAL (i) MINUTE AS lodged_at,
               CAST(TIMESTAMP '2022-01-01 08:00:00' + INTERVAL (i) MINUTE AS DATE) AS lodged_date,
               TIMESTAMP '2022-01-01 10:00:00' + INTERVAL (i) MINUTE AS released_at,
               '851713' AS hs6, CAST(100 + i AS DECIMAL(18,3)) AS customs_value_omr,
               CAST(2 AS DECIMAL(18,3)) AS net_mass_kg, 130.0 + i AS unit_value_usd_kg,
               CASE WHEN i < {bad_origin} THEN NULL ELSE 'CHN' END AS origin_iso3, 'ARE' AS partner_iso3,
               CASE WHEN i < {bad_channel} THEN 'purple' ELSE 'green' END AS risk_channel,
               50.0 AS invoice_amount_omr
        FROM range({ROWS}) t(i)
    """)
    if duplicate:
        con.execute(
            "INSERT INTO staging.stg_declaration_items SELECT * FROM staging.stg_declaration_items "
            f"WHERE origin_iso3 IS NOT NULL LIMIT {duplicate}"
        )
    con.close()


# rules of the declarations gate (the staged table and its derived countries), on a table built here
GATE_RULES = ["declarations_present", "origin_country_known", "latest_lodgement_is_recent"]
# rules that dbt tests own in production, written here to exercise uniqueness, presence and a warning
RUNNER_RULES = [
    {
        "type": "expect_compound_columns_to_be_unique",
        "kwargs": {"column_list": ["declaration_id", "item_no"]},
        "severity": "critical",
        "meta": {"rule": "declaration_item_key_unique", "dimension": "uniqueness"},
    },
    {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "declaration_id"},
        "severity": "critical",
        "meta": {"rule": "declaration_id_present", "dimension": "completeness"},
    },
    {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "risk_channel", "value_set": ["green", "yellow", "red", "blue"]},
        "severity": "warning",
        "meta": {"rule": "risk_channel_valid", "dimension": "validity"},
    },
]
RULES = GATE_RULES + [r["meta"]["rule"] for r in RUNNER_RULES]


@pytest.fixture
def suite(tmp_path):
    spec = json.loads(suite_path("stg_declaration_items").read_text())
    derived = json.loads(suite_path("int_declaration_items").read_text())
    gate = [e for e in spec["expectations"] + derived["expectations"] if e["meta"]["rule"] in GATE_RULES]
    spec["expectations"] = gate + RUNNER_RULES
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "gate.json").write_text(json.dumps(spec))
    return load_suite("gate", tmp_path / "suites")


def validate_with(db, suite, parameters):
    return validate_table(
        db, "staging", "stg_declaration_items", suite, gx_root=db.parent / "gx", parameters=parameters
    )


def validate(db, suite, min_lodged_date="2022-01-01", max_lodged_date="2022-01-03"):
    return validate_with(db, suite, {"min_lodged_date": min_lodged_date, "max_lodged_date": max_lodged_date})


def _by_rule(result):
    return {r.rule: r for r in result.rules}


def test_clean_table_passes_every_rule_with_exact_counts(tmp_path, suite):
    db = tmp_path / "w.duckdb"
    _build(db)
    result = validate(db, suite)
    assert not result.blocking_failures and not result.warning_failures
    rules = _by_rule(result)
    assert sorted(rules) == sorted(RULES)
    assert rules["declaration_id_present"].checked_count == ROWS
    assert rules["declarations_present"].observed == str(ROWS)
    duckdb.connect(str(db)).close()  # the file is free for the next writer


def test_a_blocking_rule_fails_with_its_unexpected_count(tmp_path, suite):
    db = tmp_path / "w.duckdb"
    _build(db, bad_origin=5, duplicate=4)
    result = validate(db, suite)
    rules = _by_rule(result)
    failed = {r.rule for r in result.blocking_failures}
    assert failed == {"origin_country_known", "declaration_item_key_unique"}
    assert rules["origin_country_known"].unexpected_count == 5
    assert rules["declaration_item_key_unique"].unexpected_count == 8  # both copies of 4 duplicated keys
    check = check_result(result)
    assert not check.passed and check.severity.value == "ERROR"


def test_within_the_mostly_tolerance_a_rule_passes(tmp_path, suite):
    db = tmp_path / "w.duckdb"
    _build(db, bad_origin=2)  # 0.1% of 2,000 is allowed to lack a known origin
    assert not validate(db, suite).blocking_failures


def test_a_warning_rule_fails_without_blocking(tmp_path, suite):
    db = tmp_path / "w.duckdb"
    _build(db, bad_channel=3)
    result = validate(db, suite)
    assert not result.blocking_failures
    assert [(r.rule, r.unexpected_count) for r in result.warning_failures] == [("risk_channel_valid", 3)]
    check = check_result(result)
    assert not check.passed and check.severity.value == "WARN"


def test_a_timeliness_rule_compares_with_the_as_of_date(tmp_path, suite):
    db = tmp_path / "w.duckdb"
    _build(db)  # the latest lodgement is 2022-01-02
    late = _by_rule(validate(db, suite, min_lodged_date="2022-01-05"))["latest_lodgement_is_recent"]
    assert not late.passed and late.severity == "warning" and late.dimension == "timeliness"
    assert _by_rule(validate(db, suite, min_lodged_date="2022-01-02"))["latest_lodgement_is_recent"].passed


def test_a_declaration_lodged_in_the_future_fails_the_timeliness_rule(tmp_path, suite, monkeypatch):
    db = tmp_path / "w.duckdb"
    _build(db)  # lodged 2022-01-01 and 2022-01-02
    monkeypatch.setenv("CUSTOMS_AS_OF_DATE", "2022-01-02")
    assert _by_rule(validate_with(db, suite, suite_parameters()))["latest_lodgement_is_recent"].passed
    con = duckdb.connect(str(db))
    con.execute("""INSERT INTO staging.stg_declaration_items SELECT * REPLACE ('FUTURE' AS declaration_id,
                   lodged_at + INTERVAL 30 DAY AS lodged_at, lodged_date + INTERVAL 30 DAY AS lodged_date)
                   FROM staging.stg_declaration_items ORDER BY lodged_at LIMIT 1""")
    con.close()
    future = _by_rule(validate_with(db, suite, suite_parameters()))["latest_lodgement_is_recent"]
    assert not future.passed and future.dimension == "timeliness"
    assert future.observed == "2022-01-31"  # the reason: the latest lodgement, a month after the as-of date
    assert suite_parameters()["max_lodged_date"] == f"2022-01-{2 + MAX_LODGEMENT_LEAD_DAYS:02d}"


def test_every_suite_names_rule_dimension_and_a_known_severity():
    for path in sorted(suite_path("x").parent.glob("*.json")):
        suite = load_suite(path.stem)
        assert suite.expectations, path
