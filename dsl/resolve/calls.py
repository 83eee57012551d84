"""Call checking: a user function expanded in place, a built-in call checked against its
signature declared as data (dsl.builtins) and lowered to dsl.model.Call."""

from __future__ import annotations

import math

import attrs

from dsl import builtins as B
from dsl import model as M
from dsl import syntax as S
from dsl import types as T
from dsl.constants import WeightSum
from dsl.errors import did_you_mean
from dsl.resolve.base import ERROR_TYPE, MAX_FUNCTION_DEPTH, Ctx, fmt, is_error, item_type


class CallChecking:
    """Mixin of dsl.resolve.Resolver: `F(...)` → a user function's body or a built-in call."""

    def _e_Call(self, e: S.Call, ctx: Ctx, expect):
        if e.function in self.symbols.functions:
            return self._user_call(e, ctx, expect)
        spec = B.BUILTINS.get(e.function)
        if spec is None:
            suggestion = did_you_mean(e.function, [*B.BUILTINS, *self.symbols.functions])
            self.error("unknown-function", f"unknown function '{e.function}'", e.name_span,
                       f"did you mean '{suggestion}'?" if suggestion else
                       "see the list of built-in functions in docs/language.md, or declare it with `function`.")
            for argument in e.arguments:
                if isinstance(argument, S.Weighted):
                    self.expr(argument.value, ctx)
                elif not isinstance(argument, (S.Polarity, S.Within, S.SkipMissing, S.Require, S.Normalise, S.Method)):
                    self.expr(argument, ctx)
            return M.Const(None, ERROR_TYPE, span=e.span)
        return _CallResolver(self, spec, e, ctx, expect).resolve()

    def _user_call(self, e: S.Call, ctx: Ctx, expect):
        decl = self.symbols.functions[e.function]
        if e.function in ctx.functions:
            self.error("recursive-function", f"function '{e.function}' calls itself", e.name_span,
                       "functions cannot be recursive.")
            return M.Const(None, ERROR_TYPE, span=e.span)
        if len(ctx.functions) >= MAX_FUNCTION_DEPTH:
            self.error("too-deep", "functions call each other too deeply", e.span, "simplify the functions.")
            return M.Const(None, ERROR_TYPE, span=e.span)
        plain = [a for a in e.arguments if not isinstance(a, (S.Weighted, S.Polarity, S.Within, S.SkipMissing,
                                                             S.Require, S.Normalise, S.Method))]
        if len(plain) != len(e.arguments):
            self.error("bad-argument", f"function '{e.function}' takes plain values, not weights or options",
                       e.span, f"call it as {e.function}({', '.join(decl.params)}).")
            return M.Const(None, ERROR_TYPE, span=e.span)
        if len(plain) != len(decl.params):
            self.error("wrong-arity", f"function '{e.function}' takes {len(decl.params)} argument"
                       f"{'s' if len(decl.params) != 1 else ''} ({', '.join(decl.params)}), not {len(plain)}",
                       e.span, f"call it as {e.function}({', '.join(decl.params)}).")
            return M.Const(None, ERROR_TYPE, span=e.span)
        env = tuple((param, argument, ctx) for param, argument in zip(decl.params, plain))
        inner = Ctx(ctx.file, ctx.deps, env, ctx.functions + (e.function,))
        if ctx.functions:
            return self.expr(decl.body, inner, expect)
        self._outer_calls.append(e.span)
        self._expanded, self._too_large_reported = 0, False
        try:
            return self.expr(decl.body, inner, expect)
        finally:
            self._outer_calls.pop()


