"""The pandas baseline: mirror_gaps and declaration_risk as an analyst would write them in a notebook,
from the same landing files (the rules' figures and rules_score; no learned model), with the thresholds
of dbt_project.yml read from the dbt vars. Straightforward pandas (read_csv, merge, groupby; one
groupby per month for the trailing references), no tricks.
Run through benchmarks/baselines.py; benchmarks/compare.py checks its results equal the marts'.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from orchestration.rules import omr_per_usd
from orchestration.rules import rule as project_rule

OMR_PER_USD = omr_per_usd()
MIRROR = project_rule("mirror")  # the marts' thresholds and weights, from the dbt vars
RISK = project_rule("risk")
MONTHS, MIN_REF_ITEMS = RISK["reference_months"], RISK["min_reference_items"]
IRREGULAR = RISK["irregular_outcomes"]
VINTAGE_OF_YEAR = {"1992": "H0", "1996": "H1", "2002": "H2", "2007": "H3", "2012": "H4", "2017": "H5", "2022": "H6"}


def run(landing: Path, seeds: Path, out: Path) -> None:
    ref = landing / "reference"
    countries = pd.read_csv(ref / "countries.csv", keep_default_na=False, na_values=[""])
    items = load_items(landing, countries)
    partner = load_partner(landing)
    groups = concordance_groups(pd.read_csv(ref / "hs_concordance.csv", dtype=str))
    gaps, mirror, vintages = mirror_gaps(
        items, partner, groups, countries, pd.read_csv(ref / "cif_fob_margins.csv", dtype={"hs_chapter": str})
    )
    tariff = pd.read_csv(ref / "tariff_schedule.csv", dtype={"hs_prefix": str}, parse_dates=["valid_from", "valid_to"])
    procedures = pd.read_csv(seeds / "procedure_codes.csv", dtype={"procedure_code": str})
    excess = origin_mirror(items, mirror, vintages, groups)
    risk = declaration_risk(items, tariff, procedures, gaps["hs6"].unique(), excess)
    out.mkdir(parents=True, exist_ok=True)
    gaps.to_parquet(out / "mirror_gaps.parquet", index=False)
    risk.to_parquet(out / "declaration_risk.parquet", index=False)


# ---- inputs ---------------------------------------------------------------------------------------
def load_items(landing: Path, countries: pd.DataFrame) -> pd.DataFrame:
    cols = ["declaration_id", "item_no", "flow", "lodged_at", "procedure_code", "declarant_id", "trader_id", "hs_code",
            "origin_country", "partner_country", "net_mass_kg", "customs_value_omr", "duty_omr", "vat_omr",
            "preference_code", "inspection_outcome"]  # fmt: skip
    frames = []
    for f in sorted((landing / "declarations").rglob("items_*")):  # a day is delivered as CSV or Parquet
        if f.suffix == ".csv":
            frames.append(
                pd.read_csv(
                    f,
                    usecols=cols,
                    dtype={"hs_code": str, "procedure_code": str},
                    keep_default_na=False,
                    na_values=[""],
                    parse_dates=["lodged_at"],
                )  # fmt: skip
            )
        elif f.suffix == ".parquet":
            frames.append(pd.read_parquet(f, columns=cols))
    items = pd.concat(frames, ignore_index=True)
    lodged = pd.to_datetime(items.pop("lodged_at"))
    items["lodged_date"] = lodged.dt.normalize()
    items["month_index"] = lodged.dt.year * 12 + lodged.dt.month
    items["hs6"] = items["hs_code"].str[:6]
    items["hs4"] = items["hs_code"].str[:4]
    iso = countries.set_index("iso2")
    items["origin_iso3"] = items["origin_country"].map(iso["iso3"])
    items["partner_iso3"] = items["partner_country"].map(iso["iso3"])
    items["origin_is_gcc"] = items["origin_country"].map(iso["is_gcc"]).fillna(False).astype(bool)
    items["partner_is_gcc"] = items["partner_country"].map(iso["is_gcc"]).fillna(False).astype(bool)
    items["customs_value_usd"] = (items["customs_value_omr"] / OMR_PER_USD).round(6)
    mass = items["net_mass_kg"]
    items["unit_value_omr_kg"] = (items["customs_value_omr"] / mass.where(mass > 0)).round(6)
    return items


def load_partner(landing: Path) -> pd.DataFrame:
    frames = []
    for f in sorted((landing / "partner_trade" / "comtrade").glob("*.json")):
        frames.append(pd.DataFrame(json.loads(f.read_text())["data"]))
    for f in sorted((landing / "partner_trade").rglob("*.csv")):  # bulk downloads, per-reporter extracts
        frames.append(pd.read_csv(f, dtype={"cmdCode": str, "period": str}))
    p = pd.concat(frames, ignore_index=True)
    p["period"] = p["period"].astype(str)
    p["cmdCode"] = p["cmdCode"].astype(str)
    p["year"] = p["period"].str[:4].astype(int)
    p["hs6"] = p["cmdCode"].where(p["cmdCode"].str.len() == 6)
    return p


def concordance_groups(conc: pd.DataFrame, passes: int = 8) -> pd.DataFrame:
    """Connected components of the HS 2022 <-> older-edition correspondence, by label propagation."""
    c = pd.DataFrame(
        {
            "v": conc["adjustment"].str[8:12].map(VINTAGE_OF_YEAR),
            "a": conc["code.after"].str.zfill(6),
            "b": conc["code.before"].str.zfill(6),
            "after_year": conc["adjustment"].str[:4],
        }
    )
    c = c[(c["after_year"] == "2022") & c["v"].notna() & (c["v"] != "H6")][["v", "a", "b"]].drop_duplicates()
    c["sources"] = c.groupby(["v", "a"])["b"].transform("size")
    c["ordinary"] = c.groupby(["v", "b"])["sources"].transform(lambda s: (s <= MIRROR["concordance_max_sources"]).any())
    edges = c[(c["sources"] <= MIRROR["concordance_max_sources"]) | ~c["ordinary"]][["v", "a", "b"]]
    labels_a = edges[["v", "a"]].drop_duplicates().assign(label=lambda d: d["a"]).rename(columns={"a": "hs6"})
    for _ in range(passes):
        labels_b = (
            edges.merge(labels_a, left_on=["v", "a"], right_on=["v", "hs6"])
            .groupby(["v", "b"], as_index=False)["label"]
            .min()
            .rename(columns={"b": "hs6"})
        )
        labels_a = (
            edges.merge(labels_b, left_on=["v", "b"], right_on=["v", "hs6"])
            .groupby(["v", "a"], as_index=False)["label"]
            .min()
            .rename(columns={"a": "hs6"})
        )
    size = labels_a.groupby(["v", "label"]).size().rename("size").reset_index()
    national = labels_a.merge(size, on=["v", "label"]).assign(side="national")
    partner = labels_b.merge(size, on=["v", "label"]).assign(side="partner")
    return pd.concat([national, partner]).rename(columns={"label": "group_hs6"})


# ---- mirror gaps ----------------------------------------------------------------------------------
def mirror_gaps(items, partner, groups, countries, margins) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The gaps, with the partners' mirror and reporting vintages they were measured on."""
    about_oman = partner[partner["partnerCode"] == MIRROR["home_comtrade_code"]]
    by_vintage = about_oman.groupby(["reporterISO", "year", "classificationCode"], as_index=False)["primaryValue"].sum()
    by_vintage = by_vintage.sort_values(["primaryValue", "classificationCode"], ascending=False)
    vintages = by_vintage.drop_duplicates(["reporterISO", "year"]).rename(
        columns={"reporterISO": "partner_iso3", "classificationCode": "hs_vintage"}
    )[["partner_iso3", "year", "hs_vintage"]]

    r = about_oman[
        (about_oman["typeCode"] == "C")
        & (about_oman["customsCode"].fillna("C00") == "C00")
        & (about_oman["motCode"].fillna(0) == 0)
        & (about_oman["partner2Code"].fillna(0) == 0)
        & (about_oman["hs6"].notna() | about_oman["cmdCode"].isin(MIRROR["never_flag_commodities"]))
    ]
    annual = set(zip(r.loc[r["freqCode"] == "A", "reporterISO"], r.loc[r["freqCode"] == "A", "year"], strict=True))
    has_annual = pd.Series([k in annual for k in zip(r["reporterISO"], r["year"], strict=True)], index=r.index)
    r = r[(r["freqCode"] == "A") | ~has_annual]
    pg = groups[groups["side"] == "partner"][["v", "hs6", "group_hs6"]]
    r = r.merge(pg, how="left", left_on=["classificationCode", "hs6"], right_on=["v", "hs6"])
    r["mapped_hs6"] = r["group_hs6"].fillna(r["hs6"]).fillna(r["cmdCode"])
    r["flow"] = np.where(r["flowCode"].isin(["X", "RX"]), "M", "X")
    r["reexport"] = r["flowCode"].isin(["RX", "RM"])
    r["mapped"] = (r["classificationCode"] == "H6") | r["group_hs6"].notna() | r["hs6"].isna()
    own = ~r["reexport"]
    r["v_own"] = r["primaryValue"].where(own, 0.0)
    r["kg_own"] = r["netWgt"].where(own, 0.0)
    r["cif_own"] = r["cifvalue"].where(own)
    r["fob_own"] = r["fobvalue"].where(own)
    r["cif_missing"] = own & r["cifvalue"].isna()
    r["fob_missing"] = own & r["fobvalue"].isna()
    r["v_rx"] = r["primaryValue"].where(r["reexport"], 0.0)
    r = r.rename(columns={"reporterISO": "partner_iso3"})
    mirror = r.groupby(["year", "flow", "partner_iso3", "mapped_hs6"], as_index=False).agg(
        mirror_value_usd=("v_own", "sum"),
        cif=("cif_own", "sum"),
        fob=("fob_own", "sum"),
        cif_missing=("cif_missing", "any"),
        fob_missing=("fob_missing", "any"),
        mirror_kg=("kg_own", "sum"),
        mirror_reexport_value_usd=("v_rx", "sum"),
        is_vintage_mapped=("mapped", "all"),
    )
    mirror["mirror_cif"] = mirror["cif"].where(~mirror["cif_missing"])
    mirror["mirror_fob"] = mirror["fob"].where(~mirror["fob_missing"])
    mirror = mirror.rename(columns={"mapped_hs6": "hs6"})

    n = items[["lodged_date", "flow", "origin_iso3", "partner_iso3", "hs6", "customs_value_usd", "net_mass_kg"]].copy()
    n["year"] = n["lodged_date"].dt.year
    n["partner_iso3"] = np.where(n["flow"] == "M", n["origin_iso3"], n["partner_iso3"])
    n = n[n["partner_iso3"].notna()]
    n = n.merge(vintages, how="left", on=["partner_iso3", "year"])
    ng = groups[groups["side"] == "national"][["v", "hs6", "group_hs6"]]
    n = n.merge(ng, how="left", left_on=["hs_vintage", "hs6"], right_on=["v", "hs6"])
    n["hs6"] = n["group_hs6"].fillna(n["hs6"])
    national = n.groupby(["year", "flow", "partner_iso3", "hs6"], as_index=False).agg(
        national_value_usd=("customs_value_usd", "sum"),
        national_kg=("net_mass_kg", "sum"),
        national_items=("customs_value_usd", "size"),
    )

    keys = ["year", "flow", "partner_iso3", "hs6"]
    pairs = national.merge(mirror, how="outer", on=keys)
    for col in ("national_value_usd", "national_kg", "national_items", "mirror_value_usd", "mirror_kg",
                "mirror_reexport_value_usd"):  # fmt: skip
        pairs[col] = pairs[col].fillna(0)
    pairs["is_vintage_mapped"] = pairs["is_vintage_mapped"].fillna(True).astype(bool)
    pairs = pairs.merge(vintages, how="left", on=["partner_iso3", "year"])
    pairs["partner_reported_year"] = pairs["hs_vintage"].notna()

    m = margins.copy()
    m["s"] = m["hs_chapter"].notna() * 2 + m["partner_iso3"].notna() * 1
    pairs["chapter"] = pairs["hs6"].str[:2]
    pairs["margin"] = MIRROR["default_cif_fob_margin"]
    best = pd.Series(-1, index=pairs.index)
    for _, rule in m.iterrows():
        hit = (pairs["partner_iso3"] == rule["partner_iso3"]) | pd.isna(rule["partner_iso3"])
        hit &= (pairs["chapter"] == rule["hs_chapter"]) | pd.isna(rule["hs_chapter"])
        better = hit & (rule["s"] > best)
        pairs.loc[better, "margin"] = rule["margin"]
        best[better] = rule["s"]

    imp = pairs["flow"] == "M"
    pairs["mirror_value_adjusted_usd"] = np.select(
        [imp & pairs["mirror_cif"].notna(), imp, pairs["mirror_fob"].notna()],
        [pairs["mirror_cif"], pairs["mirror_value_usd"] * pairs["margin"], pairs["mirror_fob"]],
        pairs["mirror_value_usd"] / pairs["margin"],
    )
    nat, mir = pairs["national_value_usd"], pairs["mirror_value_adjusted_usd"]
    pairs["gap_usd"] = nat - mir
    total = nat + mir
    sd = (nat - mir).abs() / total.where(total > 0)
    code = pairs["partner_iso3"].map(countries.set_index("iso3")["comtrade_code"])
    excluded = code.isin(MIRROR["special_partner_codes"]) | pairs["hs6"].isin(MIRROR["never_flag_commodities"])
    material = (pairs["gap_usd"].abs() >= MIRROR["min_gap_usd"]) & (sd >= MIRROR["min_symmetric_discrepancy"])
    pairs["is_flagged"] = material & ~excluded & pairs["partner_reported_year"] & pairs["is_vintage_mapped"]
    gaps = pairs[keys + ["national_value_usd", "mirror_value_usd", "mirror_value_adjusted_usd", "gap_usd",
                         "national_items", "is_flagged"]]  # fmt: skip
    return gaps, mirror, vintages


