"""The input contracts (`../shared/contracts/inputs.md`) as data: column names, types, whether they are
required and the rule each value must meet. The loader turns these into one validating SQL query, so
the contract is stated once and every rejected row can name the rule it broke.

Beyond its type, a value must be data: finite numbers written as decimals (no NaN, Infinity or
hexadecimal), no more decimals than the column's scale (nothing is rounded on the way in), dates in a
plausible window, codes that are in the reference tables (not only shaped like a code), and
identifiers without invisible characters. Party identifiers are pseudonymised on load: the raw table
holds their keyed hashes (`trader_key`), the clear values live only in the restricted store; a list
of them in one field (an IPR recordation's authorised importers) is held as the set of their keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reference:
    """Known values of a code, from reference tables loaded before the table that uses them."""

    name: str  # what the reason calls it
    queries: tuple[tuple[str, str], ...]  # (raw reference table, SQL selecting its known values)
    expr: str = "v"  # the part of the value to look up


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type of the loaded column
    required: bool = False
    rule: str | None = None  # SQL predicate over the typed value `v`
    message: str | None = None  # what the rule means, for the quarantine reason
    source: str | None = None  # column name in the delivered file, when it differs
    normalise: str | None = None  # SQL applied to the trimmed text `s` before typing (e.g. upper(s))
    codes: bool = False  # a code with meaningful leading zeros: a numeric column in a typed file is refused
    free_text: bool = False  # prose (descriptions, names): invisible characters are not a fault here
    reference: Reference | None = None  # the value must be one the reference tables know
    dated: bool = False  # a date of an event: it must lie in the plausible window (settings)
    pseudonym: str | None = None  # party type: loaded as the keyed hash `<party>_key`, never in clear
    keyed_ref: str | None = None  # also loaded as the keyed hash `<name>_ref` beside the value (what BI sees)
    text_rules: tuple[tuple[str, str], ...] = ()  # (SQL over the delivered text `r` and the normalised `s`, message)
    # a list in one field (`6403;6404`): elements are trimmed, none may be blank; a pseudonymised list
    # is keyed element by element and held as its keys, sorted, each once, joined by the separator
    separator: str | None = None
    raw: str | None = None  # the raw table's column name, when neither the name nor `<party>_key` fits

    @property
    def source_name(self) -> str:
        return self.source or self.name

    @property
    def raw_name(self) -> str:
        """The column in the raw table: a party identifier is held only as its key."""
        return self.raw or (f"{self.pseudonym}_key" if self.pseudonym else self.name)


@dataclass(frozen=True)
class Contract:
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    row_rules: tuple[tuple[str, str], ...] = ()  # (SQL predicate over typed columns, message)
    replace_all: bool = False  # reference snapshots: the latest file replaces the whole table
    description: str = ""
    extra_columns: tuple[tuple[str, str], ...] = field(default=())  # (name, type) added by the reader
    # SQL giving the day a row belongs to; a load records the days it changed (raw.load_changes) so that
    # downstream models rebuild only from the earliest of them. Reference snapshots change everything.
    change_day: str | None = None

    @property
    def required(self) -> list[str]:
        return [c.source_name for c in self.columns if c.required]

    @property
    def references(self) -> set[str]:
        """The raw reference tables this contract's codes are checked against."""
        return {table for c in self.columns if c.reference for table, _ in c.reference.queries}


def _in(*values: str) -> str:
    return "v IN (" + ", ".join(f"'{v}'" for v in values) + ")"


NON_NEGATIVE = ("v >= 0", "must be >= 0")
ISO2 = ("regexp_full_match(v, '[A-Z]{2}')", "must be an ISO 3166-1 alpha-2 code")
ISO3 = ("regexp_full_match(v, '[A-Z]{3}')", "must be an ISO 3166-1 alpha-3 code")
ISO4217 = ("regexp_full_match(v, '[A-Z]{3}')", "must be an ISO 4217 code")


