"""Expression typing: syntax expressions → resolved, typed model expressions (dsl.model), every
name a `Ref` or a label, operators, lists, `for`, `map` and `band` checked. Calls are
dsl.resolve.calls's job.
"""

from __future__ import annotations

from dsl import builtins as B
from dsl import model as M
from dsl import syntax as S
from dsl import types as T
from dsl.errors import did_you_mean
from dsl.parser import MAX_NESTING
from dsl.resolve.base import (
    ARITHMETIC,
    ERROR_TYPE,
    MAX_EXPANDED_NODES,
    ORDERINGS,
    Ctx,
    fmt,
    is_error,
    item_type,
    literal_number,
    threshold_covered,
)


class ExpressionTyping:
    """Mixin of dsl.resolve.Resolver: one syntax expression → one typed model expression."""

    def expr(self, e, ctx: Ctx, expect: T.Type | None = None) -> M.Expr:
        if self._depth > MAX_NESTING:  # only through user functions: the parser limits the rest
            if not self._too_deep_reported:
                self._too_deep_reported = True
                where = self._outer_calls[0] if self._outer_calls else e.span
                self.error("too-deep", f"with its functions expanded, this expression is nested more than "
                           f"{MAX_NESTING} levels deep", where,
                           "split it into named definitions (`let`), or simplify the functions.")
            return M.Const(None, ERROR_TYPE, span=e.span)
        if self._outer_calls:  # inside a user function: the expansion is bounded in size
            self._expanded += 1
            if self._expanded > MAX_EXPANDED_NODES:
                if not self._too_large_reported:
                    self._too_large_reported = True
                    self.error("too-large", f"with its functions expanded, this expression has more than "
                               f"{MAX_EXPANDED_NODES:,} parts", self._outer_calls[0],
                               "a function that uses a parameter more than once copies its argument each "
                               "time: name the argument with `let`, or simplify the functions.")
                return M.Const(None, ERROR_TYPE, span=e.span)
        method = getattr(self, f"_e_{type(e).__name__}")
        self._depth += 1
        try:
            return method(e, ctx, expect)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._too_deep_reported = False

    def _e_Number(self, e: S.Number, ctx, expect):
        return M.Const(float(e.value), T.number(scalar=True), span=e.span)

    def _e_Boolean(self, e: S.Boolean, ctx, expect):
        return M.Const(e.value, T.boolean(scalar=True), span=e.span)

    def _e_String(self, e: S.String, ctx, expect):
        if expect is not None and item_type(expect).base == T.LEVEL:
            level = item_type(expect).level
            if e.value in level.labels:
                return M.LabelConst(level, e.value, T.level(level, scalar=True), span=e.span)
            self._bad_label(e.value, level, e.span)
            return M.Const(None, ERROR_TYPE, span=e.span)
        return M.Const(e.value, T.text(scalar=True), span=e.span)

    def _e_Name(self, e: S.Name, ctx: Ctx, expect):
        bound = ctx.lookup(e.name)
        if bound is not None:
            argument, caller = bound
            return self.expr(argument, caller, expect)
        item = item_type(expect) if expect is not None else None
        if item is not None and item.base == T.LEVEL and e.name in item.level.labels:
            return M.LabelConst(item.level, e.name, T.level(item.level, scalar=True), span=e.span)
        if e.name in self.symbols.statements:
            if e.name not in self.types:
                return M.Const(None, ERROR_TYPE, span=e.span)  # in a cycle or unresolved: reported there
            ctx.deps.append(e.name)
            return M.Ref(e.name, self.types[e.name], span=e.span)
        if e.name in self.symbols.broken:
            return M.Const(None, ERROR_TYPE, span=e.span)
        if item is not None and item.base == T.LEVEL:
            self._bad_label(e.name, item.level, e.span)
            return M.Const(None, ERROR_TYPE, span=e.span)
        owners = [lvl for lvl in dict.fromkeys(self.levels) if e.name in lvl.labels]
        if len({lvl for lvl in owners}) == 1:
            return M.LabelConst(owners[0], e.name, T.level(owners[0], scalar=True), span=e.span)
        if item is not None and is_error(item):
            # typed by an operand that has an error (already reported): it may be a label of it
            return M.Const(None, ERROR_TYPE, span=e.span)
        if len(owners) > 1:
            self.error("ambiguous-label", f"'{e.name}' is a label of several level types ("
                       f"{', '.join(lvl.name for lvl in owners)})", e.span,
                       "compare it with a value of the level type you mean.")
            return M.Const(None, ERROR_TYPE, span=e.span)
        self._unknown_name(e.name, e.span, ctx)
        return M.Const(None, ERROR_TYPE, span=e.span)

    def _unknown_name(self, name: str, span, ctx: Ctx) -> None:
        candidates = list(self.symbols.statements) + [p for p, _, _ in ctx.env]
        candidates += [label for lvl in self.levels for label in lvl.labels]
        suggestion = did_you_mean(name, candidates)
        if name in self.symbols.functions or name in B.BUILTINS:
            self.error("function-as-value", f"'{name}' is a function: call it with arguments", span,
                       f"write {name}(...).")
            return
        self.error("unknown-name", f"unknown name '{name}'", span,
                   f"did you mean '{suggestion}'?" if suggestion else
                   "define it with `input`, `param`, `indicator`, `domain`, `score` or `let`.")

    def _e_Unary(self, e: S.Unary, ctx, expect):
        operand = self.expr(e.operand, ctx)
        t = operand.type
        if e.op == "-":
            if not is_error(t) and t.base != T.NUMBER:
                self._type_error(e.operand.span, f"'-' needs a number, not {t}")
                return M.Unary("-", operand, ERROR_TYPE, span=e.span)
            if isinstance(operand, M.Const) and isinstance(operand.value, float):
                return M.Const(-operand.value, t, span=e.span)
            return M.Unary("-", operand, t, span=e.span)
        if not is_error(t) and item_type(t).base != T.BOOLEAN:
            self._type_error(e.operand.span, f"'not' needs a condition (true/false), not {t}")
            return M.Unary("not", operand, ERROR_TYPE, span=e.span)
        return M.Unary("not", operand, t, span=e.span)

    def _bare(self, expr, ctx: Ctx) -> bool:
        """A name or string whose meaning depends on what it is compared with: a string, or a
        name that is not a definition (nor a function parameter standing for one)."""
        if isinstance(expr, S.Name):
            bound = ctx.lookup(expr.name)
            if bound is not None:
                return self._bare(*bound)
            return expr.name not in self.symbols.statements
        return isinstance(expr, S.String)

    def _e_Binary(self, e: S.Binary, ctx, expect):
        if e.op in ARITHMETIC:
            return self._arithmetic(e, ctx)
        if e.op in ("and", "or"):
            left, right = self.expr(e.left, ctx), self.expr(e.right, ctx)
            for side, syntax in ((left, e.left), (right, e.right)):
                if not is_error(side.type) and item_type(side.type).base != T.BOOLEAN:
                    self._type_error(syntax.span, f"'{e.op}' needs conditions (true/false) on both sides, "
                                     f"not {side.type}")
                    return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
            return M.Binary(e.op, left, right, _combine(T.boolean(), left.type, right.type), span=e.span)
        return self._comparison(e, ctx)

    def _arithmetic(self, e: S.Binary, ctx) -> M.Expr:
        left, right = self.expr(e.left, ctx), self.expr(e.right, ctx)
        for side, syntax in ((left, e.left), (right, e.right)):
            t = side.type
            if is_error(t):
                return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
            if t.base != T.NUMBER:
                what = "a level" if t.base == T.LEVEL else t.base
                hint = ("map level labels to numbers first, e.g. `map x { good: 3, ... }`." if t.base == T.LEVEL
                        else "arithmetic works on numbers only.")
                self.error("type-error", f"'{e.op}' needs numbers, but this is {what} ({t})", syntax.span, hint)
                return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
        return M.Binary(e.op, left, right, T.number(scalar=left.type.scalar and right.type.scalar), span=e.span)

    def _comparison(self, e: S.Binary, ctx) -> M.Expr:
        if self._bare(e.left, ctx) and not self._bare(e.right, ctx):
            right = self.expr(e.right, ctx)
            left = self.expr(e.left, ctx, right.type)
        else:
            left = self.expr(e.left, ctx)
            right = self.expr(e.right, ctx, left.type)
        lt, rt = left.type, right.type
        if is_error(lt) or is_error(rt):
            return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
        if lt.base == T.LIST and rt.base == T.LIST:
            self._type_error(e.span, "cannot compare two lists", "compare a list with a single value.")
            return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
        li, ri = item_type(lt), item_type(rt)
        if not li.same_kind(ri):
            self._type_error(e.span, f"cannot compare {li.as_scalar(False)} with {ri.as_scalar(False)}")
            return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
        if e.op in ORDERINGS and li.base not in (T.NUMBER, T.LEVEL):
            self._type_error(e.span, f"'{e.op}' needs numbers or level labels, not {li.base}",
                             "use == or != for text and conditions.")
            return M.Binary(e.op, left, right, ERROR_TYPE, span=e.span)
        result = T.boolean(scalar=lt.scalar and rt.scalar)
        if T.LIST in (lt.base, rt.base):
            result = T.list_of(result)
        return M.Binary(e.op, left, right, result, span=e.span)

    def _e_IsMissing(self, e: S.IsMissing, ctx, expect):
        operand = self.expr(e.operand, ctx)
        scalar = operand.type.scalar if not is_error(operand.type) else False
        return M.IsMissing(operand, e.negated, T.boolean(scalar=scalar), span=e.span)

    def _e_IfElse(self, e: S.IfElse, ctx, expect):
        condition = self.expr(e.condition, ctx)
        self._expect_boolean(condition, e.condition.span, "`if`", allow_list=False)
        then, otherwise = self._pair(e.then, e.otherwise, ctx, expect)
        t = self._same_type(then, otherwise, e.otherwise.span, "`then` and `else`")
        if not is_error(t) and not is_error(condition.type):
            t = t.as_scalar(t.scalar and condition.type.scalar)
        return M.IfElse(condition, then, otherwise, t, span=e.span)

    def _pair(self, a, b, ctx, expect):
        """Resolve two expressions that must share a type, typing bare labels by the other."""
        if self._bare(a, ctx) and not self._bare(b, ctx):
            second = self.expr(b, ctx, expect)
            first = self.expr(a, ctx, expect or second.type)
        else:
            first = self.expr(a, ctx, expect)
            second = self.expr(b, ctx, expect or first.type)
        return first, second

    def _same_type(self, a: M.Expr, b: M.Expr, span, what: str) -> T.Type:
        if is_error(a.type) or is_error(b.type):
            return ERROR_TYPE
        if not a.type.same_kind(b.type):
            self._type_error(span, f"{what} must have the same type, but they are {a.type.as_scalar(False)} "
                             f"and {b.type.as_scalar(False)}")
            return ERROR_TYPE
        return a.type.as_scalar(a.type.scalar and b.type.scalar)

    def _e_ListExpr(self, e: S.ListExpr, ctx, expect):
        if not e.items:
            self.error("empty-list", "a list needs at least one item", e.span, "write e.g. [a, b].")
            return M.ListOf((), ERROR_TYPE, span=e.span)
        anchor = next((i for i, item in enumerate(e.items) if not self._bare(item, ctx)), 0)
        item_expect = item_type(expect) if expect is not None else None
        first = self.expr(e.items[anchor], ctx, item_expect)
        items: list[M.Expr] = []
        t = first.type
        for i, item in enumerate(e.items):
            resolved = first if i == anchor else self.expr(item, ctx, item_expect or t)
            if not is_error(t) and not is_error(resolved.type):
                if resolved.type.base == T.LIST:
                    self._type_error(item.span, "lists cannot contain lists")
                    t = ERROR_TYPE
                elif not resolved.type.same_kind(t):
                    self._type_error(item.span, f"list items must have one type: this is "
                                     f"{resolved.type.as_scalar(False)}, the list holds {t.as_scalar(False)}")
                    t = ERROR_TYPE
                else:
                    t = t.as_scalar(t.scalar and resolved.type.scalar)
            items.append(resolved)
        return M.ListOf(tuple(items), ERROR_TYPE if is_error(t) else T.list_of(t), span=e.span)

    def _e_Pick(self, e: S.Pick, ctx, expect):
        operand = self.expr(e.operand, ctx, expect)
        t = operand.type
        if not is_error(t) and t.scalar:
            self._type_error(e.span, "`for \"KEY\"` picks one entity's value, but this value is the same for all",
                             "remove `for`.")
            return M.Pick(operand, e.key, ERROR_TYPE, span=e.span)
        return M.Pick(operand, e.key, t if is_error(t) else t.as_scalar(), span=e.span)

    # ------------------------------------------------------------ map and band

    def _e_MapExpr(self, e: S.MapExpr, ctx, expect):
        subject = self.expr(e.subject, ctx)
        st = subject.type
        if not is_error(st) and st.base == T.LIST:  # as `band`: one value per entity (or a scalar)
            self._type_error(e.subject.span, f"`map` needs one value, not {st}",
                             "map each item: `[map a { ... }, map b { ... }]`.")
            st = ERROR_TYPE
        keys, values, otherwise = [], [], None
        anchor_type = self._case_anchor([c.value for c in e.cases], ctx, expect)
        value_type: T.Type | None = None
        for case in e.cases:
            value = self.expr(case.value, ctx, anchor_type)
            if anchor_type is None and not is_error(value.type):
                anchor_type = value.type
            if case.key is None:
                if otherwise is not None:
                    self.error("duplicate-key", "`otherwise` appears twice in this map", case.span, "keep one.")
                otherwise = value
            else:
                key = self._map_key(case.key, st)
                if key is not None and key in keys:
                    self.error("duplicate-key", f"the key {key!r} appears twice in this map", case.key.span,
                               "keep one case per key.")
                keys.append(key)
                values.append(value)
            value_type = self._merge_case_type(value_type, value, case.value.span, "map")
        if st.base == T.LEVEL and otherwise is None and not is_error(st):
            uncovered = [label for label in st.level.labels if label not in keys]
            if uncovered:
                self.warning("map-not-exhaustive", f"this map has no value for {', '.join(map(repr, uncovered))}",
                             e.span, "add those labels or an `otherwise:` case; otherwise they give missing.")
        t = value_type or ERROR_TYPE
        if not is_error(t) and not is_error(st):
            t = t.as_scalar(t.scalar and st.scalar)
        return M.MapOf(subject, tuple(keys), tuple(values), otherwise, t, span=e.span)

    def _case_anchor(self, values: list, ctx: Ctx, expect: T.Type | None) -> T.Type | None:
        """The type that bare labels among a map's or band's values take: the expected type,
        else the type of the first value that is not a bare label (resolved on a scratch
        context, so its dependencies are counted once, in the loop over cases)."""
        if expect is not None:
            return expect
        anchor = next((v for v in values if not self._bare(v, ctx)), None)
        if anchor is None:
            return None
        found = self.expr(anchor, Ctx(ctx.file, [], ctx.env, ctx.functions), None).type
        return None if is_error(found) else found

    def _map_key(self, key, subject_type: T.Type):
        if is_error(subject_type):
            return None
        if subject_type.base == T.LIST:
            self._type_error(key.span, "cannot map a list", "map each item, or aggregate the list first.")
            return None
        if subject_type.base == T.LEVEL and isinstance(key, (S.Name, S.String)):
            text = key.name if isinstance(key, S.Name) else key.value
            if text not in subject_type.level.labels:
                self._bad_label(text, subject_type.level, key.span)
            return text
        if subject_type.base == T.TEXT and isinstance(key, S.String):
            return key.value
        if subject_type.base == T.NUMBER and isinstance(key, S.Number):
            return float(key.value)
        if subject_type.base == T.BOOLEAN and isinstance(key, S.Boolean):
            return key.value
        self._type_error(key.span, f"this key does not match the mapped value, which is {subject_type.as_scalar(False)}",
                         "keys are level labels, \"text\", numbers or true/false, matching the mapped value.")
        return None

    def _merge_case_type(self, current: T.Type | None, value: M.Expr, span, what: str) -> T.Type | None:
        if current is None or is_error(current):
            return value.type if current is None else current
        if is_error(value.type):
            return ERROR_TYPE
        if not current.same_kind(value.type):
            self._type_error(span, f"every {what} value must have one type: this is {value.type.as_scalar(False)}, "
                             f"earlier ones are {current.as_scalar(False)}")
            return ERROR_TYPE
        return current.as_scalar(current.scalar and value.type.scalar)

    def _e_BandExpr(self, e: S.BandExpr, ctx, expect):
        subject = self.expr(e.subject, ctx)
        st = subject.type
        if not is_error(st) and st.base not in (T.NUMBER, T.LEVEL):
            self._type_error(e.subject.span, f"`band` needs a number or a level, not {st}")
            st = ERROR_TYPE
        ops, thresholds, values, otherwise, value_type = [], [], [], None, None
        anchor_type = self._case_anchor([c.value for c in e.cases], ctx, expect)
        for case in e.cases:
            value = self.expr(case.value, ctx, anchor_type)
            if anchor_type is None and not is_error(value.type):
                anchor_type = value.type
            if case.op is None:
                if otherwise is not None:
                    self.error("duplicate-key", "`otherwise` appears twice in this band", case.span, "keep one.")
                otherwise = value
            else:
                # a threshold may differ by entity (e.g. a target per region): compared entity by entity
                threshold = self.expr(case.threshold, ctx, None if is_error(st) else st.as_scalar())
                if not is_error(threshold.type) and not is_error(st) and not threshold.type.same_kind(st):
                    self._type_error(case.threshold.span, f"this threshold is {threshold.type.as_scalar(False)}, "
                                     f"but the banded value is {st.as_scalar(False)}")
                ops.append(case.op)
                thresholds.append(threshold)
                values.append(value)
            value_type = self._merge_case_type(value_type, value, case.value.span, "band")
        self._check_band_order(e)
        t = value_type or ERROR_TYPE
        if not is_error(t) and not is_error(st):
            t = t.as_scalar(t.scalar and st.scalar)
        return M.BandOf(subject, tuple(ops), tuple(thresholds), tuple(values), otherwise, t, span=e.span)

    def _check_band_order(self, e: S.BandExpr) -> None:
        earlier: list[tuple[str, float]] = []
        for case in e.cases:
            if case.op is None:
                continue
            value = literal_number(case.threshold)
            if value is None:
                continue
            for op, previous in earlier:
                if threshold_covered(previous, op, value, case.op):
                    self.error("band-order", f"`{case.op} {fmt(value)}` can never apply: `{op} {fmt(previous)}` "
                               "comes first and already catches it", case.span,
                               "order the cases from the strictest threshold to the loosest.")
                    break
            earlier.append((case.op, value))
        if e.cases and e.cases[-1].op is not None and any(c.op is None for c in e.cases):
            self.error("band-order", "`otherwise` must be the last case of a band",
                       next(c for c in e.cases if c.op is None).span, "move `otherwise` to the end.")


def _combine(result: T.Type, *operands: T.Type) -> T.Type:
    scalar = all(o.scalar for o in operands)
    if any(o.base == T.LIST for o in operands):
        return T.list_of(result.as_scalar(scalar))
    return result.as_scalar(scalar)


