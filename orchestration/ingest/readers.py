"""Reading delivered files into a DuckDB staging table of text columns.

Every format lands in the same shape (one VARCHAR column per contract column, plus the file and row
it came from), so validation is written once. Files are read in as few DuckDB scans as possible; a
file that cannot be read at all (bad encoding, truncated, missing a required column) is rejected on
its own with DuckDB's message while the others go ahead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.ingest.contracts import Contract

STAGE = "_stage"
FILES = "_files"
SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".json": "json"}


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relpath: str  # identity of the file in the warehouse: its path inside the landing area
    sha256: str

    @classmethod
    def at(cls, path: Path, root: Path) -> LandingFile:
        return cls(path, path.relative_to(root).as_posix(), file_sha256(path))

    @property
    def format(self) -> str:
        return SUFFIXES[self.path.suffix.lower()]


class FileRejected(Exception):
    """The file as a whole cannot be read; its rows are not loaded and earlier data stays as it was."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def deliverable_paths(root: Path, subdir: str) -> list[Path]:
    """Every deliverable file under `root/subdir`, in name order (which is delivery order); names
    starting with '.' or '_' (work files, kept-aside bodies, ground truth) are not deliveries."""
    base = root / subdir
    if not base.exists():
        return []
    return sorted(
        p
        for p in base.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
    )


def scan(root: Path, subdir: str) -> list[LandingFile]:
    """The deliverable files under `root/subdir` with their content hashes."""
    return [LandingFile.at(p, root) for p in deliverable_paths(root, subdir)]


def stage_files(con: duckdb.DuckDBPyConnection, contract: Contract, files: list[LandingFile]) -> dict[str, str]:
    """Fill the temp table `_stage` from `files`; return {relpath: reason} for files rejected whole.
    The temp table `_files` maps each file's path to its landing-relative path and content hash (a
    join, not a CASE per row: a load of a thousand daily files would compare every row a thousand times)."""
    names = [c.source_name for c in contract.columns] + [n for n, _ in contract.extra_columns]
    cols = ", ".join(f'"{n}" VARCHAR' for n in names)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} ({cols}, _source_file VARCHAR, _source_row BIGINT)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {FILES} (path VARCHAR, relpath VARCHAR, sha256 VARCHAR)")
    if files:
        con.executemany(f"INSERT INTO {FILES} VALUES (?, ?, ?)", [(str(f.path), f.relpath, f.sha256) for f in files])
    rejected: dict[str, str] = {}
    groups: dict[tuple, list[LandingFile]] = {}
    for f in files:
        try:
            header = _header(f, contract)
            fmt = "baci" if header == BACI_HEADER else f.format
            groups.setdefault((fmt, *header), []).append(f)
        except FileRejected as exc:
            rejected[f.relpath] = str(exc)
    for (fmt, *header), group in groups.items():
        reader = _READERS[fmt]
        try:
            reader(con, contract, group, header)
        except (duckdb.Error, FileRejected) as exc:
            if len(group) == 1:
                rejected[group[0].relpath] = _short(str(exc))
                continue
            for f in group:  # find the bad file(s); the statement that failed inserted nothing
                try:
                    reader(con, contract, [f], header)
                except (duckdb.Error, FileRejected) as one:
                    rejected[f.relpath] = _short(str(one))
    return rejected


def _short(message: str) -> str:
    """DuckDB's message without its generic 'possible fixes' advice."""
    keep = message.split("Possible fixes")[0].split("Possible Solution")[0]
    return " ".join(line.strip() for line in keep.strip().splitlines() if line.strip())[:500]


def _header(f: LandingFile, contract: Contract) -> tuple[str, ...]:
    """Column names of the file, checked against the contract's required columns."""
    if f.format == "csv":
        with open(f.path, "rb") as fh:
            first = fh.readline()
        try:
            line = first.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileRejected(f"not UTF-8 encoded: {exc}") from None
        names = tuple(n.strip().strip('"') for n in line.rstrip("\r\n").split(","))
    elif f.format == "parquet":
        try:
            schema = pq.read_schema(f.path)
        except Exception as exc:  # pyarrow raises several types for a damaged footer
            raise FileRejected(f"unreadable Parquet file: {exc}") from None
        names = tuple(schema.names)
        for c in contract.columns:
            if (
                c.codes
                and c.source_name in names
                and not pa.types.is_string(schema.field(c.source_name).type)
                and not pa.types.is_large_string(schema.field(c.source_name).type)
            ):
                raise FileRejected(
                    f"{c.source_name} must be text, not {schema.field(c.source_name).type}: "
                    "leading zeros of codes are lost in numbers"
                )
    else:
        names = ()  # JSON bodies are checked record by record
    if contract.table == "partner_trade" and tuple(n.lower() for n in names) == BACI_HEADER:
        return BACI_HEADER
    if names:
        present = {n.lower() for n in names}
        missing = [c for c in contract.required if c.lower() not in present]
        if missing:
            raise FileRejected(f"missing required column(s): {', '.join(missing)}")
        if len(set(n.lower() for n in names)) != len(names):
            raise FileRejected("duplicate column names in header")
    return names


