"""A sensitivity analysis (tierlang.sensitivity.Analysis) as text, JSON, CSV (one row per entity)
or a workbook: what `tierlang sensitivity` prints and writes with --out."""

from __future__ import annotations

import math

from rich import box

from dsl.escaping import csv_text, json_text
from tierlang.render.cells import estimate, exact, number, percent
from tierlang.render.tables import EscapedTable, width
from tierlang.render.tables import render as render_table
from tierlang.sensitivity import INDEX_TIER


def render(analysis, output_format: str = "text") -> str:
    """The analysis as `tierlang sensitivity --format` prints it: text or json."""
    return render_json(analysis) if output_format == "json" else render_text(analysis)


def write(analysis, path: str) -> None:
    """Write the analysis to `path`, by its extension: .xlsx (a workbook), .json, .csv (the
    per-entity table), else text. Raises OSError."""
    lower = path.lower()
    if lower.endswith(".xlsx"):
        write_workbook(analysis, path)
        return
    if lower.endswith(".json"):
        text = render_json(analysis)
    elif lower.endswith(".csv"):
        text = render_csv(analysis)
    else:
        text = render_text(analysis)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def write_workbook(analysis, path: str) -> None:
    """The analysis as an Excel workbook: entities, choices, drop-one, and the provenance of the
    nominal run and of the analysis (tierlang/xlsx.py)."""
    from tierlang import frames
    from tierlang.render import xlsx

    tables = [("entities", frames.sensitivity_frame(analysis)), ("choices", frames.choices_frame(analysis))]
    if analysis.drop_one:
        tables.append(("drop one", frames.drop_one_frame(analysis)))
    fields = [("analysis", analysis.analysis_id if analysis.analysis_id is not None else "not recorded"),
              ("tier", analysis.tier), ("score", analysis.score), ("samples", analysis.samples),
              ("seed", analysis.seed), ("evaluations", analysis.evaluations),
              ("stable", analysis.stable_count), ("notes", "; ".join(analysis.notes) or None)]
    xlsx.write_workbook(path, tables, [*fields, *frames.outcome_provenance(analysis.outcome)])


# ---------------------------------------------------------------- text


def _index(value) -> str:
    return estimate(value, 3)


def _table(*headers: tuple[str, str]):
    grid = EscapedTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header, justify in headers:
        grid.add_column(header, justify=justify, no_wrap=True)
    return grid


def _render(grid) -> str:
    return render_table(grid, width(terminal=200, piped=400))  # wide: a row per entity, many columns


def render_text(analysis) -> str:
    m = analysis.methodology
    outcome = analysis.outcome
    version = f", version {m.version}" if m.version else ""
    k = len(analysis.choices)
    index = analysis.tier == INDEX_TIER  # no tiers: the index score and its ranks
    subject = f"the index score `{analysis.score}` and its ranks" if index else f"{analysis.tier_title} ({analysis.tier})"
    lines = [
        f"sensitivity of {subject} to {k} choice{'s' if k != 1 else ''}"
        + (" and dropping each indicator" if analysis.drop_one else ""),
        f"{m.name}{version}",
        f"{len(analysis.entities)} entities ({m.entity}) from {outcome.dataset.path}",
    ]
    if analysis.analysis_id is not None:
        lines.append(f"nominal run {outcome.run_id} and analysis {analysis.analysis_id} recorded in "
                     f"{analysis.audit_path}")
    else:
        lines.append("not recorded (--no-audit)")
    if k:
        lines.append(f"{analysis.samples:,} samples, seed {analysis.seed}: {analysis.evaluations:,} evaluations "
                     f"in {analysis.seconds:.2f} s")  # a duration, not a result
    text = "\n".join(lines) + "\n"
    for note in analysis.notes:
        text += f"note: {note}\n"
    if k:
        text += "\nchoices sampled\n"
        grid = _table(("choice", "left"), ("kind", "left"), ("distribution", "left"), ("declared", "left"))
        for c in sorted(analysis.choices, key=lambda c: c.name):
            grid.add_row(c.name, c.kind, c.description, c.declared)
        text += _render(grid)
        text += _entities_text(analysis)
        text += "\noverall\n"
        if not index:
            text += (f"  stable (nominal tier held in >= 90% of samples): {analysis.stable_count} of "
                     f"{len(analysis.entities)} entities ({percent(analysis.stable_share)})\n")
        shift = analysis.mean_abs_rank_shift
        text += f"  mean absolute rank shift: {estimate(shift, 2)}\n"
        if index:
            text += (f"\nwhich choice matters most (first-order and total-order sensitivity indices of the "
                     f"score `{analysis.score}`)\n")
            grid = _table(("rank", "right"), ("choice", "left"), ("score: first", "right"),
                          ("score: total", "right"))
            for c in analysis.choices:
                grid.add_row(str(c.rank), c.name, _index(c.first_order), _index(c.total_order))
            text += _render(grid)
        else:
            text += (f"\nwhich choice matters most (first-order and total-order sensitivity indices of the score "
                     f"`{analysis.score}` and of the tier; tier changes when the choice alone varies)\n")
            grid = _table(("rank", "right"), ("choice", "left"), ("score: first", "right"),
                          ("score: total", "right"), ("tier: first", "right"), ("tier: total", "right"),
                          ("tier changes alone", "right"))
            for c in analysis.choices:
                grid.add_row(str(c.rank), c.name, _index(c.first_order), _index(c.total_order),
                             _index(c.first_order_tier), _index(c.total_order_tier), percent(c.tier_change_share))
            text += _render(grid)
    if analysis.drop_one:
        text += "\ndropping one indicator (weights re-normalised; nominal params)\n"
        grid = _table(("indicator", "left"), ("tier changes", "right"), ("entities", "right"),
                      ("mean abs rank shift", "right"))
        for d in sorted(analysis.drop_one, key=lambda d: (-d.tier_change_share, d.indicator)):
            grid.add_row(d.indicator, percent(d.tier_change_share), str(d.changed), estimate(d.mean_abs_rank_shift, 2))
        text += _render(grid)
    return text