def origin_mirror(items, mirror, vintages, groups) -> pd.DataFrame:
    """Excess share of GCC-origin imports consigned from a GCC partner over its own exports to Oman (at CIF,
    in rials), per year x partner x HS6, for the cells over the ratio and the floor."""
    c = items[(items["flow"] == "M") & items["origin_is_gcc"] & items["partner_is_gcc"]]
    c = c[["lodged_date", "partner_iso3", "hs6", "customs_value_omr"]].copy()
    c["year"] = c["lodged_date"].dt.year
    c = c.merge(vintages, on=["partner_iso3", "year"])  # partners that reported that year
    ng = groups[groups["side"] == "national"][["v", "hs6", "group_hs6"]]
    c = c.merge(ng, how="left", left_on=["hs_vintage", "hs6"], right_on=["v", "hs6"])
    c["mirror_hs6"] = c["group_hs6"].fillna(c["hs6"])
    cells = c.groupby(["year", "partner_iso3", "mirror_hs6"], as_index=False)["customs_value_omr"].sum()
    exports = mirror[mirror["flow"] == "M"][["year", "partner_iso3", "hs6", "mirror_value_usd"]]
    cells = cells.merge(
        exports.rename(columns={"hs6": "mirror_hs6"}), how="left", on=["year", "partner_iso3", "mirror_hs6"]
    )
    value = cells["customs_value_omr"]
    reported = cells["mirror_value_usd"].fillna(0) * OMR_PER_USD * MIRROR["default_cif_fob_margin"]
    cells["excess_share"] = (value - reported) / value
    cells = cells[
        (value > RISK["origin_mirror_ratio"] * reported) & (value - reported >= RISK["origin_mirror_min_excess_omr"])
    ]
    found = c[["year", "partner_iso3", "hs6", "mirror_hs6"]].drop_duplicates()
    found = found.merge(
        cells[["year", "partner_iso3", "mirror_hs6", "excess_share"]], on=["year", "partner_iso3", "mirror_hs6"]
    )
    return found[["year", "partner_iso3", "hs6", "excess_share"]]


