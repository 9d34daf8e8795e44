"""The charts managers look at, as PNG bytes (matplotlib, no display needed)."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"valuation": "#c0392b", "mirror": "#2c3e50", "misclassification": "#d68910", "origin": "#1e8449"}


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """The image inline, so that a page or a metadata entry needs no file beside it."""
    return f"data:image/png;base64,{base64.b64encode(png).decode()}"


def markdown_image(png: bytes, alt: str) -> str:
    return f"![{alt}]({data_uri(png)})"


def mirror_gaps_chart(by_partner: list[tuple[str, float]], by_chapter: list[tuple[str, float]]) -> bytes:
    """Flagged mirror gaps (USD millions), the largest partners and HS chapters side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, rows, title in ((axes[0], by_partner, "by partner"), (axes[1], by_chapter, "by HS chapter")):
        labels = [r[0] for r in rows][::-1]
        values = [r[1] / 1e6 for r in rows][::-1]
        ax.barh(labels, values, color=["#c0392b" if v < 0 else "#2c3e50" for v in values])
        ax.axvline(0, color="#555", linewidth=0.8)
        ax.set_title(f"Flagged mirror gaps {title}")
        ax.set_xlabel("gap, USD million")
    fig.text(0.5, -0.02, "negative (red): partners report more than Oman recorded", ha="center", color="#5d6d7e")
    fig.tight_layout()
    return _png(fig)


def revenue_at_risk_chart(rows: list[tuple]) -> bytes:
    """Duty and VAT at risk per month, one line per method: methods overlap, so lines, never stacks."""
    fig, ax = plt.subplots(figsize=(11, 4))
    methods = sorted({r[1] for r in rows})
    for method in methods:
        points = sorted((r[0], r[2]) for r in rows if r[1] == method)
        ax.plot(
            [p[0] for p in points],
            [p[1] / 1e3 for p in points],
            marker="o",
            markersize=3,
            label=method,
            color=COLOURS.get(method),
        )
    ax.set_title("Duty and VAT at risk by month and method (methods overlap: compare, do not add)")
    ax.set_ylabel("OMR thousand")
    ax.legend()
    fig.autofmt_xdate()
    return _png(fig)


def clearance_chart(rows: list[tuple]) -> bytes:
    """Median hours from lodgement to release per office and month (green channel)."""
    fig, ax = plt.subplots(figsize=(11, 4))
    for office in sorted({r[1] for r in rows}):
        points = sorted((r[0], r[2]) for r in rows if r[1] == office)
        ax.plot([p[0] for p in points], [p[1] for p in points], label=office)
    ax.set_title("Median clearance time, green channel, by office")
    ax.set_ylabel("hours")
    if rows:
        ax.legend(ncol=4, fontsize=8)
    else:  # e.g. an extract without release times: say so rather than draw an empty frame
        ax.text(0.5, 0.5, "No green-channel releases in this period", ha="center", transform=ax.transAxes)
    fig.autofmt_xdate()
    return _png(fig)
