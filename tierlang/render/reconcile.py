"""A reconciliation (audit.reconcile.Reconciliation) as `tierlang reconcile` prints it, as
JSON, and, for the Python API, as a ReconciledRun: the same data with a short repr and
notebook HTML."""

from __future__ import annotations

import attrs

from audit.reconcile import LARGEST, NO_TIER, Reconciliation
from dsl.numbers import format_number


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.1f}%"


def _keys(keys: tuple[str, ...], limit: int = 20) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" (and {len(keys) - limit} more)" if len(keys) > limit else "")


def render_text(r: Reconciliation) -> str:
    lines = [
        f"reconcile run {r.run_id} ({r.methodology}), node {r.node} ({r.kind}), with {r.published_path}",
        f"  published key {r.key_column!r}, column {r.column!r}",
        f"agreement: {r.agreed} of {r.compared} ({_percent(r.rate)})"
        + (f", tolerance {format_number(r.tolerance)}" if r.kind == "number" else ""),
    ]
    if r.label_matches:
        lines.append("published labels read as: " + ", ".join(
            f"{p!r} = {t}" for p, t in sorted(r.label_matches.items())))
    if r.kind == "tier" and r.compared:
        lines += ["", "published (rows) x computed (columns):"]
        width = max(len(s) for s in r.scale + ("published",))
        widths = [max(len(s), 3) for s in r.scale]
        lines.append(" " * width + "  " + "  ".join(s.rjust(w) for s, w in zip(r.scale, widths)))
        for p in r.scale:
            if p == NO_TIER:
                continue
            cells = [str(r.matrix.get((p, c), 0)).rjust(w) for c, w in zip(r.scale, widths)]
            lines.append(p.ljust(width) + "  " + "  ".join(cells))
    if r.mismatches:
        title = "mismatches" if r.kind == "tier" else "largest differences"
        shown = r.mismatches if r.kind == "tier" else r.mismatches[:LARGEST]
        lines += ["", f"{title} ({len(r.mismatches)}):"]
        for m in shown:
            name = f"{m.key}" + (f" {m.label}" if m.label else "")
            lines.append(f"  {name}: published {m.published}, computed {m.computed}: {m.summary}")
    lines.append("")
    lines.append(f"only in the published table ({len(r.only_published)}): {_keys(r.only_published) or '-'}")
    lines.append(f"only in the run ({len(r.only_run)}): {_keys(r.only_run) or '-'}")
    lines.append(f"published blank, not compared ({len(r.blank)}): {_keys(r.blank) or '-'}")
    return "\n".join(lines) + "\n"


def to_json(r: Reconciliation) -> dict:
    return {
        "run": r.run_id,
        "methodology": r.methodology,
        "node": r.node,
        "kind": r.kind,
        "published": r.published_path,
        "key_column": r.key_column,
        "column": r.column,
        "compared": r.compared,
        "agreed": r.agreed,
        "rate": r.rate,
        "tolerance": r.tolerance if r.kind == "number" else None,
        "scale": list(r.scale),
        "matrix": [{"published": p, "computed": c, "count": n} for (p, c), n in sorted(
            r.matrix.items(), key=lambda item: (r.scale.index(item[0][0]), r.scale.index(item[0][1])))],
        "label_matches": dict(sorted(r.label_matches.items())),
        "mismatches": [attrs.asdict(m) for m in r.mismatches],
        "only_published": list(r.only_published),
        "only_run": list(r.only_run),
        "blank": list(r.blank),
    }


@attrs.frozen(repr=False)
class ReconciledRun(Reconciliation):
    """What `tierlang.reconcile` returns: audit's Reconciliation with its renderings attached."""

    @classmethod
    def of(cls, r: Reconciliation) -> ReconciledRun:
        return cls(**{f.name: getattr(r, f.name) for f in attrs.fields(Reconciliation)})

    def __repr__(self) -> str:
        return (f"<Reconciliation run {self.run_id} {self.node} with {self.published_path}: "
                f"{self.agreed} of {self.compared} agree ({_percent(self.rate)})>")

    def _repr_html_(self) -> str:
        import html

        head = html.escape(repr(self)[1:-1])
        return f"<p>{head}</p>" + self.frame.to_html(max_rows=20)
