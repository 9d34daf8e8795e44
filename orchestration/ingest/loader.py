"""Idempotent, reconciled loads of landing files into `raw.<table>`.

A load is one DuckDB transaction per chunk of files (`CHUNK_BYTES` delivered, so that years of daily
files fit the memory limit): rows of a re-delivered file replace that file's earlier rows, rows that
break the contract go to `raw.quarantine` with every reason they broke it, files that cannot be read
are rejected with theirs, and `raw.load_log` records what each file gave: rows received = loaded +
quarantined + rejected, always. A killed process therefore leaves every file either loaded whole, with
its log entry, or as before, and a rerun completes the rest; an unchanged file (same path, same
content hash) is not read again.

Party identifiers are replaced by their keyed hashes on the way in. What holds clear identifiers (the
key map, quarantined rows as delivered) is written to the restricted store first, in its own
transaction (see `orchestration.ingest.restricted`); the warehouse keeps only keys, and for a
quarantined row its position and reasons.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration import settings
from orchestration.ingest import restricted
from orchestration.ingest.contracts import Contract
from orchestration.ingest.readers import FILES, STAGE, LandingFile, count_rows, stage_files

LINEAGE = (
    ("_source_file", "VARCHAR"),
    ("_source_hash", "VARCHAR"),
    ("_source_row", "BIGINT"),
    ("_load_id", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
)
# characters that parse but cannot be seen: a key holding one never matches its twin
# controls, formats (zero-width, bidi marks, BOM, soft hyphen, tags), line/paragraph separators and
# every space but the ASCII one
INVISIBLE = "[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{202f}\\x{205f}\\x{3000}]"
INTEGER_TEXT = "[+-]?[0-9]+([.]0*)?"
NUMBER_TEXT = "[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"
# dates and times as ISO 8601 writes them (a day of one or two digits, a time to the second or not,
# an offset only after the seconds): what every engine parses alike; 'epoch', '2024-01' or '24:00' are not data
DAY_TEXT = "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
CLOCK_TEXT = "[ T]([01]?[0-9]|2[0-3]):[0-5][0-9]"
SECONDS_TEXT = ":[0-5][0-9]([.][0-9]+)?"
OFFSET_TEXT = "(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)"
TYPED_TEXT = {  # the text a value of the type must be, before it is cast
    "INTEGER": INTEGER_TEXT,
    "BIGINT": INTEGER_TEXT,
    "DECIMAL": NUMBER_TEXT,
    "DOUBLE": NUMBER_TEXT,
    "DATE": f"{DAY_TEXT}({CLOCK_TEXT}({SECONDS_TEXT})?)?",
    "TIMESTAMP": f"{DAY_TEXT}({CLOCK_TEXT}({SECONDS_TEXT}{OFFSET_TEXT}?)?)?",
}
NOT_FINITE = "[+-]?(nan|inf|infinity)"
ECHOED_LENGTH = 4  # longer values are shown only in the restricted store
CHUNK_BYTES = 128 * 2**20  # delivered bytes typed and checked at once: a first load of 1M items is 4 chunks
FLOAT_NOISE = 1e-12  # relative: a few thousand ulps of a double, far below any money's scale
CHECKED = "_checked"  # the temp table of typed, staged rows and the reasons each breaks

# builds `CHECKED` from the validating query (DuckDB's SQL) over the staged rows: `validate_in_duckdb`,
# or another engine's (orchestration.engines.spark.validator)
Validate = Callable[[duckdb.DuckDBPyConnection, str], None]


def validate_in_duckdb(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS {sql}")


@dataclass
class FileResult:
    relpath: str
    sha256: str
    status: str  # loaded | unchanged | rejected
    received: int = 0
    loaded: int = 0
    quarantined: int = 0
    rejected_rows: int = 0
    error: str | None = None


@dataclass
class LoadReport:
    table: str
    load_id: str
    files: list[FileResult] = field(default_factory=list)
    table_rows: int = 0
    ledger_rows: int = 0  # rows the load log says the table holds
    emptied: list[tuple[str, int]] = field(default_factory=list)  # re-delivered with no rows: (file, rows before)
    unchecked_references: list[str] = field(default_factory=list)  # reference tables not loaded yet

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def received(self) -> int:
        return sum(f.received for f in self.files)

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def rejected_rows(self) -> int:
        return sum(f.rejected_rows for f in self.files)

    @property
    def reconciles(self) -> bool:
        """Each file: received = loaded + quarantined + rejected; the table: rows = what the log says."""
        return (
            all(f.received == f.loaded + f.quarantined + f.rejected_rows for f in self.files)
            and self.table_rows == self.ledger_rows
        )

    @property
    def rejected(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "rejected"]


def _columns(con, schema: str, table: str) -> set[str]:
    return {
        r[0].lower()
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    }


def ensure_tables(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Create the raw table and the shared bookkeeping tables; add contract columns that are new. A
    table of an older layout that held party identifiers in clear is dropped and reloaded from the
    landing area, and quarantined rows as delivered no longer stay in the warehouse."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    clear = {c.name.lower() for c in contract.columns if c.pseudonym}
    if clear & _columns(con, "raw", contract.table):  # both or neither: a kill in between would strand the table
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DROP TABLE raw.{contract.table}")
        con.execute("DELETE FROM raw.load_log WHERE table_name = ?", [contract.table])
        con.execute("COMMIT")
    columns = [(c.raw_name, c.type) for c in contract.columns] + list(contract.extra_columns) + list(LINEAGE)
    columns += [(f"{c.keyed_ref}_ref", "VARCHAR") for c in contract.columns if c.keyed_ref]
    con.execute(
        f"CREATE TABLE IF NOT EXISTS raw.{contract.table} (" + ", ".join(f'"{n}" {t}' for n, t in columns) + ")"
    )
    existing = _columns(con, "raw", contract.table)
    for name, type_ in columns:
        if name.lower() not in existing:
            con.execute(f'ALTER TABLE raw.{contract.table} ADD COLUMN "{name}" {type_}')
    con.execute("""
        CREATE TABLE IF NOT EXISTS raw.quarantine (
            table_name VARCHAR, source_file VARCHAR, source_hash VARCHAR, source_row BIGINT,
            reasons VARCHAR, load_id VARCHAR, quarantined_at TIMESTAMP)
    """)
    if "record" in _columns(con, "raw", "quarantine"):
        con.execute("ALTER TABLE raw.quarantine DROP COLUMN record")
    con.execute("""
        CREATE TABLE IF NOT EXISTS raw.load_changes (load_id VARCHAR, table_name VARCHAR, day DATE, logged_at TIMESTAMP)
    """)
    con.execute("""
        CREATE TABLE IF NOT EXISTS raw.load_log (
            load_id VARCHAR, table_name VARCHAR, source_file VARCHAR, source_hash VARCHAR, status VARCHAR,
            rows_received BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, error VARCHAR,
            logged_at TIMESTAMP, rows_rejected BIGINT)
    """)
    if "rows_rejected" not in _columns(con, "raw", "load_log"):
        con.execute("ALTER TABLE raw.load_log ADD COLUMN rows_rejected BIGINT DEFAULT 0")


def load_files(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    files: list[LandingFile],
    restricted_path: Path | None = None,
    validate: Validate = validate_in_duckdb,
) -> LoadReport:
    """Load `files` into `raw.<contract.table>`; see the module docstring for the guarantees. The
    restricted store defaults to the one of the warehouse file (`settings.restricted_path`); `validate`
    says which engine types and checks the rows."""
    ensure_tables(con, contract)
    load_id = uuid.uuid4().hex
    report = LoadReport(contract.table, load_id)
    done = loaded_files(con, contract.table)
    if contract.replace_all:
        files = files[-1:]  # a snapshot: the latest delivered file is the whole table
    pending = []
    for f in files:
        if done.get(f.relpath, (None,))[0] == f.sha256:
            report.files.append(FileResult(f.relpath, f.sha256, "unchanged"))
        else:
            pending.append(f)
    if pending:
        available = _tables(con, "raw")
        report.unchecked_references = sorted(contract.references - available)
        for chunk in chunks(pending, CHUNK_BYTES):
            rejected = stage_files(con, contract, chunk)
            staged = [f for f in chunk if f.relpath not in rejected]
            _check(con, contract, staged, available & contract.references, validate)
            _write(con, contract, staged, rejected, chunk, report, restricted_path or _beside(con))
            # free the chunk's memory now, and hold no clear identifier (`_keys`) past it
            con.execute(f"DROP TABLE {CHECKED}; DROP TABLE {FILES}; DROP TABLE IF EXISTS _keys")
        report.emptied = [
            (f.relpath, done[f.relpath][1])
            for f in report.files
            if f.status == "loaded" and f.received == 0 and done.get(f.relpath, (None, 0))[1]
        ]
    report.table_rows = con.execute(f"SELECT count(*) FROM raw.{contract.table}").fetchall()[0][0]
    report.ledger_rows = _ledger_rows(con, contract)
    return report


def removed_files(con: duckdb.DuckDBPyConnection, table: str, present: list[LandingFile]) -> list[tuple[str, int]]:
    """Files loaded earlier that are no longer in the landing area, with the rows they still hold:
    their rows stay (the landing area may be pruned), but an operator must hear of it."""
    if "load_log" not in _tables(con, "raw"):
        return []
    here = {f.relpath for f in present}
    loaded = con.execute(
        """SELECT source_file, arg_max(rows_loaded, logged_at) FROM raw.load_log
           WHERE table_name = ? AND status = 'loaded' AND source_file NOT LIKE 'builtin/%'
           GROUP BY source_file ORDER BY 1""",
        [table],
    ).fetchall()
    return [(f, n) for f, n in loaded if f not in here and " (mapped: " not in f]


def _tables(con, schema: str) -> set[str]:
    return {
        t
        for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]
        ).fetchall()
    }


def _beside(con: duckdb.DuckDBPyConnection) -> Path:
    (db,) = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0]
    return settings.restricted_path(Path(db)) if db else settings.restricted_path()


def _record_changes(con, contract: Contract, replaced: str, load_id: str, now: datetime) -> None:
    """The days whose rows this load removes or adds (the earliest day anything could depend on, for
    a reference snapshot): downstream models rebuild from the earliest day not yet rebuilt."""
    if contract.change_day is None:
        days = "SELECT DATE '1900-01-01' AS day"
    else:
        days = (
            f"SELECT {contract.change_day} AS day FROM raw.{contract.table} WHERE {replaced} "
            f"UNION SELECT {contract.change_day} FROM {CHECKED} WHERE len(_reasons) = 0"
        )
    con.execute(
        f"""
        INSERT INTO raw.load_changes
        SELECT DISTINCT ?, ?, day, ? FROM ({days}) WHERE day IS NOT NULL
    """,
        [load_id, contract.table, now],
    )


def _ledger_rows(con, contract: Contract) -> int:
    """Rows the table should hold by the load log: the last successful load of each file (of the
    latest file only, for a snapshot table)."""
    latest = con.execute(
        """
        SELECT source_file, arg_max(rows_loaded, logged_at), max(logged_at) FROM raw.load_log
        WHERE table_name = ? AND status = 'loaded' GROUP BY source_file ORDER BY 3
    """,
        [contract.table],
    ).fetchall()
    if contract.replace_all:
        return latest[-1][1] if latest else 0
    return sum(r[1] for r in latest)


def loaded_files(con, table: str) -> dict[str, tuple[str, int]]:
    """(content hash, rows loaded) of each file's last successful load."""
    if "load_log" not in _tables(con, "raw"):
        return {}
    rows = con.execute(
        """
        SELECT source_file, arg_max(source_hash, logged_at), arg_max(rows_loaded, logged_at) FROM raw.load_log
        WHERE table_name = ? AND status = 'loaded' GROUP BY source_file
    """,
        [table],
    ).fetchall()
    return {f: (h, n) for f, h, n in rows}


