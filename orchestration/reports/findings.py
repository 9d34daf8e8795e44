"""What the marts say, for people: short markdown previews and charts for the Dagster UI, and one
self-contained HTML page (styles and charts inline, nothing fetched) for managers.

Every figure is read from the marts by the queries below, so the report and the marts cannot
disagree; the browser test checks the headline figures against the marts.
"""

from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal

from orchestration.assets.table_metadata import existing_tables
from orchestration.reports import charts

METHODS = ("valuation", "mirror", "misclassification", "origin")


def _table(headers: list[str], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return "" if value is None else str(value).replace("|", "/")


def money_by_method(con) -> dict[str, float]:
    rows = dict(
        con.execute("SELECT method, sum(total_at_risk_omr) FROM marts.revenue_at_risk GROUP BY method").fetchall()
    )
    return {m: float(rows.get(m) or 0) for m in METHODS}


def top_mirror_gaps(con, limit: int = 10) -> list[tuple]:
    return con.execute(
        """
        SELECT CAST(year AS VARCHAR), flow, partner_name, hs6, hs6_description, gap_usd, symmetric_discrepancy,
               replace(flag_reasons, ';', '; '), replace(context_notes, ';', '; ')
        FROM marts.mirror_gaps WHERE is_flagged ORDER BY flag_rank LIMIT ?""",
        [limit],
    ).fetchall()


def top_targets(con, target_type: str, limit: int = 10) -> list[tuple]:
    return con.execute(
        """
        SELECT rank, target_key, declarations, flagged_share, total_at_risk_omr, inspections, hit_rate, risk_score
        FROM marts.risk_targets WHERE target_type = ? ORDER BY rank LIMIT ?""",
        [target_type, limit],
    ).fetchall()


def slowest_offices(con) -> list[tuple]:
    return con.execute("""
        SELECT office_code, median(median_hours), median(p90_hours), sum(declarations), sum(not_released)
        FROM marts.clearance_times WHERE released > 0 GROUP BY office_code ORDER BY 2 DESC""").fetchall()


def mirror_chart(con) -> bytes:
    by_partner = con.execute("""SELECT partner_name, sum(gap_usd) g FROM marts.mirror_gaps WHERE is_flagged
                                GROUP BY 1 ORDER BY abs(g) DESC LIMIT 10""").fetchall()
    by_chapter = con.execute("""SELECT 'HS ' || hs2, sum(gap_usd) g FROM marts.mirror_gaps WHERE is_flagged
                                GROUP BY 1 ORDER BY abs(g) DESC LIMIT 10""").fetchall()
    return charts.mirror_gaps_chart(
        [(str(p), float(g)) for p, g in by_partner], [(str(c), float(g)) for c, g in by_chapter]
    )


def revenue_chart(con) -> bytes:
    rows = con.execute("SELECT period_month, method, total_at_risk_omr FROM marts.revenue_at_risk_by_method").fetchall()
    return charts.revenue_at_risk_chart([(m, method, float(t)) for m, method, t in rows])


def clearance_chart(con) -> bytes:
    rows = con.execute("""SELECT period_month, office_code, median(median_hours) FROM marts.clearance_times
                          WHERE risk_channel = 'green' AND released > 0 GROUP BY 1, 2""").fetchall()
    return charts.clearance_chart([(m, o, float(h)) for m, o, h in rows])


IPR_SIGNALS = (
    ("brand named", "the description names the brand, a registered variant or a near spelling of it"),
    ("HS covered", "the brand is not named but the goods fall in a heading the right covers (weak on its own)"),
    ("unauthorised importer", "the brand is named and the importer is not on the right holder's list"),
    ("unauthorised origin", "the brand is named and made in a country genuine goods do not come from"),
    ("unauthorised partner", "the brand is named and consigned from a country genuine goods do not ship from"),
    ("below price floor", "the value per kg or unit is under the lowest value of genuine goods"),
    ("small consignment", "a small, cheap parcel by post or air, the way most fakes come in"),
    ("first import of brand", "the importer's first day with this brand"),
    ("prior route seizures", "counterfeits were seized earlier on the same route"),
)
ALERT_TYPES = (
    (
        "linked_to_seizure",
        "a trader with a seizure and the traders sharing its declarant, seller, address or phone: check "
        "their pending declarations and open one case file for the group.",
    ),
    (
        "phoenix",
        "a trader that stopped after a seizure and a new one trading through the same counterparties: give "
        "the successor the predecessor's risk profile and audit its imports after clearance.",
    ),
    (
        "community_shift",
        "a community whose goods or routes changed suddenly: review its recent declarations for "
        "misclassification or false origin and cross-check them with the mirror data.",
    ),
    (
        "split_consignments",
        "one foreign seller spread over many small traders at low values: value the parcels together, "
        "check whether one consignee is behind them, and ask for the seller's records.",
    ),
)
PARTY_TYPES = {"T": "trader", "D": "declarant", "S": "seller", "A": "address", "P": "phone"}
IPR_HEADERS = ["rank", "lodged", "declaration", "trader key", "brand", "right holder", "notify", "score", "reasons"]
ALERT_HEADERS = ["rank", "type", "score", "parties", "items", "value OMR", "evidence"]
COMMUNITY_HEADERS = ["community", "nodes", "traders", "items", "irregular %", "seizures"]
NO_ALERTS = "No network alert: none of the four patterns holds in the party graph of this period."
NO_COMMUNITIES = "No party graph yet: no declaration item links a trader to a declarant, seller, address or phone."
NO_REGISTER = (
    "No IPR register has been delivered (reference/ipr_recordations.csv), so no item could be checked "
    "against recorded rights."
)


def _rows(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if table in existing_tables(con) else 0


def top_ipr_risks(con, limit: int = 10) -> list[tuple]:
    return con.execute(
        """
        SELECT rank, lodged_date, declaration_ref, trader_key, brand, right_holder, right_holder_contact,
               ipr_score, ipr_reasons
        FROM marts.ipr_risk ORDER BY rank LIMIT ?""",
        [limit],
    ).fetchall()


def ipr_counts(con) -> dict[str, int]:
    """How much of the trade touches a recorded right, and how much of it is worth a look."""
    touching, named, strong = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE signal_brand_named), count(*) FILTER (WHERE signals >= 3)
        FROM marts.ipr_risk""").fetchone()
    return {
        "recorded rights": _rows(con, "raw.ipr_recordations"),
        "items touching a right": touching,
        "items naming the brand": named,
        "items with 3 or more signals": strong,
    }


def ipr_empty(con, counts: dict[str, int]) -> str | None:
    """Why there is nothing to show, in words, or None when there is."""
    if counts["items touching a right"]:
        return None
    if not counts["recorded rights"]:
        return NO_REGISTER
    return f"No import item in this period touches one of the {counts['recorded rights']:,} recorded rights."


def top_network_alerts(con, limit: int = 10) -> list[tuple]:
    return con.execute(
        """
        SELECT rank, alert_type, alert_score, parties, items, total_value_omr, evidence
        FROM marts.network_alerts ORDER BY rank LIMIT ?""",
        [limit],
    ).fetchall()


def largest_communities(con, limit: int = 5) -> list[tuple]:
    """Communities by size, with their traders' items, irregular share (%) and seizures (counted on the
    traders only: a seized item also counts for its declarant and seller)."""
    return con.execute(
        """
        SELECT community_id, max(community_size), count(*) FILTER (WHERE party_type = 'trader'),
               max(community_items), round(100 * max(community_irregular_share), 1),
               sum(seizures) FILTER (WHERE party_type = 'trader')
        FROM marts.party_networks WHERE community_id IS NOT NULL
        GROUP BY community_id ORDER BY 2 DESC, 1 LIMIT ?""",
        [limit],
    ).fetchall()


def _alert_panel(con, rank: int, alert_type: str, score: float, party_keys: str) -> dict:
    """An alert's parties and the party graph's links among them. An alert of traders only (a community
    shift) also shows the counterparties two or more of its traders share, which is what ties them."""
    keys = party_keys.split(";")
    if all(k.startswith("T-") for k in keys):
        keys += [
            k
            for (k,) in con.execute(
                """SELECT linked_key FROM intermediate.int_party_links WHERE list_contains(?, trader_key)
                   GROUP BY linked_key HAVING count(*) >= 2 ORDER BY linked_key""",
                [keys],
            ).fetchall()
        ]
    edges = con.execute(
        """SELECT trader_key, linked_key, items FROM intermediate.int_party_links
           WHERE list_contains(?, trader_key) AND list_contains(?, linked_key)""",
        [keys, keys],
    ).fetchall()
    seized = {
        k
        for (k,) in con.execute(
            """SELECT party_key FROM marts.party_networks
               WHERE party_type = 'trader' AND seizures > 0 AND list_contains(?, party_key)""",
            [keys],
        ).fetchall()
    }
    return {
        "title": f"#{rank} {alert_type.replace('_', ' ')} (score {score:.0f})",
        "nodes": [(k, PARTY_TYPES[k[0]], k in seized) for k in keys],
        "edges": [(a, b, float(n)) for a, b, n in edges],
    }


def network_chart(con) -> bytes | None:
    """The top alert of each type, the top alert first; None when there is no alert."""
    tops = con.execute("""
        SELECT rank, alert_type, alert_score, party_keys FROM marts.network_alerts
        QUALIFY row_number() OVER (PARTITION BY alert_type ORDER BY rank) = 1 ORDER BY rank""").fetchall()
    return charts.network_chart([_alert_panel(con, *top) for top in tops]) if tops else None


def mart_insights(con, table: str) -> dict[str, str]:
    """Markdown (with charts) for a mart's materialization, by what a reader of it asks first."""
    if table == "mirror_gaps":
        return {
            "top_findings": _table(
                ["year", "flow", "partner", "HS6", "goods", "gap USD", "discrepancy", "reasons", "context"],
                top_mirror_gaps(con, 5),
            ),
            "chart": charts.markdown_image(mirror_chart(con), "mirror gaps by partner and HS chapter"),
        }
    if table in ("revenue_at_risk", "revenue_at_risk_by_method"):
        money = money_by_method(con)
        md = {
            "top_findings": _table(["method", "duty and VAT at risk, OMR"], list(money.items()))
            + "\n\nMethods overlap: compare them, never add them up."
        }
        if table == "revenue_at_risk":
            md["chart"] = charts.markdown_image(revenue_chart(con), "revenue at risk by month and method")
        return md
    if table == "risk_targets":
        headers = ["rank", "key", "declarations", "flagged share", "at risk OMR", "inspections", "hit rate", "score"]
        return {
            "top_findings": "**Traders**\n\n"
            + _table(headers, top_targets(con, "trader", 5))
            + "\n\n**Routes**\n\n"
            + _table(headers, top_targets(con, "route", 5))
        }
    if table == "clearance_times":
        return {
            "top_findings": _table(
                ["office", "median hours", "p90 hours", "declarations", "not released"], slowest_offices(con)
            ),
            "chart": charts.markdown_image(clearance_chart(con), "clearance time by office"),
        }
    if table == "ipr_risk":
        counts = ipr_counts(con)
        empty = ipr_empty(con, counts)
        return {
            "counts": _table(["", "items"], list(counts.items())),
            "top_findings": empty or _table(IPR_HEADERS, top_ipr_risks(con)),
        }
    if table == "network_alerts":
        alerts = top_network_alerts(con)
        if not alerts:
            return {"top_findings": NO_ALERTS}
        return {
            "top_findings": _table(ALERT_HEADERS, alerts),
            "chart": charts.markdown_image(network_chart(con), "the top alert of each type and its parties"),
        }
    if table == "party_networks":
        communities = largest_communities(con)
        return {"top_findings": _table(COMMUNITY_HEADERS, communities) if communities else NO_COMMUNITIES}
    if table == "declaration_risk":
        return {"top_findings": _table(["signal", "items", "duty and VAT at risk, OMR"], signal_counts(con))}
    return {}


