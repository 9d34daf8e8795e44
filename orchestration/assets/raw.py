"""Raw assets, keyed `["raw", <table>]` so the dbt sources of the same names map onto them.

Each asset loads its files from the landing area (see `orchestration.ingest.loader` for the
guarantees) and reports, for every load, rows received, loaded and quarantined. Two checks come with
every raw table: the load reconciles (blocking) and every delivered file could be read.
"""

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    multi_asset,
)

from orchestration import settings
from orchestration.demo.generator import write_reference_tables
from orchestration.ingest import contracts
from orchestration.ingest.contracts import Contract
from orchestration.ingest.loader import LINEAGE, LoadReport, load_files
from orchestration.ingest.mapping import Mapping
from orchestration.ingest.readers import LandingFile, scan
from orchestration.resources import WAREHOUSE_POOL, LandingAreaResource, WarehouseResource

OWNER = "team:customs-data-engineering"
LANDING_SUBDIRS = {"declaration_items": "declarations", "partner_trade": "partner_trade"}
LINEAGE_DESCRIPTIONS = {
    "_source_file": "landing file the row came from",
    "_source_hash": "SHA-256 of that file's content",
    "_source_row": "row number in that file",
    "_load_id": "the load that wrote the row",
    "_loaded_at": "when it was loaded",
}


def raw_key(table: str) -> AssetKey:
    return AssetKey(["raw", table])


def _spec(contract: Contract) -> AssetSpec:
    columns = [
        TableColumn(c.name, c.type.lower(), description="required" if c.required else None) for c in contract.columns
    ]
    columns += [TableColumn(n, t.lower()) for n, t in contract.extra_columns]
    columns += [TableColumn(n, t.lower(), description=LINEAGE_DESCRIPTIONS[n]) for n, t in LINEAGE]
    return AssetSpec(
        raw_key(contract.table),
        description=contract.description,
        group_name="raw",
        owners=[OWNER],
        kinds={"duckdb", "python"},
        metadata={
            "dagster/column_schema": TableSchema(columns=columns),
            "landing_folder": LANDING_SUBDIRS.get(contract.table, f"reference/{contract.table}.csv"),
        },
    )


def _checks(contract: Contract) -> list[AssetCheckSpec]:
    key = raw_key(contract.table)
    return [
        AssetCheckSpec(
            "load_reconciles",
            asset=key,
            blocking=True,
            description="Every file: rows received = loaded + quarantined; the table holds what the load log says.",
        ),
        AssetCheckSpec(
            "files_readable",
            asset=key,
            description="Every delivered file could be read (encoding, header, not truncated).",
        ),
    ]


def load_metadata(report: LoadReport) -> dict:
    metadata = {
        "dagster/row_count": report.table_rows,
        "rows_received": report.received,
        "rows_loaded": report.loaded,
        "rows_quarantined": report.quarantined,
        "files_loaded": report.count("loaded"),
        "files_unchanged": report.count("unchanged"),
        "files_rejected": report.count("rejected"),
        "reconciles": report.reconciles,
        "load_id": report.load_id,
    }
    if report.rejected:
        metadata["rejected_files"] = MetadataValue.md(
            "| file | reason |\n|---|---|\n"
            + "\n".join(f"| `{f.relpath}` | {f.error.replace('|', '/')} |" for f in report.rejected)
        )
    return metadata


def check_results(report: LoadReport, key: AssetKey) -> list[AssetCheckResult]:
    return [
        AssetCheckResult(
            asset_key=key,
            check_name="load_reconciles",
            passed=report.reconciles,
            metadata={
                "rows_received": report.received,
                "rows_loaded": report.loaded,
                "rows_quarantined": report.quarantined,
                "table_rows": report.table_rows,
                "ledger_rows": report.ledger_rows,
            },
        ),
        AssetCheckResult(
            asset_key=key,
            check_name="files_readable",
            passed=not report.rejected,
            severity=AssetCheckSeverity.ERROR,
            description="; ".join(f"{f.relpath}: {f.error}" for f in report.rejected) or None,
            metadata={"files_rejected": len(report.rejected)},
        ),
    ]


def _log(context: AssetExecutionContext, report: LoadReport) -> None:
    context.log.info(
        f"raw.{report.table}: {report.count('loaded')} file(s) loaded, {report.count('unchanged')} unchanged, "
        f"{report.count('rejected')} rejected; rows received {report.received:,} = loaded {report.loaded:,} "
        f"+ quarantined {report.quarantined:,}; table holds {report.table_rows:,} rows"
    )
    for f in report.rejected:
        context.log.error(f"rejected {f.relpath}: {f.error}")


