"""Reading delivered files into a DuckDB staging table of text columns.

Every format lands in the same shape (one VARCHAR column per contract column, plus the file and row
it came from), so validation is written once. Files are read in as few DuckDB scans as possible.

What cannot be read is never skipped in silence: a file of an unsupported type, a symbolic link that
dangles or leaves the landing area, or a name carrying an impossible date is rejected before it is
read; a file that cannot be read as a whole (bad encoding, truncated, missing a required column) is
rejected on its own while the others go ahead; a CSV line with the wrong number of fields is kept as a
staged row carrying its parse error (and later quarantined with its line number), so one bad line
never costs the whole file. Messages name the reason and the position, never the content of a line:
lines hold clear party identifiers.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import re
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.ingest.contracts import Contract
from orchestration.rules import home_comtrade_code

STAGE = "_stage"
FILES = "_files"
# longest first: `.csv.gz` before `.gz`
SUFFIXES = {".csv.gz": "csv", ".csv": "csv", ".parquet": "parquet", ".json": "json"}
SUPPORTED = ", ".join(SUFFIXES)
DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
WILDCARDS = re.compile(r"[*?\[\]{}]")


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    return next((fmt for suffix, fmt in SUFFIXES.items() if name.endswith(suffix)), None)


def table_stem(path: Path) -> str:
    """The file name without its format suffix (`countries.csv.gz` -> `countries`)."""
    name = path.name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name.split(".", 1)[0]


def file_day(relpath: str) -> date | None:
    """The lodgement day a declarations file carries in its name (items_2022-05-01.csv); None when the
    name carries no date or an impossible one (the file is then rejected with that reason)."""
    match = DATE_IN_NAME.search(relpath.rsplit("/", 1)[-1])
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def name_problem(path: Path) -> str | None:
    if WILDCARDS.search(path.name):  # DuckDB's readers would expand it to other files
        return f"the file name holds a wildcard character ({WILDCARDS.search(path.name).group(0)}): rename it"
    match = DATE_IN_NAME.search(path.name)
    if match and file_day(path.name) is None:
        return f"the file name carries an impossible date ({match.group(0)})"
    return None


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relpath: str  # identity of the file in the warehouse: its path inside the landing area
    sha256: str
    problem: str | None = None  # why the file is rejected without being read

    @classmethod
    def at(cls, path: Path, root: Path, base: Path | None = None) -> LandingFile:
        """The file at `path`; a symbolic link must lead to a file inside the resolved folder `base`
        (default: `root`)."""
        relpath = path.relative_to(root).as_posix()
        problem = _link_problem(path, base or root.resolve()) or (
            None if file_format(path) else f"unsupported file type ({path.name}): deliver {SUPPORTED} files"
        )
        if problem is None:
            problem = name_problem(path)
        if path.is_symlink() and problem:
            return cls(path, relpath, hashlib.sha256(os.readlink(path).encode()).hexdigest(), problem)
        return cls(path, relpath, file_sha256(path), problem)

    @property
    def format(self) -> str:
        return file_format(self.path) or "unsupported"


def _link_problem(path: Path, base: Path) -> str | None:
    if not path.is_symlink():
        return None
    target = path.resolve()
    if not target.exists():
        return "a symbolic link to nothing (dangling)"
    if target.is_dir():
        return "a symbolic link to a folder: deliver files"
    if base not in target.parents:
        return "a symbolic link leading outside the landing area"
    return None


class FileRejected(Exception):
    """The file as a whole cannot be read; its rows are not loaded and earlier data stays as it was."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def deliverable_paths(root: Path, subdir: str) -> list[Path]:
    """Every delivery under `root/subdir`, in name order (which is delivery order), whatever its type:
    what cannot be loaded is rejected with a reason, not skipped. Names starting with '.' or '_' (work
    files, kept-aside bodies, ground truth) are not deliveries."""
    base = root / subdir
    if not base.exists():
        return []
    found = []
    for folder, dirs, names in os.walk(base):  # links to folders are not followed: they are deliveries
        here = Path(folder)
        linked = [d for d in dirs if (here / d).is_symlink()]
        dirs[:] = [d for d in dirs if d not in linked and not d.startswith((".", "_"))]
        found += [here / n for n in names + linked if not n.startswith((".", "_"))]
    return sorted(p for p in found if not any(part.startswith((".", "_")) for part in p.relative_to(root).parts))


