"""What people see: metadata on every materialization (row counts, column types, mart previews and
charts), the findings report's figures against the marts, and the headless progress lines."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
from dagster import (
    AssetKey,
    BackfillPolicy,
    Definitions,
    MaterializeResult,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
)

from orchestration.definitions import defs
from orchestration.progress import progress_logger

NOT_TABLES = {("reports", "findings"), ("quality", "data_docs"), ("published", "marts"), ("models", "risk_model")}
PNG = b"\x89PNG\r\n\x1a\n"


def _latest_metadata(result) -> dict[AssetKey, dict]:
    return {e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}


def _chart_png(markdown: str) -> bytes:
    match = re.fullmatch(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert match, markdown[:80]
    return base64.b64decode(match.group(1))


def test_every_table_materialization_reports_its_rows_and_column_types(built_warehouse):
    # the nightly run, then the model's training, which rebuilt the scored marts
    metadata = {**_latest_metadata(built_warehouse["result"]), **_latest_metadata(built_warehouse["trained"])}
    graph = defs.resolve_asset_graph()
    con = duckdb.connect(str(built_warehouse["db"]), read_only=True)
    con.execute(f"ATTACH '{built_warehouse['db'].parent / 'restricted' / 'restricted.duckdb'}' AS store (READ_ONLY)")
    for key, meta in metadata.items():
        if tuple(key.path) in NOT_TABLES:
            continue
        assert "dagster/row_count" in meta, key
        # the actual types read after the build, or the raw tables' contract (their load enforces it)
        declared = meta.get("dagster/column_schema") or graph.get(key).metadata.get("dagster/column_schema")
        assert declared is not None, key
        schema, table = key.path
        if schema == "restricted":  # a file of its own
            schema, table = "store", f"main.{table}"
        columns = [c.name for c in getattr(declared, "value", declared).columns]
        actual = [r[0] for r in con.execute(f"DESCRIBE {schema}.{table}").fetchall()]
        assert columns == actual, key
        if "quality" not in f"{schema}.{table}":  # the quality history grows as the checks run after it materialized
            assert (
                meta["dagster/row_count"].value
                == con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchall()[0][0]
            ), key
    documented = metadata[AssetKey(["marts", "mirror_gaps"])]["dagster/column_schema"].value.columns
    assert all(c.description for c in documented), "the dbt YAML descriptions are kept beside the types"
    con.close()


def test_marts_carry_a_preview_of_their_top_findings_and_charts(built_warehouse):
    metadata = _latest_metadata(built_warehouse["result"])
    con = duckdb.connect(str(built_warehouse["db"]), read_only=True)
    gaps = metadata[AssetKey(["marts", "mirror_gaps"])]
    largest = con.execute("SELECT partner_name, hs6 FROM marts.mirror_gaps WHERE is_flagged ORDER BY flag_rank LIMIT 1")
    partner, hs6 = largest.fetchall()[0]
    preview = gaps["top_findings"].value
    assert preview.startswith("| year | flow | partner |") and f"| {partner} | {hs6} |" in preview.splitlines()[2]

    money = metadata[AssetKey(["marts", "revenue_at_risk_by_method"])]["top_findings"].value
    by_method = dict(
        con.execute("SELECT method, sum(total_at_risk_omr) FROM marts.revenue_at_risk_by_method GROUP BY 1").fetchall()
    )
    for method, value in by_method.items():
        assert f"| {method} | {value:,.0f} |" in money

    targets = metadata[AssetKey(["marts", "risk_targets"])]["top_findings"].value
    top_trader = con.execute("SELECT target_key FROM marts.risk_targets WHERE target_type = 'trader' AND rank = 1")
    assert top_trader.fetchall()[0][0] in targets and "**Routes**" in targets

    for mart in ("mirror_gaps", "revenue_at_risk", "clearance_times"):
        png = _chart_png(metadata[AssetKey(["marts", mart])]["chart"].value)
        assert png.startswith(PNG) and len(png) > 10_000, mart  # a drawn chart, not an empty canvas
    con.close()


class _Cells(HTMLParser):
    """Text of every cell of the tables with an id, and the headline cards' figures."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.cards: dict[str, tuple[float, str]] = {}
        self._table = self._card = None
        self._cell: list[str] | None = None
        self.images = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif "data-method" in attrs:
            self._card = (attrs["data-method"], float(attrs["data-omr"]))
            self._cell = []
        elif tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,"), "the report must open offline"
            self.images += 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "div" and self._card:
            self.cards[self._card[0]] = (self._card[1], "".join(self._cell).strip())
            self._card = self._cell = None
        elif tag == "table":
            self._table = None