def _entities_text(analysis) -> str:
    m = analysis.methodology
    index = analysis.tier == INDEX_TIER
    text = ("\nper entity (nominal rank order)\n" if index else
            "\nper entity (nominal rank order; held: share of samples with the nominal tier)\n")
    headers = [("rank", "right"), (m.key, "left")]
    if m.label_column:
        headers.append((m.label_column, "left"))
    if index:
        headers += [("score", "right"), ("median rank", "right"), ("90% rank interval", "left"),
                    ("most sensitive to", "left")]
    else:
        headers += [("nominal tier", "left"), ("held", "right"), ("tier probabilities", "left"),
                    ("median rank", "right"), ("90% rank interval", "left"), ("stable", "left"),
                    ("most sensitive to", "left")]
    grid = _table(*headers)
    for e in analysis.entities:
        cells = [number(e.nominal_rank), e.key]
        if m.label_column:
            cells.append(e.label or "")
        probabilities = ", ".join(f"{label} {percent(p)}" for label, p in e.probabilities.items() if p > 0)
        interval = "-" if e.rank_low is None else f"{number(e.rank_low)}-{number(e.rank_high)}"
        if index:
            cells += [number(e.nominal_score), number(e.median_rank), interval, e.most_sensitive or "-"]
        else:
            cells += [e.nominal_tier or "-", percent(e.held), probabilities, number(e.median_rank), interval,
                      "yes" if e.stable else "no", e.most_sensitive or "-"]
        grid.add_row(*cells)
    return text + _render(grid)


# ---------------------------------------------------------------- json and csv


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def to_json(analysis) -> dict:
    m = analysis.methodology
    outcome = analysis.outcome
    return {
        "analysis_id": analysis.analysis_id,
        "run_id": outcome.run_id,
        "audit": analysis.audit_path,
        "methodology": {"name": m.name, "version": m.version, "path": m.path},
        "data": outcome.dataset.path,
        "tier": analysis.tier,
        "score": analysis.score,
        "labels": list(analysis.labels),
        "samples": analysis.samples,
        "base_samples": analysis.base_samples,
        "evaluations": analysis.evaluations,
        "seed": analysis.seed,
        "seconds": round(analysis.seconds, 3),
        "spec": analysis.spec,
        "summary": {
            "entities": len(analysis.entities),
            "stable": analysis.stable_count,
            "stable_share": _number(analysis.stable_share),
            "mean_abs_rank_shift": _number(analysis.mean_abs_rank_shift),
            "most_important": analysis.choices[0].name if analysis.choices else None,
        },
        "choices": [
            {"rank": c.rank, "name": c.name, "kind": c.kind, "distribution": c.description, "declared": c.declared,
             "first_order_index": _number(c.first_order), "total_order_index": _number(c.total_order),
             "first_order_index_tier": _number(c.first_order_tier),
             "total_order_index_tier": _number(c.total_order_tier),
             "tier_change_share": _number(c.tier_change_share)}
            for c in analysis.choices
        ],
        "entities": [
            {"key": e.key, "label": e.label, "nominal_tier": e.nominal_tier, "nominal_rank": e.nominal_rank,
             "nominal_score": _number(e.nominal_score), "probabilities": e.probabilities, "held": e.held,
             "stable": e.stable, "median_rank": _number(e.median_rank),
             "rank_interval": [_number(e.rank_low), _number(e.rank_high)], "most_sensitive": e.most_sensitive}
            for e in analysis.entities
        ],
        "drop_one": [
            {"indicator": d.indicator, "label": d.label, "tier_change_share": d.tier_change_share,
             "changed": d.changed, "mean_abs_rank_shift": _number(d.mean_abs_rank_shift)}
            for d in analysis.drop_one
        ],
        "notes": list(analysis.notes),
    }


def render_json(analysis) -> str:
    return json_text(to_json(analysis), indent=2) + "\n"


def render_csv(analysis) -> str:
    """One row per entity: nominal tier and rank, the probability of each tier, the rank interval."""
    labels = list(analysis.labels) + [analysis.unrated]
    rows = []
    rows.append(["key", "label", "nominal_tier", "nominal_rank", "nominal_score", "held", "stable",
                     *[f"p_{label}" for label in labels], "median_rank", "rank_low", "rank_high",
                     "most_sensitive"])
    for e in analysis.entities:
        rows.append([e.key, e.label or "", e.nominal_tier or "", exact(e.nominal_rank), exact(e.nominal_score),
                         e.held, "yes" if e.stable else "no", *[e.probabilities.get(label, 0.0) for label in labels],
                     exact(e.median_rank), exact(e.rank_low), exact(e.rank_high), e.most_sensitive or ""])
    return csv_text(rows)  # cells a spreadsheet would evaluate neutralised (dsl/escaping.py)