def _q(text: str) -> str:
    """`text` as the inside of an SQL string literal."""
    return text.replace("'", "''")


def _subst(template: str, name: str, sql: str) -> str:
    """Replace the placeholder word `name` (v, s or r) in a contract rule by an SQL expression."""
    return re.sub(rf"\b{name}\b", sql, template)


def _echo(s: str) -> str:
    """The offending value for the reason, if it is short enough to be a code or a number's text
    (`QQ`, `NaN`, `0x10`): a longer one may be a party identifier delivered in the wrong column, and
    reasons are read outside the restricted store, which keeps the row as delivered."""
    return f"CASE WHEN length({s}) <= {ECHOED_LENGTH} THEN ' (' || {s} || ')' ELSE '' END"


def _kind(c) -> str:
    """The column's type without its parameters: DECIMAL for DECIMAL(18,3)."""
    return c.type.split("(")[0].upper()


def _value_reasons(c, r: str, s: str, v: str, window: tuple[date, date]) -> list[str]:
    """What makes a value that parses not data: its type, finiteness, scale, date window, hidden
    characters. `r` is the delivered text, `s` the trimmed, normalised text, `v` the typed value (NULL
    unless `s` is the text of a value of its type)."""
    reasons = []
    kind = _kind(c)
    echo = _echo(s)
    if not c.free_text:
        reasons.append(
            f"CASE WHEN regexp_matches({r}, '{INVISIBLE}') THEN '{c.name}: contains an invisible character ('"
            f" || printf('U+%04X', unicode(regexp_extract({r}, '{INVISIBLE}'))) || ')' END"
        )
    bad = f"{s} IS NOT NULL AND {v} IS NULL"
    if kind in ("DECIMAL", "DOUBLE"):
        not_finite = (
            f"(regexp_full_match(lower({s}), '{NOT_FINITE}') "
            f"OR coalesce(abs(TRY_CAST({s} AS DOUBLE)) = CAST('Infinity' AS DOUBLE), false))"
        )
        reasons.append(f"CASE WHEN {not_finite} THEN '{c.name}: not a finite number' || {echo} END")
        bad = f"{bad} AND NOT {not_finite}"
        if kind == "DECIMAL":
            scale = int(c.type.split(",")[1].rstrip(") "))
            # more decimals than the scale, beyond the binary noise of a double (241.58000000000004 is
            # 241.58 as a float export writes it; -0.0001 in a 3-decimal column is not 0)
            as_double = f"CAST({v} AS DOUBLE)"
            noise = f"least({FLOAT_NOISE} * greatest(1, abs({as_double})), {0.1 * 10**-scale})"
            decimals = f"abs(TRY_CAST({s} AS DOUBLE) - {as_double}) > {noise}"
            reasons.append(
                f"CASE WHEN {v} IS NOT NULL AND {decimals} THEN '{c.name}: more decimals than the {scale} "
                f"the contract allows (nothing is rounded on the way in)' || {echo} END"
            )
    reasons.insert(0, f"CASE WHEN {bad} THEN '{c.name}: not a valid {kind.lower()}' || {echo} END")
    if c.dated:
        first, last = window
        after = last + timedelta(days=1)
        reasons.append(
            f"CASE WHEN {v} < DATE '{first}' OR {v} >= DATE '{after}' THEN "
            f"'{c.name}: outside the plausible dates {first} to {last}' || {echo} END"
        )
    for rule, message in c.text_rules:
        rule = _subst(_subst(rule, "r", r), "s", s)
        reasons.append(f"CASE WHEN {s} IS NOT NULL AND ({rule}) THEN '{c.name}: {_q(message)}' || {echo} END")
    if c.separator:
        reasons.append(
            f"CASE WHEN list_contains(string_split({s}, '{_q(c.separator)}'), '') THEN '{c.name}: an empty "
            "list element (two separators in a row, or one at an end)' END"
        )
    return reasons