def scan(root: Path, subdir: str) -> list[LandingFile]:
    """The deliveries under `root/subdir` with their content hashes (and, for those that cannot be
    read, the reason)."""
    base = (root / subdir).resolve()
    return [LandingFile.at(p, root, base) for p in deliverable_paths(root, subdir)]


def stage_files(con: duckdb.DuckDBPyConnection, contract: Contract, files: list[LandingFile]) -> dict[str, str]:
    """Fill the temp table `_stage` from `files`; return {relpath: reason} for files rejected whole.
    The temp table `_files` maps each file's path to its landing-relative path and content hash (a
    join, not a CASE per row: a load of a thousand daily files would compare every row a thousand times)."""
    names = [c.source_name for c in contract.columns] + [n for n, _ in contract.extra_columns]
    cols = ", ".join(f'"{n}" VARCHAR' for n in names)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE} ({cols}, _source_file VARCHAR, _source_row BIGINT, "
        "_parse_error VARCHAR, _raw_line VARCHAR)"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {FILES} (path VARCHAR, relpath VARCHAR, sha256 VARCHAR)")
    if files:
        con.executemany(f"INSERT INTO {FILES} VALUES (?, ?, ?)", [(str(f.path), f.relpath, f.sha256) for f in files])
    rejected: dict[str, str] = {}
    groups: dict[tuple, list[LandingFile]] = {}
    for f in files:
        if f.problem:
            rejected[f.relpath] = f.problem
            continue
        try:
            header = _header(f, contract)
            fmt = "baci" if header == BACI_HEADER else f.format
            groups.setdefault((fmt, *header), []).append(f)
        except FileRejected as exc:
            rejected[f.relpath] = str(exc)
    for (fmt, *header), group in groups.items():
        reader = _READERS[fmt]
        try:
            rejected.update(reader(con, contract, group, header) or {})
        except (duckdb.Error, FileRejected) as exc:
            if len(group) == 1:
                rejected[group[0].relpath] = sanitise(str(exc))
                continue
            for f in group:  # find the bad file(s), from a clean stage: a reader may have staged some files
                con.execute(f"DELETE FROM {STAGE} WHERE _source_file = ?", [f.relpath])
                try:
                    rejected.update(reader(con, contract, [f], header) or {})
                except (duckdb.Error, FileRejected) as one:
                    rejected[f.relpath] = sanitise(str(one))
    if rejected:  # rows staged from a file rejected after reading (e.g. truncated) do not count
        con.execute(f"DELETE FROM {STAGE} WHERE _source_file IN (SELECT unnest(?))", [list(rejected)])
    return rejected


# parts of DuckDB's messages that quote the data: a line holds clear party identifiers
_QUOTED = re.compile(r"^\s*(Original Line|Line Content|Input|Value|Problematic value)\s*:.*$", re.IGNORECASE)


def sanitise(message: str) -> str:
    """DuckDB's message without the data it quotes and without its generic 'possible fixes' advice:
    the reason and the position survive however long the offending line was."""
    keep = message.split("Possible fixes")[0].split("Possible Solution")[0]
    lines = [line.strip() for line in keep.strip().splitlines() if line.strip() and not _QUOTED.match(line)]
    return " ".join(lines)[:500]


def count_rows(f: LandingFile) -> int:
    """Rows a rejected file delivered, as far as they can be counted: data lines of a CSV (gzipped or
    not), the row count in a Parquet footer, the records of a JSON body; 0 where nothing is readable."""
    try:
        if f.problem and f.path.is_symlink():
            return 0
        if f.format == "csv":
            with _open_binary(f.path) as fh:
                lines = sum(1 for _ in fh)
            return max(0, lines - 1)
        if f.format == "parquet":
            return pq.ParquetFile(f.path).metadata.num_rows
        if f.format == "json":
            data = json.loads(f.path.read_text(encoding="utf-8")).get("data")
            return len(data) if isinstance(data, list) else 0
    except (OSError, ValueError, EOFError, zlib.error, pa.ArrowException, AttributeError):
        return 0
    return 0


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def csv_header(path: Path) -> list[str]:
    """The column names in a CSV file's first line (quoted names may hold commas)."""
    try:
        with _open_binary(path) as fh:
            first = fh.readline()
    except (OSError, EOFError, zlib.error) as exc:
        raise FileRejected(f"not a readable gzip file: {exc}") from None
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"not UTF-8 encoded: {exc}") from None
    return [n.strip() for n in next(csv.reader([line.rstrip("\r\n")]), [])]


