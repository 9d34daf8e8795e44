"""Raw assets, keyed `["raw", <table>]` so the dbt sources of the same names map onto them.

Each asset loads its files from the landing area (see `orchestration.ingest.loader` for the
guarantees) and reports, for every load, rows received, loaded, quarantined and rejected. Three checks
come with every raw table: the load reconciles (blocking), every delivered file could be read, and no
delivery was emptied or removed unnoticed.

A run over some lodgement days loads the files of those days and every other file that changed since
it was last loaded, whatever day it carries: a corrected file for an older day is never left behind
because the night's run covers only yesterday. The declaration items load after the reference tables
they are checked against, and their party identifiers are keyed on the way in (`restricted/party_keys`
is materialized by the same step: the clear values reach only the restricted store).
"""

import shutil
from datetime import timedelta
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

from orchestration import reference, settings
from orchestration.assets.landing import landing_sources
from orchestration.assets.table_metadata import table_metadata
from orchestration.ingest import contracts, restricted
from orchestration.ingest.comtrade import INCOMPLETE_MARKER, incomplete_years
from orchestration.ingest.contracts import Contract
from orchestration.ingest.loader import LINEAGE, LoadReport, load_files, loaded_files, removed_files
from orchestration.ingest.mapping import Mapping
from orchestration.ingest.readers import FileRejected, LandingFile, csv_header, file_day, scan, table_stem
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
        TableColumn(
            c.raw_name,
            c.type.lower(),
            description=" ".join(
                part
                for part in ("required" if c.required else "", f"keyed hash of {c.name}" if c.pseudonym else "")
                if part
            )
            or None,
        )
        for c in contract.columns
    ]
    columns += [TableColumn(n, t.lower()) for n, t in contract.extra_columns]
    columns += [TableColumn(n, t.lower(), description=LINEAGE_DESCRIPTIONS[n]) for n, t in LINEAGE]
    columns += [
        TableColumn(
            f"{c.keyed_ref}_ref", "varchar", description=f"keyed reference of {c.name}, published instead of it"
        )
        for c in contract.columns
        if c.keyed_ref
    ]
    return AssetSpec(
        raw_key(contract.table),
        deps=[*landing_sources(contract.table), *(raw_key(t) for t in sorted(contract.references))],
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
            description="Every delivered file could be read (type, link, name, encoding, header, not truncated).",
        ),
        AssetCheckSpec(
            "deliveries_complete",
            asset=key,
            description="No file was re-delivered empty or removed from the landing area while its rows stay loaded.",
        ),
    ]


def load_metadata(report: LoadReport) -> dict:
    metadata = {
        "dagster/row_count": report.table_rows,
        "rows_received": report.received,
        "rows_loaded": report.loaded,
        "rows_quarantined": report.quarantined,
        "rows_rejected": report.rejected_rows,
        "files_loaded": report.count("loaded"),
        "files_unchanged": report.count("unchanged"),
        "files_rejected": report.count("rejected"),
        "reconciles": report.reconciles,
        "load_id": report.load_id,
    }
    if report.rejected:
        metadata["rejected_files"] = MetadataValue.md(
            "| file | rows | reason |\n|---|---|---|\n"
            + "\n".join(
                f"| `{f.relpath}` | {f.rejected_rows:,} | {f.error.replace('|', '/')} |" for f in report.rejected
            )
        )
    if report.unchecked_references:
        metadata["references_not_checked"] = ", ".join(report.unchecked_references)
    return metadata