def _typed(c, s: str) -> str:
    """The value of the normalised text `s` as the column's type; NULL where the text is not one
    (`TYPED_TEXT`), so that a rule over the value never judges a cast's guess (`0x10` as 16)."""
    kind = _kind(c)
    if c.type == "TIMESTAMP":  # an instant with an offset, as the wall-clock time of the session's zone
        cast = f"CAST(TRY_CAST({s} AS TIMESTAMPTZ) AS TIMESTAMP)"
    elif kind in ("INTEGER", "BIGINT"):  # `7.0` is 7 (not every engine casts it)
        cast = f"TRY_CAST(regexp_replace({s}, '[.]0*$', '') AS {c.type})"
    else:
        cast = f"TRY_CAST({s} AS {c.type})"
    if kind not in TYPED_TEXT:
        return cast
    return f"CASE WHEN regexp_full_match({s}, '{TYPED_TEXT[kind]}') THEN {cast} END"


def validation_sql(
    contract: Contract, references: set[str] = frozenset(), window: tuple[date, date] | None = None
) -> str:
    """One query typing every column and listing, per row, each contract rule it breaks; codes are
    looked up in the reference tables named in `references` (those already loaded). Written in
    DuckDB's SQL and portable by construction (lookups are joins, not subqueries in an expression):
    `orchestration.ingest.dialect` transpiles it for Spark."""
    window = window or settings.plausible_dates()
    delivered, text, typed, reasons, lookups = [], [], [], [], []
    for c in contract.columns:
        r, s, v = f'"r__{c.name}"', f'"s__{c.name}"', f'"{c.name}"'
        delivered.append(f'"{c.source_name}" AS {r}')
        expr = f"nullif(trim({r}), '')"
        if c.separator:  # each element trimmed, as a single value is
            sep = _q(c.separator)
            expr = f"array_to_string(list_transform(string_split({expr}, '{sep}'), lambda x: trim(x)), '{sep}')"
        text.append(f"{_subst(c.normalise, 's', expr) if c.normalise else expr} AS {s}")
        typed.append(f"{_typed(c, s)} AS {v}")
        if c.required:
            reasons.append(f"CASE WHEN {s} IS NULL THEN '{c.name}: required' END")
        reasons += _value_reasons(c, r, s, v, window)
        if c.rule:
            rule = _subst(c.rule, "v", v)
            reasons.append(f"CASE WHEN {v} IS NOT NULL AND NOT ({rule}) THEN '{c.name}: {_q(c.message)}' END")
        if c.reference and all(t in references for t, _ in c.reference.queries):
            known = " UNION ".join(q for _, q in c.reference.queries)
            alias = f'"_known__{c.name}"'
            looked_up = _subst(c.reference.expr, "v", f"typed.{v}")
            lookups.append(
                f"LEFT JOIN (SELECT DISTINCT k FROM ({known}) AS known(k) WHERE k IS NOT NULL) AS {alias} "
                f"ON {alias}.k = {looked_up}"
            )
            reasons.append(
                f"CASE WHEN {v} IS NOT NULL AND {alias}.k IS NULL THEN '{c.name}: not in the "
                f"{c.reference.name}' || {_echo(s)} END"
            )
    for rule, message in contract.row_rules:
        reasons.append(f"CASE WHEN NOT coalesce({rule}, true) THEN '{_q(message)}' END")
    extras = "".join(f', "{n}"' for n, _ in contract.extra_columns)
    return f"""
        WITH d AS (
            SELECT _source_file, _source_row, _parse_error, _raw_line{extras}, {", ".join(delivered)} FROM {STAGE}
        ),
        t AS (SELECT *, {", ".join(text)} FROM d),
        typed AS (SELECT *, {", ".join(typed)} FROM t)
        SELECT typed.*, CASE WHEN _parse_error IS NOT NULL THEN [_parse_error]
                       ELSE list_filter([{", ".join(reasons)}], lambda x: x IS NOT NULL) END AS _reasons
        FROM typed {" ".join(lookups)}
    """


