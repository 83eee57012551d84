"""The differ: two checked methodologies compared by name, section by section, into a
StructuralDiff."""

from __future__ import annotations

import re

from dsl import model as M
from dsl import types as T
from dsl.diff.phrases import ARROW, _summary, arrow
from dsl.diff.result import (
    _COMMUTATIVE,
    _OPTIONS,
    _QUOTED,
    HEADER_FIELDS,
    SECTIONS,
    Change,
    Detail,
    OverrideInfo,
    Side,
    StructuralDiff,
)
from dsl.diff.values import (
    _bool,
    _json_range,
    _level_of,
    _levels_text,
    _param_value_text,
    _per,
    _presence,
    _range_text,
    _rule_item,
    _scale_text,
    _shape,
    _threshold_value,
    _weight_value,
    canonical,
    plain,
)
from dsl.printer import Printer, label_text, option_texts, quote, squash


def diff(old: M.Methodology, new: M.Methodology) -> StructuralDiff:
    """The structural changes from `old` to `new` (both checked methodologies)."""
    return _Differ(old, new).run()


def _side(m: M.Methodology) -> Side:
    return Side(m.name, m.version, m.path, tuple(p for p, _ in m.sources))


def extends(old: M.Methodology, new: M.Methodology) -> bool:
    """True when `new` extends `old`: old's file (same text, same file name) is in new's chain
    of extended files."""
    if not old.sources or len(new.sources) < 2:
        return False
    old_path, old_text = old.sources[0]
    return any(text == old_text and basename(path) == basename(old_path)
               for path, text in new.sources[1:])


def basename(path: str) -> str:
    return re.split(r"[\\/]", path)[-1]


def _section(kind: str) -> str:
    if kind == M.INPUT:
        return "inputs"
    if kind == M.PARAM:
        return "params"
    if kind == M.TIER:
        return "tiers"
    return "definitions"


