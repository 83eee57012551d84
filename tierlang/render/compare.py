"""A comparison of two recorded runs (audit.compare.Comparison) as text and the movers CSV (its
JSON is the form the store records: audit/compare/serial.py)."""

from __future__ import annotations

from audit.compare.results import UNRATED, Comparison, signed, value_text
from dsl.diff import ARROW as _ARROW
from dsl.escaping import csv_text
from dsl.numbers import format_number

MOVER_COLUMNS = ("key", "label", "old_tier", "new_tier", "move", "old_score", "new_score",
                 "score_change", "old_rank", "new_rank", "attribution")


def movers_csv(c: Comparison) -> str:
    rows = [MOVER_COLUMNS]
    for d in c.movers:
        a = d.attribution
        attribution = "" if a is None else "; ".join(
            [f"{x.text} ({signed(x.amount)})" for x in a.causes] + list(a.tier_causes))
        rows.append([
            d.key, d.label or "", d.old_tier or "", d.new_tier or "",
            "" if d.move is None else d.move,
            _csv_number(d.old_score), _csv_number(d.new_score), _csv_number(d.score_change),
            "" if d.old_rank is None else d.old_rank, "" if d.new_rank is None else d.new_rank,
            attribution,
        ])
    return csv_text(rows)  # cells a spreadsheet would evaluate neutralised (dsl/escaping.py)


def _csv_number(x: float | None) -> str:
    return "" if x is None else repr(float(x))


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def _grid(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        cells = [r[i].rjust(widths[i]) if i in right else r[i].ljust(widths[i]) for i in range(len(r))]
        out.append("  ".join(cells).rstrip())
    return out


def render_text(c: Comparison, kind: str | None = None) -> str:
    """The outcome: transition matrix, moves, rank correlation, movers with attribution."""
    kind = kind or c.new.entity_kind or "entity"
    lines = [f"outcome: run {c.old.id} {_ARROW} run {c.new.id}, {c.common} {kind} "
             f"entit{'y' if c.common == 1 else 'ies'} in both runs"]
    if c.only_old or c.only_new:
        if c.only_old:
            lines.append(f"  only in run {c.old.id} ({len(c.only_old)}): {', '.join(c.only_old)}")
        if c.only_new:
            lines.append(f"  only in run {c.new.id} ({len(c.only_new)}): {', '.join(c.only_new)}")
    for p in c.params:
        if not p.overridden:
            continue  # a change of declared value: the structural diff shows it
        declared = (value_text(p.old_declared) if p.old_declared == p.new_declared
                    else f"{value_text(p.old_declared)} {_ARROW} {value_text(p.new_declared)}")
        used = (f"{value_text(p.old)} in both runs" if p.old == p.new
                else f"{value_text(p.old)} {_ARROW} {value_text(p.new)}")
        lines.append(f"  param {p.name} set to {used} (declared {declared})")
    lines.append("")
    if c.ranked_by is not None:  # two indices: no tiers, entities move by rank
        old_by, new_by = c.ranked_by
        by = old_by if old_by == new_by else f"{old_by} {_ARROW} {new_by}"
        lines.append(f"no tiers: entities ranked by {by}, highest first; a move is a change of rank")
    else:
        lines.append(f"tier transitions (rows: run {c.old.id} {c.old_tier}, columns: run {c.new.id} {c.new_tier})")
        header = ["", *c.columns]
        rows = [[label, *[str(n) for n in row]] for label, row in zip(c.rows, c.counts)]
        lines += ["  " + line for line in _grid(header, rows, set(range(1, len(header))))]
    lines.append("")
    lines.append(
        f"moved up {c.up} ({_pct(c.up, c.common)}), down {c.down} ({_pct(c.down, c.common)})"
        + (f", changed without order {c.other} ({_pct(c.other, c.common)})" if c.other else "")
        + f", unchanged {c.same} ({_pct(c.same, c.common)})"
    )
    rho = "-" if c.spearman is None else f"{c.spearman:.4f}"
    tau = "-" if c.kendall is None else f"{c.kendall:.4f}"
    lines.append(f"rank correlation of scores: Spearman {rho}, Kendall tau-b {tau} (n = {c.correlated})")
    lines.append("")
    if not c.movers:
        lines.append("movers: none")
        return "\n".join(lines) + "\n"
    lines.append(f"movers ({len(c.movers)}), largest move first")
    ranked = c.ranked_by is not None
    header = [kind, *([] if ranked else ["old tier", "new tier"]), "move", "old score", "new score", "change",
              "old rank", "new rank"]
    rows = []
    for d in c.movers:
        rows.append([
            d.title, *([] if ranked else [d.old_tier or UNRATED, d.new_tier or UNRATED]),
            "-" if d.move is None else f"{d.move:+d}",
            format_number(d.old_score), format_number(d.new_score),
            "-" if d.score_change is None else signed(d.score_change),
            "-" if d.old_rank is None else str(d.old_rank),
            "-" if d.new_rank is None else str(d.new_rank),
        ])
    first = 1 if ranked else 3
    lines += ["  " + line for line in _grid(header, rows, set(range(first, first + 6)))]
    lines.append("")
    lines.append("why they moved (score change by cause)")
    for d in c.movers:
        lines.append(f"  {d.rank_summary() if ranked else d.summary()}")
    return "\n".join(lines) + "\n"

