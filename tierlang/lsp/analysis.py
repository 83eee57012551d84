"""What the language server knows about one methodology file: the checker's report and an index
of every name written in the file and in the files it extends.

Everything comes from the project's own stages: `dsl.check_file` parses the file and its chain of
`extends` (dsl.loader, relative to the file and inside its root folder, exactly as `tierlang
check` does) and checks them; the index is read off the syntax trees the parser built. Nothing
here knows of the protocol (pygls), so that it can be tested and measured on its own.
"""

from __future__ import annotations

import os
import re

import attrs

import dsl
from dsl import model as M
from dsl import syntax as S
from dsl.checker import CheckReport
from dsl.errors import Span, source_lines
from dsl.tree import walk

# What a name names. A bare name in an expression is a NODE, or a LABEL of a level type when no
# node has that name (the checker reads it the same way).
NODE = "node"  # input, param, definition or tier
FUNCTION = "function"  # a user function or a built-in
TYPE = "type"
LEVEL = "level"  # an entity level
LABEL = "label"
PARAMETER = "parameter"  # a parameter of a user function, inside that function

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class Occurrence:
    """One place a name is written: exactly the characters of the name."""

    name: str
    namespace: str
    span: Span
    definition: bool = False  # the place that defines it (a declaration), or a use
    scope: str | None = None  # a PARAMETER's function


@attrs.frozen
class Definition:
    """The statement that gives a name its meaning (the override, when a later file replaces it)."""

    name: str
    namespace: str
    statement: object  # a dsl.syntax statement, or the header's entity line
    file: str
    span: Span  # the name, where it is declared


def same_file(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


@attrs.define
class Analysis:
    path: str
    text: str
    report: CheckReport
    occurrences: list[Occurrence]
    definitions: dict[tuple[str, str], Definition]  # (namespace, name) -> the definition in force
    overridden: dict[tuple[str, str], list[Definition]]  # definitions replaced by a later file
    methodology: M.Methodology | None  # this check's, or the last one without errors

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.report.files)

    @property
    def module(self) -> S.Module | None:
        return self.report.files[0].module if self.report.files else None

    def text_of(self, path: str) -> str | None:
        return next((f.text for f in self.report.files if same_file(f.path, path)), None)

    def at(self, line: int, column: int) -> Occurrence | None:
        """The name written at 1-based `line`, `column` of this file (its last character included)."""
        for occurrence in self.occurrences:
            s = occurrence.span  # the parser names this file's spans with `path`, as given
            if s.line == line and s.column <= column <= s.end_column and s.file == self.path:
                return occurrence
        return None

    def word_at(self, line: int, column: int) -> str | None:
        """The identifier under 1-based `line`, `column`, read off the text (for positions that
        did not parse)."""
        lines = source_lines(self.text)
        if not 1 <= line <= len(lines):
            return None
        for match in _WORD.finditer(lines[line - 1]):
            if match.start() + 1 <= column <= match.end() + 1:
                return match.group()
        return None

    def resolve(self, name: str, namespace: str | None = None) -> Definition | None:
        """The definition a name refers to: in `namespace`, or (for a bare name) a node first,
        then a function, a type, an entity level."""
        spaces = (namespace,) if namespace not in (None, NODE) else (NODE, FUNCTION, TYPE, LEVEL)
        for space in spaces:
            found = self.definitions.get((space, name))
            if found is not None:
                return found
        return None

    def references(self, name: str, namespace: str, scope: str | None = None) -> list[Occurrence]:
        """Every occurrence of the name across the chain of files, definitions included (of a
        PARAMETER: in its function)."""
        return [
            o
            for o in self.occurrences
            if o.name == name and self.namespace_of(o) == namespace and o.scope == scope
        ]

    def namespace_of(self, occurrence: Occurrence) -> str:
        """What an occurrence names: a bare name that no node has is a level label."""
        if (
            occurrence.namespace == NODE
            and (NODE, occurrence.name) not in self.definitions
            and (LABEL, occurrence.name) in self.definitions
        ):
            return LABEL
        return occurrence.namespace

    def node(self, name: str) -> M.Node | None:
        m = self.methodology
        return m.node(name) if m is not None and m.has(name) else None


def analyse(path: str, text: str, last_good: M.Methodology | None = None) -> Analysis:
    """Check `text` as the file at `path` (extended files are read from disk, as by `tierlang
    check`) and index its names. `last_good`: the methodology of an earlier check of the same
    file, used for types while the file has errors."""
    report = dsl.check_file(path, text)
    occurrences: list[Occurrence] = []
    definitions: dict[tuple[str, str], Definition] = {}
    overridden: dict[tuple[str, str], list[Definition]] = {}
    for loaded in report.files:  # the file itself first: its definitions override its bases'
        index = _FileIndex(loaded.path, loaded.text)
        index.module(loaded.module)
        occurrences += index.occurrences
        for definition in index.definitions:
            key = (definition.namespace, definition.name)
            if key in definitions:
                overridden.setdefault(key, []).append(definition)
            else:
                definitions[key] = definition
    methodology = report.methodology or last_good
    return Analysis(path, text, report, occurrences, definitions, overridden, methodology)


