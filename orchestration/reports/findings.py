"""What the marts say, for people: short markdown previews and charts for the Dagster UI, and one
self-contained HTML page (styles and charts inline, nothing fetched) for managers.

Every figure is read from the marts by the queries below, so the report and the marts cannot
disagree; the browser test checks the headline figures against the marts.
"""

from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal

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
img{max-width:100%}
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


def findings_html(con) -> str:
    """The managers' page: headline money at risk by method, top mirror gaps with their reasons, top
    risk targets (pseudonymous), clearance-time trends, and the latest result of every quality rule."""
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

<h2>Clearance times</h2>
{_html_table("clearance", ["office", "median hours", "p90 hours", "declarations", "not released"], slowest_offices(con), {1, 2, 3, 4})}
{_img(clearance_chart(con), "clearance time by office")}

<h2>Data quality</h2>
<p class="note">The latest validation of every governance rule on the data behind these figures; blocking rules
stop a refresh before bad data reaches the marts, warnings are reported here.</p>
<table id="quality"><tr><th>severity</th><th>rules passed</th><th>failed rules</th><th>last validated</th></tr>{quality_rows}</table>
</body></html>
"""
