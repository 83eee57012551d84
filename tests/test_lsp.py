"""`tierlang lsp` driven over the real protocol: pytest-lsp starts the command as a subprocess
and talks to it over stdio, as an editor does. Every feature is tried on a real methodology
and on a file that extends another (stp_dashboard_2018_draft.tier extends the 2017 one)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import pytest_asyncio
from click.testing import CliRunner
from lsprotocol import types
from pygls import uris
from pygments.token import Name
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from dsl.builtins import BUILTINS
from dsl.checker import check_sources
from dsl.formatter import format_source
from dsl.parser import parse
from tierlang.cli import main as cli
from tierlang.highlight import TierLexer

ROOT = Path(__file__).resolve().parent.parent
METHODOLOGIES = ROOT / "methodologies"
TRUST = METHODOLOGIES / "cqc_nhs_trust.tier"  # the largest methodology
BASE = METHODOLOGIES / "stp_dashboard_2017.tier"
DRAFT = METHODOLOGIES / "stp_dashboard_2018_draft.tier"  # extends BASE

pytestmark = pytest.mark.asyncio(loop_scope="module")


SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "tierlang.cli", "lsp"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client():
    # pytest-lsp's client (it checks every response against the protocol and the client's
    # capabilities), started without its pytest plugin (disabled in pyproject.toml)
    lsp_client: LanguageClient = await SERVER.start()
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=uris.from_fs_path(str(ROOT)),
        )
    )
    yield lsp_client
    await lsp_client.shutdown_session()
    await lsp_client.stop()


async def test_the_server_starts_from_the_command_line(client):
    # the fixture starts `python -m tierlang.cli lsp`: the `tierlang lsp` command itself
    document, found = await opened(client, DRAFT)
    close(client, document)
    assert found == [] and client.capabilities is not None


# ---------------------------------------------------------------- helpers


def uri(path: Path) -> str:
    return uris.from_fs_path(str(path))


async def published(client: LanguageClient, document: str, version: int) -> list[types.Diagnostic]:
    """The diagnostics the server publishes for this version of the document."""
    while True:
        params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == document and params.version == version:
            return list(params.diagnostics)


async def opened(
    client: LanguageClient, path: Path, text: str | None = None
) -> tuple[str, list[types.Diagnostic]]:
    document = uri(path)
    text = path.read_text(encoding="utf-8") if text is None else text
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=document, language_id="tier", version=1, text=text
            )
        )
    )
    return document, await published(client, document, 1)


def close(client: LanguageClient, document: str) -> None:
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=document))
    )


def position(text: str, line: int, word: str, offset: int = 1, after: str = "") -> types.Position:
    """A position inside `word` (written after `after`) on 1-based `line` of `text` (the test
    files are ASCII: characters are code units)."""
    found = re.search(rf"{re.escape(after)}\b{re.escape(word)}\b", text.split("\n")[line - 1])
    return types.Position(line=line - 1, character=found.start() + len(after) + offset)


def line_of(text: str, pattern: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if re.search(pattern, line))


def ranged(text: str, r: types.Range) -> str:
    lines = text.split("\n")
    assert r.start.line == r.end.line
    return lines[r.start.line][r.start.character : r.end.character]


def cli_check(path: Path) -> list[dict]:
    result = CliRunner().invoke(cli, ["check", "--format", "json", str(path)])
    return json.loads(result.output)[0]["diagnostics"]


def as_cli(d: types.Diagnostic) -> tuple:
    return (
        d.code,
        d.range.start.line + 1,
        d.range.start.character + 1,
        d.range.end.line + 1,
        d.range.end.character + 1,
    )


def apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for edit in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        start = offsets[edit.range.start.line] + edit.range.start.character
        end = offsets[edit.range.end.line] + edit.range.end.character
        text = text[:start] + edit.new_text + text[end:]
    return text


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    """A copy of the methodologies and the example data their tests read, in a root folder of its own."""
    (tmp_path / ".tierlang-root").write_text("")
    shutil.copytree(METHODOLOGIES, tmp_path / "methodologies")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path / "methodologies"


@pytest.fixture()
def chain(copy: Path) -> tuple[Path, Path]:
    """Copies of the 2018 draft and of the 2017 methodology it extends."""
    return copy / DRAFT.name, copy / BASE.name


# ---------------------------------------------------------------- diagnostics


@pytest.mark.parametrize("path", sorted(METHODOLOGIES.glob("*.tier")), ids=lambda p: p.name)
async def test_every_methodology_has_the_diagnostics_of_tierlang_check(client, path):
    document, found = await opened(client, path)
    close(client, document)
    assert [as_cli(d) for d in found] == [
        (d["code"], d["line"], d["column"], d["end_line"], d["end_column"]) for d in cli_check(path)
    ]


async def test_diagnostics_after_a_change_are_those_of_tierlang_check(client, copy):
    trust = copy / TRUST.name
    text = trust.read_text(encoding="utf-8")
    document, found = await opened(client, trust, text)
    assert found == []
    line = line_of(text, r"^tier safe_service")
    changed = text.replace("safe == good", "safe == goood").replace(
        "safe_enforcement ==", "safe_enforcment =="
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=document, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=changed)],
        )
    )
    found = await published(client, document, 2)
    close(client, document)
    trust.write_text(changed, encoding="utf-8")
    expected = cli_check(trust)
    assert len(expected) >= 2 and {d["code"] for d in expected} >= {"unknown-name"}
    assert [as_cli(d) for d in found] == [
        (d["code"], d["line"], d["column"], d["end_line"], d["end_column"]) for d in expected
    ]
    for lsp, cli_diagnostic in zip(found, expected):
        assert lsp.message.startswith(cli_diagnostic["message"])
        assert f"help: {cli_diagnostic['hint']}" in lsp.message
        assert lsp.severity == types.DiagnosticSeverity.Error and lsp.source == "tierlang"
    assert any(
        d.range.start.line + 1 == line + 2 and "did you mean 'good'" in d.message for d in found
    )


async def test_an_incremental_change_is_checked(client):
    text = TRUST.read_text(encoding="utf-8")
    document, _ = await opened(client, TRUST, text)
    line = line_of(text, r"safe == good")
    start = position(text, line, "good", 0, after="== ")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=document, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=start,
                        end=types.Position(line=start.line, character=start.character + 4),
                    ),
                    text="fine",
                )
            ],
        )
    )
    found = await published(client, document, 2)
    close(client, document)
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1].replace("safe == good", "safe == fine")
    assert [(d.code, d.range.start.line + 1, ranged("\n".join(lines), d.range)) for d in found] == [
        ("unknown-label", line, "fine")
    ]


async def test_a_problem_in_the_extended_file_is_shown_on_the_extends_line(client, chain):
    draft, base = chain
    base_text = base.read_text(encoding="utf-8")
    base.write_text(
        base_text.replace("quartile(cancer_62day,", "quartile(cancer_62dya,"), encoding="utf-8"
    )
    document, found = await opened(client, draft)
    close(client, document)
    expected = cli_check(draft)
    (diagnostic,) = found
    (cli_diagnostic,) = expected
    extends_line = line_of(draft.read_text(encoding="utf-8"), r"^extends ")
    assert diagnostic.code == cli_diagnostic["code"] == "unknown-name"
    assert diagnostic.range.start.line + 1 == extends_line
    assert diagnostic.message.startswith(
        f"in {cli_diagnostic['file']}:{cli_diagnostic['line']}:{cli_diagnostic['column']}: "
    )
    (related,) = diagnostic.related_information
    assert related.location.uri == uri(base)
    assert as_cli(
        types.Diagnostic(range=related.location.range, message="", code=diagnostic.code)
    ) == (
        cli_diagnostic["code"],
        cli_diagnostic["line"],
        cli_diagnostic["column"],
        cli_diagnostic["end_line"],
        cli_diagnostic["end_column"],
    )


async def test_saving_the_extended_file_checks_the_open_file_again(client, chain):
    draft, base = chain
    document, found = await opened(client, draft)
    assert found == []
    base.write_text(
        base.read_text(encoding="utf-8").replace(
            "quartile(cancer_62day,", "quartile(cancer_62dya,"
        ),
        encoding="utf-8",
    )
    base_document, _ = await opened(client, base)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=base_document)
        )
    )
    found = await published(client, document, 1)
    close(client, document)
    close(client, base_document)
    assert [d.code for d in found] == ["unknown-name"]


# ---------------------------------------------------------------- hover


async def hover(client, document, pos) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=document), position=pos)
    )
    return result.contents.value if result is not None else ""


async def test_hover_on_a_name_shows_its_label_docstring_type_level_and_place(client):
    text = TRUST.read_text(encoding="utf-8")
    document, _ = await opened(client, TRUST, text)
    line = line_of(text, r"^  good: +safe == good")
    shown = await hover(client, document, position(text, line, "safe"))
    defined = line_of(text, r"^input safe:")
    assert "**Safe**" in shown and "input `safe`" in shown
    assert "type: level rating" in shown and "one value per service" in shown
    assert f"defined at cqc_nhs_trust.tier:{defined}:7" in shown
    documented = parse(text, str(TRUST)).named()["trust_well_led"]
    shown = await hover(
        client, document, position(text, line_of(text, r"^input trust_well_led"), "trust_well_led")
    )
    close(client, document)
    assert documented.doc and documented.doc.split("\n")[0] in shown


async def test_hover_on_a_builtin_shows_its_signature_and_description(client):
    text = TRUST.read_text(encoding="utf-8")
    document, _ = await opened(client, TRUST, text)
    line = line_of(text, r"count\(")
    shown = await hover(client, document, position(text, line, "count"))
    close(client, document)
    assert BUILTINS["count"].signature() in shown and BUILTINS["count"].doc in shown


async def test_hover_across_extends_shows_the_base_definition_and_the_override(client):
    text = DRAFT.read_text(encoding="utf-8")
    document, _ = await opened(client, DRAFT, text)
    line = line_of(text, r"^domain cancer")
    shown = await hover(client, document, position(text, line, "cancer_score"))
    base_line = line_of(BASE.read_text(encoding="utf-8"), r"^indicator cancer_score")
    assert (
        "Cancer 62-day (quartile)" in shown
        and f"defined at stp_dashboard_2017.tier:{base_line}:" in shown
    )
    shown = await hover(
        client,
        document,
        position(text, line_of(text, r"^param transformation_weight"), "transformation_weight"),
    )
    close(client, document)
    assert "overrides stp_dashboard_2017.tier:" in shown and "type: scalar number" in shown


async def test_hover_on_a_label_a_parameter_and_an_entity_level(client):
    text = TRUST.read_text(encoding="utf-8")
    document, _ = await opened(client, TRUST, text)
    label = await hover(
        client,
        document,
        position(text, line_of(text, r"^  good: +safe == good"), "good", after="== "),
    )
    line = line_of(text, r"^function outstanding_rule")
    parameter = await hover(client, document, position(text, line, "g", 0, after="o + "))
    level = await hover(
        client, document, position(text, line_of(text, r"^input safe:"), "service", after="per ")
    )
    close(client, document)
    assert (
        "label of level type `rating`: inadequate < requires improvement < **good** < outstanding (worst first)"
        in label
    )
    assert "parameter `g` of function `outstanding_rule(n, o, g)`" in parameter
    assert (
        f"defined at cqc_nhs_trust.tier:{line_of(text, r'^entity service')}:8" in level
        and "within `location`" in level
    )


# ---------------------------------------------------------------- definition and references


async def definition(client, document, pos) -> types.Location:
    result = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=document), position=pos
        )
    )
    return result[0] if isinstance(result, list) else result


async def test_go_to_definition_in_the_file(client):
    text = TRUST.read_text(encoding="utf-8")
    document, _ = await opened(client, TRUST, text)
    found = await definition(
        client, document, position(text, line_of(text, r"^  good: +safe == good"), "safe")
    )
    function_use = line_of(text, r"^function outstanding_needed")
    found_function = await definition(
        client, document, position(text, function_use, "by_number_of_ratings")
    )
    close(client, document)
    assert (
        found.uri == document
        and found.range.start.line + 1 == line_of(text, r"^input safe:")
        and ranged(text, found.range) == "safe"
    )
    assert found_function.range.start.line + 1 == line_of(text, r"^function by_number_of_ratings")


async def test_go_to_definition_across_extends(client):
    text = DRAFT.read_text(encoding="utf-8")
    base_text = BASE.read_text(encoding="utf-8")
    document, _ = await opened(client, DRAFT, text)
    found = await definition(
        client, document, position(text, line_of(text, r"^domain cancer"), "cancer_score")
    )
    close(client, document)
    assert found.uri == uri(BASE)
    assert (
        found.range.start.line + 1 == line_of(base_text, r"^indicator cancer_score")
        and ranged(base_text, found.range) == "cancer_score"
    )


def lexed_uses(text: str, name: str) -> list[int]:
    """An independent oracle: the lines where the lexer sees `name` as a name (not in a comment or string)."""
    lines, line = [], 1
    for token, value in TierLexer().get_tokens(text):
        if value == name and token in Name:
            lines.append(line)
        line += value.count("\n")
    return lines


async def references(client, document, pos, declaration=True) -> list[types.Location]:
    return await client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=document),
            position=pos,
            context=types.ReferenceContext(include_declaration=declaration),
        )
    )


async def test_find_references_in_the_file(client):
    text = TRUST.read_text(encoding="utf-8")
    document, _ = await opened(client, TRUST, text)
    found = await references(
        client,
        document,
        position(text, line_of(text, r"^input safe_enforcement"), "safe_enforcement"),
    )
    close(client, document)
    assert {loc.uri for loc in found} == {document}
    assert sorted(loc.range.start.line + 1 for loc in found) == lexed_uses(text, "safe_enforcement")
    assert all(ranged(text, loc.range) == "safe_enforcement" for loc in found)


async def test_find_references_across_extends(client):
    text, base_text = DRAFT.read_text(encoding="utf-8"), BASE.read_text(encoding="utf-8")
    document, _ = await opened(client, DRAFT, text)
    pos = position(text, line_of(text, r"^param transformation_weight"), "transformation_weight")
    found = await references(client, document, pos)
    without_declarations = await references(client, document, pos, declaration=False)
    close(client, document)
    by_file = {document: [], uri(BASE): []}
    for loc in found:
        by_file[loc.uri].append(loc.range.start.line + 1)
        assert (
            ranged(text if loc.uri == document else base_text, loc.range) == "transformation_weight"
        )
    assert sorted(by_file[document]) == lexed_uses(text, "transformation_weight")
    assert sorted(by_file[uri(BASE)]) == lexed_uses(base_text, "transformation_weight")
    assert (
        len(without_declarations) == len(found) - 2
    )  # the draft's param and the 2017 one it overrides


async def test_a_function_parameter_is_a_name_of_its_own(client):
    text = TRUST.read_text(encoding="utf-8")
    document, _ = await opened(client, TRUST, text)
    line = line_of(text, r"^function number_at\(")
    pos = position(text, line, "label", 0, after="== ")
    found = await references(client, document, pos)
    where = await definition(client, document, pos)
    edit = await rename(client, document, pos, "wanted")
    close(client, document)
    assert [(loc.range.start.line + 1, ranged(text, loc.range)) for loc in found] == [
        (line, "label"),
        (line, "label"),
    ]
    assert where.range.start.line + 1 == line and where.range.start.character < pos.character
    renamed = apply(text, edit.changes[document])
    assert (
        renamed.split("\n")[line - 1]
        == "function number_at(ratings, wanted) = count(ratings == wanted, skip missing, require 1)"
    )
    assert check_sources([(str(TRUST), renamed)]).errors == []


async def test_references_and_rename_from_a_base_file_reach_the_files_extending_it(client, chain):
    draft, base = chain
    text, draft_text = base.read_text(encoding="utf-8"), draft.read_text(encoding="utf-8")
    document, _ = await opened(client, base, text)  # the draft is not open: found in the folder
    pos = position(text, line_of(text, r"^indicator cancer_score"), "cancer_score")
    found = await references(client, document, pos)
    edit = await rename(client, document, pos, "cancer_wait_score")
    close(client, document)
    in_draft = [loc.range.start.line + 1 for loc in found if loc.uri == uri(draft)]
    assert in_draft == lexed_uses(draft_text, "cancer_score") != []
    assert set(edit.changes) == {document, uri(draft)}
    report = check_sources(
        [
            (str(draft), apply(draft_text, edit.changes[uri(draft)])),
            (str(base), apply(text, edit.changes[document])),
        ]
    )
    assert report.errors == [] and report.methodology.has("cancer_wait_score")


async def test_prepare_rename_offers_definitions_and_refuses_builtins_and_labels(client):
    text = TRUST.read_text(encoding="utf-8")
    document, _ = await opened(client, TRUST, text)

    async def prepare(pos):
        return await client.text_document_prepare_rename_async(
            types.PrepareRenameParams(
                text_document=types.TextDocumentIdentifier(uri=document), position=pos
            )
        )

    line = line_of(text, r"^  good: +safe == good")
    offered = await prepare(position(text, line, "safe"))
    label = await prepare(position(text, line, "good", after="== "))
    builtin = await prepare(position(text, line_of(text, r"count\("), "count"))
    close(client, document)
    assert ranged(text, offered) == "safe" and label is None and builtin is None


# ---------------------------------------------------------------- completion


async def complete(client, document, pos) -> list[types.CompletionItem]:
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=document), position=pos
        )
    )
    return result.items if isinstance(result, types.CompletionList) else result


async def test_completion_after_equals_offers_the_labels_of_the_level_type(client):
    text = TRUST.read_text(encoding="utf-8")
    document, _ = await opened(client, TRUST, text)
    line = line_of(text, r"^  good: +safe == good")
    items = await complete(client, document, position(text, line, "good", 0, after="== "))
    enforcement = await complete(
        client,
        document,
        position(text, line_of(text, r"safe_enforcement == "), "requirement notice", -1),
    )
    close(client, document)
    assert [i.label for i in items] == ["inadequate", "requires improvement", "good", "outstanding"]
    assert [i.insert_text for i in items][1] == '"requires improvement"'
    assert [i.label for i in enforcement] == ["enforcement action", "requirement notice", "none"]


async def test_completion_offers_names_builtins_with_signatures_and_keywords(client):
    text = DRAFT.read_text(encoding="utf-8")
    document, _ = await opened(client, DRAFT, text)
    items = {
        i.label: i
        for i in await complete(
            client, document, position(text, line_of(text, r"^domain cancer"), "mean", 0)
        )
    }
    close(client, document)
    base_names = {
        s.name
        for s in parse(BASE.read_text(encoding="utf-8"), str(BASE)).statements
        if hasattr(s, "name")
    }
    assert (
        "cancer_survival_score" in items and "cancer_score" in items
    )  # this file's and the base's
    assert base_names - {s for s in base_names if " " in s} <= set(items) | {"cancer_score"}
    assert items["quartile"].detail == BUILTINS["quartile"].signature()
    assert items["otherwise"].kind == types.CompletionItemKind.Keyword
    assert items["transformation_weight"].detail == "param: scalar number"


# ---------------------------------------------------------------- document symbols


async def symbols(client, document) -> list[types.DocumentSymbol]:
    return await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=document))
    )


@pytest.mark.parametrize("path", [TRUST, DRAFT], ids=lambda p: p.name)
async def test_document_symbols_are_the_files_statements(client, path):
    text = path.read_text(encoding="utf-8")
    document, _ = await opened(client, path, text)
    found = await symbols(client, document)
    close(client, document)
    module = parse(text, str(path))
    named = [s.name for s in module.statements if hasattr(s, "name") and not hasattr(s, "items")]
    assert [s.name for s in found if not s.name.startswith(("limit ", "test "))] == named
    for symbol in found:
        if not symbol.name.startswith(("limit ", "test ")):
            assert ranged(text, symbol.selection_range) == symbol.name
    kinds = {s.name: s.kind for s in found}
    if path == DRAFT:
        assert (
            kinds["cancer_1yr_survival"] == types.SymbolKind.Variable
            and kinds["transformation_weight"] == types.SymbolKind.Constant
        )


# ---------------------------------------------------------------- formatting


async def formatted(client, document) -> list[types.TextEdit] | None:
    return await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=document),
            options=types.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )


@pytest.mark.parametrize("path", [TRUST, DRAFT], ids=lambda p: p.name)
async def test_formatting_gives_the_text_of_tierlang_fmt(client, path):
    canonical = path.read_text(encoding="utf-8")
    messy = re.sub(r"(?m)^(input|param|domain|tier) +", r"\1   ", canonical)
    assert messy != canonical
    document, _ = await opened(client, path, messy)
    edits = await formatted(client, document)
    close(client, document)
    assert apply(messy, edits) == format_source(messy, str(path)) == canonical
    document, _ = await opened(client, path, canonical)
    assert list(await formatted(client, document)) == []
    close(client, document)


async def test_formatting_a_file_with_syntax_errors_changes_nothing(client):
    text = DRAFT.read_text(encoding="utf-8") + "\nlet broken = (1 +\n"
    document, found = await opened(client, DRAFT, text)
    assert await formatted(client, document) is None
    close(client, document)
    assert [d.code for d in found] == ["syntax"]


# ---------------------------------------------------------------- rename


async def rename(client, document, pos, new_name) -> types.WorkspaceEdit:
    return await client.text_document_rename_async(
        types.RenameParams(
            text_document=types.TextDocumentIdentifier(uri=document),
            position=pos,
            new_name=new_name,
        )
    )


async def test_rename_a_definition_in_the_file(client):
    text = TRUST.read_text(encoding="utf-8")
    document, _ = await opened(client, TRUST, text)
    edit = await rename(
        client,
        document,
        position(text, line_of(text, r"^input safe_enforcement"), "safe_enforcement"),
        "safe_action",
    )
    close(client, document)
    renamed = apply(text, edit.changes[document])
    assert "safe_enforcement" not in re.sub(r'"[^"\n]*"|#[^\n]*', "", renamed)
    report = check_sources([(str(TRUST), renamed)])
    assert report.errors == [] and report.methodology.has("safe_action")


async def test_rename_across_extends_changes_both_files(client):
    text, base_text = DRAFT.read_text(encoding="utf-8"), BASE.read_text(encoding="utf-8")
    document, _ = await opened(client, DRAFT, text)
    edit = await rename(
        client,
        document,
        position(text, line_of(text, r"^domain cancer"), "cancer_score"),
        "cancer_wait_score",
    )
    close(client, document)
    assert set(edit.changes) == {document, uri(BASE)}
    new_text, new_base = (
        apply(text, edit.changes[document]),
        apply(base_text, edit.changes[uri(BASE)]),
    )
    report = check_sources([(str(DRAFT), new_text), (str(BASE), new_base)])
    assert (
        report.errors == []
        and report.methodology.has("cancer_wait_score")
        and not report.methodology.has("cancer_score")
    )


async def test_rename_to_a_keyword_or_a_taken_name_is_refused(client):
    text = DRAFT.read_text(encoding="utf-8")
    document, _ = await opened(client, DRAFT, text)
    pos = position(text, line_of(text, r"^domain cancer"), "cancer_score")
    for new_name, reason in (
        ("otherwise", "word of the language"),
        ("cancer", "already defined"),
        ("1x", "not a name"),
    ):
        with pytest.raises(Exception, match=reason):
            await rename(client, document, pos, new_name)
    close(client, document)
