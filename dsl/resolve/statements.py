"""Statement lowering: input, param, definition and tier declarations → checked nodes (dsl.model),
and limits; every expression in them typed by dsl.resolve.expressions."""

from __future__ import annotations

import math

from dsl import model as M
from dsl import syntax as S
from dsl import types as T
from dsl.errors import did_you_mean
from dsl.resolve.base import (
    ERROR_TYPE,
    Ctx,
    fmt,
    is_error,
    literal_number,
    not_rated_spellings,
    threshold_covered,
)


class StatementLowering:
    """Mixin of dsl.resolve.Resolver: one statement → one node."""

    def node(self, statement, file: str) -> M.Node | None:
        self.current = statement.name
        if isinstance(statement, S.InputDecl):
            node = self._input(statement, file)
        elif isinstance(statement, S.ParamDecl):
            node = self._param(statement, file)
        elif isinstance(statement, S.Definition):
            node = self._definition(statement, file)
        else:
            node = self._tier(statement, file)
        self.types[node.name] = node.type
        return node

    def _common(self, statement, file: str) -> dict:
        return dict(
            name=statement.name,
            label=getattr(statement, "display", None),
            doc=statement.doc,
            source_text=self.text_of(file, statement.span),
            span=statement.name_span,
        )

    def _input(self, decl: S.InputDecl, file: str) -> M.Node:
        kind = self._type_ref(decl.type, decl.name)
        value_range = None
        if decl.range is not None:
            if kind.base != T.NUMBER:
                self.error("range-not-number", f"input '{decl.name}' is {kind}: only number inputs take a range",
                           decl.range.span, "remove the range.")
            else:
                value_range = self._range(decl.range)
        if decl.optional and decl.required:
            self.error("optional-required", f"input '{decl.name}' is both `optional` and `required`", decl.span,
                       "an optional input's column may be absent; a required one's cells must all be filled: "
                       "keep one.")
        return M.Node(kind=M.INPUT, type=kind, deps=(), column=decl.column or decl.name, range=value_range,
                      required=decl.required, optional=decl.optional, **self._common(decl, file))

    def _range(self, r: S.Range) -> tuple[float, float] | None:
        if r.low.value > r.high.value:
            self.error("bad-range", f"the range {r.low.text}..{r.high.text} is empty: its low end is above its high end",
                       r.span, "write the smaller bound first.")
            return None
        return (r.low.value, r.high.value)

    def _type_ref(self, ref, owner: str) -> T.Type:
        if isinstance(ref, S.NumberType):
            return T.number()
        if isinstance(ref, S.BooleanType):
            return T.boolean()
        if isinstance(ref, S.TextType):
            return T.text()
        if isinstance(ref, S.LevelTypeExpr):
            labels = []
            for label in ref.labels:
                if label.text in labels:
                    self.error("duplicate-label", f"label {label.text!r} appears twice", label.span,
                               "each label of a level type must be distinct.")
                else:
                    labels.append(label.text)
            level = T.LevelType(owner, tuple(labels), not_rated_spellings(self, owner, ref))
            self.levels.append(level)
            return T.level(level)
        level = self.symbols.level_types.get(ref.name)
        if level is None:
            suggestion = did_you_mean(ref.name, [*self.symbols.level_types, "number", "boolean", "text"])
            self.error("unknown-type", f"unknown type '{ref.name}'", ref.span,
                       f"did you mean '{suggestion}'?" if suggestion else
                       "use number, boolean, text, a `level a < b` list, or declare it with `type`.")
            return ERROR_TYPE
        return T.level(level)

    def _param(self, decl: S.ParamDecl, file: str) -> M.Node:
        ctx = Ctx(file, [])
        value_expr = self.expr(decl.value, ctx)
        value = value_expr.value if isinstance(value_expr, M.Const) else (
            value_expr.label if isinstance(value_expr, M.LabelConst) else None)
        kind = value_expr.type.as_scalar() if not is_error(value_expr.type) else ERROR_TYPE
        value_range = None
        distribution = None
        if isinstance(decl.range, S.OneOf):
            if not is_error(kind):
                distribution = self._one_of(decl, value_expr, ctx)
        elif decl.range is not None:
            if kind.base != T.NUMBER:
                self.error("range-not-number", f"param '{decl.name}' is {kind.base}: only numbers take a range",
                           decl.range.span, "remove the range, or list the options: `one of [...]`.")
            elif isinstance(decl.range, S.Normal):
                distribution = self._normal(decl, value)
            else:
                value_range = self._range(decl.range)
                if value_range and not (value_range[0] <= value <= value_range[1]):
                    self.error("param-out-of-range", f"param '{decl.name}' = {decl.value.text} is outside its range "
                               f"{decl.range.low.text}..{decl.range.high.text}", decl.value.span,
                               "change the value or widen the range.")
                elif value_range:
                    distribution = M.Distribution(M.UNIFORM, value_range,
                                                  f"{decl.range.low.text}..{decl.range.high.text}")
        self.param_values[decl.name] = value
        return M.Node(kind=M.PARAM, type=kind, deps=(), value=value, range=value_range, distribution=distribution,
                      **self._common(decl, file))

    def _normal(self, decl: S.ParamDecl, value: float) -> M.Distribution | None:
        """`range normal(mean, sd)`: sd must be above 0; a value far from the mean is suspicious."""
        mean, sd = decl.range.mean, decl.range.sd
        if not sd.value > 0 or not math.isfinite(sd.value) or not math.isfinite(mean.value):
            self.error("bad-sd", f"param '{decl.name}': the standard deviation {sd.text} must be above 0",
                       sd.span, "write e.g. `range normal(50%, 5%)`.")
            return None
        if abs(value - mean.value) > 3 * sd.value:
            self.warning("param-far-from-mean", f"param '{decl.name}' = {decl.value.text} is more than 3 standard "
                         f"deviations from the mean {mean.text} of its range", decl.value.span,
                         "a param's value is usually the centre of its plausible values.")
        return M.Distribution(M.NORMAL, (mean.value, sd.value), f"normal({mean.text}, {sd.text})")

    def _one_of(self, decl: S.ParamDecl, value_expr: M.Expr, ctx: Ctx) -> M.Distribution | None:
        """`one of [a, b, c]`: options of the value's type, distinct, the value among them."""
        options, texts = [], []
        for option in decl.range.options:
            resolved = self.expr(option, ctx, expect=value_expr.type)
            if is_error(resolved.type):
                return None
            plain = _plain(resolved)
            if not resolved.type.same_kind(value_expr.type) or plain is None:
                self._type_error(option.span, f"param '{decl.name}' is {value_expr.type.as_scalar(False)}: "
                                 f"an option cannot be {resolved.type.as_scalar(False)}")
                return None
            if any(_same_option(plain, seen) for seen in options):
                self.error("duplicate-option", f"param '{decl.name}': the option {_literal_text(option)} is listed "
                           "twice", option.span, "list each option once.")
                return None
            options.append(plain)
            texts.append(_literal_text(option))
        value = _plain(value_expr)
        if not any(_same_option(value, option) for option in options):
            self.error("param-not-an-option", f"param '{decl.name}' = {_literal_text(decl.value)} is not one of its "
                       f"options [{', '.join(texts)}]", decl.value.span, "add the value to the options.")
            return None
        return M.Distribution(M.ONE_OF, tuple(options), f"one of [{', '.join(texts)}]")

    def _definition(self, decl: S.Definition, file: str) -> M.Node:
        ctx = Ctx(file, [])
        expr = self.expr(decl.expr, ctx)
        if isinstance(expr, M.ListOf):
            self.list_lengths[decl.name] = len(expr.items)
        if expr.type.scalar and expr.type.base == T.NUMBER:
            self.definitions[decl.name] = expr
        return M.Node(kind=decl.kind, type=expr.type, deps=tuple(dict.fromkeys(ctx.deps)), expr=expr,
                      **self._common(decl, file))

    # ------------------------------------------------------------ tiers

    def _tier(self, decl: S.TierDecl, file: str) -> M.Node:
        ctx = Ctx(file, [])
        scale = self._scale(decl)
        source = None
        if decl.source is not None:
            source = self.expr(decl.source, ctx)
            t = source.type
            if not is_error(t) and (t.base != T.NUMBER or t.scalar):
                self.error("tier-from-type", f"tier '{decl.name}' is assigned from a {t}: it needs a number for "
                           "each entity", decl.source.span, "use a score or indicator as the `from` value.")
        rules = []
        for position, rule in enumerate(decl.rules):
            rules.append(self._tier_rule(decl, rule, scale, source, ctx, file))
            if isinstance(rule.condition, S.Otherwise) and position < len(decl.rules) - 1:
                after = decl.rules[position + 1]
                self.error("unreachable-rule", f"the rule for {after.label.text!r} can never apply: it comes after "
                           "`otherwise`", after.span, "move `otherwise` to the last rule.")
        self._check_tier_reachability(decl)
        if not any(isinstance(r.condition, S.Otherwise) for r in decl.rules):
            self.warning("tier-no-otherwise", f"tier '{decl.name}' has no `otherwise`: an entity that meets no "
                         "rule gets no tier", decl.name_span, "add a last rule `LABEL: otherwise`.")
        self.levels.append(scale)
        spec = M.TierSpec(scale=scale, source=source, rules=tuple(rules),
                          missing_label=decl.missing_label.text if decl.missing_label else None, limits=())
        return M.Node(kind=M.TIER, type=T.level(scale), deps=tuple(dict.fromkeys(ctx.deps)), tier=spec,
                      **self._common(decl, file))

    def _scale(self, decl: S.TierDecl) -> T.LevelType:
        if decl.type is not None:
            kind = self._type_ref(decl.type, decl.name)
            if kind.base == T.LEVEL:
                return kind.level
            if not is_error(kind):
                self.error("tier-type", f"a tier's type must be a level type, not {kind}", decl.type.span,
                           "declare `type NAME = level worst < ... < best` and write `tier t: NAME`.")
        written = list(dict.fromkeys(rule.label.text for rule in decl.rules))
        return T.LevelType(decl.name, tuple(reversed(written)))  # written best first; scales are worst first

    def _tier_rule(self, decl, rule: S.TierRule, scale, source, ctx, file) -> M.TierRule:
        label = rule.label.text
        if label not in scale.labels and decl.type is not None:
            self._bad_label(label, scale, rule.label.span)
        condition = rule.condition
        text = self.text_of(file, condition.span if hasattr(condition, "span") else None)
        if isinstance(condition, (S.Threshold, S.RankCut)) and decl.source is None:
            self.error("tier-needs-from", f"the rule for {label!r} compares the tier's value, but tier "
                       f"'{decl.name}' has no `from`", condition.span,
                       f"write `tier {decl.name} from SCORE {{`, or make the rule a condition.")
        if isinstance(condition, S.Threshold):
            value = self.expr(condition.value, ctx, T.number(scalar=True))
            self._expect_number(value, condition.value.span, "a threshold")
            resolved = M.ThresholdRule(condition.op, value, span=condition.span)
        elif isinstance(condition, S.RankCut):
            resolved = self._rank_cut(condition)
            if condition.within is not None and not self.group(condition.within, condition.span, ctx):
                resolved = M.RankRule(resolved.direction, resolved.count, resolved.percent, span=condition.span)
        elif isinstance(condition, S.Otherwise):
            resolved = M.OtherwiseRule(span=condition.span)
        else:
            expr = self.expr(condition, ctx)
            self._expect_boolean(expr, condition.span, f"the condition for {label!r}")
            resolved = M.ConditionRule(expr, span=condition.span)
        return M.TierRule(label, resolved, source_text=text, span=rule.span)

    def _rank_cut(self, cut: S.RankCut) -> M.RankRule:
        percent = cut.count.text.endswith("%")
        value = cut.count.value
        if percent and not 0 < value <= 1:
            self.error("bad-rank-cut", f"`{cut.direction} {cut.count.text}` must be a share between 0% and 100%",
                       cut.count.span, "write e.g. `top 10%`.")
        elif not percent and (value < 1 or not float(value).is_integer()):
            self.error("bad-rank-cut", f"`{cut.direction} {cut.count.text}` needs a whole number of entities",
                       cut.count.span, "write e.g. `top 5`, or a share such as `top 10%`.")
        return M.RankRule(cut.direction, value, percent, cut.within, span=cut.span)

    def _check_tier_reachability(self, decl: S.TierDecl) -> None:
        earlier_thresholds: list[tuple[str, float, S.TierRule]] = []
        earlier_cuts: list[tuple[str, bool, float]] = []
        for rule in decl.rules:
            c = rule.condition
            if isinstance(c, S.Threshold) and isinstance(c.value, (S.Number, S.Unary)):
                value = literal_number(c.value)
                if value is None:
                    continue
                for op, earlier, earlier_rule in earlier_thresholds:
                    if threshold_covered(earlier, op, value, c.op):
                        self.error("unreachable-rule", f"the rule for {rule.label.text!r} can never apply: "
                                   f"`{c.op} {fmt(value)}` is already caught by the rule for "
                                   f"{earlier_rule.label.text!r} (`{op} {fmt(earlier)}`)", c.span,
                                   "order thresholds from the strictest to the loosest.")
                        break
                earlier_thresholds.append((c.op, value, rule))
            elif isinstance(c, S.RankCut):
                percent = c.count.text.endswith("%")
                for direction, was_percent, count, within in earlier_cuts:
                    if (direction == c.direction and was_percent == percent and c.count.value <= count
                            and within == c.within):
                        self.error("unreachable-rule", f"the rule for {rule.label.text!r} can never apply: "
                                   f"`{c.direction} {c.count.text}` is inside an earlier `{direction}` rule",
                                   c.span, "put the smaller group first.")
                        break
                earlier_cuts.append((c.direction, percent, c.count.value, c.within))

    def limit(self, decl: S.LimitDecl, file: str, scale: T.LevelType):
        if decl.label.text not in scale.labels:
            self._bad_label(decl.label.text, scale, decl.label.span)
        ctx = Ctx(file, [])
        condition = self.expr(decl.condition, ctx)
        self._expect_boolean(condition, decl.condition.span, "a limit's `when` condition")
        limit = M.Limit(decl.direction, decl.label.text, condition,
                        source_text=self.text_of(file, decl.span), span=decl.span)
        return limit, ctx.deps


def _plain(expr: M.Expr) -> float | bool | str | None:
    """The plain value of a resolved literal (a label as its text); None if it is not one."""
    if isinstance(expr, M.LabelConst):
        return expr.label
    if isinstance(expr, M.Const):
        return expr.value
    return None


def _same_option(a, b) -> bool:
    """Equal options; numbers compare as the language does (one part in 10^12)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1.0)
    return type(a) is type(b) and a == b


def _literal_text(literal) -> str:
    """A param value or option as written."""
    if isinstance(literal, S.Number):
        return literal.text or f"{literal.value:g}"
    if isinstance(literal, S.Boolean):
        return "true" if literal.value else "false"
    if isinstance(literal, S.String):
        return f'"{literal.value}"'
    if isinstance(literal, S.Name):
        return literal.name
    return "?"