# ---- declaration risk -----------------------------------------------------------------------------
def _best_rate(lines: pd.DataFrame, code: str, date: str, tariff: pd.DataFrame) -> pd.DataFrame:
    """Longest matching HS prefix valid on the date, per line and tax type."""
    t = tariff.copy()
    t["hs_prefix"] = t["hs_prefix"].fillna("")
    t["plen"] = t["hs_prefix"].str.len()
    found = []
    for plen, rules in t.groupby("plen"):
        cand = lines.assign(hs_prefix=lines[code].str[:plen]).merge(rules, on="hs_prefix")
        ok = (cand[date] >= cand["valid_from"]) & (cand["valid_to"].isna() | (cand[date] <= cand["valid_to"]))
        found.append(cand[ok])
    m = pd.concat(found).sort_values(["plen", "valid_from"], ascending=False)
    m = m.drop_duplicates([code, date, "tax_type"])
    return m.pivot_table(index=[code, date], columns="tax_type", values="rate", aggfunc="first").reset_index()


def trailing_references(items: pd.DataFrame) -> pd.DataFrame:
    """Quantiles of the 12 months before each month, one groupby per target month and level."""
    pop = items[(items["unit_value_omr_kg"] > 0) & ~items["inspection_outcome"].isin(IRREGULAR)]
    levels = {"hs6_origin": ["flow", "hs6", "origin_iso3"], "hs6": ["flow", "hs6"], "hs4": ["flow", "hs4"]}
    out = []
    for month in sorted(items["month_index"].unique()):
        window = pop[(pop["month_index"] >= month - MONTHS) & (pop["month_index"] <= month - 1)]
        if window.empty:
            continue
        for level, keys in levels.items():
            g = window.groupby(keys)["unit_value_omr_kg"]
            q = g.quantile([0.10, 0.25, 0.50, 0.75, 0.90]).unstack()
            q.columns = ["p10", "p25", "p50", "p75", "p90"]
            q["n"] = g.size()
            q = q[q["n"] >= MIN_REF_ITEMS].reset_index()
            q = q.rename(columns={keys[1]: "code"}).assign(level=level, month_index=month)
            out.append(q)
    return pd.concat(out, ignore_index=True)