def _col(name, type_, required=False, check=(None, None), **kw) -> Column:
    return Column(name, type_, required, check[0], check[1], **kw)


MONEY = "DECIMAL(18,3)"

COUNTRY = Reference("countries reference table", (("countries", "SELECT iso2 FROM raw.countries"),))
CURRENCY = Reference(
    "currencies of the countries and exchange-rate reference tables",
    (
        ("countries", "SELECT currency FROM raw.countries"),
        ("exchange_rates", "SELECT currency FROM raw.exchange_rates"),
    ),
)
# a subheading of the current edition, or of an earlier one the concordance knows (a declaration of
# 2020 carries HS 2017 codes)
HS6 = Reference(
    "HS nomenclature or concordance reference tables (as a subheading of any edition)",
    (
        ("hs_nomenclature", "SELECT hscode FROM raw.hs_nomenclature WHERE level = 6"),
        (
            "hs_concordance",
            "SELECT code_before FROM raw.hs_concordance UNION SELECT code_after FROM raw.hs_concordance",
        ),
    ),
    expr="substring(v, 1, 6)",
)
TARIFF_LINE_TEXT = (
    (
        "regexp_full_match(trim(r), '[0-9]+[.]0+')",
        "looks like a number with a decimal part: deliver tariff lines as text",
    ),
    ("regexp_full_match(s, '[0-9]+') AND length(s) % 2 = 1", "has an odd number of digits: a leading zero lost?"),
)

FINDING_TYPES = ("undervaluation", "misclassification", "origin", "counterfeit", "prohibited", "other")

DECLARATION_ITEMS = Contract(
    table="declaration_items",
    description="Declaration items from the national clearance system, one row per goods item.",
    key=("declaration_id", "item_no"),
    columns=(
        _col("declaration_id", "VARCHAR", True, keyed_ref="declaration"),
        _col("item_no", "INTEGER", True, ("v >= 1", "must be an integer >= 1")),
        _col("flow", "VARCHAR", True, (_in("M", "X"), "must be M or X"), normalise="upper(s)"),
        _col("lodged_at", "TIMESTAMP", True, dated=True),
        _col("released_at", "TIMESTAMP", dated=True),
        _col("office_code", "VARCHAR", True),
        _col("procedure_code", "VARCHAR"),
        _col("declarant_id", "VARCHAR", True, pseudonym="declarant"),
        _col("trader_id", "VARCHAR", True, pseudonym="trader"),
        _col("seller_id", "VARCHAR", pseudonym="seller"),  # the foreign supplier on the invoice
        _col(
            "hs_code",
            "VARCHAR",
            True,
            ("regexp_full_match(v, '[0-9]{6,12}')", "must be 6 to 12 digits"),
            normalise="replace(replace(s, '.', ''), ' ', '')",
            codes=True,
            reference=HS6,
            text_rules=TARIFF_LINE_TEXT,
        ),
        _col("goods_description", "VARCHAR", free_text=True),
        _col("origin_country", "VARCHAR", True, ISO2, normalise="upper(s)", reference=COUNTRY),
        _col("partner_country", "VARCHAR", True, ISO2, normalise="upper(s)", reference=COUNTRY),
        _col(
            "transport_mode",
            "VARCHAR",
            False,
            (
                _in("sea", "air", "road", "rail", "post", "pipeline", "other"),
                "must be one of sea, air, road, rail, post, pipeline, other",
            ),
            normalise="lower(s)",
        ),
        _col("net_mass_kg", "DECIMAL(18,3)", True, NON_NEGATIVE),
        _col("supplementary_qty", "DECIMAL(18,3)", False, NON_NEGATIVE),
        _col("supplementary_unit", "VARCHAR"),
        _col("invoice_amount", "DECIMAL(20,2)", True, NON_NEGATIVE),
        _col("invoice_currency", "VARCHAR", True, ISO4217, normalise="upper(s)", reference=CURRENCY),
        _col("incoterm", "VARCHAR", normalise="upper(s)"),
        _col("customs_value_omr", MONEY, True, NON_NEGATIVE),
        _col("duty_omr", MONEY, False, NON_NEGATIVE),
        _col("vat_omr", MONEY, False, NON_NEGATIVE),
        _col("preference_code", "VARCHAR", normalise="upper(s)"),
        _col(
            "risk_channel",
            "VARCHAR",
            False,
            (_in("green", "yellow", "red", "blue"), "must be green, yellow, red or blue"),
            normalise="lower(s)",
        ),
        _col(
            "inspection_outcome",
            "VARCHAR",
            False,
            (_in("no_finding", "discrepancy", "seizure"), "must be no_finding, discrepancy or seizure"),
            normalise="lower(s)",
        ),
        _col(
            "finding_type",
            "VARCHAR",
            False,
            (_in(*FINDING_TYPES), "must be one of " + ", ".join(FINDING_TYPES)),
            normalise="lower(s)",
        ),
        # delivered already hashed by the clearance system; keyed again like a party identifier
        _col("trader_address_hash", "VARCHAR", pseudonym="address"),
        _col("trader_phone_hash", "VARCHAR", pseudonym="phone"),
    ),
    row_rules=(
        ("released_at IS NULL OR released_at >= lodged_at", "released_at is before lodged_at"),
        (
            "finding_type IS NULL OR coalesce(inspection_outcome, '') IN ('discrepancy', 'seizure')",
            "finding_type is given but inspection_outcome is not discrepancy or seizure (nothing was found)",
        ),
    ),
    change_day="CAST(lodged_at AS DATE)",
)