def _check(con, contract: Contract, staged: list[LandingFile], references: set[str], validate: Validate) -> None:
    """Build `CHECKED`: typed rows with their reasons, duplicates of the key included.

    Typing and the contract's rules take one pass, on the engine `validate` runs; keys are then counted
    with a GROUP BY beside the raw table and only the rare duplicated or already-loaded keys get their
    extra reason by UPDATE (a window over every key sorted ten million rows to find none)."""
    key_cols = [f'"{k}"' for k in contract.key]
    key, c_key, r_key = (", ".join(f"{p}{k}" for k in key_cols) for p in ("", "c.", "r."))
    validate(con, validation_sql(contract, references))
    con.execute(f"DROP TABLE {STAGE}")  # only CHECKED is needed from here on
    # within this load, among rows that pass every rule, the first in delivery order stays
    con.execute(f"""
        UPDATE {CHECKED}
        SET _reasons = list_append({CHECKED}._reasons, 'duplicate key: first seen in ' || d._first)
        FROM (
            SELECT * FROM (
                SELECT c.rowid AS _rid, row_number() OVER w AS _rank,
                       first_value(c._source_file || ' row ' || c._source_row) OVER w AS _first
                FROM {CHECKED} AS c
                JOIN (SELECT {key} FROM {CHECKED} WHERE len(_reasons) = 0 GROUP BY {key} HAVING count(*) > 1) AS k
                    ON {_same("c", "k", key_cols)}
                WHERE len(c._reasons) = 0
                WINDOW w AS (PARTITION BY {c_key} ORDER BY c._source_file, c._source_row)
            ) WHERE _rank > 1
        ) AS d
        WHERE {CHECKED}.rowid = d._rid
    """)
    # a key already loaded from a file outside this load is a conflict; the same file is being replaced
    if contract.replace_all or not staged:
        return
    files = ", ".join(f"'{_q(f.relpath)}'" for f in staged)
    con.execute(f"""
        UPDATE {CHECKED}
        SET _reasons = list_append({CHECKED}._reasons, 'duplicate key: already loaded from ' || e._from)
        FROM (
            SELECT {r_key}, min(r._source_file) AS _from
            FROM raw.{contract.table} AS r
            JOIN (SELECT DISTINCT {key} FROM {CHECKED}) AS k ON {_same("r", "k", key_cols)}
            WHERE r._source_file NOT IN ({files})
            GROUP BY {r_key}
        ) AS e
        WHERE {_same(CHECKED, "e", key_cols)}
    """)