def _header(f: LandingFile, contract: Contract) -> tuple[str, ...]:
    """Column names of the file, checked against the contract's required columns."""
    if f.format == "csv":
        names = tuple(csv_header(f.path))
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
        parts.append(f"{f'CAST({_ident(src)} AS VARCHAR)' if src else 'NULL'} AS {_ident(c.source_name)}")
    for name, _ in contract.extra_columns:
        value = f"'{source_format}'" if name == "source_format" and source_format else "NULL"
        parts.append(f"{value} AS {_ident(name)}")
    return ", ".join(parts)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _stage_csv(con, contract: Contract, files: list[LandingFile], header: list[str]) -> dict[str, str]:
    """CSV files of one header in one scan. A line DuckDB cannot split into the header's fields is
    staged as a row of its own with the parse error and its line number; an encoding error, or a bad
    last line without a line end (a truncated transfer), rejects the file."""
    columns = "{" + ", ".join(f"'{_sql_str(n)}': 'VARCHAR'" for n in header) + "}"
    available = {n.lower(): n for n in header}
    paths = "[" + ", ".join(f"'{_sql_str(str(f.path))}'" for f in files) + "]"
    con.execute("DROP TABLE IF EXISTS _csv_errors; DROP TABLE IF EXISTS _csv_scans")  # left by a failed read
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _csv AS
        SELECT * FROM read_csv({paths}, header = true, auto_detect = false,
            delim = ',', quote = '"', escape = '"', columns = {columns}, filename = true, strict_mode = true,
            store_rejects = true, rejects_table = '_csv_errors', rejects_scan = '_csv_scans')
    """)
    # one row per bad line, numbered as data rows (the header is line 1); the good rows' numbers then
    # skip the bad ones: good row k follows every bad row j (in line order) with line_j - 1 - j < k
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _bad AS
        SELECT f.relpath, f.path, min(e.line) - 1 AS data_row, any_value(e.csv_line) AS raw_line,
               string_agg(DISTINCT e.error_type, ', ') AS error_types,
               string_agg(DISTINCT e.error_message, '; ') AS messages,
               row_number() OVER (PARTITION BY f.relpath ORDER BY min(e.line)) AS j
        FROM _csv_errors AS e
        JOIN _csv_scans AS s ON s.scan_id = e.scan_id AND s.file_id = e.file_id
        JOIN {FILES} AS f ON f.path = s.file_path
        GROUP BY f.relpath, f.path, e.line
    """)
    rejected, last_bad = {}, {}
    for relpath, path, data_row, types, messages in con.execute(
        "SELECT relpath, path, data_row, error_types, messages FROM _bad ORDER BY relpath, data_row"
    ).fetchall():
        if ("INVALID ENCODING" in types or "INVALID UNICODE" in types) and relpath not in rejected:
            rejected[relpath] = f"not UTF-8 encoded (line {data_row + 1})"
        elif "UNQUOTED VALUE" in types and relpath not in rejected:  # the parser ran on past the lines after it
            rejected[relpath] = f"an unterminated quote at line {data_row + 1}: the lines after it cannot be split"
        last_bad[relpath] = (Path(path), data_row, messages)
    for relpath, (path, data_row, messages) in last_bad.items():
        # a bad last line without a line end is a transfer cut short, not a bad row
        if (
            relpath not in rejected
            and not _ends_with_newline(path)
            and data_row == count_rows(LandingFile(path, relpath, ""))
        ):
            rejected[relpath] = (
                f"truncated: the last line (line {data_row + 1}) has no line end and cannot be read: "
                f"{sanitise(messages)}"
            )
    # rows keep file order (insertion order is preserved), so a row's number is its offset in its file
    row = "c.rowid - firsts.first_row + 1"
    if rejected or con.execute("SELECT count(*) FROM _bad").fetchall()[0][0]:
        row = f"{row} + (SELECT count(*) FROM _bad AS b WHERE b.relpath = f.relpath AND b.data_row - b.j < {row})"
    con.execute(f"""
        INSERT INTO {STAGE} BY NAME
        SELECT {_select_list(contract, available, "comtrade_csv")}, f.relpath AS _source_file, {row} AS _source_row
        FROM _csv AS c
        JOIN {FILES} AS f ON f.path = c.filename
        JOIN (SELECT filename, min(rowid) AS first_row FROM _csv GROUP BY filename) AS firsts USING (filename)
    """)
    con.execute(f"""
        INSERT INTO {STAGE} BY NAME
        SELECT relpath AS _source_file, data_row AS _source_row, raw_line AS _raw_line,
               'line ' || (data_row + 1) || ': ' || messages AS _parse_error
        FROM _bad
    """)
    con.execute("DROP TABLE _csv; DROP TABLE _bad; DROP TABLE _csv_errors; DROP TABLE _csv_scans")
    return rejected