PARTNER_TRADE = Contract(
    table="partner_trade",
    description="Partner (mirror) statistics: UN Comtrade records, as API bodies or CSV with the same fields.",
    key=(
        "typeCode",
        "freqCode",
        "period",
        "reporterCode",
        "flowCode",
        "partnerCode",
        "partner2Code",
        "classificationCode",
        "cmdCode",
        "customsCode",
        "motCode",
    ),
    columns=(
        _col("typeCode", "VARCHAR", True, (_in("C", "S"), "must be C or S"), normalise="upper(s)"),
        _col("freqCode", "VARCHAR", True, (_in("A", "M"), "must be A or M"), normalise="upper(s)"),
        _col("period", "VARCHAR", True, ("regexp_full_match(v, '[0-9]{4}([0-9]{2})?')", "must be YYYY or YYYYMM")),
        _col("reporterCode", "INTEGER", True),
        _col("reporterISO", "VARCHAR", True, ISO3, normalise="upper(s)"),
        _col("flowCode", "VARCHAR", True, (_in("M", "X", "RM", "RX"), "must be M, X, RM or RX"), normalise="upper(s)"),
        _col("partnerCode", "INTEGER", True),
        _col("partnerISO", "VARCHAR", normalise="upper(s)"),
        _col("partner2Code", "INTEGER"),
        _col(
            "classificationCode",
            "VARCHAR",
            True,
            ("regexp_full_match(v, 'H[0-6]')", "must be H0 to H6"),
            normalise="upper(s)",
        ),
        _col(
            "cmdCode",
            "VARCHAR",
            True,
            ("regexp_full_match(v, 'TOTAL|[0-9]{2}|[0-9]{4}|[0-9]{6}')", "must be TOTAL or 2, 4 or 6 digits"),
            normalise="upper(s)",
        ),
        _col("customsCode", "VARCHAR"),
        _col("motCode", "INTEGER"),
        _col("qtyUnitCode", "INTEGER"),
        _col("qty", "DOUBLE", False, NON_NEGATIVE),
        _col("netWgt", "DOUBLE", False, NON_NEGATIVE),
        _col("cifvalue", "DOUBLE", False, NON_NEGATIVE),
        _col("fobvalue", "DOUBLE", False, NON_NEGATIVE),
        _col("primaryValue", "DOUBLE", True, NON_NEGATIVE),
        _col("isReported", "BOOLEAN"),
        _col("isAggregate", "BOOLEAN"),
    ),
    extra_columns=(("source_format", "VARCHAR"),),
    change_day="make_date(TRY_CAST(substring(period, 1, 4) AS INTEGER), 1, 1)",
)

