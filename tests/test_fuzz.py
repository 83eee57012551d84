"""Fuzzing: random methodologies and random data files never crash tierlang.

Properties (each raises AssertionError on a failure, and is shared with the longer run,
`benchmarks/fuzz_parser.py --minutes N`):

- `check_methodology_text`: `dsl.check_file(path, text)` returns a report, never raises; every
  diagnostic has a code and message, points inside a file of the report (or nowhere, for a file
  that cannot be read) and renders, as text and JSON. When the text is a valid methodology, it
  runs over a small random table, raising nothing but a DataError or a UsageError.
- `check_data_bytes`: `read_dataset` and `prepare_inputs` (with tests/bad_inputs/base.tier) raise
  nothing but a DataError; a table they accept runs.

Generators take a `random.Random`, so that the hypothesis tests (which hand them a seeded one
through `st.randoms()`) and the benchmark loop (which seeds its own) draw from the same inputs:

- `token_soup`: tokens of the language (every literal of dsl/grammar.lark, names, numbers,
  strings, comments, docstrings, odd characters) in random order, after a valid header;
- `statement_soup`: grammar-shaped statements (inputs, params, definitions with random
  expressions, tiers, limits, functions, types, tests) with random holes and swaps: many are
  valid methodologies, many are one mistake away from one;
- `spliced_lines`: lines of every real methodology and corpus file in the repository, drawn at
  random and mutated token by token;
- `csv_bytes`: tables shaped like base.tier's data (with its columns, extra, duplicated or
  misspelt ones) with tricky cells, random delimiters, quoting and encodings, or raw bytes;
- `xlsx_bytes`: workbooks with tricky cells, then damaged (a byte flipped, cut short, or one
  XML part of the archive rewritten with junk).

tests/test_checker_fuzz.py mutates the valid methodologies themselves; this file adds the
grammar-aware generators, the run of what checks, and the data files.
"""

from __future__ import annotations

import contextlib
import io
import random
import re
import string
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsl
from dsl.errors import diagnostics_json, render, render_all
from interpreter.data import prepare_inputs, read_dataset
from interpreter.errors import DataError, render_data_error

ROOT = Path(__file__).resolve().parents[1]
GRAMMAR = (ROOT / "dsl" / "grammar.lark").read_text(encoding="utf-8")
BASE = ROOT / "tests" / "bad_inputs" / "base.tier"

# ================================================================ methodology generators

_grammar_code = "\n".join(line for line in GRAMMAR.splitlines() if not line.lstrip().startswith("//"))
LITERALS = sorted(set(re.findall(r'"((?:[^"\\]|\\.)+)"', _grammar_code)) - {"\\n"})
NAMES = ["a", "b", "score", "safe", "region", "x", "y", "t", "rating", "good", "outstanding", "inadequate",
         "mean", "sum", "rank", "quartile", "weighted_mean", "population_mean", "round", "abs", "coalesce",
         "count", "percentile", "zscore", "clip", "min", "max", "band", "map", "level", "top", "nope",
         "__import__", "eval", "os", "_", "A" * 300]
NUMBERS = ["0", "1", "2.5", "100", "50%", "150%", "1e400", "1e-400", "-3", "0.800", "1e308", "2e308",
           "99999999999999999999", "0.1e1", "1.", ".5", "1..2", "10..1", "0e0", "2017-07-21", "2017-02-30"]
STRINGS = ['"x"', '"good"', '""', '"a b"', '"\\"q\\""', '"\\\\"', '"é😀"', '"\u202eevil"', '"<script>"',
           "\"'; DROP TABLE runs; --\"", '"unterminated', '"""doc"""', '"""', '"../../etc/passwd"',
           '"/etc/passwd"', '"data.csv"', '"a\\nb"']
ODD = ["#", "# comment\n", "\n", "\n\n", "\t", " ", "\r\n", "\x00", "\ufeff", "\x0c", "\u2028", "@", "$", ";",
       "`", "“", "é", "\\", "'", "..", "%", "%%", "{{", "}}", "((", "))"]
TOKENS = LITERALS + NAMES + NUMBERS + STRINGS + ODD
HEADER = 'methodology "Fuzz"\nentity Trust key code label name\n'
TYPES = ["number", "boolean", "text", "rating", "level low < mid < high", "nope"]
LABELS = ["inadequate", "requires_improvement", "good", "outstanding", '"Very High"', "low", "nope"]
OPTIONS = ["skip missing", "require 2", "require 1.5", "normalise", "higher is better", "lower is better",
           "within region", "within score"]