class _Differ:
    def __init__(self, old: M.Methodology, new: M.Methodology):
        self.old, self.new = old, new
        self.p_old = Printer(dict(old.sources))
        self.p_new = Printer(dict(new.sources))

    def run(self) -> StructuralDiff:
        changes = self.header() + self.types() + self.nodes()
        changes.sort(key=lambda c: SECTIONS.index(c.section))  # stable: order within a section kept
        changed_names = {c.name for c in changes}
        overrides = tuple(OverrideInfo(o.name, o.base_file, o.file,
                                       o.name in changed_names or any(u in changed_names for u in o.used_by))
                          for o in self.new.overrides)
        return StructuralDiff(_side(self.old), _side(self.new), tuple(changes),
                              extends(self.old, self.new), overrides)

    # -- header and types
    def header(self) -> list[Change]:
        out = []
        for field in HEADER_FIELDS:
            a, b = getattr(self.old, field), getattr(self.new, field)
            if a == b:
                continue
            old_text = None if a is None else (quote(squash(a)) if field in _QUOTED else str(a))
            new_text = None if b is None else (quote(squash(b)) if field in _QUOTED else str(b))
            change = "added" if a is None else "removed" if b is None else "changed"
            detail = Detail(field, None, change, old_text, new_text)
            summary = f"{field} {arrow(old_text, new_text)}"
            out.append(Change("header", field, "header", "changed", (detail,), summary))
        old_levels, new_levels = _levels_text(self.old), _levels_text(self.new)
        if old_levels != new_levels:
            detail = Detail("levels", None, _presence(old_levels, new_levels), old_levels, new_levels)
            out.append(Change("header", "levels", "header", "changed", (detail,),
                              f"entity levels {arrow(old_levels, new_levels)}"))
        return out

    def types(self) -> list[Change]:
        old_types, new_types = self.old.types, self.new.types
        out = []
        for name, t in new_types.items():
            if name not in old_types:
                out.append(Change("types", name, "type", "added",
                                  (Detail("labels", None, "added", None, t.describe()),),
                                  f"type {name} added ({t.describe()})"))
            elif old_types[name] != t:
                a = old_types[name]
                detail = Detail("labels", None, "changed", a.describe(), t.describe())
                out.append(Change("types", name, "type", "changed", (detail,),
                                  f"type {name}: {a.describe()} {ARROW} {t.describe()}"))
        for name, t in old_types.items():
            if name not in new_types:
                out.append(Change("types", name, "type", "removed",
                                  (Detail("labels", None, "removed", t.describe(), None),),
                                  f"type {name} removed"))
        return out

    # -- nodes
    def nodes(self) -> list[Change]:
        old_nodes = {n.name: n for n in self.old.nodes}
        new_nodes = {n.name: n for n in self.new.nodes}
        out = []
        for n in self.new.nodes:
            o = old_nodes.get(n.name)
            if o is None:
                out.append(self.added(n))
            elif canonical(o) != canonical(n):
                change = self.changed(canonical(o), canonical(n), o, n)
                if change is not None:
                    out.append(change)
        for o in self.old.nodes:
            if o.name not in new_nodes:
                out.append(self.removed(o))
        return out

    def _where(self, node: M.Node) -> tuple[str | None, int | None]:
        return (node.span.file, node.span.line) if node.span is not None else (None, None)

    def expression(self, node: M.Node, printer: Printer) -> str | None:
        if node.expr is not None:
            return printer.text(node.expr)
        if node.tier is not None and node.tier.source is not None:
            return printer.text(node.tier.source)
        return None

    @staticmethod
    def type_text(t: T.Type, m: M.Methodology) -> str:
        """`number`, `rating` (a declared level type), or `level a < b < c` (an inline one)."""
        if t.base == T.LEVEL and t.level is not None:
            scalar = "scalar " if t.scalar else ""
            if t.level.name in m.types:
                return f"{scalar}{t.level.name}"
            return f"{scalar}level {t.level.describe()}"
        return str(t)

    def describe(self, node: M.Node, printer: Printer) -> str:
        """A short description of a whole node (for added and removed ones)."""
        m = self.new if printer is self.p_new else self.old
        label = f" {quote(node.label)}" if node.label else ""
        if node.kind == M.INPUT:
            column = f' from {quote(node.column)}' if node.column and node.column != node.name else ""
            rng = f" range {_range_text(node.range, node)}" if node.range else ""
            return f"input {node.name}: {self.type_text(node.type, m)}{label}{column}{rng}{_per(node)}"
        if node.kind == M.PARAM:
            rng = f" range {_range_text(node.range, node)}" if node.range else ""
            return f"param {node.name} = {_param_value_text(node)}{rng}"
        if node.kind == M.TIER:
            spec = node.tier
            source = f" from {printer.text(spec.source)}" if spec.source is not None else ""
            rules = ", ".join(f"{label_text(r.label)}: {printer.condition(r)}" for r in spec.rules)
            return f"tier {node.name}{label}{_per(node)}{source} {{ {rules} }}"
        return f"{node.kind} {node.name}{label}{_per(node)} = {printer.text(node.expr)}"

    def added(self, n: M.Node) -> Change:
        file, line = self._where(n)
        text = self.describe(n, self.p_new)
        return Change(_section(n.kind), n.name, n.kind, "added",
                      (Detail("node", None, "added", None, text),), f"{n.kind} {n.name} added",
                      new_source=n.source_text or None,
                      new_expression=self.expression(n, self.p_new), file=file, line=line,
                      override=n.overrides)

    def removed(self, o: M.Node) -> Change:
        file, line = self._where(o)
        text = self.describe(o, self.p_old)
        return Change(_section(o.kind), o.name, o.kind, "removed",
                      (Detail("node", None, "removed", text, None),), f"{o.kind} {o.name} removed",
                      old_source=o.source_text or None,
                      old_expression=self.expression(o, self.p_old), file=file, line=line)

    def changed(self, o: M.Node, n: M.Node, written_o: M.Node, written_n: M.Node) -> Change | None:
        """Details of two nodes that differ (`o`, `n` canonical; the written ones for texts)."""
        details: list[Detail] = []
        if o.kind != n.kind:
            details.append(Detail("kind", None, "changed", o.kind, n.kind))
        if (o.level, o.context) != (n.level, n.context):
            details.append(Detail("level", None, "changed", _level_of(o, self.old), _level_of(n, self.new)))
        if str(o.type) != str(n.type):
            details.append(Detail("type", None, "changed", self.type_text(o.type, self.old),
                                  self.type_text(n.type, self.new)))
        if n.kind == M.INPUT and o.kind == M.INPUT:
            details += self.input_details(o, n)
        elif n.kind == M.PARAM and o.kind == M.PARAM:
            details += self.param_details(o, n)
        elif n.kind == M.TIER and o.kind == M.TIER:
            details += self.tier_details(o, n)
        elif _shape(o.expr) != _shape(n.expr):
            details += self.expr_details(o.expr, n.expr, written_o.expr, written_n.expr)
        if o.label != n.label:
            details.append(Detail("label", None, _presence(o.label, n.label),
                                  quote(o.label) if o.label else None,
                                  quote(n.label) if n.label else None))
        if o.doc != n.doc:
            details.append(Detail("doc", None, _presence(o.doc, n.doc),
                                  quote(squash(o.doc)) if o.doc else None,
                                  quote(squash(n.doc)) if n.doc else None))
        if not details:
            if o.deps == n.deps and o.required == n.required and o.optional == n.optional:
                return None  # equal but for fields that compare by identity: nothing to show
            details.append(Detail("dependencies", None, "changed", ", ".join(o.deps), ", ".join(n.deps)))
        file, line = self._where(written_n)
        return Change(
            _section(n.kind), n.name, n.kind, "changed", tuple(details),
            _summary(n, details),
            old_source=written_o.source_text or None, new_source=written_n.source_text or None,
            old_expression=self.expression(written_o, self.p_old),
            new_expression=self.expression(written_n, self.p_new),
            file=file, line=line, override=written_n.overrides,
        )

    # -- inputs and params
    def input_details(self, o: M.Node, n: M.Node) -> list[Detail]:
        out = []
        if (o.column or o.name) != (n.column or n.name):
            out.append(Detail("column", None, "changed", quote(o.column or o.name), quote(n.column or n.name)))
        if o.range != n.range:
            out.append(Detail("range", None, _presence(o.range, n.range), _range_text(o.range, o),
                              _range_text(n.range, n), _json_range(o.range), _json_range(n.range)))
        if o.required != n.required:
            out.append(Detail("required", None, "changed", _bool(o.required), _bool(n.required)))
        if o.optional != n.optional:
            out.append(Detail("optional", None, "changed", _bool(o.optional), _bool(n.optional)))
        return out

    def param_details(self, o: M.Node, n: M.Node) -> list[Detail]:
        out = []
        if o.value != n.value or type(o.value) is not type(n.value):
            out.append(Detail("value", None, "changed", _param_value_text(o), _param_value_text(n),
                              plain(o.value), plain(n.value)))
        if o.range != n.range:
            out.append(Detail("range", None, _presence(o.range, n.range), _range_text(o.range, o),
                              _range_text(n.range, n), _json_range(o.range), _json_range(n.range)))
        return out

    # -- expressions
    def expr_details(self, a: M.Expr | None, b: M.Expr | None, written_a: M.Expr | None = None,
                     written_b: M.Expr | None = None) -> list[Detail]:
        """Details of two differing expressions (canonical; the written ones are printed when
        the whole expression is shown)."""
        if isinstance(a, M.Call) and isinstance(b, M.Call) and a.function == b.function:
            details = self.call_details(a, b)
            if details is not None:
                return details
        if isinstance(a, M.BandOf) and isinstance(b, M.BandOf) and a.subject == b.subject \
                and len(a.ops) == len(b.ops):
            return self.band_details(a, b)
        if isinstance(a, M.MapOf) and isinstance(b, M.MapOf) and a.subject == b.subject:
            return self.map_details(a, b)
        old_text = self.p_old.text(written_a if written_a is not None else a)
        new_text = self.p_new.text(written_b if written_b is not None else b)
        return [Detail("expression", None, "changed", old_text, new_text)]

    def call_details(self, a: M.Call, b: M.Call) -> list[Detail] | None:
        """Arguments, weights and options of two calls of the same function, or None when they
        differ in a way better shown as a whole expression (a non-commutative function whose
        arguments changed)."""
        old_args = [(arg, a.weights[i] if a.weights is not None else None) for i, arg in enumerate(a.args)]
        new_args = [(arg, b.weights[i] if b.weights is not None else None) for i, arg in enumerate(b.args)]
        out: list[Detail] = []
        if [_shape(x) for x, _ in old_args] != [_shape(x) for x, _ in new_args]:
            if a.function not in _COMMUTATIVE:
                return None
            old_keys = [_shape(x) for x, _ in old_args]
            new_keys = [_shape(x) for x, _ in new_args]
            for x, w in new_args:
                if _shape(x) not in old_keys:
                    out.append(Detail("component", self.p_new.text(x), "added", None,
                                      self._weight_text(w, self.p_new), None, _weight_value(w)))
            for x, w in old_args:
                if _shape(x) not in new_keys:
                    out.append(Detail("component", self.p_old.text(x), "removed",
                                      self._weight_text(w, self.p_old), None, _weight_value(w)))
            common_old = [x for x, _ in old_args if _shape(x) in new_keys]
            common_new = [x for x, _ in new_args if _shape(x) in old_keys]
            if [_shape(x) for x in common_old] != [_shape(x) for x in common_new] and \
                    sorted(map(repr, map(_shape, common_old))) == sorted(map(repr, map(_shape, common_new))):
                out.append(Detail("component_order", None, "changed",
                                  ", ".join(self.p_old.text(x) for x in common_old),
                                  ", ".join(self.p_new.text(x) for x in common_new)))
        new_weights = {repr(_shape(x)): w for x, w in new_args}
        seen: set[str] = set()
        for x, w in old_args:
            key = repr(_shape(x))
            if key in new_weights and key not in seen:
                seen.add(key)
                nw = new_weights[key]
                if _shape(w) != _shape(nw):
                    change = _presence(w, nw)
                    out.append(Detail("weight", self.p_new.text(x), change,
                                      self._weight_text(w, self.p_old), self._weight_text(nw, self.p_new),
                                      _weight_value(w), _weight_value(nw)))
        old_options, new_options = dict(option_texts(a)), dict(option_texts(b))
        for option in _OPTIONS:
            if getattr(a, option) != getattr(b, option):
                name = option.replace("_", " ")
                out.append(Detail("option", name, _presence(getattr(a, option) or None, getattr(b, option) or None),
                                  old_options.get(option, "none" if option != "population_count" else "row-wise"),
                                  new_options.get(option, "none" if option != "population_count" else "row-wise")))
        if a.over != b.over:
            out.append(Detail("option", "over", _presence(a.over, b.over), f"over {a.over}" if a.over else "none",
                              f"over {b.over}" if b.over else "none"))
        if not out:  # same texts, different trees (a level type used changed)
            return [Detail("expression", None, "changed", self.p_old.call(a), self.p_new.call(b))]
        return out

    def _weight_text(self, w: M.Expr | None, printer: Printer) -> str | None:
        return None if w is None else printer.text(w)

    def band_details(self, a: M.BandOf, b: M.BandOf) -> list[Detail]:
        out = []
        for i, (op_a, t_a, v_a, op_b, t_b, v_b) in enumerate(
                zip(a.ops, a.thresholds, a.values, b.ops, b.thresholds, b.values)):
            item = f"case {i + 1}"
            if op_a != op_b or t_a != t_b:
                out.append(Detail("cutoff", item, "changed", self.p_old.case(op_a, t_a),
                                  self.p_new.case(op_b, t_b), _weight_value(t_a), _weight_value(t_b)))
            if v_a != v_b:
                out.append(Detail("case", item, "changed", self.p_old.text(v_a), self.p_new.text(v_b)))
        if a.otherwise != b.otherwise:
            out.append(Detail("case", "otherwise", _presence(a.otherwise, b.otherwise),
                              self.p_old.text(a.otherwise) if a.otherwise is not None else None,
                              self.p_new.text(b.otherwise) if b.otherwise is not None else None))
        if not out:
            out.append(Detail("expression", None, "changed", self.p_old.text(a), self.p_new.text(b)))
        return out

    def map_details(self, a: M.MapOf, b: M.MapOf) -> list[Detail]:
        out = []
        old_cases = dict(zip(a.keys, a.values))
        new_cases = dict(zip(b.keys, b.values))
        for key, value in new_cases.items():
            item = self.p_new.key(b, key)
            if key not in old_cases:
                out.append(Detail("case", item, "added", None, self.p_new.text(value)))
            elif old_cases[key] != value:
                out.append(Detail("case", item, "changed", self.p_old.text(old_cases[key]), self.p_new.text(value)))
        for key, value in old_cases.items():
            if key not in new_cases:
                out.append(Detail("case", self.p_old.key(a, key), "removed", self.p_old.text(value), None))
        if a.otherwise != b.otherwise:
            out.append(Detail("case", "otherwise", _presence(a.otherwise, b.otherwise),
                              self.p_old.text(a.otherwise) if a.otherwise is not None else None,
                              self.p_new.text(b.otherwise) if b.otherwise is not None else None))
        if not out:
            out.append(Detail("expression", None, "changed", self.p_old.text(a), self.p_new.text(b)))
        return out

    # -- tiers
    def tier_details(self, o: M.Node, n: M.Node) -> list[Detail]:
        a, b = o.tier, n.tier
        out: list[Detail] = []
        if a.source != b.source:
            out.append(Detail("from", None, _presence(a.source, b.source),
                              self.p_old.text(a.source) if a.source is not None else None,
                              self.p_new.text(b.source) if b.source is not None else None))
        if a.scale.labels != b.scale.labels:
            out.append(Detail("scale", None, "changed", _scale_text(a.scale), _scale_text(b.scale)))
        if a.missing_label != b.missing_label:
            out.append(Detail("missing_label", None, _presence(a.missing_label, b.missing_label),
                              label_text(a.missing_label) if a.missing_label else None,
                              label_text(b.missing_label) if b.missing_label else None))
        out += self.rule_details(a.rules, b.rules)
        out += self.limit_details(n.name, a.limits, b.limits)
        return out

    def rule_details(self, old: tuple[M.TierRule, ...], new: tuple[M.TierRule, ...]) -> list[Detail]:
        """Rules are matched by label (the k-th rule with a label to the k-th with it)."""
        def keyed(rules):
            seen: dict[str, int] = {}
            out = []
            for r in rules:
                k = seen.get(r.label, 0)
                seen[r.label] = k + 1
                out.append(((r.label, k), r))
            return out

        old_keyed, new_keyed = keyed(old), keyed(new)
        old_map, new_map = dict(old_keyed), dict(new_keyed)
        out = []
        for key, r in new_keyed:
            item = _rule_item(key, new)
            if key not in old_map:
                out.append(Detail("rule", item, "added", None, self.p_new.condition(r),
                                  None, _threshold_value(r.condition)))
            elif old_map[key].condition != r.condition:
                o = old_map[key]
                out.append(Detail("rule", item, "changed", self.p_old.condition(o), self.p_new.condition(r),
                                  _threshold_value(o.condition), _threshold_value(r.condition)))
        for key, r in old_keyed:
            if key not in new_map:
                out.append(Detail("rule", _rule_item(key, old), "removed", self.p_old.condition(r), None,
                                  _threshold_value(r.condition), None))
        old_order = [k for k, _ in old_keyed if k in new_map]
        new_order = [k for k, _ in new_keyed if k in old_map]
        if old_order != new_order:
            out.append(Detail("rule_order", None, "changed",
                              ", ".join(label_text(k[0]) for k in old_order),
                              ", ".join(label_text(k[0]) for k in new_order)))
        return out

    def limit_details(self, tier: str, old: tuple[M.Limit, ...], new: tuple[M.Limit, ...]) -> list[Detail]:
        if old == new:
            return []
        remaining = list(old)
        matched_new: list[M.Limit] = []
        out = []
        for limit in new:
            if limit in remaining:
                remaining.remove(limit)
                matched_new.append(limit)
            else:
                out.append(Detail("limit", None, "added", None, self.p_new.limit(tier, limit)))
        for limit in remaining:
            out.append(Detail("limit", None, "removed", self.p_old.limit(tier, limit), None))
        matched_old = [lim for lim in old if lim in matched_new]
        if not out and matched_old != matched_new:
            out.append(Detail("limit_order", None, "changed",
                              "; ".join(self.p_old.limit(tier, lim) for lim in matched_old),
                              "; ".join(self.p_new.limit(tier, lim) for lim in matched_new)))
        return out