COUNTRIES = Contract(
    table="countries",
    description="Countries: ISO alpha-2 and alpha-3, M49, Comtrade code, name, GCC membership.",
    key=("iso2",),
    replace_all=True,
    columns=(
        _col("iso2", "VARCHAR", True, ISO2, normalise="upper(s)"),
        _col("iso3", "VARCHAR", True, ISO3, normalise="upper(s)"),
        _col("m49", "INTEGER"),
        _col("comtrade_code", "INTEGER", True),
        _col("name", "VARCHAR", True, free_text=True),
        _col("region", "VARCHAR", free_text=True),
        _col("is_gcc", "BOOLEAN", True),
        _col("currency", "VARCHAR", False, ISO4217, normalise="upper(s)"),
    ),
)

EXCHANGE_RATES = Contract(
    table="exchange_rates",
    description="Exchange rates: units of the currency per Omani rial, by publication date.",
    key=("rate_date", "currency"),
    replace_all=True,
    columns=(
        _col("rate_date", "DATE", True),
        _col("currency", "VARCHAR", True, ISO4217, normalise="upper(s)"),
        _col("units_per_omr", "DECIMAL(18,6)", True, ("v > 0", "must be > 0")),
    ),
)

TARIFF_SCHEDULE = Contract(
    table="tariff_schedule",
    description="Tariff schedule: duty and VAT rates by HS prefix (longest prefix wins) and validity dates.",
    key=("tax_type", "hs_prefix", "valid_from"),
    replace_all=True,
    columns=(
        _col("hs_prefix", "VARCHAR", False, ("regexp_full_match(v, '[0-9]{0,12}')", "must be digits")),
        _col("tax_type", "VARCHAR", True, (_in("duty", "vat"), "must be duty or vat"), normalise="lower(s)"),
        _col("rate", "DECIMAL(9,6)", True, ("v >= 0 AND v <= 10", "must be a fraction between 0 and 10")),
        _col("specific_omr", "DECIMAL(18,3)", False, NON_NEGATIVE),
        _col("specific_unit", "VARCHAR"),
        _col("valid_from", "DATE", True),
        _col("valid_to", "DATE"),
        _col("description", "VARCHAR", free_text=True),
    ),
    row_rules=(("valid_to IS NULL OR valid_to >= valid_from", "valid_to is before valid_from"),),
)

CIF_FOB_MARGINS = Contract(
    table="cif_fob_margins",
    description="CIF/FOB margins: a default with overrides by partner and HS chapter.",
    key=("partner_iso3", "hs_chapter"),
    replace_all=True,
    columns=(
        _col("partner_iso3", "VARCHAR", False, ISO3, normalise="upper(s)"),
        _col(
            "hs_chapter",
            "VARCHAR",
            False,
            ("regexp_full_match(v, '[0-9]{2}')", "must be 2 digits"),
            normalise="lpad(s, 2, '0')",
        ),
        _col("margin", "DECIMAL(6,4)", True, ("v >= 1 AND v <= 2", "must be between 1 and 2")),
        _col("note", "VARCHAR", free_text=True),
    ),
)

HS_NOMENCLATURE = Contract(
    table="hs_nomenclature",
    description="HS nomenclature in the datasets/harmonized-system layout.",
    key=("hscode",),
    replace_all=True,
    columns=(
        _col("section", "VARCHAR", True),
        _col(
            "hscode",
            "VARCHAR",
            True,
            ("regexp_full_match(v, '[0-9]{2}|[0-9]{4}|[0-9]{6}')", "must be 2, 4 or 6 digits"),
        ),
        _col("description", "VARCHAR", True, free_text=True),
        _col("parent", "VARCHAR", True),
        _col("level", "INTEGER", True, ("v IN (2, 4, 6)", "must be 2, 4 or 6")),
    ),
)