SIGNALS = (
    "valuation",
    "misclassification",
    "origin",
    "origin_mirror",
    "assessment",
    "trader_history",
    "declarant_history",
)


def signal_counts(con) -> list[tuple]:
    """Items and money per signal, selected on the signal_* booleans (an item may carry several, so the
    rows overlap), then the items with none."""
    per_signal = " UNION ALL ".join(
        f"SELECT '{name}', count(*), sum(total_at_risk_omr) FROM marts.declaration_risk WHERE signal_{name}"
        for name in SIGNALS
    )
    none = " AND ".join(f"NOT signal_{name}" for name in SIGNALS)
    return con.execute(
        f"{per_signal} UNION ALL SELECT '(no signal)', count(*), sum(total_at_risk_omr) "
        f"FROM marts.declaration_risk WHERE {none}"
    ).fetchall()


def quality_status(con) -> list[tuple]:
    """Per severity: rules passing, rules checked, the failing ones, and when they were last validated,
    from each rule's latest validation (a run that re-checks only some tables leaves the others' last
    results standing, as they describe the data still in the marts)."""
    return con.execute("""
        WITH latest AS (
            SELECT *, row_number() OVER (PARTITION BY table_name, rule ORDER BY validated_at DESC) AS recency
            FROM marts.data_quality_results)
        SELECT severity, count(*) FILTER (WHERE passed), count(*),
               string_agg(CASE WHEN NOT passed THEN table_name || ': ' || rule END, '; ' ORDER BY table_name, rule),
               max(validated_at)
        FROM latest WHERE recency = 1 GROUP BY severity ORDER BY severity""").fetchall()


STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;color:#1c2833}
h1{margin-bottom:0}.sub{color:#5d6d7e;margin-top:.3rem}h2{border-bottom:2px solid #d5d8dc;padding-bottom:.2rem;margin-top:2.2rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{flex:1;min-width:200px;border:1px solid #d5d8dc;border-radius:8px;padding:1rem}
.card .v{font-size:1.6rem;font-weight:600}.card .l{color:#5d6d7e;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.88rem}th,td{border-bottom:1px solid #eaecee;padding:.35rem .5rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.note{color:#5d6d7e;font-size:.9rem}.ok{color:#1e8449}.bad{color:#c0392b}
img{max-width:100%}#ipr-risks td,#network-alerts td{vertical-align:top;font-size:.8rem}
#ipr-risks td:last-child,#network-alerts td:last-child{min-width:24rem}
"""


def _html_table(table_id: str, headers: list[str], rows: list[tuple], numeric: set[int]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_fmt(v)}</td>' if i in numeric else f"<td>{html.escape(_fmt(v))}</td>"
            for i, v in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f'<table id="{table_id}"><tr>{head}</tr>{body}</table>'


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="{charts.data_uri(png)}">'


def _legend(entries: tuple[tuple[str, str], ...]) -> str:
    items = "".join(
        f"<li><b>{html.escape(name.replace('_', ' '))}</b>: {html.escape(text)}</li>" for name, text in entries
    )
    return f'<ul class="note">{items}</ul>'


def ipr_section(con) -> str:
    """Counterfeit risks: the items to examine first and whom to notify, or why there are none."""
    counts = ipr_counts(con)
    empty = ipr_empty(con, counts)
    if empty:
        return f'<p class="note" id="ipr-empty">{html.escape(empty)}</p>'
    figures = " &middot; ".join(
        f'<span data-count="{html.escape(k)}">{v:,} {html.escape(k)}</span>' for k, v in counts.items()
    )
    return f"""<p class="note">{figures}</p>
{_html_table("ipr-risks", IPR_HEADERS, top_ipr_risks(con), {0, 7})}
<p class="note">Hold the goods of a top row, notify the right holder's contact and let it examine samples; record
the outcome with finding_type counterfeit, which raises the score of later items on the same route. The signals:</p>
{_legend(IPR_SIGNALS)}"""


def network_section(con) -> str:
    """Network alerts: the patterns to investigate first, what each means, and a picture of the top ones."""
    alerts = top_network_alerts(con)
    if not alerts:
        return f'<p class="note" id="network-empty">{html.escape(NO_ALERTS)}</p>'
    return f"""{_html_table("network-alerts", ALERT_HEADERS, alerts, {0, 2, 3, 4, 5})}
<p class="note">Parties are keys only; an investigator goes back to a party only through
<code>python -m orchestration.cli reidentify</code>, with officer and reason, which is audited. The alert types:</p>
{_legend(ALERT_TYPES)}
{_img(network_chart(con), "the top alert of each type: its parties and their links")}"""


def findings_html(con) -> str:
    """The managers' page: headline money at risk by method, top mirror gaps with their reasons, top
    risk targets (pseudonymous), counterfeit risks, network alerts, clearance-time trends, and the
    latest result of every quality rule."""
    money = money_by_method(con)
    period = con.execute("SELECT min(lodged_date), max(lodged_date) FROM marts.declaration_risk").fetchall()[0]
    cards = "".join(
        f'<div class="card"><div class="v" data-method="{m}" data-omr="{money[m]:.3f}">OMR {money[m]:,.0f}</div>'
        f'<div class="l">{m} method</div></div>'
        for m in METHODS
    )
    quality_rows = "".join(
        f"<tr><td>{html.escape(sev)}</td><td class='n'>{ok} / {n}</td><td class='{'ok' if ok == n else 'bad'}'>"
        f"{'all passed' if ok == n else html.escape(failed or '')}</td><td>{last:%Y-%m-%d %H:%M}</td></tr>"
        for sev, ok, n, failed, last in quality_status(con)
    )
    target_headers = [
        "rank",
        "trader key",
        "declarations",
        "flagged share",
        "at risk OMR",
        "inspections",
        "hit rate",
        "score",
    ]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Customs findings</title><style>{STYLE}</style></head><body>
<h1>Where value, duty and VAT may be going missing</h1>
<p class="sub">Declarations lodged {period[0]} to {period[1]} &middot; report built {datetime.now():%Y-%m-%d %H:%M}
&middot; traders appear only as pseudonymous keys</p>

<h2>Duty and VAT at risk, by method</h2>
<div class="cards">{cards}</div>
<p class="note">The four methods look at the same trade from different angles and overlap (an under-valued
shipment also opens a mirror gap): compare them side by side, never add them up. Reference prices are risk
indicators, not customs values.</p>
{_img(revenue_chart(con), "revenue at risk by month and method")}

<h2>Largest mirror gaps</h2>
<p class="note">Oman's recorded trade against what its partners report for the same flows; negative import gaps
mean partners report more than Oman recorded.</p>
{_html_table("mirror-gaps", ["year", "flow", "partner", "HS6", "goods", "gap USD", "discrepancy", "reasons", "context"], top_mirror_gaps(con), {5, 6})}
{_img(mirror_chart(con), "mirror gaps by partner and HS chapter")}

<h2>Top risk targets</h2>
{_html_table("trader-targets", target_headers, top_targets(con, "trader"), {2, 3, 4, 5, 6, 7})}
<h3>Routes</h3>
{_html_table("route-targets", ["rank", "route"] + target_headers[2:], top_targets(con, "route"), {2, 3, 4, 5, 6, 7})}

<h2>Counterfeit risks</h2>
{ipr_section(con)}

<h2>Network alerts</h2>
{network_section(con)}

<h2>Clearance times</h2>
{_html_table("clearance", ["office", "median hours", "p90 hours", "declarations", "not released"], slowest_offices(con), {1, 2, 3, 4})}
{_img(clearance_chart(con), "clearance time by office")}

<h2>Data quality</h2>
<p class="note">The latest validation of every governance rule on the data behind these figures; blocking rules
stop a refresh before bad data reaches the marts, warnings are reported here.</p>
<table id="quality"><tr><th>severity</th><th>rules passed</th><th>failed rules</th><th>last validated</th></tr>{quality_rows}</table>
</body></html>
"""
