"""A diff (tierlang.diffing.DiffOutcome) as `tierlang diff` shows and writes it: text (the
structural changes, then the outcome: transitions, correlations, movers), the stable JSON of
docs/diff.md, the movers as CSV, or a workbook."""

from __future__ import annotations

from audit.compare import to_json as outcome_json
from dsl.escaping import json_text
from tierlang.render.compare import movers_csv
from tierlang.render.compare import render_text as render_outcome
from tierlang.render.structural import render_text as render_structural
from tierlang.render.structural import to_json as structural_json

JSON_SCHEMA = "tierlang.diff/1"


def to_json(outcome) -> dict:
    """The stable JSON document of docs/diff.md."""
    return {
        "schema": JSON_SCHEMA,
        "kind": outcome.kind,
        "comparison": outcome.comparison_id,
        "audit": outcome.audit_path,
        "structural": structural_json(outcome.structural) if outcome.structural is not None else None,
        "structural_note": outcome.structural_note,
        "outcome": outcome_json(outcome.comparison),
    }


def render_text(outcome) -> str:
    c = outcome.comparison
    lines = [
        f"diff: run {c.old.id} {_title(c.old)} → run {c.new.id} {_title(c.new)}",
        (f"recorded in {outcome.audit_path} as comparison {outcome.comparison_id}"
         if outcome.comparison_id is not None else f"not recorded: {outcome.audit_path} is read-only")
        + (f"; data {c.new.dataset_path}" if c.new.dataset_path else ""),
        "",
    ]
    text = "\n".join(lines) + "\n"
    if outcome.structural is not None:
        text += render_structural(outcome.structural)
    else:
        text += f"structural changes: not available ({outcome.structural_note})\n"
    text += "\n" + render_outcome(c)
    return text


def _title(info) -> str:
    version = f" ({info.methodology_version})" if info.methodology_version else ""
    return f"{info.methodology_name}{version}"


def render(outcome, output_format: str = "text") -> str:
    if output_format == "json":
        return json_text(to_json(outcome), indent=2) + "\n"
    if output_format == "csv":
        return movers_csv(outcome.comparison)
    return render_text(outcome)


def write_workbook(outcome, path: str) -> None:
    """The comparison as an Excel workbook: movers, transitions, params, structural changes,
    and the provenance of both runs (tierlang/render/xlsx.py)."""
    import pandas as pd

    from tierlang import frames
    from tierlang.render import xlsx

    c = outcome.comparison
    structural = (render_structural(outcome.structural) if outcome.structural is not None
                  else f"not available ({outcome.structural_note})")
    changes = pd.DataFrame({"change": [line for line in structural.splitlines() if line.strip()]})
    tables = [("movers", frames.diff_frame(c)), ("transitions", frames.transitions_frame(c)),
              ("params", frames.params_frame(c)), ("structural", changes)]
    old = [(f"old {field}", value) for field, value in frames.provenance(c.old)]
    new = [(f"new {field}", value) for field, value in frames.provenance(c.new)]
    xlsx.write_workbook(path, tables, [("comparison", outcome.comparison_id), ("audit store", outcome.audit_path),
                                       *old, *new])
