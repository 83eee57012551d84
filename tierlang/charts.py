"""The report's charts, drawn with matplotlib (Agg backend, SVG) and returned as `data:` URIs
for `<img>` elements: a self-contained page needs no script and makes no request to show them.

Every function takes values already read from the audit store (tierlang/html_report.py) and
only draws them. matplotlib is imported inside the functions: importing this module costs
nothing, and the CLI's other commands never load it.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

from tierlang.render.cells import number

SVG_MIME = "data:image/svg+xml;base64,"


def tier_colours(n: int) -> list[str]:
    """One colour per tier label, worst first (red) to best (blue), from matplotlib's RdYlBu
    map (a diverging scale readable by most colour-blind readers); "#b0b0b0" for no tier."""
    from matplotlib import colormaps, colors

    cmap = colormaps["RdYlBu"]
    if n <= 1:
        return [colors.to_hex(cmap(0.85))] * n
    return [colors.to_hex(cmap(0.08 + 0.84 * i / (n - 1))) for i in range(n)]


NO_TIER_COLOUR = "#b0b0b0"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",  # text stays text: smaller, selectable, searchable
            "svg.hashsalt": "tierlang",  # the same data gives the same SVG, byte for byte
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def _data_uri(figure, tight: bool = True) -> str:
    """The figure as an SVG `data:` URI; `tight=False` keeps the figure's own margins (one
    drawing instead of two: the per-entity charts are many)."""
    plt = _pyplot()
    buffer = io.BytesIO()
    figure.savefig(
        buffer, format="svg", bbox_inches="tight" if tight else None, metadata={"Date": None}
    )
    plt.close(figure)
    return SVG_MIME + base64.b64encode(buffer.getvalue()).decode("ascii")


def tier_distribution(counts: Sequence[tuple[str, int]], colours: Sequence[str], title: str) -> str:
    """Horizontal bars: entities per tier label, best first (as `counts` is ordered)."""
    plt = _pyplot()
    labels = [label for label, _ in counts]
    values = [n for _, n in counts]
    figure, axes = plt.subplots(figsize=(6.4, 0.45 * len(labels) + 0.9))
    positions = range(len(labels))
    bars = axes.barh(positions, values, color=list(colours), edgecolor="#333333", linewidth=0.5)
    axes.set_yticks(list(positions), labels)
    axes.invert_yaxis()
    axes.set_xlabel("entities")
    axes.set_title(title, loc="left")
    axes.bar_label(bars, padding=3)
    axes.set_xlim(0, max(values or [1]) * 1.15 + 0.5)
    return _data_uri(figure)


def contributions(names: Sequence[str], amounts: Sequence[float | None], total_label: str) -> str:
    """Horizontal bars: each component's recorded contribution to the score (missing: no bar,
    marked "missing")."""
    plt = _pyplot()
    height = 0.3 * len(names) + 0.75
    figure, axes = plt.subplots(figsize=(6.4, height))
    labels = [_short(name, 34) for name in names]
    left = min(
        0.42, 0.04 + 0.0115 * max((len(label) for label in labels), default=0)
    )  # about a 9 pt character
    figure.subplots_adjust(left=left, right=0.97, top=1 - 0.12 / height, bottom=0.55 / height)
    shown = [0.0 if a is None or math.isnan(a) else a for a in amounts]
    positions = range(len(names))
    colour = ["#4a78b5" if a >= 0 else "#c2533a" for a in shown]
    bars = axes.barh(positions, shown, color=colour)
    axes.set_yticks(list(positions), labels)
    axes.invert_yaxis()
    axes.axvline(0, color="#333333", linewidth=0.6)
    axes.set_xlabel(f"contribution to {total_label}")
    axes.bar_label(
        bars,
        labels=[number(a, missing="missing") for a in amounts],  # as the report's tables show them
        padding=3,
    )
    low, high = min([0.0, *shown]), max([0.0, *shown])
    span = (high - low) or 1.0
    axes.set_xlim(low - (0.2 * span if low < 0 else 0), high + 0.25 * span)
    return _data_uri(figure, tight=False)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def tier_probabilities(
    entities: Sequence[str],
    shares: Sequence[Sequence[float]],
    labels: Sequence[str],
    colours: Sequence[str],
) -> str:
    """One stacked horizontal bar per entity: the share of samples giving each tier label
    (`shares[e][j]` for `labels[j]`, best first)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.2, 0.22 * len(entities) + 1.2))
    positions = list(range(len(entities)))
    left = [0.0] * len(entities)
    for j, label in enumerate(labels):
        width = [row[j] for row in shares]
        axes.barh(positions, width, left=left, color=colours[j], label=label, height=0.8)
        left = [a + b for a, b in zip(left, width)]
    axes.set_yticks(positions, list(entities), fontsize=7)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of samples")
    axes.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.06 - 1.0 / max(len(entities), 8)),
        ncol=min(len(labels), 4),
        frameon=False,
    )
    return _data_uri(figure)


def rank_intervals(
    entities: Sequence[str],
    nominal: Sequence[float | None],
    median: Sequence[float | None],
    low: Sequence[float | None],
    high: Sequence[float | None],
    colours: Sequence[str],
) -> str:
    """Per entity (in nominal rank order, top down): the 90% interval of its rank over the
    samples as a line, its median rank as a dot, its nominal rank as a cross."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.2, 0.22 * len(entities) + 1.0))
    for y, (lo, hi, med, nom, colour) in enumerate(zip(low, high, median, nominal, colours)):
        if lo is not None and hi is not None:
            axes.plot([lo, hi], [y, y], color=colour, linewidth=3, solid_capstyle="round")
        if med is not None:
            axes.plot([med], [y], "o", color="#222222", markersize=3)
        if nom is not None:
            axes.plot([nom], [y], "x", color="#222222", markersize=4)
    axes.set_yticks(list(range(len(entities))), list(entities), fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("rank (1 = best): line 90% interval, dot median, cross nominal")
    axes.grid(axis="x", color="#dddddd", linewidth=0.5)
    return _data_uri(figure)