def _ends_with_newline(path: Path) -> bool:
    with _open_binary(path) as fh:
        if not path.name.lower().endswith(".gz"):
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return True
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"
        last = b""
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            last = chunk
        return last.endswith(b"\n") or not last


def _stage_parquet(con, contract: Contract, files: list[LandingFile], header: list[str]) -> None:
    available = {n.lower(): n for n in header}
    paths = "[" + ", ".join(f"'{_sql_str(str(f.path))}'" for f in files) + "]"
    con.execute(f"""
        INSERT INTO {STAGE} BY NAME
        SELECT {_select_list(contract, available, "comtrade_parquet")}, f.relpath AS _source_file,
               file_row_number + 1 AS _source_row
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
    fields = ", ".join(f"d->>'{c.source_name}' AS {_ident(c.source_name)}" for c in contract.columns)
    api = "'comtrade_api'"
    extras = "".join(f", {api if n == 'source_format' else 'NULL'} AS {_ident(n)}" for n, _ in contract.extra_columns)
    con.execute(f"""
        INSERT INTO {STAGE} BY NAME
        SELECT {fields}{extras}, _source_file,
               row_number() OVER (PARTITION BY _source_file ORDER BY i) AS _source_row
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
    home = home_comtrade_code()
    for f in files:
        countries = baci_country_file(f.path.parent)
        if countries is None:
            raise FileRejected(f"{f.relpath}: no BACI country_codes*.csv beside it")
        match = re.search(r"HS(\d\d)", f.path.name)
        if not match or match.group(1) not in BACI_VINTAGES:
            raise FileRejected(f"{f.relpath}: the HS edition (BACI_HSyy_...) is not in the file name")
        columns = countries.read_text(encoding="utf-8-sig").splitlines()[0].lower()
        iso3 = "country_iso3" if "country_iso3" in columns else "iso_3digit_alpha"  # 2024 and older releases
        partner = f"CASE WHEN TRY_CAST(b.i AS INTEGER) = {home} THEN b.j ELSE b.i END"
        exprs = {
            "typeCode": "'C'",
            "freqCode": "'A'",
            "period": "b.t",
            "reporterCode": partner,
            "reporterISO": f"c.{iso3}",
            "flowCode": f"CASE WHEN TRY_CAST(b.i AS INTEGER) = {home} THEN 'M' ELSE 'X' END",
            "partnerCode": f"'{home}'",
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
        select = ", ".join(f"{exprs.get(c.source_name, 'NULL')} AS {_ident(c.source_name)}" for c in contract.columns)
        con.execute(f"""
            INSERT INTO {STAGE} BY NAME
            SELECT {select}, 'baci' AS source_format, '{_sql_str(f.relpath)}' AS _source_file,
                   b.file_row_number + 1 AS _source_row
            FROM (SELECT *, row_number() OVER () - 1 AS file_row_number
                  FROM read_csv('{_sql_str(str(f.path))}', header = true, all_varchar = true)) AS b
            LEFT JOIN read_csv('{_sql_str(str(countries))}', header = true, all_varchar = true) AS c
                ON TRY_CAST(c.country_code AS INTEGER) = TRY_CAST({partner} AS INTEGER)
            WHERE TRY_CAST(b.i AS INTEGER) = {home} OR TRY_CAST(b.j AS INTEGER) = {home}
        """)


_READERS = {"csv": _stage_csv, "parquet": _stage_parquet, "json": _stage_comtrade_json, "baci": _stage_baci}


def _sql_str(value: str) -> str:
    return value.replace("'", "''")