FUNCTIONS = ["mean", "sum", "min", "max", "weighted_mean", "count", "any", "all", "coalesce", "rank",
             "percentile", "quartile", "quantile_band", "zscore", "minmax", "winsorize", "population_mean",
             "population_median", "population_sd", "round", "abs", "clip", "log", "sqrt", "goalpost", "f", "nope"]


def token_soup(rng: random.Random) -> str:
    n = rng.randint(0, 60)
    return HEADER + " ".join(rng.choice(TOKENS) for _ in range(n)) + rng.choice(["", "\n"])


def expression(rng: random.Random, names: list[str], depth: int = 3) -> str:
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice(names + NUMBERS[:8] + STRINGS[:3] + ["true", "false"] + LABELS[:4])
    sub = lambda: expression(rng, names, depth - 1)  # noqa: E731
    kind = rng.randrange(11)
    if kind == 0:
        return f"{sub()} {rng.choice(['+', '-', '*', '/', '^', 'and', 'or', '==', '!=', '<', '>=', '<='])} {sub()}"
    if kind == 1:
        return rng.choice(["not {}", "-{}", "({})", "{} is missing", "{} is not missing", '{} for "A1"']).format(sub())
    if kind == 2:
        return f"if {sub()} then {sub()} else {sub()}"
    if kind == 3:
        return "[" + ", ".join(sub() for _ in range(rng.randint(0, 3))) + "]"
    if kind in (4, 5, 6):
        arguments = []
        for _ in range(rng.randint(0, 4)):
            form = rng.randrange(3)
            arguments.append(sub() if form == 0 else f"{sub()}: {sub()}" if form == 1 else rng.choice(OPTIONS))
        return f"{rng.choice(FUNCTIONS)}({', '.join(arguments)})"
    if kind in (7, 8):
        cases = [f"{rng.choice(LABELS + NUMBERS[:3])}: {sub()}" for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.7:
            cases.append(f"otherwise: {sub()}")
        return f"map {sub()} {{ {', '.join(cases) or 'otherwise: 1'} }}"
    cases = [f"{rng.choice(['>=', '>', '<', '==', '<='])} {sub()}: {sub()}" for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.7:
        cases.append(f"otherwise: {sub()}")
    return f"band {sub()} {{ {', '.join(cases) or 'otherwise: 1'} }}"


INPUTS_TYPED = {"score": "number", "safe": "rating", "region": "text", "flag": "boolean", "extra": "number"}
CONDITIONS = {"score > 50": {"score"}, "flag": {"flag"}, "safe >= good": {"safe"}, 'region == "North"': {"region"},
              "score is missing": {"score"}, "not flag": {"flag"}, "safe == outstanding or flag": {"safe", "flag"},
              "extra <= score": {"extra", "score"}, "true": set()}
ODD = 0.05  # how often a deliberate mistake is made at each choice


def _conditions(names: list[str]) -> list[str]:
    return [c for c, needs in CONDITIONS.items() if needs <= set(names)]


def numeric_expression(rng: random.Random, numbers: list[str], names: list[str], depth: int = 3) -> str:
    """A well-typed number expression (most of them check), over number-valued names."""
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice(numbers + ["1", "2.5", "50%", "0", "100"])
    sub = lambda: numeric_expression(rng, numbers, names, depth - 1)  # noqa: E731
    per_entity = [n for n in numbers if n in INPUTS_TYPED or n.startswith("d")]
    kind = rng.randrange(12)
    if kind < 3:
        return f"{sub()} {rng.choice(['+', '-', '*', '/', '^'])} {sub()}"
    if kind == 3:
        return f"{rng.choice(['mean', 'sum', 'min', 'max'])}({sub()}, {sub()}{rng.choice(['', ', skip missing'])})"
    if kind == 4:
        return f"weighted_mean({sub()}: 25%, {sub()}: 75%{rng.choice(['', ', skip missing', ', require 1'])})"
    if kind == 5 and per_entity:
        within = ", within region" if "region" in names and rng.random() < 0.3 else ""
        function = rng.choice(["rank", "percentile", "quartile", "zscore", "minmax", "population_mean"])
        polarity = rng.choice(["", ", lower is better"]) if function != "population_mean" else ""
        return f"{function}({rng.choice(per_entity)}{polarity}{within})"
    if kind == 6:
        return f"if {rng.choice(_conditions(names))} then {sub()} else {sub()}"
    if kind == 7 and "safe" in names:
        return "map safe { inadequate: 0, requires_improvement: 1, good: 2" + rng.choice(
            [", outstanding: 3 }", ", otherwise: 9 }", " }"])
    if kind == 8:
        return f"band {sub()} {{ >= 50: 1, >= 10: 2, otherwise: {sub()} }}"
    if kind == 9:
        return f"round({sub()}, 1)" if rng.random() < 0.3 else f"{rng.choice(['round', 'abs', 'sqrt', 'log'])}({sub()})"
    if kind == 10:
        return f"coalesce({sub()}, {sub()})"
    return f"clip({sub()}, 0, 100)"


def statement_soup(rng: random.Random) -> str:
    odd = lambda: rng.random() < ODD  # noqa: E731
    lines = [HEADER]
    if not odd():
        lines.append("type rating = level inadequate < requires_improvement < good < outstanding")
    names: list[str] = []
    for name in rng.sample(sorted(INPUTS_TYPED), rng.randint(1, 5)):
        kind = rng.choice(TYPES) if odd() else INPUTS_TYPED[name]
        extra = rng.choice(["", "", ' "Display"', " required"] + ([" range 0..100"] if kind == "number" else []))
        if odd():
            extra = rng.choice([' from "col"', " range 10..1", " range 0..1e400", " range 0..100"])
        lines.append(f"input {name}: {kind}{extra}")
        names.append(name)
    numbers = [n for n in names if INPUTS_TYPED.get(n) == "number"]
    for i in range(rng.randint(0, 2)):
        value = rng.choice(NUMBERS + STRINGS[:2] + LABELS[:3]) if odd() else rng.choice(["2", "50%", "0.5"])
        lines.append(f"param p{i} = {value}" + rng.choice(["", "", " range 0..10"] + ([" range 0..1"] if odd() else [])))
        names.append(f"p{i}")
        numbers.append(f"p{i}")
    if rng.random() < 0.3:
        lines.append(f"function f(v) = {numeric_expression(rng, ['v'], [], 2)}")
        numbers.append("f(score)" if "score" in names else "f(1)")
    for i in range(rng.randint(1, 5)):
        kind = rng.choice(["let", "indicator", "domain", "score"])
        if odd() or rng.random() < 0.1:
            expr = expression(rng, names)
        else:
            expr = numeric_expression(rng, numbers, names)
            numbers.append(f"d{i}")
        lines.append(f"{kind} d{i} = {expr}")
        names.append(f"d{i}")
    sources = [n for n in numbers if n in INPUTS_TYPED or n.startswith("d")]
    if sources and rng.random() < 0.85:
        rules, labels = [], rng.sample(["top_band", "middle", "bottom", '"Very High"', "good"], rng.randint(1, 4))
        for label in labels:
            condition = rng.choice([">= " + rng.choice(["1", "2.5", "50", "0"]), "top 2", "bottom 10%",
                                    rng.choice(_conditions(names))])
            rules.append(f"  {label}: {expression(rng, names, 1) if odd() else condition}")
        labels.append("rest")
        rules.append("  rest: otherwise")
        if rng.random() < 0.3:
            rules.append("  missing: " + rng.choice(["rest", '"Not rated"']))
        lines.append(f"tier t from {rng.choice(sources)} {{\n" + "\n".join(rules) + "\n}")
        if rng.random() < 0.4:
            label = "nope" if odd() else rng.choice(labels)
            lines.append(f"limit t to {rng.choice(['at most', 'at least'])} {label} "
                         f"when {rng.choice(_conditions(names))}")
    if rng.random() < 0.4:
        values = {"score": "50", "extra": "1", "safe": "good", "region": '"North"', "flag": "true"}
        inputs = [n for n in names if n in INPUTS_TYPED]
        givens = ", ".join(f"{n} = {values[n]}" for n in rng.sample(inputs, min(len(inputs), rng.randint(1, 2))))
        data = rng.choice(['  given data "../../etc/passwd"\n', '  given data "data.csv"\n']) if odd() else ""
        lines.append(f'test "fuzz" {{\n  given {givens or "p9 = 1"}\n{data}  expect {rng.choice(_conditions(names))}\n}}')
    text = "\n".join(lines) + "\n"
    return _mutate_tokens(rng, text, rng.choice([0] * 8 + [1, 2]))


_TOKEN = re.compile(r'"""(?:.|\n)*?"""|"(?:\\.|[^"\\\n])*"|\d+(?:\.\d+)?(?:e[+-]?\d+)?%?|[A-Za-z_]\w*|\S')


def _mutate_tokens(rng: random.Random, text: str, times: int) -> str:
    for _ in range(times):
        tokens = list(_TOKEN.finditer(text))
        if not tokens:
            break
        t = rng.choice(tokens)
        action = rng.randrange(4)
        if action == 0:
            text = text[: t.start()] + text[t.end():]
        elif action == 1:
            text = text[: t.start()] + rng.choice(TOKENS) + text[t.end():]
        elif action == 2:
            text = text[: t.end()] + " " + rng.choice(TOKENS) + text[t.end():]
        else:
            other = rng.choice(tokens)
            text = text[: t.start()] + other.group() + text[t.end():]
    return text


def _corpus_lines() -> list[str]:
    files = [*ROOT.glob("methodologies/*.tier"), *ROOT.glob("tests/golden/*/*.tier"),
             *ROOT.glob("tests/bad_inputs/**/*.tier")]
    lines = []
    for path in sorted(files):
        try:
            lines += path.read_text(encoding="utf-8").split("\n")
        except (UnicodeDecodeError, OSError):
            continue
    return lines


CORPUS_LINES = _corpus_lines()


def spliced_lines(rng: random.Random) -> str:
    picked = [rng.choice(CORPUS_LINES) for _ in range(rng.randint(0, 25))]
    if rng.random() < 0.5:  # keep runs of consecutive lines: whole statements and blocks
        start = rng.randrange(len(CORPUS_LINES))
        picked += CORPUS_LINES[start: start + rng.randint(1, 15)]
        rng.shuffle(picked)
    text = (HEADER if rng.random() < 0.7 else "") + "\n".join(picked) + "\n"
    return _mutate_tokens(rng, text, rng.randint(0, 3))


# ================================================================ data generators

COLUMNS = ["code", "name", "score", "safe", "flagged", "region"]
CELLS = ["", " ", "A1", " A1 ", "A1", "B2", "90", "150", "-5", "1e400", "-1e400", "NaN", "nan", "inf", "-Infinity",
         "1,234", "12,5", "£12", "50%", "٣", "1_000", "0x10", "#DIV/0!", "#N/A", "n/a", "=1+1", "@SUM(1)",
         "good", "Good", " good ", "outstanding", "excellent", "requires_improvement", "true", "FALSE", "yes",
         "maybe", "2", "North", "é😀", "\u202e", "\ufeff", '"', '""', "'", "a,b", "a\nb", "a\rb", "\t",
         "x" * 2000, "9" * 400, "[/red]", "<script>", "'; DROP TABLE runs; --"]
ENCODINGS = ["utf-8"] * 12 + ["utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252"]


VALID_CELLS = {"code": [f"K{i}" for i in range(30)], "name": ["Alpha", "Beta", "é😀", "<b>x</b>", ""],
               "score": ["0", "12.5", "100", "55%", "", "1e2", " 7 "], "safe": ["good", "Good", " outstanding", ""],
               "flagged": ["true", "no", "1", "Y", ""], "region": ["North", "", "[/b]"]}
NUL = "\x00"


def _cell(rng: random.Random, column: str | None = None, clean: bool = False) -> str:
    if clean and column in VALID_CELLS and rng.random() < 0.97:
        return rng.choice(VALID_CELLS[column])
    if rng.random() < 0.8:
        return rng.choice(CELLS)
    return NUL if rng.random() < 0.02 else "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 8)))


def _header(rng: random.Random) -> list[str]:
    header = list(COLUMNS)
    for _ in range(rng.choice([0, 0, 1, 2])):
        action = rng.randrange(4)
        i = rng.randrange(len(header))
        if action == 0:
            header.insert(rng.randrange(len(header) + 1), header[i])  # a duplicate
        elif action == 1:
            del header[i]
        elif action == 2:
            header[i] = rng.choice([" " + header[i], header[i].upper(), header[i] + "\x00", "\ufeff" + header[i], ""])
        else:
            header.append(_cell(rng))
    rng.shuffle(header) if rng.random() < 0.2 else None
    return header


def _quote(rng: random.Random, cell: str, delimiter: str) -> str:
    if rng.random() < 0.9 and (delimiter in cell or '"' in cell or "\n" in cell or "\r" in cell or rng.random() < 0.1):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_bytes(rng: random.Random) -> tuple[str, bytes]:
    """(file name, bytes) of a delimited table."""
    suffix = rng.choice([".csv", ".csv", ".csv", ".tsv"])
    if rng.random() < 0.05:
        return "junk" + suffix, bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
    if rng.random() < 0.05:  # a few characters of the CSV syntax: the edge cases of reading
        return "tiny" + suffix, "".join(rng.choice(',\t\n\r "a1') for _ in range(rng.randint(0, 10))).encode()
    delimiter = "," if suffix == ".csv" else "\t"
    if rng.random() < 0.1:
        delimiter = rng.choice([";", "|", "\t", ","])
    clean = rng.random() < 0.5  # a table that mostly holds what base.tier reads, with a few odd cells
    header = list(COLUMNS) if clean and rng.random() < 0.8 else _header(rng)
    rows = [header]
    for _ in range(rng.randint(0, 6)):
        width = len(header) + (0 if clean else rng.choice([0, 0, 0, 0, -1, 1, -3]))
        rows.append([_cell(rng, header[i] if i < len(header) else None, clean) for i in range(max(width, 0))])
    if clean:  # unique keys, mostly
        for i, row in enumerate(rows[1:]):
            if row and "code" in header and rng.random() < 0.95:
                row[header.index("code")] = f"K{i}"
    newline = rng.choice(["\n", "\n", "\r\n", "\r"])
    text = newline.join(delimiter.join(_quote(rng, c, delimiter) for c in row) for row in rows)
    text += rng.choice(["", newline, newline * 3])
    data = text.encode("utf-8" if clean else rng.choice(ENCODINGS), errors="replace")
    if rng.random() < 0.05:
        data = data[: rng.randint(0, len(data))]
    return "table" + suffix, data


ILLEGAL_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters a worksheet cannot hold


def xlsx_bytes(rng: random.Random) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    header = _header(rng)
    sheet.append([ILLEGAL_IN_XLSX.sub("", c) for c in header])
    for _ in range(rng.randint(0, 5)):
        row = []
        for _ in range(len(header) + rng.choice([0, 0, -1, 1])):
            value = rng.choice([_cell(rng), rng.uniform(-1e6, 1e6), rng.randint(-5, 200), True, None, "=1+1",
                                float("nan"), float("inf"), pd.Timestamp("2017-07-21").to_pydatetime()])
            if isinstance(value, str):
                value = ILLEGAL_IN_XLSX.sub("", value)
            row.append(value)
        try:
            sheet.append(row)
        except Exception:  # noqa: BLE001 - openpyxl refuses some values: leave the row out
            continue
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    damage = rng.randrange(5)
    if damage == 1:  # a byte flipped
        i = rng.randrange(len(data))
        data = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]
    elif damage == 2:  # cut short
        data = data[: rng.randrange(len(data))]
    elif damage in (3, 4):  # one part of the archive rewritten
        source = zipfile.ZipFile(io.BytesIO(data))
        names = source.namelist()
        victim = rng.choice(names)
        rebuilt = io.BytesIO()
        with zipfile.ZipFile(rebuilt, "w") as target:
            for name in names:
                content = source.read(name)
                if name == victim:
                    content = _damage_xml(rng, content)
                if not (name == victim and rng.random() < 0.2):  # sometimes the part is missing
                    target.writestr(name, content)
        data = rebuilt.getvalue()
    return data


def _damage_xml(rng: random.Random, content: bytes) -> bytes:
    text = content.decode("utf-8", errors="replace")
    action = rng.randrange(5)
    if action == 0:
        return content[: rng.randrange(len(content) + 1)]
    if action == 1:
        return text.replace('r="', 'r="Z', 1).encode()  # a cell reference that is not one
    if action == 2:
        return re.sub(r"<v>[^<]*</v>", lambda m: f"<v>{rng.choice(['x', '', '1e999', 'NaN', '-'])}</v>", text).encode()
    if action == 3:
        return b"<?xml version='1.0'?><junk>" + bytes(rng.randrange(256) for _ in range(40)) + b"</junk>"
    return text.replace("<row", "<row r=\"0\"", 1).replace("<c ", "<c t=\"e\" ", 1).encode()


# ================================================================ properties


def _assert_report_is_sound(report, text: str) -> None:
    assert isinstance(report.diagnostics, tuple)
    assert (report.methodology is None) == bool(report.errors)
    for d in report.diagnostics:
        assert d.severity in ("error", "warning") and d.code and d.message, d
        if d.span is not None:
            assert d.span.file in report.sources, (d.span.file, list(report.sources))
            lines = report.sources[d.span.file].count("\n") + 1
            assert 1 <= d.span.line <= lines + 1 and d.span.column >= 1, d
        assert isinstance(render(d, report.sources), str)
        assert d.to_json()["code"] == d.code
    assert isinstance(render_all(report.diagnostics, report.sources), str)
    assert isinstance(diagnostics_json(report.diagnostics), str)


def _random_frame(rng: random.Random, methodology) -> pd.DataFrame:
    columns = {methodology.key: [f"E{i}" for i in range(4)]}
    if methodology.label_column:
        columns[methodology.label_column] = ["Alpha", "Beta", "[/b]", "é"]
    for node in methodology.inputs:
        column = node.column or node.name
        pool = {"number": ["1", "2.5", "-3", "100", "0", "", "1e300"], "boolean": ["true", "false", ""],
                "level": [*(node.type.level.labels if node.type.level else ()), ""]}.get(node.type.base, ["x", "", "y"])
        columns[column] = [rng.choice(pool) for _ in range(4)]
    return pd.DataFrame(columns)


def check_methodology_text(text: str, rng: random.Random | None = None) -> None:
    """The parser and checker never raise; what checks also runs (see the module docstring)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.tier"
        (Path(folder) / "data.csv").write_text("code,name,score\nA1,Alpha,1\n", encoding="utf-8")
        report = dsl.check_file(path, text)
        _assert_report_is_sound(report, text)
        if report.methodology is not None and rng is not None:
            from tierlang import api

            with contextlib.suppress(DataError, api.UsageError):
                api.run(report.methodology, _random_frame(rng, report.methodology))


def check_data_bytes(name: str, data: bytes, methodology=None) -> None:
    """Reading and preparing a table raise nothing but a DataError; an accepted table runs."""
    methodology = methodology or BASE_METHODOLOGY
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            dataset = read_dataset(path)
            prepared = prepare_inputs(methodology, dataset)
        except DataError as error:
            shown = render_data_error(error)
            assert shown.startswith(str(path)) and error.problems, shown
            return
        from interpreter import evaluate

        evaluate(methodology, prepared.frame, labels=prepared.labels)


BASE_METHODOLOGY = dsl.load(BASE)

GENERATORS = {
    "tokens": lambda rng: check_methodology_text(token_soup(rng), rng),
    "statements": lambda rng: check_methodology_text(statement_soup(rng), rng),
    "lines": lambda rng: check_methodology_text(spliced_lines(rng), rng),
    "csv": lambda rng: check_data_bytes(*csv_bytes(rng)),
    "xlsx": lambda rng: check_data_bytes("book.xlsx", xlsx_bytes(rng)),
}
INPUTS = {  # the input each generator draws, for the benchmark to save when a property fails
    "tokens": token_soup,
    "statements": statement_soup,
    "lines": spliced_lines,
    "csv": csv_bytes,
    "xlsx": xlsx_bytes,
}


# ================================================================ the bounded hypothesis runs

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.randoms(use_true_random=False))
def test_token_soup(rng):
    check_methodology_text(token_soup(rng), rng)


@FUZZ
@given(st.randoms(use_true_random=False))
def test_grammar_shaped_statements(rng):
    check_methodology_text(statement_soup(rng), rng)


@FUZZ
@given(st.randoms(use_true_random=False))
def test_spliced_lines_of_real_methodologies(rng):
    check_methodology_text(spliced_lines(rng), rng)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=50))
def test_token_lists_shrink_to_the_smallest_failure(tokens):
    """Plain hypothesis lists of tokens: a failure shrinks to the fewest tokens."""
    check_methodology_text(HEADER + " ".join(tokens))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_after_a_valid_header(text):
    check_methodology_text(HEADER + "input score: number\n" + text)


@FUZZ
@given(st.randoms(use_true_random=False))
def test_csv_tables(rng):
    check_data_bytes(*csv_bytes(rng))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500), st.sampled_from([".csv", ".tsv", ".xlsx"]))
def test_arbitrary_bytes_as_data(data, suffix):
    check_data_bytes("table" + suffix, data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_damaged_workbooks(rng):
    check_data_bytes("book.xlsx", xlsx_bytes(rng))