def chunks(files: list[LandingFile], limit: int) -> list[list[LandingFile]]:
    """Consecutive runs of files of at most `limit` bytes together (at least one file each), loaded one
    after the other so that a first load of years of daily files fits the memory limit. Each file is
    still loaded whole or not at all, and a key repeated in a later chunk is found as already loaded."""
    out: list[list[LandingFile]] = []
    size = limit
    for f in files:
        n = f.path.stat().st_size if f.path.is_file() else 0
        if size + n > limit and (not out or out[-1]):
            out.append([])
            size = 0
        out[-1].append(f)
        size += n
    return out


def _same(a: str, b: str, columns: list[str]) -> str:
    """Rows of `a` and `b` with the same key, an absent optional part (NULL) matching an absent one."""
    return " AND ".join(f"{a}.{k} IS NOT DISTINCT FROM {b}.{k}" for k in columns)


def _pseudonyms(con, contract: Contract) -> pa.Table | None:
    """The keys of every party identifier and keyed reference in the rows about to load (temp table
    `_keys`), computed here so that no clear identifier is written to the warehouse; returns the party
    keys, which the restricted store keeps (a declaration's reference needs no way back there)."""
    keyed = [(c, c.pseudonym or c.keyed_ref) for c in contract.columns if c.pseudonym or c.keyed_ref]
    if not keyed:
        return None
    key, _ = restricted.pseudonymisation_key()
    ids: dict[str, set[str]] = {}  # by kind: two columns of one kind share their keys
    for c, kind in keyed:
        value = f"unnest(string_split(\"{c.name}\", '{_q(c.separator)}'))" if c.separator else f'"{c.name}"'
        found = con.execute(
            f'SELECT DISTINCT {value} FROM {CHECKED} WHERE len(_reasons) = 0 AND "{c.name}" IS NOT NULL'
        ).fetchall()
        ids.setdefault(kind, set()).update(i for (i,) in found)
    tables = {kind: restricted.keyed(kind, sorted(found), key) for kind, found in ids.items()}
    con.register("_keys_arrow", pa.concat_tables(tables.values()))
    con.execute("CREATE OR REPLACE TEMP TABLE _keys AS SELECT * FROM _keys_arrow")
    con.unregister("_keys_arrow")
    parties = [tables[kind] for kind in sorted({c.pseudonym for c in contract.columns if c.pseudonym})]
    return pa.concat_tables(parties) if parties else None