class _CallResolver:
    """Checks one built-in call against its declared signature (dsl.builtins)."""

    def __init__(self, resolver: CallChecking, spec: B.Builtin, call: S.Call, ctx: Ctx, expect):
        self.r = resolver
        self.spec = spec
        self.call = call
        self.ctx = ctx
        self.expect = expect
        self.options: dict = {}

    def error(self, code, message, span, hint=None):
        self.r.error(code, message, span, hint or f"the signature is {self.spec.signature()}.")

    def resolve(self) -> M.Expr:
        spec, call = self.spec, self.call
        if call.over is not None:
            return self._resolve_over()
        positional = [a for a in call.arguments if not isinstance(a, (S.Polarity, S.Within, S.SkipMissing,
                                                                     S.Require, S.Normalise, S.Method))]
        ok = self._options() & self._arity(positional)
        weighted = [a for a in positional if isinstance(a, S.Weighted)]
        if weighted and B.WEIGHTS not in spec.options:
            self.error("bad-argument", f"{spec.name} does not take weights", weighted[0].span,
                       f"remove the weights, or use weighted_mean. The signature is {spec.signature()}.")
            ok = False
        elif weighted and len(weighted) != len(positional):
            plain = next(a for a in positional if not isinstance(a, S.Weighted))
            self.error("missing-weight", "give every argument a weight, or none", plain.span,
                       "write `value: weight` for each argument.")
            ok = False
        elif spec.weights_required and not weighted and positional:
            self.error("missing-weight", f"{spec.name} needs a weight for each argument", call.span,
                       f"write e.g. {spec.name}(a: 25%, b: 75%), or use mean(...).")
            ok = False
        args = self._arguments(positional)
        weights = self._weights(weighted) if weighted and ok else None
        if any(is_error(a.type) for a in args) or not ok or (weights is not None and any(
                is_error(w.type) for w in weights)):
            return M.Const(None, ERROR_TYPE, span=call.span)
        return self._build(args, weights)

    def _resolve_over(self) -> M.Expr:
        """`count(x == good, skip missing) over services`: one value per member, aggregated."""
        spec, call = self.spec, self.call
        ok = self._options()
        if not spec.over:
            self.error("bad-over", f"{spec.name} does not aggregate `over` a level", call.over_span,
                       f"`over` works with {', '.join(sorted(B.OVER_FUNCTIONS))}.")
            ok = False
        levels = self.r.symbols.levels
        level = levels.find(call.over) if levels is not None else None
        if level is None and self.r.symbols.levels_failed:
            ok = False
        elif level is None:
            if levels is None or len(levels.levels) < 2:
                self.r.error("unknown-level", f"`over {call.over}`: this methodology has no entity levels below its "
                             "top level", call.over_span, "declare one in the header, e.g. `entity service within "
                             "trust key service_id`.")
            else:
                self.r.error("unknown-level", f"no entity level called '{call.over}'", call.over_span,
                             levels.unknown_hint(call.over))
            ok = False
        elif level == levels.top:
            self.r.error("over-not-below", f"`over {call.over}`: '{level}' is the top level, which lies within no "
                         "other", call.over_span, "aggregate over a lower level.")
            ok = False
        positional = [a for a in call.arguments if not isinstance(a, (S.Polarity, S.Within, S.SkipMissing,
                                                                     S.Require, S.Normalise, S.Method))]
        if len(positional) != 1 or isinstance(positional[0], S.Weighted):
            problem = "takes no weights" if len(positional) == 1 else \
                f"takes one value per member, not {len(positional)} argument{'s' if len(positional) != 1 else ''}"
            self.error("wrong-arity", f"{spec.name}(...) over {call.over} {problem}", call.span,
                       f"write e.g. {spec.name}(x) over {call.over}.")
            return M.Const(None, ERROR_TYPE, span=call.span)
        kind = spec.variadic
        syntax = positional[0]
        arg = self.r.expr(syntax, self.ctx, T.number() if kind == B.NUM else None)
        if not ok or is_error(arg.type):
            return M.Const(None, ERROR_TYPE, span=call.span)
        if arg.type.base == T.LIST:
            self.r._type_error(syntax.span, f"{spec.name}(...) over {call.over} takes one value per member, "
                               f"not {arg.type}", f"aggregate each item: {spec.name}(item) over {call.over}.")
            return M.Const(None, ERROR_TYPE, span=call.span)
        self._check_kind(arg, kind, syntax.span)
        if getattr(self, "poisoned", False):
            return M.Const(None, ERROR_TYPE, span=call.span)
        require = self.options.get(B.REQUIRE)
        t = T.boolean() if spec.returns == B.R_BOOLEAN else T.number()
        return M.Call(spec.name, (arg,), t, skip_missing=B.SKIP in self.options,
                      require=require.count if require else None, over=level, span=call.span)

    def _options(self) -> bool:
        ok = True
        for argument in self.call.arguments:
            name = {S.Polarity: B.POLARITY, S.Within: B.WITHIN, S.SkipMissing: B.SKIP, S.Require: B.REQUIRE,
                    S.Normalise: B.NORMALISE, S.Method: B.METHOD}.get(type(argument))
            if name is None:
                continue
            if name not in self.spec.options:
                self.error("bad-option", f"{self.spec.name} does not take `{_option_text(argument)}`", argument.span)
                ok = False
            elif name in self.options:
                self.error("duplicate-option", f"`{_option_text(argument)}` is given twice", argument.span,
                           "keep one.")
                ok = False
            else:
                self.options[name] = argument
        within = self.options.get(B.WITHIN)
        if within is not None and not self.r.group(within.group, within.span, self.ctx):
            ok = False
        method = self.options.get(B.METHOD)
        if method is not None and method.name.lower() not in B.QUANTILE_METHODS:
            names = [m for m in B.QUANTILE_METHODS if not m.isdigit()]
            suggestion = did_you_mean(method.name.lower(), names)
            self.r.error("bad-method", f"unknown quantile method {method.name!r}", method.span,
                         f"did you mean {suggestion!r}?" if suggestion else
                         "write a type 1..9 (Hyndman & Fan, R's quantile types), a numpy method name such as "
                         "\"median_unbiased\", or a SAS definition \"sas1\"..\"sas5\" (docs/language.md).")
            ok = False
        return ok

    def _arity(self, positional: list) -> bool:
        spec, n = self.spec, len(positional)
        fixed = len(spec.params)
        if spec.variadic is None and n != fixed:
            self.error("wrong-arity", f"{spec.name} takes {fixed} argument{'s' if fixed != 1 else ''}, not {n}",
                       self.call.span)
            return False
        if spec.variadic is not None and n < max(spec.min_args, fixed):
            need = max(spec.min_args, fixed)
            self.error("wrong-arity", f"{spec.name} needs at least {need} argument{'s' if need != 1 else ''}",
                       self.call.span)
            return False
        return True

    def _kind_of(self, index: int) -> str:
        return self.spec.params[index] if index < len(self.spec.params) else self.spec.variadic

    def _arguments(self, positional: list) -> list[M.Expr]:
        values = [a.value if isinstance(a, S.Weighted) else a for a in positional]
        if self.spec.returns == B.R_SAME:
            return self._same_typed(values)
        out = []
        for i, syntax in enumerate(values):
            kind = self._kind_of(i)
            expr = self.r.expr(syntax, self.ctx, T.number() if kind in (B.NUM, B.CONST) else None)
            out.append(expr)
            self._check_kind(expr, kind, syntax.span)
        return out

    def _same_typed(self, values: list) -> list[M.Expr]:
        if not values:
            return []  # `coalesce()`: reported by the arity check
        anchor = next((i for i, v in enumerate(values) if not self.r._bare(v, self.ctx)), 0)
        first = self.r.expr(values[anchor], self.ctx, self.expect)
        out = []
        for i, v in enumerate(values):
            out.append(first if i == anchor else self.r.expr(
                v, self.ctx, self.expect or first.type))
        t = first.type
        for expr, syntax in zip(out, values):
            if not is_error(t) and not is_error(expr.type) and not expr.type.same_kind(t):
                self.r._type_error(syntax.span, f"{self.spec.name} needs arguments of one type: this is "
                                   f"{expr.type.as_scalar(False)}, the first is {t.as_scalar(False)}")
                return [M.Const(None, ERROR_TYPE, span=syntax.span)]
        return out

    def _check_kind(self, expr: M.Expr, kind: str, span) -> None:
        t = expr.type
        if is_error(t):
            return
        item = item_type(t)
        if kind == B.CONST:
            if not (isinstance(expr, M.Const) and t.base == T.NUMBER) and not (
                    isinstance(expr, M.Ref) and expr.name in self.r.param_values and t.base == T.NUMBER):
                self.r.error("not-constant", f"this argument of {self.spec.name} must be a number known before data "
                             "is read", span, "write a number or the name of a param.")
                self._poison(expr)
            return
        wanted = {B.NUM: T.NUMBER, B.BOOL: T.BOOLEAN}.get(kind)
        if wanted is None:
            return
        if t.base == T.LIST and self.spec.variadic is None:
            self.r._type_error(span, f"{self.spec.name} needs a single {wanted} here, not a list")
            self._poison(expr)
        elif item.base != wanted:
            what = "a condition (true/false)" if wanted == T.BOOLEAN else "a number"
            hint = ("map level labels to numbers first, e.g. `map x { good: 3, ... }`."
                    if item.base == T.LEVEL and wanted == T.NUMBER else None)
            self.r._type_error(span, f"{self.spec.name} needs {what} here, not {t}", hint)
            self._poison(expr)

    def _poison(self, expr) -> None:
        self.poisoned = True

    def _weights(self, weighted: list[S.Weighted]) -> list[M.Expr] | None:
        weights = []
        for w in weighted:
            expr = self.r.expr(w.weight, self.ctx, T.number())
            if not is_error(expr.type) and (expr.type.base != T.NUMBER or expr.type.base == T.LIST):
                self.r.error("bad-weight", f"a weight must be a number, not {expr.type}", w.weight.span,
                             "write a number such as 25% or the name of a numeric param.")
                return None
            weights.append(expr)
        if self.spec.weights_sum_to_one and B.NORMALISE not in self.options:
            constants = [self.r.constant(w) for w in weights]
            if all(c is not None for c in constants):
                terms = tuple((_term_name(w.value) or f"component {i + 1}",
                               e.name if isinstance(e, M.Ref) else None, c)
                              for i, (w, e, c) in enumerate(zip(weighted, weights, constants)))
                found = WeightSum(self.r.current or "", self.call.span, terms, math.fsum(constants), False)
                if found.off:
                    self.r.error("weights-sum", found.message(), self.call.span,
                                 "adjust the weights so they sum to 100%, or add `normalise` to divide by their sum.")
            if any(c is not None and c < 0 for c in constants):
                self.r.error("bad-weight", "a weight is negative", self.call.span, "weights must be >= 0.")
        return weights

    def _components(self, args: list[M.Expr]) -> int | None:
        total = 0
        for a in args:
            if a.type.base != T.LIST:
                total += 1
            elif isinstance(a, M.ListOf):
                total += len(a.items)
            elif isinstance(a, M.Ref) and a.name in self.r.list_lengths:
                total += self.r.list_lengths[a.name]
            else:
                return None
        return total

    def _check_constants(self, args: list[M.Expr]) -> None:
        values = [self.r.constant(a) for a in args]
        for index, value in enumerate(values):
            bound = self.spec.bound(index)
            if bound is None or value is None:
                continue
            if not bound.holds(value):
                self.r.error("bad-constant", f"argument {index + 1} of {self.spec.name} must be {bound.what}, "
                             f"not {fmt(value)}", args[index].span, f"the signature is {self.spec.signature()}.")
        order = self.spec.ordered
        if order is not None and max(order.first, order.second) < len(values):
            first, second = values[order.first], values[order.second]
            if first is not None and second is not None and first >= second:
                self.r.error("bad-constant", order.message.format(first=fmt(first), second=fmt(second)),
                             self.call.span, order.hint)

    def _build(self, args: list[M.Expr], weights) -> M.Expr:
        spec, call = self.spec, self.call
        if getattr(self, "poisoned", False):
            return M.Const(None, ERROR_TYPE, span=call.span)
        self._check_constants(args)
        require = self.options.get(B.REQUIRE)
        if require is not None:
            components = self._components(args)
            if components is not None and require.count > components:
                self.r.error("require-too-many", f"`require {require.count}` asks for more components than the "
                             f"{components} given", require.span, f"require at most {components}.")
        polarity = self.options.get(B.POLARITY)
        within = self.options.get(B.WITHIN)
        common = dict(
            weights=tuple(weights) if weights else None,
            polarity=polarity.direction if polarity else None,
            within=within.group if within else None,
            skip_missing=B.SKIP in self.options,
            require=require.count if require else None,
            normalise=B.NORMALISE in self.options,
            span=call.span,
        )
        method = self.options.get(B.METHOD)
        if method is not None:
            common["method"] = B.QUANTILE_METHODS[method.name.lower()]
        all_scalar = all(a.type.scalar for a in args) and all(w.type.scalar for w in (weights or ()))
        if (spec.counts_entities and len(args) == 1 and isinstance(args[0], M.IsMissing)
                and args[0].operand.type.base == T.LIST):
            # `count([a, b] is not missing)` counts the items of each entity's list, one test per
            # item, never the entities (`[a, b] is missing` alone is one test of the whole list)
            item = T.boolean(scalar=args[0].type.scalar)
            args = [attrs.evolve(args[0], type=T.list_of(item))]
        if spec.counts_entities and len(args) == 1 and args[0].type.base != T.LIST and not args[0].type.scalar:
            return M.Call(spec.name, tuple(args), T.number(scalar=True), population_count=True, **common)
        if spec.scope == B.POPULATION:
            if args[0].type.scalar or args[0].type.base == T.LIST:
                self.r._type_error(call.span, f"{spec.name} works across entities and needs one value per entity, "
                                   f"not {args[0].type}")
                return M.Const(None, ERROR_TYPE, span=call.span)
            if spec.returns == B.R_SCALAR:
                return M.Call(spec.name, tuple(args), T.number(scalar=within is None), **common)
            return M.Call(spec.name, tuple(args), T.number(), **common)
        if spec.returns == B.R_SAME:
            t = args[0].type.as_scalar(all_scalar)
        elif spec.returns == B.R_BOOLEAN:
            t = T.boolean(scalar=all_scalar)
        else:
            t = T.number(scalar=all_scalar)
        return M.Call(spec.name, tuple(args), t, **common)


def _term_name(value) -> str | None:
    """The name a weighted term is known by: `x`, and also `-x`, `f(x)` (a measure's treatment)."""
    while isinstance(value, (S.Unary, S.Call)):
        value = value.operand if isinstance(value, S.Unary) else (value.arguments[0] if len(value.arguments) == 1
                                                                  else None)
    return value.name if isinstance(value, S.Name) else None


def _option_text(option) -> str:
    if isinstance(option, S.Polarity):
        return f"{option.direction} is better"
    if isinstance(option, S.Within):
        return f"within {option.group}"
    if isinstance(option, S.SkipMissing):
        return "skip missing"
    if isinstance(option, S.Require):
        return f"require {option.count}"
    if isinstance(option, S.Method):
        return f"method: {option.name}"
    return "normalise"