def _load_asset(contract: Contract, files_for, partitions_def=None):
    @multi_asset(
        name=f"raw_{contract.table}",
        specs=[_spec(contract)],
        check_specs=_checks(contract),
        pool=WAREHOUSE_POOL,
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run() if partitions_def else None,
    )
    def _asset(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingAreaResource):
        files = files_for(landing.root)
        if partitions_def is not None:
            window = context.partition_time_window
            first, last = window.start.date(), (window.end - timedelta(days=1)).date()
            files = [f for f in files if (day := file_day(f.relpath)) is None or first <= day <= last]
            context.log.info(f"lodgement days {first} to {last}: {len(files)} file(s) in the landing area")
        with warehouse.connect() as con:
            report = load_files(con, contract, files)
        _log(context, report)
        yield MaterializeResult(asset_key=raw_key(contract.table), metadata=load_metadata(report))
        yield from check_results(report, raw_key(contract.table))

    return _asset


def file_day(relpath: str) -> date | None:
    """The lodgement day a declarations file carries in its name (items_2022-05-01.csv)."""
    match = re.search(r"(\d{4})-(\d{2})-(\d{2})", relpath.rsplit("/", 1)[-1])
    return date(*map(int, match.groups())) if match else None


# One partition per lodgement day, in Muscat time; a backfill of a range loads it in one run.
DAILY = DailyPartitionsDefinition(start_date=settings.partition_start(), timezone=settings.TIMEZONE)

raw_declaration_items = _load_asset(contracts.DECLARATION_ITEMS, lambda root: scan(root, "declarations"), DAILY)
raw_partner_trade = _load_asset(
    contracts.PARTNER_TRADE,
    # BACI's country_codes file is read with the BACI data beside it, not loaded on its own
    lambda root: [f for f in scan(root, "partner_trade") if not f.path.name.startswith("country_codes")],
)


def reference_files(root: Path, table: str) -> list[LandingFile]:
    """`reference/<table>.csv` (or .parquet) from the landing area, else the built-in default. A file
    in a known public layout (e.g. datasets/country-codes for countries) is mapped onto the contract
    first; its lineage still names the delivered file."""
    delivered = [f for f in scan(root, "reference") if f.path.stem == table]
    if delivered:
        latest = delivered[-1]
        if latest.format == "csv":
            header = latest.path.read_text(encoding="utf-8-sig").split("\n", 1)[0].replace('"', "").split(",")
            mapping = Mapping.recognising(table, header)
            if mapping is not None:
                out = settings.var_dir() / "reference_mapped" / table
                shutil.rmtree(out, ignore_errors=True)
                mapped = mapping.apply(latest.path.parent, root, sources=[latest.path], out=out)[0]
                return [LandingFile(mapped, f"{latest.relpath} (mapped: {mapping.name})", latest.sha256)]
        return delivered
    defaults = settings.var_dir() / "reference_defaults"
    if not (defaults / f"{table}.csv").exists():
        write_reference_tables(defaults)
    path = defaults / f"{table}.csv"
    return [LandingFile(path, f"builtin/{table}.csv", LandingFile.at(path, defaults).sha256)]


_REFERENCE_BY_KEY = {raw_key(c.table): c for c in contracts.REFERENCE_CONTRACTS}


@multi_asset(
    name="raw_reference_tables",
    specs=[_spec(c) for c in contracts.REFERENCE_CONTRACTS],
    check_specs=[s for c in contracts.REFERENCE_CONTRACTS for s in _checks(c)],
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def raw_reference_tables(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingAreaResource):
    """Reference snapshots: the delivered file replaces the whole table; without one, the built-in default."""
    with warehouse.connect() as con:
        for key in sorted(context.selected_asset_keys, key=lambda k: k.to_user_string()):
            contract = _REFERENCE_BY_KEY[key]
            report = load_files(con, contract, reference_files(landing.root, contract.table))
            _log(context, report)
            yield MaterializeResult(asset_key=key, metadata=load_metadata(report))
            for result in check_results(report, key):
                if AssetCheckKey(key, result.check_name) in context.selected_asset_check_keys:
                    yield result


raw_assets = [raw_declaration_items, raw_partner_trade, raw_reference_tables]