def delivery_warnings(
    report: LoadReport, removed: list[tuple[str, int]], incomplete: dict[int, list[str]] | None = None
) -> list[str]:
    """What an operator must hear of although the load succeeded: a file re-delivered with no rows, a
    loaded file no longer in the landing area (its rows stay), codes not checked for want of a table,
    a reference year of partner records fetched only in part."""
    warnings = [f"{f} was re-delivered with no rows (it held {n:,}): its day is now empty" for f, n in report.emptied]
    warnings += [
        f"{f} is no longer in the landing area; its {n:,} loaded rows stay in the warehouse" for f, n in removed
    ]
    warnings += [
        f"codes not checked against raw.{t}: that table is not loaded yet" for t in report.unchecked_references
    ]
    warnings += [
        f"partner records of {year} are incomplete: {', '.join(failed)} failed to fetch (see {INCOMPLETE_MARKER})"
        for year, failed in sorted((incomplete or {}).items())
    ]
    return warnings


def check_results(report: LoadReport, key: AssetKey, warnings: list[str]) -> list[AssetCheckResult]:
    return [
        AssetCheckResult(
            asset_key=key,
            check_name="load_reconciles",
            passed=report.reconciles,
            metadata={
                "rows_received": report.received,
                "rows_loaded": report.loaded,
                "rows_quarantined": report.quarantined,
                "rows_rejected": report.rejected_rows,
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
            metadata={"files_rejected": len(report.rejected), "rows_rejected": report.rejected_rows},
        ),
        AssetCheckResult(
            asset_key=key,
            check_name="deliveries_complete",
            passed=not warnings,
            severity=AssetCheckSeverity.WARN,
            description="; ".join(warnings)[:2000] or None,
            metadata={
                "files_emptied": len(report.emptied),
                "rows_no_longer_delivered": sum(n for _, n in report.emptied),
                "warnings": len(warnings),
            },
        ),
    ]


def _log(context: AssetExecutionContext, report: LoadReport, warnings: list[str]) -> None:
    context.log.info(
        f"raw.{report.table}: {report.count('loaded')} file(s) loaded, {report.count('unchanged')} unchanged, "
        f"{report.count('rejected')} rejected; rows received {report.received:,} = loaded {report.loaded:,} "
        f"+ quarantined {report.quarantined:,} + rejected {report.rejected_rows:,}; "
        f"table holds {report.table_rows:,} rows"
    )
    for f in report.rejected:
        context.log.error(f"rejected {f.relpath}: {f.error}")
    for warning in warnings:
        context.log.warning(warning)


PARTY_KEYS = AssetKey(["restricted", "party_keys"])
PARTY_KEYS_SPEC = AssetSpec(
    PARTY_KEYS,
    deps=[raw_key(contracts.DECLARATION_ITEMS.table)],
    group_name="restricted",
    owners=["team:data-protection"],
    kinds={"duckdb", "python"},
    tags={"classification": "restricted"},
    description="Keyed hashes of trader and declarant identifiers, the only way back to them, written on load into "
    "the restricted store (a separate owner-only DuckDB file). Never published.",
)


def files_to_load(files: list[LandingFile], first, last, loaded: dict[str, tuple[str, int]]) -> list[LandingFile]:
    """The files of the lodgement days `first` to `last`, files naming no day, and every file of another
    day that is new or changed since it was loaded (a corrected older day is picked up by any run)."""
    return [
        f
        for f in files
        if (day := file_day(f.relpath)) is None or first <= day <= last or loaded.get(f.relpath, (None,))[0] != f.sha256
    ]


def _load_asset(contract: Contract, files_for, partitions_def=None, extra_specs=()):
    @multi_asset(
        name=f"raw_{contract.table}",
        specs=[_spec(contract), *extra_specs],
        check_specs=_checks(contract),
        pool=WAREHOUSE_POOL,
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run() if partitions_def else None,
    )
    def _asset(context: AssetExecutionContext, warehouse: WarehouseResource, landing: LandingAreaResource):
        present = files_for(landing.root)
        with warehouse.connect() as con:
            files = present
            if partitions_def is not None:
                window = context.partition_time_window
                first, last = window.start.date(), (window.end - timedelta(days=1)).date()
                files = files_to_load(present, first, last, loaded_files(con, contract.table))
                others = [f.relpath for f in files if (d := file_day(f.relpath)) and not first <= d <= last]
                context.log.info(f"lodgement days {first} to {last}: {len(files) - len(others)} file(s)")
                if others:
                    context.log.warning(
                        f"{len(others)} new or re-delivered file(s) of other days load too, and what is built on "
                        f"them rebuilds from their day: {', '.join(others[:10])}{' ...' if len(others) > 10 else ''}"
                    )
            report = load_files(con, contract, files, warehouse.restricted_path, warehouse.validate)
            incomplete = incomplete_years(landing.root) if contract is contracts.PARTNER_TRADE else None
            warnings = delivery_warnings(report, removed_files(con, contract.table, present), incomplete)
        _log(context, report, warnings)
        yield MaterializeResult(asset_key=raw_key(contract.table), metadata=load_metadata(report))
        if PARTY_KEYS_SPEC in extra_specs:
            yield _party_keys_materialization(warehouse.restricted_path)
        yield from check_results(report, raw_key(contract.table), warnings)

    return _asset


def _party_keys_materialization(store: Path) -> MaterializeResult:
    with restricted.connect(store, read_only=True) as con:
        counts = dict(con.execute("SELECT party_type, count(*) FROM party_keys GROUP BY 1").fetchall())
        metadata = table_metadata(con, "main", "party_keys")
    _, source = restricted.pseudonymisation_key()
    return MaterializeResult(
        asset_key=PARTY_KEYS,
        metadata={
            **metadata,
            "parties_by_type": MetadataValue.json(counts),
            "store": MetadataValue.path(str(store)),
            "key_source": source,
        },
    )


# One partition per lodgement day, in Muscat time; a backfill of a range loads it in one run.
DAILY = DailyPartitionsDefinition(start_date=settings.partition_start(), timezone=settings.TIMEZONE)

raw_declaration_items = _load_asset(
    contracts.DECLARATION_ITEMS, lambda root: scan(root, "declarations"), DAILY, extra_specs=(PARTY_KEYS_SPEC,)
)
raw_partner_trade = _load_asset(
    contracts.PARTNER_TRADE,
    # BACI's country_codes file is read with the BACI data beside it, not loaded on its own
    lambda root: [f for f in scan(root, "partner_trade") if not f.path.name.startswith("country_codes")],
)


def reference_files(root: Path, table: str) -> list[LandingFile]:
    """`reference/<table>.csv` (or .parquet) from the landing area, else the built-in default. A file
    in a known public layout (e.g. datasets/country-codes for countries) is mapped onto the contract
    first; its lineage still names the delivered file."""
    delivered = [f for f in scan(root, "reference") if table_stem(f.path) == table]
    if delivered:
        latest = delivered[-1]
        if latest.format == "csv" and latest.problem is None:
            try:
                mapping = Mapping.recognising(table, csv_header(latest.path))
            except FileRejected:
                return delivered  # the loader rejects it with the same reason
            if mapping is not None:
                out = settings.var_dir() / "reference_mapped" / table
                shutil.rmtree(out, ignore_errors=True)
                mapped = mapping.apply(latest.path.parent, root, sources=[latest.path], out=out)[0]
                return [LandingFile(mapped, f"{latest.relpath} (mapped: {mapping.name})", latest.sha256)]
        return delivered
    defaults = settings.var_dir() / "reference_defaults"
    if not (defaults / f"{table}.csv").exists():
        reference.write_defaults(defaults)
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
            files = reference_files(landing.root, contract.table)
            report = load_files(con, contract, files, warehouse.restricted_path, warehouse.validate)
            warnings = delivery_warnings(report, [])
            _log(context, report, warnings)
            yield MaterializeResult(asset_key=key, metadata=load_metadata(report))
            for result in check_results(report, key, warnings):
                if AssetCheckKey(key, result.check_name) in context.selected_asset_check_keys:
                    yield result


raw_assets = [raw_declaration_items, raw_partner_trade, raw_reference_tables]
