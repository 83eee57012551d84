"""Test-block lowering: `test "..." { given ...  expect ... }` → dsl.model.TestCase."""

from __future__ import annotations

from pathlib import Path

from dsl import model as M
from dsl import syntax as S
from dsl.errors import did_you_mean
from dsl.paths import PathRefused, methodology_root, resolve_reference
from dsl.resolve.base import ERROR_TYPE, Ctx, is_error


class TestLowering:
    """Mixin of dsl.resolve.Resolver: a methodology's test blocks."""

    __test__ = False  # not a pytest class

    def test(self, decl: S.TestDecl, file: str) -> M.TestCase | None:
        givens, expects, texts, data_path = [], [], [], None
        tables: dict[str, str] = {}
        seen: set[str] = set()
        for item in decl.items:
            if isinstance(item, S.GivenData) and item.level is not None:
                level = self.symbols.levels.find(item.level) if self.symbols.levels is not None else None
                if level is None:
                    otherwise = "name the table of a level declared with `entity`."
                    hint = self.symbols.levels.unknown_hint(item.level, otherwise) if self.symbols.levels else otherwise
                    self.error("unknown-level", f"given data: no entity level called '{item.level}'", item.span, hint)
                elif level in tables:
                    self.error("test-two-datasets", f"a test can read one data file for level '{level}'",
                               item.span, "split it into two tests.")
                else:
                    tables[level] = item.path
                self._check_data_path(item, file)
            elif isinstance(item, S.GivenData):
                if data_path is not None:
                    several = self.symbols.levels is not None and len(self.symbols.levels.levels) > 1
                    self.error("test-two-datasets", "a test can read one data file" + (
                        " (and one for each lower entity level: `given data LEVEL \"FILE\"`)" if several else ""),
                        item.span, "split it into two tests.")
                data_path = item.path
                self._check_data_path(item, file)
            elif isinstance(item, S.GivenValues):
                for given in item.values:
                    resolved = self._given(given, file, seen)
                    if resolved is not None:
                        givens.append(resolved)
            else:
                ctx = Ctx(file, [])
                expr = self.expr(item.expr, ctx)
                self._expect_boolean(expr, item.expr.span, "`expect`")
                expects.append(expr)
                texts.append(self.text_of(file, item.expr.span))
        if (data_path is not None or tables) and givens and any(
                self.symbols.statements[g.name][0].__class__ is S.InputDecl for g in givens):
            self.error("test-data-and-values", "this test reads a data file and also gives input values",
                       decl.span, "give input values in a separate test (params may be given with data).")
        if not expects:
            self.warning("test-no-expect", f"test {decl.name!r} expects nothing", decl.span,
                         "add `expect CONDITION`.")
        return M.TestCase(decl.name, tuple(givens), data_path, tuple(expects), tuple(texts),
                          tables=tuple(tables.items()), span=decl.span)

    def _check_data_path(self, item: S.GivenData, file: str) -> None:
        try:
            target = resolve_reference(file, item.path, methodology_root(file))
        except PathRefused as refused:
            self.error(refused.code, f"given data: {refused.message}", item.span, refused.hint)
            return
        if file == "<string>":
            return  # text without a file: the data is looked for when the test runs
        try:
            found = target.is_file()
        except (OSError, ValueError):  # e.g. a name too long for the file system
            found = False
        if not found and _is_dir(target):
            self.error("test-data-missing", f"{item.path} is a folder, not a data file", item.span,
                       "name a .csv, .tsv or .xlsx file.")
        elif not found:
            self.error("test-data-missing", f"data file not found: {item.path}", item.span,
                       f"the path is relative to {Path(file).name}'s folder.")

    def _given(self, given: S.GivenValue, file: str, seen: set[str]) -> M.TestGiven | None:
        if given.name in seen:
            self.error("duplicate-given", f"'{given.name}' is given twice", given.span, "keep one value.")
            return None
        seen.add(given.name)
        entry = self.symbols.statements.get(given.name)
        givable = (S.InputDecl, S.ParamDecl, S.Definition)  # a given definition replaces its computation
        if entry is None or not isinstance(entry[0], givable):
            candidates = [n for n, (s, _) in self.symbols.statements.items() if isinstance(s, givable)]
            if entry is None:
                suggestion = did_you_mean(given.name, candidates)
                hint = f"did you mean '{suggestion}'?" if suggestion else "give values to inputs and params."
                self.error("unknown-name", f"unknown input '{given.name}'", given.span, hint)
            else:
                what = "a tier, computed by its rules" if isinstance(entry[0], S.TierDecl) else \
                    "not an input, param or definition"
                self.error("given-not-input", f"'{given.name}' is {what}: a test cannot give it",
                           given.span, "give values to the definitions or inputs it depends on.")
            return None
        expected = self.types.get(given.name, ERROR_TYPE)
        value = self.expr(given.value, Ctx(file, []), expected)
        if not _is_literal(value):
            self.error("given-not-literal", f"the value given for '{given.name}' must be a literal",
                       given.value.span, "write a number, a label, text in quotes, true or false.")
        elif not (is_error(expected) or is_error(value.type) or value.type.same_kind(expected)):
            self.error("type-mismatch", f"'{given.name}' is {expected.as_scalar(False)}, but the value given is "
                       f"{value.type.as_scalar(False)}", given.value.span, f"give a {expected.as_scalar(False)}.")
        return M.TestGiven(given.name, value)


def _is_literal(expr: M.Expr) -> bool:
    return isinstance(expr, (M.Const, M.LabelConst))


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