def parse_report(page: str) -> _Cells:
    parsed = _Cells()
    parsed.feed(page)
    return parsed


def marts_figures(db) -> dict:
    """The figures the report must show, read from the marts independently of the report's code."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "money": dict(
                con.execute(
                    "SELECT method, sum(total_at_risk_omr) FROM marts.revenue_at_risk_by_method GROUP BY 1"
                ).fetchall()
            ),
            "gaps": con.execute(
                "SELECT partner_name, hs6 FROM marts.mirror_gaps WHERE is_flagged ORDER BY flag_rank LIMIT 10"
            ).fetchall(),
            "traders": [
                r[0]
                for r in con.execute(
                    "SELECT target_key FROM marts.risk_targets WHERE target_type = 'trader' ORDER BY rank LIMIT 10"
                ).fetchall()
            ],
            "alerts": con.execute("SELECT count(*) FROM marts.network_alerts").fetchall()[0][0],
            "trader_ids": [
                r[0]
                for r in con.execute(
                    f"SELECT party_id FROM read_duckdb('{Path(db).parent / 'restricted' / 'restricted.duckdb'}', "
                    "table_name = 'party_keys') WHERE party_type = 'trader'"
                ).fetchall()
            ],
        }
    finally:
        con.close()


def assert_report_matches_marts(parsed: _Cells, figures: dict) -> None:
    assert set(parsed.cards) == set(figures["money"]) == {"valuation", "mirror", "misclassification", "origin"}
    for method, value in figures["money"].items():
        exact, shown = parsed.cards[method]
        assert abs(exact - float(value)) < 0.001, method
        assert shown == f"OMR {value:,.0f}", (method, shown)
    gaps = parsed.tables["mirror-gaps"]
    assert gaps[0][:4] == ["year", "flow", "partner", "HS6"]
    assert [(row[2], row[3]) for row in gaps[1:]] == [(p, h) for p, h in figures["gaps"]]
    traders = [row[1] for row in parsed.tables["trader-targets"][1:]]
    assert traders == figures["traders"]
    assert all(re.fullmatch(r"T-[0-9a-f]{24}", key) for key in traders), "traders only as pseudonymous keys"
    quality = parsed.tables["quality"][1:]
    assert {row[0] for row in quality} == {"blocking", "warning"}
    assert parsed.images == 3 + (figures["alerts"] > 0), "the network picture only when there is an alert"


def test_the_findings_report_shows_the_marts_figures_and_no_identifier(built_warehouse):
    page = (built_warehouse["db"].parent / "reports" / "findings.html").read_text(encoding="utf-8")
    figures = marts_figures(built_warehouse["db"])
    assert_report_matches_marts(parse_report(page), figures)
    assert not any(re.search(rf"\b{re.escape(t)}\b", page) for t in figures["trader_ids"]), "a trader id leaked"
    assert "http://" not in page and "https://" not in page, "nothing may be fetched when the page opens"


@asset(
    partitions_def=StaticPartitionsDefinition(["2024-01-01", "2024-01-02", "2024-01-03"]),
    backfill_policy=BackfillPolicy.single_run(),
)
def daily_items(context) -> MaterializeResult:
    return MaterializeResult(metadata={"dagster/row_count": 100 * (1 + len(context.partition_keys))})


@asset
def stuck_mart() -> None:
    raise RuntimeError("the partner file for 2024 is truncated")


def test_headless_progress_says_what_runs_and_what_it_produced(capsys):
    defs = Definitions(
        assets=[daily_items, stuck_mart],
        jobs=[define_asset_job("job", partitions_def=daily_items.partitions_def, selection=[daily_items])],
        loggers={"progress": progress_logger},
    )
    defs.resolve_job_def("job").execute_in_process(
        run_config={"loggers": {"progress": {}}},
        tags={"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-01-03"},
    )
    failing = Definitions(assets=[stuck_mart], loggers={"progress": progress_logger})
    failing.resolve_implicit_global_asset_job_def().execute_in_process(
        run_config={"loggers": {"progress": {}}}, raise_on_error=False
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "> daily_items"
    assert re.fullmatch(r"    \+ daily_items +3 partition\(s\), table holds 400 rows", lines[1]), lines
    assert re.fullmatch(r"  daily_items done in \d+\.\d s", lines[2]), lines
    assert "> stuck_mart" in lines
    assert any(
        line.startswith("  ! stuck_mart FAILED: RuntimeError: the partner file for 2024 is truncated")
        or line.startswith("  ! stuck_mart FAILED: the partner file for 2024 is truncated")
        for line in lines
    ), lines
    assert not any("DEBUG" in line or "STEP_" in line for line in lines), "no raw event log"
    assert len(lines) <= 8, lines