def declaration_risk(items, tariff, procedures, mirror_hs6, excess) -> pd.DataFrame:
    """Every item's rules: signals, money at risk, rules_score. `excess`: the origin mirror's cells."""
    lines = items[["hs_code", "lodged_date"]].drop_duplicates()
    rates = _best_rate(lines, "hs_code", "lodged_date", tariff).rename(columns={"duty": "mfn", "vat": "vat"})
    d = items.merge(rates, how="left", on=["hs_code", "lodged_date"])
    d = d.merge(procedures, how="left", on="procedure_code")
    d["mfn_duty_rate"] = d["mfn"].fillna(0)
    d["gcc_pref"] = (d["preference_code"] == RISK["gcc_preference_code"]) & d["origin_is_gcc"]
    d["duty_exempt"] = d["duty_exempt"].fillna(False).astype(bool)
    vat_exempt = d["vat_exempt"].fillna(False).astype(bool)
    d["duty_rate"] = np.where((d["flow"] == "X") | d["gcc_pref"] | d["duty_exempt"], 0, d["mfn_duty_rate"])
    d["vat_rate"] = np.where((d["flow"] == "X") | vat_exempt, 0, d["vat"].fillna(0))

    refs = trailing_references(items)
    for level, keys in (
        ("hs6_origin", ["flow", "hs6", "origin_iso3"]),
        ("hs6", ["flow", "hs6"]),
        ("hs4", ["flow", "hs4"]),
    ):
        r = refs[refs["level"] == level].rename(columns={"code": keys[1]})
        r = r[keys + ["month_index", "p25", "p50"]].rename(columns={"p25": f"{level}_p25", "p50": f"{level}_p50"})
        d = d.merge(r, how="left", on=keys + ["month_index"])
    d["ref_median"] = d["hs6_origin_p50"].fillna(d["hs6_p50"]).fillna(d["hs4_p50"])
    d["ref_low"] = d["hs6_origin_p25"].fillna(d["hs6_p25"]).fillna(d["hs4_p25"])
    d["own_hs6_median"] = d["hs6_p50"]

    # misclassification: a higher-duty subheading of the same heading whose p10-p90 holds the unit value
    months = pd.DataFrame({"month_start": sorted(d["lodged_date"].dt.to_period("M").dt.to_timestamp().unique())})
    codes = pd.DataFrame({"hs6": sorted(set(d["hs6"]) | set(mirror_hs6))})
    grid = codes.merge(months, how="cross")
    hs6_rates = _best_rate(grid, "hs6", "month_start", tariff[tariff["hs_prefix"].fillna("").str.len() <= 6])
    uv, own = d["unit_value_omr_kg"], d["own_hs6_median"]
    suspect = d[
        (d["flow"] == "M")
        & (own > 0)
        & ((uv > RISK["misclassification_ratio"] * own) | (uv * RISK["misclassification_ratio"] < own))
        & ~d["gcc_pref"]
        & ~d["duty_exempt"]
    ]
    suspect = suspect[["declaration_id", "item_no", "flow", "hs4", "hs6", "month_index", "lodged_date",
                       "unit_value_omr_kg", "mfn_duty_rate"]].copy()  # fmt: skip
    suspect["month_start"] = suspect["lodged_date"].dt.to_period("M").dt.to_timestamp()
    c = refs[refs["level"] == "hs6"][["flow", "code", "month_index", "p10", "p50", "p90"]].copy()
    c["hs4"] = c["code"].str[:4]
    cand = suspect.merge(c, on=["flow", "hs4", "month_index"])
    cand = cand[(cand["code"] != cand["hs6"]) & cand["unit_value_omr_kg"].between(cand["p10"], cand["p90"])]
    cand = cand.merge(
        hs6_rates[["hs6", "month_start", "duty"]].rename(columns={"hs6": "code"}), on=["code", "month_start"]
    )
    cand = cand[cand["duty"] > cand["mfn_duty_rate"]]
    cand["distance"] = (cand["unit_value_omr_kg"] - cand["p50"]).abs() / cand["p50"]
    cand = cand.sort_values(["duty", "distance", "code"], ascending=[False, True, True])
    cand = cand.drop_duplicates(["declaration_id", "item_no"])
    cand = cand[["declaration_id", "item_no", "code", "duty"]].rename(
        columns={"code": "suggested_hs6", "duty": "suggested_rate"}
    )
    d = d.merge(cand, how="left", on=["declaration_id", "item_no"])

    # origin mirror: the excess share of the item's year x partner x HS6 cell, where it is over the rules
    d["year"] = d["lodged_date"].dt.year
    d = d.merge(excess, how="left", on=["year", "partner_iso3", "hs6"])

    # parties' inspection history over the 12 months before
    inspected = d[d["inspection_outcome"].notna()]
    history = []
    for party_type, column in (("trader", "trader_id"), ("declarant", "declarant_id")):
        decl = inspected[[column, "declaration_id", "month_index", "inspection_outcome"]].drop_duplicates()
        decl["hit"] = decl["inspection_outcome"].isin(IRREGULAR)
        monthly = (
            decl.groupby([column, "month_index"]).agg(inspected=("hit", "size"), hits=("hit", "sum")).reset_index()
        )
        for month in sorted(d["month_index"].unique()):
            window = monthly[(monthly["month_index"] >= month - MONTHS) & (monthly["month_index"] <= month - 1)]
            if window.empty:
                continue
            sums = window.groupby(column)[["hits", "inspected"]].sum()
            parties = pd.Index(d.loc[d["month_index"] == month, column].unique())
            sums = sums.reindex(parties, fill_value=0)
            history.append(pd.DataFrame({"party_type": party_type, "party_id": sums.index, "month_index": month,
                                         "hits": sums["hits"].to_numpy(),
                                         "inspected": sums["inspected"].to_numpy()}))  # fmt: skip
    h = pd.concat(history, ignore_index=True)
    # the overall rate of the window counts trader and declarant inspections alike
    window_rate = {}
    both = pd.concat(
        [
            inspected[[c, "declaration_id", "month_index", "inspection_outcome"]]
            .drop_duplicates()
            .rename(columns={c: "p"})
            for c in ("trader_id", "declarant_id")
        ]  # fmt: skip
    )
    both["hit"] = both["inspection_outcome"].isin(IRREGULAR)
    per_month = both.groupby("month_index")["hit"].agg(["sum", "size"])
    for month in sorted(d["month_index"].unique()):
        w = per_month[(per_month.index >= month - MONTHS) & (per_month.index <= month - 1)]
        if len(w) and w["size"].sum():
            window_rate[month] = w["sum"].sum() / w["size"].sum()
    h["base"] = h["month_index"].map(window_rate)
    h = h[h["base"].notna()]
    prior = RISK["hit_rate_prior_weight"]
    h["rate"] = (h["hits"] + prior * h["base"]) / (h["inspected"] + prior)
    # a history signal needs evidence: enough prior inspections and hits, a positive overall rate
    h["evident"] = (
        (h["inspected"] >= RISK["history_min_inspections"]) & (h["hits"] >= RISK["history_min_hits"]) & (h["base"] > 0)
    )
    for party_type, column, prefix in (("trader", "trader_id", "t"), ("declarant", "declarant_id", "dc")):
        part = h[h["party_type"] == party_type].copy()
        part["signal"] = part["evident"] & (part["rate"] >= RISK[f"{party_type}_history_ratio"] * part["base"])
        part = part[["party_id", "month_index", "rate", "signal"]]
        part = part.rename(
            columns={"party_id": column, "rate": f"{prefix}_rate", "signal": f"sig_{party_type}_history"}
        )
        d = d.merge(part, how="left", on=[column, "month_index"])
        d[f"sig_{party_type}_history"] = d[f"sig_{party_type}_history"].fillna(False).astype(bool)

    d["valuation_ratio"] = d["unit_value_omr_kg"] / d["ref_median"].where(d["ref_median"] > 0)
    d["sig_misclass"] = d["suggested_hs6"].notna()
    d["sig_origin"] = d["origin_is_gcc"] & ~d["partner_is_gcc"]  # item by item
    d["sig_origin_mirror"] = d["origin_is_gcc"] & d["partner_is_gcc"] & d["excess_share"].notna()
    threshold = RISK["valuation_ratio_threshold"]
    d["sig_valuation"] = (~d["sig_misclass"] & (uv < d["ref_low"]) & (d["valuation_ratio"] < threshold)).fillna(False)

    def r3(x):  # to the baisa, half away from zero as the marts (np.round would round half to even)
        x = np.asarray(x, dtype=float)
        return np.sign(x) * np.floor(np.abs(x) * 1000 + 0.5 + 1e-7) / 1000

    under = r3(np.where(d["sig_valuation"], d["ref_median"] * d["net_mass_kg"] - d["customs_value_omr"], 0))
    val_duty = r3(under * d["duty_rate"])
    mis_duty = r3(np.where(d["sig_misclass"], d["customs_value_omr"] * (d["suggested_rate"] - d["mfn_duty_rate"]), 0))
    relieved = d["customs_value_omr"] * d["mfn_duty_rate"]  # the duty the GCC preference relieved
    origin_duty = r3(
        np.select(
            [~d["gcc_pref"] | d["duty_exempt"], d["sig_origin"], d["sig_origin_mirror"]],
            [0, relieved, relieved * d["excess_share"].fillna(0)],
            0,
        )
    )
    # assessment: declared duty / VAT short of the tariff's on the declared value, in whole baisa
    assessed_duty = r3(d["customs_value_omr"] * d["duty_rate"])
    assessed_vat = r3((d["customs_value_omr"] + assessed_duty) * d["vat_rate"])
    tolerance = RISK["assessment_tolerance_baisa"]
    short = {}
    for tax, assessed in (("duty", assessed_duty), ("vat", assessed_vat)):
        baisa = np.round((assessed - d[f"{tax}_omr"].to_numpy(dtype=float)) * 1000)
        short[tax] = np.where(d[f"{tax}_omr"].notna() & (baisa > tolerance), baisa / 1000, 0.0)
    sig_assessment = (short["duty"] > 0) | (short["vat"] > 0)
    val_vat, mis_vat = r3((under + val_duty) * d["vat_rate"]), r3(mis_duty * d["vat_rate"])
    origin_vat = r3(origin_duty * d["vat_rate"])
    total = val_duty + mis_duty + origin_duty + short["duty"] + val_vat + mis_vat + origin_vat + short["vat"]
    signal = d["sig_valuation"] | d["sig_misclass"] | d["sig_origin"] | d["sig_origin_mirror"] | sig_assessment
    w = RISK["score"]
    points = (
        np.where(
            d["sig_valuation"],
            w["valuation_base_points"] + w["valuation_depth_points"] * (1 - d["valuation_ratio"] / threshold),
            0,
        )
        + np.where(d["sig_misclass"], w["misclassification_points"], 0)
        + np.where(d["sig_origin"], w["origin_points"], 0)
        + np.where(d["sig_origin_mirror"], w["origin_mirror_points"], 0)
        + np.where(sig_assessment, w["assessment_points"], 0)
        + w["money_points"] * np.minimum(1, np.log1p(total) / np.log1p(w["money_full_scale_omr"]))
    )
    history_points = w["trader_hit_rate_points"] * d["t_rate"].fillna(0) + w["declarant_hit_rate_points"] * d[
        "dc_rate"
    ].fillna(0)
    # history alone scores at most no_signal_max_points, under any item-level signal
    score = np.where(
        signal, np.minimum(100, history_points + points), np.minimum(w["no_signal_max_points"], history_points)
    )
    return pd.DataFrame(
        {
            "declaration_id": d["declaration_id"],
            "item_no": d["item_no"],
            "reference_unit_value_omr_kg": d["ref_median"],
            "valuation_ratio": d["valuation_ratio"],
            "suggested_hs6": d["suggested_hs6"],
            "valuation_duty_at_risk_omr": val_duty,
            "valuation_vat_at_risk_omr": val_vat,
            "misclassification_duty_at_risk_omr": mis_duty,
            "misclassification_vat_at_risk_omr": mis_vat,
            "origin_duty_at_risk_omr": origin_duty,
            "origin_vat_at_risk_omr": origin_vat,
            "assessment_duty_omr": short["duty"],
            "assessment_vat_omr": short["vat"],
            "total_at_risk_omr": total,
            "rules_score": np.round(score, 2),
            "signal_valuation": d["sig_valuation"],
            "signal_misclassification": d["sig_misclass"],
            "signal_origin": d["sig_origin"],
            "signal_origin_mirror": d["sig_origin_mirror"],
            "signal_assessment": sig_assessment,
            "signal_trader_history": d["sig_trader_history"],
            "signal_declarant_history": d["sig_declarant_history"],
        }
    )