HS_CONCORDANCE = Contract(
    table="hs_concordance",
    description="HS vintage concordance in the Growth Lab layout (leading zeros stripped).",
    key=("code_after", "code_before", "adjustment"),
    replace_all=True,
    columns=(
        _col(
            "code_after",
            "VARCHAR",
            True,
            ("regexp_full_match(v, '[0-9]{6}')", "must be an HS6 code"),
            source="code.after",
            normalise="lpad(s, 6, '0')",
        ),
        _col(
            "code_before",
            "VARCHAR",
            True,
            ("regexp_full_match(v, '[0-9]{6}')", "must be an HS6 code"),
            source="code.before",
            normalise="lpad(s, 6, '0')",
        ),
        _col("relationship", "VARCHAR", True, source="Relationship", free_text=True),
        _col(
            "adjustment", "VARCHAR", True, ("regexp_full_match(v, '[0-9]{4} to [0-9]{4}')", "must read 'YYYY to YYYY'")
        ),
    ),
)

HS_PREFIX = "([0-9]{2}|[0-9]{4}|[0-9]{6})"
ISO2_LIST = (
    "regexp_full_match(v, '[A-Z]{2}(;[A-Z]{2})*')",
    "must be ISO 3166-1 alpha-2 codes, separated by semicolons",
)

IPR_RECORDATIONS = Contract(
    table="ipr_recordations",
    description="IPR recordations: the rights holders' register (applications for action) customs check "
    "branded goods against.",
    key=("recordation_id",),
    replace_all=True,
    columns=(
        _col("recordation_id", "VARCHAR", True),
        _col("right_holder", "VARCHAR", True, free_text=True),
        _col("brand", "VARCHAR", True, free_text=True),
        _col("brand_variants", "VARCHAR", free_text=True, separator=";"),
        _col(
            "hs_scope",
            "VARCHAR",
            True,
            (
                f"regexp_full_match(v, '{HS_PREFIX}(;{HS_PREFIX})*')",
                "must be HS prefixes of 2, 4 or 6 digits, separated by semicolons",
            ),
            normalise="replace(s, '.', '')",
            codes=True,
            separator=";",
        ),
        # clear trader ids as on declarations: held as the same T- keys as their trader_key
        _col("authorised_importers", "VARCHAR", pseudonym="trader", separator=";", raw="authorised_trader_keys"),
        _col("authorised_origins", "VARCHAR", False, ISO2_LIST, normalise="upper(s)", separator=";"),
        _col("authorised_partner_countries", "VARCHAR", False, ISO2_LIST, normalise="upper(s)", separator=";"),
        _col("price_floor_omr", MONEY, False, NON_NEGATIVE),
        _col("price_floor_basis", "VARCHAR", False, (_in("kg", "unit"), "must be kg or unit"), normalise="lower(s)"),
        _col("valid_from", "DATE", True),
        _col("valid_to", "DATE"),
        _col("contact", "VARCHAR", free_text=True),
    ),
    row_rules=(
        (
            "price_floor_omr IS NULL OR price_floor_basis IS NOT NULL",
            "price_floor_basis is required with price_floor_omr",
        ),
        ("valid_to IS NULL OR valid_to >= valid_from", "valid_to is before valid_from"),
    ),
)

REFERENCE_CONTRACTS = (
    COUNTRIES,
    EXCHANGE_RATES,
    TARIFF_SCHEDULE,
    CIF_FOB_MARGINS,
    HS_NOMENCLATURE,
    HS_CONCORDANCE,
    IPR_RECORDATIONS,
)
ALL_CONTRACTS = (DECLARATION_ITEMS, PARTNER_TRADE, *REFERENCE_CONTRACTS)
