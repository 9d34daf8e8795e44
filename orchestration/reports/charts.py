"""The charts managers look at, as PNG bytes (matplotlib, no display needed)."""

from __future__ import annotations

import base64
import io

import matplotlib
import networkx as nx

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


PARTY_COLOURS = {
    "trader": "#2e86c1",
    "declarant": "#d68910",
    "seller": "#8e44ad",
    "address": "#1e8449",
    "phone": "#7f8c8d",
}


def network_chart(panels: list[dict]) -> bytes:
    """One panel per alert: its parties (keys only, labelled by their first 8 characters) coloured by
    type, the party graph's links among them, seized traders ringed in red. A panel is
    `{"title", "nodes": [(key, type, seized)], "edges": [(key, key, items)]}`."""
    columns = min(len(panels), 2)
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 5 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, panel in zip(axes.flat, panels, strict=False):
        graph = nx.Graph()
        graph.add_nodes_from(key for key, _, _ in panel["nodes"])
        graph.add_weighted_edges_from(panel["edges"])
        pos = nx.spring_layout(graph, seed=15, weight=None)
        widths = [0.6 + min(graph.edges[e]["weight"], 50) / 12 for e in graph.edges]
        nx.draw_networkx_edges(graph, pos, ax=ax, width=widths, edge_color="#aab7b8")
        nx.draw_networkx_nodes(
            graph,
            pos,
            ax=ax,
            nodelist=[key for key, _, _ in panel["nodes"]],
            node_color=[PARTY_COLOURS[kind] for _, kind, _ in panel["nodes"]],
            edgecolors=["#c0392b" if seized else "white" for _, _, seized in panel["nodes"]],
            linewidths=[3 if seized else 1 for _, _, seized in panel["nodes"]],
            node_size=420,
        )
        nx.draw_networkx_labels(
            graph, {k: (x, y - 0.13) for k, (x, y) in pos.items()}, {k: k[:8] for k in graph}, ax=ax, font_size=7
        )
        ax.set_title(panel["title"], fontsize=10)
        ax.margins(0.12)
        ax.axis("off")
    handles = [
        plt.Line2D([], [], marker="o", linestyle="", markersize=9, color=colour, label=kind)
        for kind, colour in PARTY_COLOURS.items()
    ]
    handles.append(
        plt.Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=9,
            color="#2e86c1",
            markeredgecolor="#c0392b",
            markeredgewidth=2.5,
            label="trader with a seizure",
        )
    )
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _png(fig)