def _keyed_list(c) -> str:
    """A list of party identifiers as the set of their keys: sorted, each once, joined by the separator
    (the order and repeats of a register's list mean nothing)."""
    sep = _q(c.separator)
    return (
        f"(SELECT array_to_string(list_sort(list_distinct(list(k.party_key))), '{sep}') "
        f"FROM unnest(string_split({CHECKED}.\"{c.name}\", '{sep}')) AS e(party_id) "
        f"JOIN _keys AS k ON k.party_type = '{c.pseudonym}' AND k.party_id = e.party_id)"
    )


def _write(con, contract: Contract, staged, rejected: dict[str, str], pending, report: LoadReport, store: Path) -> None:
    table, load_id = contract.table, report.load_id
    now = datetime.now(UTC).replace(tzinfo=None)
    received = dict(con.execute(f"SELECT _source_file, count(*) FROM {CHECKED} GROUP BY 1").fetchall())
    keys = _pseudonyms(con, contract)
    values, joins, names = [], [], []
    for c in contract.columns:
        alias = f"_k_{c.name}"
        if c.pseudonym and c.separator:
            names.append(c.raw_name)
            values.append(_keyed_list(c))
            continue
        if c.pseudonym or c.keyed_ref:
            kind = c.pseudonym or c.keyed_ref
            join = "JOIN" if c.required else "LEFT JOIN"  # an optional party left blank stays NULL
            on = f"{alias}.party_type = '{kind}' AND {alias}.party_id = \"{c.name}\""
            joins.append(f"{join} _keys AS {alias} ON {on}")
        if c.keyed_ref:
            names.append(f"{c.keyed_ref}_ref")
            values.append(f"{alias}.party_key")
        names.append(c.raw_name)
        values.append(f"{alias}.party_key" if c.pseudonym else f'"{c.name}"')
    names += [n for n, _ in contract.extra_columns]
    values += [f'"{n}"' for n, _ in contract.extra_columns]
    cols = ", ".join(f'"{n}"' for n in names)
    record = (
        "CASE WHEN _parse_error IS NOT NULL THEN to_json({'_line': _raw_line}) ELSE to_json({"
        + ", ".join(f"'{c.source_name}': \"r__{c.name}\"" for c in contract.columns)
        + "}) END"
    )
    files_sql = ", ".join(f"'{_q(f.relpath)}'" for f in staged) or "NULL"
    # the restricted store first: a kill before the warehouse commits makes the next run redo both
    records = con.sql(f"""
        SELECT '{table}' AS table_name, _source_file AS source_file, f.sha256 AS source_hash,
               _source_row AS source_row, CAST({record} AS VARCHAR) AS record
        FROM {CHECKED} JOIN {FILES} AS f ON f.relpath = _source_file WHERE len(_reasons) > 0
    """).to_arrow_table()
    if staged:
        replaced = None if contract.replace_all else [f.relpath for f in staged]
        fingerprint = restricted.key_fingerprint(restricted.pseudonymisation_key()[0])
        restricted.store_load(store, fingerprint, keys, records, table, replaced, load_id, now)
    con.execute("BEGIN TRANSACTION")
    try:
        if staged:
            where = "true" if contract.replace_all else f"_source_file IN ({files_sql})"
            _record_changes(con, contract, where, load_id, now)
            con.execute(f"DELETE FROM raw.{table} WHERE {where}")
            con.execute(
                f"DELETE FROM raw.quarantine WHERE table_name = '{table}' AND "
                + ("true" if contract.replace_all else f"source_file IN ({files_sql})")
            )
            con.execute(
                f"""
                INSERT INTO raw.{table} ({cols}, _source_file, _source_hash, _source_row, _load_id, _loaded_at)
                SELECT {", ".join(values)}, _source_file, f.sha256, _source_row, ?, ?
                FROM {CHECKED} JOIN {FILES} AS f ON f.relpath = _source_file {" ".join(joins)}
                WHERE len(_reasons) = 0
            """,
                [load_id, now],
            )
            con.execute(
                f"""
                INSERT INTO raw.quarantine
                SELECT '{table}', _source_file, f.sha256, _source_row, array_to_string(_reasons, '; '), ?, ?
                FROM {CHECKED} JOIN {FILES} AS f ON f.relpath = _source_file
                WHERE len(_reasons) > 0
            """,
                [load_id, now],
            )
        # what was written, counted apart from what was received: a row lost between them fails the reconcile
        loaded = dict(
            con.execute(
                f"SELECT _source_file, count(*) FROM raw.{table} WHERE _load_id = ? GROUP BY 1", [load_id]
            ).fetchall()
        )
        quarantined = dict(
            con.execute(
                "SELECT source_file, count(*) FROM raw.quarantine WHERE load_id = ? GROUP BY 1", [load_id]
            ).fetchall()
        )
        for f in pending:
            if f.relpath in rejected:
                rows = count_rows(f)
                result = FileResult(
                    f.relpath, f.sha256, "rejected", rows, rejected_rows=rows, error=rejected[f.relpath]
                )
            else:
                result = FileResult(
                    f.relpath,
                    f.sha256,
                    "loaded",
                    received.get(f.relpath, 0),
                    loaded.get(f.relpath, 0),
                    quarantined.get(f.relpath, 0),
                )
            con.execute(
                "INSERT INTO raw.load_log BY NAME SELECT ? AS load_id, ? AS table_name, ? AS source_file, "
                "? AS source_hash, ? AS status, ? AS rows_received, ? AS rows_loaded, ? AS rows_quarantined, "
                "? AS rows_rejected, ? AS error, ? AS logged_at",
                [
                    load_id,
                    table,
                    result.relpath,
                    result.sha256,
                    result.status,
                    result.received,
                    result.loaded,
                    result.quarantined,
                    result.rejected_rows,
                    result.error,
                    now,
                ],
            )
            report.files.append(result)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