def _select_list(contract: Contract, available: dict[str, str], source_format: str | None = None) -> str:
    """Contract columns as text, by name (case-insensitive); absent optional columns become NULL."""
    parts = []
    for c in contract.columns:
        src = available.get(c.source_name.lower())
        parts.append(f'CAST("{src}" AS VARCHAR)' if src else "NULL")
    for name, _ in contract.extra_columns:
        parts.append(f"'{source_format}'" if name == "source_format" and source_format else "NULL")
    return ", ".join(parts)


def _stage_csv(con, contract: Contract, files: list[LandingFile], header: list[str]) -> None:
    columns = "{" + ", ".join(f"'{_sql_str(n)}': 'VARCHAR'" for n in header) + "}"
    available = {n.lower(): n for n in header}
    paths = "[" + ", ".join(f"'{_sql_str(str(f.path))}'" for f in files) + "]"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _csv AS
        SELECT * FROM read_csv({paths}, header = true, auto_detect = false,
            delim = ',', quote = '"', escape = '"', columns = {columns}, filename = true, strict_mode = true)
    """)
    # rows keep file order (insertion order is preserved), so a row's number is its offset in its file
    con.execute(f"""
        INSERT INTO {STAGE}
        SELECT {_select_list(contract, available, "comtrade_csv")}, f.relpath, c.rowid - firsts.first_row + 1
        FROM _csv AS c
        JOIN {FILES} AS f ON f.path = c.filename
        JOIN (SELECT filename, min(rowid) AS first_row FROM _csv GROUP BY filename) AS firsts USING (filename)
    """)
    con.execute("DROP TABLE _csv")


def _stage_parquet(con, contract: Contract, files: list[LandingFile], header: list[str]) -> None:
    available = {n.lower(): n for n in header}
    paths = "[" + ", ".join(f"'{_sql_str(str(f.path))}'" for f in files) + "]"
    con.execute(f"""
        INSERT INTO {STAGE}
        SELECT {_select_list(contract, available, "comtrade_parquet")}, f.relpath, file_row_number + 1
        FROM read_parquet({paths}, filename = true, file_row_number = true) AS p
        JOIN {FILES} AS f ON f.path = p.filename
    """)


def _stage_comtrade_json(con, contract: Contract, files: list[LandingFile], header: list[str]) -> None:
    """Comtrade API bodies, {"count": n, "data": [...], "error": ...}: the count must match the data."""
    paths = "[" + ", ".join(f"'{_sql_str(str(f.path))}'" for f in files) + "]"
    largest = max(f.path.stat().st_size for f in files) + 1024  # the body is one JSON object
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _json AS
        SELECT f.relpath AS _source_file, "count", "error", data
        FROM read_json({paths}, columns = {{'count': 'BIGINT', 'error': 'VARCHAR', 'data': 'JSON[]'}},
                       format = 'auto', filename = true, maximum_object_size = {largest}) AS j
        JOIN {FILES} AS f ON f.path = j.filename
    """)
    for relpath, count, error, held in con.execute(
        'SELECT _source_file, "count", "error", len(data) FROM _json ORDER BY _source_file'
    ).fetchall():
        if held is None:
            raise FileRejected(f"{relpath}: not a Comtrade response body (no 'data' array)")
        if error:
            raise FileRejected(f"{relpath}: the response reports an error: {error[:200]}")
        if count is not None and count != held:
            raise FileRejected(f"{relpath}: truncated body: count says {count} records, data holds {held}")
    fields = ", ".join(f"d->>'{c.source_name}'" for c in contract.columns)
    extras = "".join(", 'comtrade_api'" if n == "source_format" else ", NULL" for n, _ in contract.extra_columns)
    con.execute(f"""
        INSERT INTO {STAGE}
        SELECT {fields}{extras}, _source_file, row_number() OVER (PARTITION BY _source_file ORDER BY i)
        FROM (SELECT _source_file, unnest(data) AS d, generate_subscripts(data, 1) AS i FROM _json)
    """)
    con.execute("DROP TABLE _json")