class _FileIndex:
    """The names written in one file's syntax tree."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.lines = source_lines(text)
        self.occurrences: list[Occurrence] = []
        self.definitions: list[Definition] = []

    def _use(self, name: str, namespace: str, span: Span | None, scope: str | None = None) -> None:
        if span is not None:
            self.occurrences.append(Occurrence(name, namespace, span, scope=scope))

    def _define(self, name: str, namespace: str, span: Span | None, statement) -> None:
        if span is None:
            return
        self.occurrences.append(Occurrence(name, namespace, span, definition=True))
        self.definitions.append(Definition(name, namespace, statement, self.path, span))

    def _name_in(self, name: str, span: Span | None, start: int = 0) -> Span | None:
        """The span of the word `name` written within `span` (the `start`-th word on)."""
        if span is None or not 1 <= span.line <= len(self.lines):
            return None
        line = self.lines[span.line - 1]
        end = span.end_column - 1 if span.end_line == span.line else len(line)
        for i, match in enumerate(_WORD.finditer(line, span.column - 1, end)):
            if i >= start and match.group() == name:
                return Span(self.path, span.line, match.start() + 1, span.line, match.end() + 1)
        return None

    def module(self, module: S.Module) -> None:
        header = module.header
        if header.entity is not None:
            entity_span = header.entity_span
            self._define(header.entity, LEVEL, self._name_in(header.entity, entity_span, 1), header)
            for parent in header.within:
                self._use(parent, LEVEL, self._name_in(parent, entity_span, 2))
        for more in header.more_entities:
            self._define(more.name, LEVEL, self._name_in(more.name, more.span, 1), more)
            for parent in more.within:
                self._use(parent, LEVEL, self._name_in(parent, more.span, 2))
        for statement in module.statements:
            self.statement(statement)

    def statement(self, st) -> None:
        if isinstance(st, S.TypeDecl):
            self._define(st.name, TYPE, st.name_span, st)
            for label in st.level.labels:
                self._define(label.text, LABEL, label.span, st)
            return
        if isinstance(st, S.FunctionDecl):
            self._define(st.name, FUNCTION, st.name_span, st)
            for parameter in st.params:
                span = self._name_in(parameter, st.span, 2)
                if span is not None:
                    self.occurrences.append(Occurrence(parameter, PARAMETER, span, True, st.name))
            self.expr(st.body, frozenset(st.params), st.name)
            return
        if isinstance(st, S.MeasuresDecl):  # its rows name the measures (inputs, definitions)
            for row in st.rows:
                self._use(row.name, NODE, row.name_span)
                treatment = row.get("treatment")
                if treatment is not None:
                    self._use(treatment, FUNCTION, self._name_in(treatment, next(
                        a.span for a in row.attrs if a.kind == "treatment"), 2))
            return
        if isinstance(st, S.LimitDecl):
            self._use(st.tier, NODE, st.tier_span)
            self._use(st.label.text, LABEL, st.label.span)
            self.expr(st.condition)
            return
        if isinstance(st, S.TestDecl):
            for item in st.items:
                if isinstance(item, S.GivenValues):
                    for given in item.values:
                        self._use(given.name, NODE, self._name_in(given.name, given.span))
                        self.expr(given.value)
                elif isinstance(item, S.Expect):
                    self.expr(item.expr)
                elif isinstance(item, S.GivenData) and item.level:
                    self._use(item.level, LEVEL, self._name_in(item.level, item.span, 2))
            return
        self._define(st.name, NODE, st.name_span, st)
        if getattr(st, "per", None):
            self._use(st.per, LEVEL, st.per_span)
        type_ref = getattr(st, "type", None)
        if isinstance(type_ref, S.NamedType):
            self._use(type_ref.name, TYPE, type_ref.span)
        elif isinstance(type_ref, S.LevelTypeExpr):
            for label in type_ref.labels:
                self._define(label.text, LABEL, label.span, st)
        if isinstance(st, S.ParamDecl) and isinstance(st.value, S.Name):
            self._use(st.value.name, LABEL, st.value.span)
        elif isinstance(st, S.Definition):
            self.expr(st.expr)
        elif isinstance(st, S.TierDecl):
            if st.source is not None:
                self.expr(st.source)
            for rule in st.rules:
                if st.type is None:  # the tier's own labels
                    self._define(rule.label.text, LABEL, rule.label.span, st)
                else:
                    self._use(rule.label.text, LABEL, rule.label.span)
                if isinstance(rule.condition, S.Threshold):
                    self.expr(rule.condition.value)
                elif not isinstance(rule.condition, (S.RankCut, S.Otherwise)):
                    self.expr(rule.condition)
            if st.missing_label is not None:
                self._use(st.missing_label.text, LABEL, st.missing_label.span)

    def expr(self, root, bound: frozenset[str] = frozenset(), function: str | None = None) -> None:
        """Every name an expression mentions (iteratively: expressions nest deeply); `bound`:
        the parameters of the user function `function` whose body it is."""
        keys: set[int] = set()  # a name as a map's key is a label, not a use of a node
        for node in walk(root):
            if isinstance(node, S.Name) and id(node) in keys:
                continue
            if isinstance(node, S.Name):
                if node.name in bound:
                    self._use(node.name, PARAMETER, node.span, function)
                else:
                    self._use(node.name, NODE, node.span)
            elif isinstance(node, S.Call):
                self._use(node.function, FUNCTION, node.name_span)
                if node.over is not None:
                    self._use(node.over, LEVEL, node.over_span)
            elif isinstance(node, S.Within):
                self._use(node.group, NODE, self._name_in(node.group, node.span, 1))
            elif isinstance(node, S.MapCase) and node.key is not None:
                keys.add(id(node.key))
                if isinstance(node.key, S.Name):
                    self._use(node.key.name, LABEL, node.key.span)
