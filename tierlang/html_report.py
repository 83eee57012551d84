"""`tierlang report`: one self-contained HTML file about a recorded run, for people to read
and print: the methodology's header, docstring and ASSUMPTIONs, the tier counts with a chart,
the ranked table, per entity its derivation, contributions, limits that acted and distance to
the next tier; with a second run, the transition matrix and the movers with attribution;
with a sensitivity analysis, tier probabilities and rank intervals; and the provenance.

    report = gather(run_id=None, against=2, sensitivity=1, audit="tierlang.db", note="board")
    html = render(report)

Everything shown is read from the audit store (audit/): the run's recorded values, tier
steps, contributions and ranks (audit.explain, audit.tables), the recorded comparison of the
two runs (audit.compare's `comparisons` rows; made and recorded by `tierlang diff --runs` when
none is recorded yet) and the recorded analysis (audit.analyses). The only evaluation is the
verification (tierlang.verification re-evaluates the run from the store, as `tierlang
verify` does) whose outcome the provenance block states.

The page is offline by construction: a Content-Security-Policy `default-src 'none'` meta
forbids every request (scripts, fonts, frames, fetches), the one style sheet is inline and
allowed by its hash, and the charts (matplotlib SVG) are `data:` images. Every text from the
store is escaped by Jinja2's autoescape.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pandas as pd

from tierlang import __version__, api, charts
from tierlang.render import cells

TEMPLATES = Path(__file__).parent / "templates"
MEMBER_LIMIT = 5  # members listed per aggregation in a derivation
ENTITY_LIMIT = 500  # entity sections by default (bounds the file: about 30 kB each)


@attrs.frozen
class EntitySection:
    anchor: str
    key: str
    label: str | None
    rank: int | None
    score: float | None
    tier: str | None
    tier_class: str
    explanation: Any  # audit.explain.Explanation
    assigned: str | None  # the sentence of the rule that assigned the tier
    limits: tuple[str, ...]  # sentences of the limits that acted
    next_tier: str  # the distance to the next tier up, in words
    components_node: str | None  # the aggregation whose components are charted
    components: tuple[Any, ...]  # audit.explain.Component
    chart: str | None  # data: URI


@attrs.frozen
class Report:
    run: Any  # audit.store.RunInfo
    methodology: dict  # the `methodologies` row
    assumptions: tuple[tuple[str, int, str], ...]  # (file, line, text)
    tier_name: str | None
    tier_title: str | None
    scale_best_first: tuple[str, ...]
    counts: tuple[tuple[str, int, str], ...]  # (label, entities, css class), best first
    distribution_chart: str | None
    table: pd.DataFrame  # audit.tables.ranked_table, in rank order
    key_column: str
    label_column: str | None
    entities: tuple[EntitySection, ...]
    comparison: dict | None  # audit.compare.to_json form, as recorded
    comparison_id: int | None
    against: Any  # RunInfo of the run compared with
    transition_classes: tuple[tuple[str, ...], ...]
    analysis: Any  # audit.analyses.AnalysisInfo
    analysis_entities: tuple[dict, ...]
    analysis_choices: tuple[dict, ...]
    probability_chart: str | None
    interval_chart: str | None
    verification: Any  # tierlang.verification.RunVerification
    generated: str
    generated_by: str | None
    note: str | None
    tool_version: str
    css: str
    classes: dict  # tier label -> CSS class
    anchors: dict  # entity key -> id of its section
    selected: bool = False  # the sections are of the entities asked for (--entity)


# ---------------------------------------------------------------- reading the store


def gather(
    run_id: int | None = None,
    against: int | None = None,
    sensitivity: int | None = None,
    audit=None,
    note: str | None = None,
    entities: int | None = None,
    only: tuple[str, ...] = (),
) -> Report:
    """Read everything the report shows from the audit store. `entities`: how many entity
    sections (in rank order; None: at most ENTITY_LIMIT); `only`: sections for these
    entities of the top level alone (keys or labels, as `tierlang explain` finds them)."""
    from audit import open_store
    from audit.analyses import analysis as read_analysis
    from audit.analyses import choice_rows, entity_rows
    from audit.explain import explain
    from audit.tables import ranked_table
    from tierlang.verification import verify_run

    path = api.audit_path(audit)
    store = open_store(path, create=False)
    try:
        run = store.run(store.latest_run_id() if run_id is None else run_id)
        if against is not None:
            store.run(against)  # an unknown run is an AuditError, before any work
        methodology = store.methodology(run.methodology_sha256)
        nodes = store.nodes(run.id)
        tiers = [n for n in nodes if n.kind == "tier" and n.level is None]
        tier = tiers[-1] if tiers else None
        scale = tuple(reversed(tier.scale or ())) if tier is not None else ()
        missing_label = (tier.tier or {}).get("missing_label") if tier is not None else None
        classes, palette = _tier_classes(scale, missing_label)
        table = ranked_table(store, run.id)
        ordered = table.sort_values("rank", kind="stable", na_position="last")
        counts = _counts(table, scale, missing_label, classes)
        distribution = None
        if tier is not None:
            distribution = charts.tier_distribution(
                [(label, n) for label, n, _ in counts],
                [palette[c] for _, _, c in counts],
                f"{tier.title}: entities per tier",
            )
        if only:
            keys = [_top_level_key(store, run, text) for text in only]
            chosen = ordered.loc[[k for k in ordered.index if k in set(keys)]]
        else:
            chosen = ordered.head(ENTITY_LIMIT if entities is None else entities)
        # a key of the top level, even where a lower level's entity has the same key or label
        prefix = f"{run.entity_kind or 'entity'}:" if store.levels(run.id) else ""
        sections = tuple(
            _entity_section(
                explain(store, f"{prefix}{key}", run.id, member_limit=MEMBER_LIMIT),
                position,
                row,
                classes,
                scale,
            )
            for position, (key, row) in enumerate(chosen.iterrows())
        )
        analysis = None
        a_entities: tuple[dict, ...] = ()
        a_choices: tuple[dict, ...] = ()
        probability_chart = interval_chart = None
        if sensitivity is not None:
            analysis = read_analysis(store, sensitivity)
            _check_analysis(store, analysis, run)
            a_entities = tuple(entity_rows(store, analysis.id))
            a_choices = tuple(choice_rows(store, analysis.id))
            probability_chart, interval_chart = _sensitivity_charts(
                a_entities, table, scale, classes, palette
            )
        verification = verify_run(store, run.id)
        assumptions = tuple(_assumptions(methodology["sources"]))
    finally:
        store.close()
    comparison = comparison_id = against_info = None
    transition_classes: tuple[tuple[str, ...], ...] = ()
    if against is not None:
        comparison_id, comparison, against_info = _comparison(path, run.id, against)
        transition_classes = _transition_classes(comparison)
    return Report(
        run=run,
        methodology=methodology,
        assumptions=assumptions,
        tier_name=tier.name if tier else None,
        tier_title=tier.title if tier else None,
        scale_best_first=scale,
        counts=counts,
        distribution_chart=distribution,
        table=ordered,
        key_column=methodology.get("key_column") or "key",
        label_column=methodology.get("label_column"),
        entities=sections,
        comparison=comparison,
        comparison_id=comparison_id,
        against=against_info,
        transition_classes=transition_classes,
        analysis=analysis,
        analysis_entities=a_entities,
        analysis_choices=a_choices,
        probability_chart=probability_chart,
        interval_chart=interval_chart,
        verification=verification,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        generated_by=api.current_user(),
        note=note,
        tool_version=__version__,
        css=_css(palette),
        classes=classes,
        anchors={s.key: s.anchor for s in sections},
        selected=bool(only),
    )


def _top_level_key(store, run, text: str) -> str:
    """The key of the top-level entity `text` names (a key or a label)."""
    entity = store.find_entity(run.id, text)
    if entity.is_member:
        raise api.UsageError(
            f"--entity {text}: an entity of level {entity.level}, not of the top level "
            f"({run.entity_kind or 'entity'}): the report has a section per top-level entity "
            "(`tierlang explain` explains any entity)"
        )
    return entity.key


def _check_analysis(store, analysis, run) -> None:
    if analysis.run == run.id:
        return
    nominal = store.run(analysis.run)
    if (nominal.methodology_sha256, nominal.dataset_sha256, nominal.params) != (
        run.methodology_sha256,
        run.dataset_sha256,
        run.params,
    ):
        raise api.UsageError(
            f"--sensitivity {analysis.id}: the analysis is of run {analysis.run}, whose methodology, data or "
            f"params differ from run {run.id}'s; report on run {analysis.run}, or choose an analysis of run "
            f"{run.id} (`tierlang sensitivity` records one)"
        )


def _comparison(path: str, run_id: int, against: int) -> tuple[int, dict, Any]:
    """The recorded comparison of run `run_id` (old) with run `against` (new): the newest one
    recorded, else one made now and recorded (as `tierlang diff --runs` does)."""
    from audit import open_store
    from audit.compare import comparisons

    def recorded():
        store = open_store(path, create=False)
        try:
            for row in comparisons(store):
                if row["old_run"] == run_id and row["new_run"] == against:
                    return row["id"], row["outcome"], store.run(against)
            return None
        finally:
            store.close()

    found = recorded()
    if found is None:
        from tierlang.diffing import diff_runs

        diff_runs(run_id, against, audit=path)
        found = recorded()
    return found


_RULE = re.compile(r"^rule \d+ of \d+ ")


def _next_up_label(label: str | None, scale_best_first: tuple[str, ...]) -> str | None:
    if label not in scale_best_first:
        return None
    position = scale_best_first.index(label)
    return scale_best_first[position - 1] if position > 0 else None


def _entity_section(
    explanation,
    position: int,
    row,
    classes: dict[str | None, str],
    scale_best_first: tuple[str, ...],
) -> EntitySection:
    node = explanation.headline_node
    detail = node.tier
    assigned = limits = None
    next_tier = "-"
    if detail is not None:
        sentences = [s for s in node.details if _RULE.match(s) or s.startswith("no tier")]
        assigned = sentences[0] if sentences else None
        limits = tuple(s for s in node.details if s.startswith("limit "))
        if detail.next_up is not None:
            next_tier = next(s for s in node.details if "the threshold for" in s)
        elif scale_best_first and detail.before_limits == scale_best_first[0]:
            next_tier = "already in the best tier"
        else:
            up = _next_up_label(detail.before_limits, scale_best_first)
            ranks = [s for s in node.details if s.startswith("not in the") and f" for {up}:" in s]
            next_tier = (
                "; ".join(ranks) if ranks else "not a single threshold away (see the derivation)"
            )
    holder = _first_with_components(node)
    components = holder.components if holder is not None else ()
    chart = None
    if components:
        chart = charts.contributions(
            [c.title for c in components], [c.contribution for c in components], holder.title
        )
    tier = None if pd.isna(row["tier"]) else str(row["tier"])
    return EntitySection(
        anchor=f"entity-{position + 1}",
        key=explanation.entity.key,
        label=explanation.entity.label,
        rank=None if pd.isna(row["rank"]) else int(row["rank"]),
        score=None if pd.isna(row["score"]) else float(row["score"]),
        tier=tier,
        tier_class=classes.get(tier, "tier-none"),
        explanation=explanation,
        assigned=assigned,
        limits=limits or (),
        next_tier=next_tier,
        components_node=holder.name if holder else None,
        components=tuple(components),
        chart=chart,
    )


def _first_with_components(node):
    """The first node, depth first from the headline tier, with weighted components."""
    if node.components:
        return node
    for child in node.children:
        found = _first_with_components(child)
        if found is not None:
            return found
    return None


def _counts(
    table: pd.DataFrame,
    scale: tuple[str, ...],
    missing_label: str | None,
    classes: dict[str | None, str],
) -> tuple[tuple[str, int, str], ...]:
    tiers = table["tier"]
    out = [(label, int((tiers == label).sum()), classes[label]) for label in scale]
    if missing_label and missing_label not in scale:
        out.append((missing_label, int((tiers == missing_label).sum()), classes[missing_label]))
    unrated = int(tiers.isna().sum())
    if unrated or not scale:
        out.append(("(no tier)", unrated, "tier-none"))
    return tuple(out)


def _sensitivity_charts(
    rows, table: pd.DataFrame, scale, classes, palette
) -> tuple[str | None, str | None]:
    if not rows:
        return None, None
    labels = list(scale)
    extra = sorted({label for r in rows for label in r["probabilities"] if label not in labels})
    labels += extra
    names = [_short(r["key"], table) for r in rows]
    shares = [[float(r["probabilities"].get(label, 0.0)) for label in labels] for r in rows]
    colours = [palette[classes.get(label, "tier-none")] for label in labels]
    probabilities = charts.tier_probabilities(names, shares, labels, colours)
    intervals = charts.rank_intervals(
        names,
        [r["nominal_rank"] for r in rows],
        [r["median_rank"] for r in rows],
        [r["rank_low"] for r in rows],
        [r["rank_high"] for r in rows],
        [palette[classes.get(r["nominal_tier"], "tier-none")] for r in rows],
    )
    return probabilities, intervals


def _short(key: str, table: pd.DataFrame, width: int = 38) -> str:
    label = table["label"].get(key) if key in table.index else None
    text = f"{label} ({key})" if isinstance(label, str) and label and label != key else str(key)
    return text if len(text) <= width else text[: width - 1] + "…"


def _transition_classes(comparison: dict) -> tuple[tuple[str, ...], ...]:
    t = comparison["transitions"]
    out = []
    for i, row in enumerate(t["counts"]):
        cells = []
        for j, n in enumerate(row):
            same = t["rows"][i] == t["columns"][j]
            cells.append(("same" if same else "moved") + (" zero" if n == 0 else ""))
        out.append(tuple(cells))
    return tuple(out)


_COMMENT = re.compile(r"^\s*#(.*)$")
_MARKED = re.compile(r"\b(?:ASSUMPTION|GAP)\b")
_RULE_LINE = re.compile(r"^[-=#\s]*$|^\s*-{4,}")


def _assumptions(sources) -> list[tuple[str, int, str]]:
    """The comment paragraphs of the recorded methodology sources that mark an ASSUMPTION or a
    GAP (file, first line, text): consecutive comment lines, ended by a code line, a blank
    comment line or a divider; a paragraph starting with ASSUMPTION or GAP starts a new one."""
    found = []
    for file, text in sources:
        paragraphs: list[tuple[int, list[str]]] = []
        open_paragraph = False
        for number, line in enumerate(str(text).splitlines(), start=1):
            match = _COMMENT.match(line)
            body = match.group(1).strip() if match else None
            if body is None or _RULE_LINE.match(body):
                open_paragraph = False
                continue
            if not open_paragraph or body.startswith(("ASSUMPTION", "GAP")):
                paragraphs.append((number, []))
                open_paragraph = True
            paragraphs[-1][1].append(body)
        for first, lines in paragraphs:
            joined = " ".join(lines)
            if _MARKED.search(joined):
                found.append((str(file), first, joined))
    return found


# ---------------------------------------------------------------- styles


MISSING_COLOUR = "#d9d9d9"


def _tier_classes(
    scale_best_first: tuple[str, ...], missing_label: str | None
) -> tuple[dict[str | None, str], dict[str, str]]:
    """A CSS class per tier label (`tier-0` the best), and a colour per class (worst red to
    best blue, charts.tier_colours)."""
    colours = list(reversed(charts.tier_colours(len(scale_best_first))))
    classes: dict[str | None, str] = {None: "tier-none"}
    palette = {"tier-none": charts.NO_TIER_COLOUR}
    for i, label in enumerate(scale_best_first):
        classes[label] = f"tier-{i}"
        palette[f"tier-{i}"] = colours[i]
    if missing_label and missing_label not in classes:
        classes[missing_label] = "tier-missing"
        palette["tier-missing"] = MISSING_COLOUR
    return classes, palette


def _text_colour(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if luminance > 0.5 else "#ffffff"


def _css(palette: dict[str, str]) -> str:
    base = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    rules = [
        f".{c} {{ background: {colour}; color: {_text_colour(colour)}; }}"
        for c, colour in palette.items()
    ]
    return base + "\n" + "\n".join(rules) + "\n"


# ---------------------------------------------------------------- rendering


def render(report: Report) -> str:
    """The report as one HTML document (UTF-8 text)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = cells.number
    env.filters["percent"] = cells.percent
    env.filters["signed"] = cells.signed
    style_hash = base64.b64encode(hashlib.sha256(report.css.encode("utf-8")).digest()).decode(
        "ascii"
    )
    csp = f"default-src 'none'; img-src data:; style-src 'sha256-{style_hash}'; base-uri 'none'; form-action 'none'"
    return env.get_template("report.html.j2").render(r=report, csp=csp, pd=pd)


def write(report: Report, out: str) -> int:
    """Write the report to `out`; returns its size in bytes."""
    data = render(report).encode("utf-8")
    Path(out).write_bytes(data)
    return len(data)