BACI_HEADER = ("t", "i", "j", "k", "v", "q")
BACI_VINTAGES = {"92": "H0", "96": "H1", "02": "H2", "07": "H3", "12": "H4", "17": "H5", "22": "H6"}


def baci_country_file(folder: Path) -> Path | None:
    found = sorted(folder.glob("country_codes*.csv"))
    return found[-1] if found else None


def _stage_baci(con, contract: Contract, files: list[LandingFile], header: list[str]) -> None:
    """CEPII BACI (year t, exporter i, importer j, HS6 k, value v in thousand USD, quantity q in tonnes,
    reconciled FOB values) as Comtrade-shaped records about Oman: flows to Oman as the exporter's
    exports, flows from Oman as the importer's imports. Countries come from the release's
    country_codes file beside the data; the HS edition from the file name (BACI_HS17_... = H5)."""
    for f in files:
        countries = baci_country_file(f.path.parent)
        if countries is None:
            raise FileRejected(f"{f.relpath}: no BACI country_codes*.csv beside it")
        match = re.search(r"HS(\d\d)", f.path.name)
        if not match or match.group(1) not in BACI_VINTAGES:
            raise FileRejected(f"{f.relpath}: the HS edition (BACI_HSyy_...) is not in the file name")
        columns = countries.read_text(encoding="utf-8-sig").splitlines()[0].lower()
        iso3 = "country_iso3" if "country_iso3" in columns else "iso_3digit_alpha"  # 2024 and older releases
        partner = f"CASE WHEN TRY_CAST(b.i AS INTEGER) = {HOME} THEN b.j ELSE b.i END"
        exprs = {
            "typeCode": "'C'",
            "freqCode": "'A'",
            "period": "b.t",
            "reporterCode": partner,
            "reporterISO": f"c.{iso3}",
            "flowCode": f"CASE WHEN TRY_CAST(b.i AS INTEGER) = {HOME} THEN 'M' ELSE 'X' END",
            "partnerCode": f"'{HOME}'",
            "partnerISO": "'OMN'",
            "partner2Code": "'0'",
            "classificationCode": f"'{BACI_VINTAGES[match.group(1)]}'",
            "cmdCode": "lpad(b.k, 6, '0')",
            "customsCode": "'C00'",
            "motCode": "'0'",
            "qtyUnitCode": "'8'",
            "qty": "CAST(TRY_CAST(b.q AS DOUBLE) * 1000 AS VARCHAR)",
            "netWgt": "CAST(TRY_CAST(b.q AS DOUBLE) * 1000 AS VARCHAR)",
            "cifvalue": "NULL",
            "fobvalue": "CAST(TRY_CAST(b.v AS DOUBLE) * 1000 AS VARCHAR)",
            "primaryValue": "CAST(TRY_CAST(b.v AS DOUBLE) * 1000 AS VARCHAR)",
            "isReported": "'false'",
            "isAggregate": "'false'",
        }
        select = ", ".join(exprs.get(c.source_name, "NULL") for c in contract.columns)
        con.execute(f"""
            INSERT INTO {STAGE}
            SELECT {select}, 'baci', '{_sql_str(f.relpath)}', NULL
            FROM read_csv('{_sql_str(str(f.path))}', header = true, all_varchar = true) AS b
            LEFT JOIN read_csv('{_sql_str(str(countries))}', header = true, all_varchar = true) AS c
                ON TRY_CAST(c.country_code AS INTEGER) = TRY_CAST({partner} AS INTEGER)
            WHERE TRY_CAST(b.i AS INTEGER) = {HOME} OR TRY_CAST(b.j AS INTEGER) = {HOME}
        """)


HOME = 512  # Oman's Comtrade and BACI code

_READERS = {"csv": _stage_csv, "parquet": _stage_parquet, "json": _stage_comtrade_json, "baci": _stage_baci}


def _sql_str(value: str) -> str:
    return value.replace("'", "''")
