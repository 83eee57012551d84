"""Language server latency: how long after a change an editor waits for the diagnostics (run on
demand; never part of `make test`).

On the largest methodology in methodologies/ (by size), times in one run:
  (a) `tierlang check` of the changed text in-process (dsl.check_file, what the command does
      before printing): the baseline;
  (b) `tierlang lsp` started as a subprocess and driven with pygls's client: from sending
      textDocument/didChange (the whole text, changed at the end) to receiving the
      textDocument/publishDiagnostics for that version.
Each is the median of --repeat changes; the text differs every time, so nothing is cached.
Prints both, `ratio lsp/check`, and whether (b) is under the 200 ms target.

    .venv/bin/python benchmarks/lsp_latency.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls import uris
from pygls.lsp.client import LanguageClient

import dsl

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 200.0


def largest_methodology() -> Path:
    return max((ROOT / "methodologies").glob("*.tier"), key=lambda p: p.stat().st_size)


def variant(text: str, i: int) -> str:
    """The text as an editor sends it after a keystroke: every other change leaves it correct
    (a comment) or makes it wrong (a definition using a misspelt name, reported with a hint)."""
    if i % 2:
        first_input = re.search(r"^input ([A-Za-z_]\w*)", text, re.MULTILINE).group(1)
        return text + f"let edit_{i} = {first_input}x\n"
    return text + f"# edit {i}\n"


def time_check(path: Path, text: str, repeat: int) -> list[float]:
    dsl.check_file(path, text)  # warm: the grammar is loaded once per process, as in the server
    times = []
    for i in range(repeat):
        changed = variant(text, i)
        start = time.perf_counter()
        dsl.check_file(path, changed)
        times.append(time.perf_counter() - start)
    return times


async def time_server(path: Path, text: str, repeat: int) -> list[float]:
    client = LanguageClient("lsp-latency", "1")
    arrived: dict[int, asyncio.Future] = {}

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _published(params: types.PublishDiagnosticsParams) -> None:
        future = arrived.get(params.version)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())

    await client.start_io(sys.executable, "-m", "tierlang.cli", "lsp")
    await client.initialize_async(
        types.InitializeParams(capabilities=types.ClientCapabilities(), process_id=None)
    )
    client.initialized(types.InitializedParams())
    uri = uris.from_fs_path(str(path))
    loop = asyncio.get_running_loop()
    arrived[1] = loop.create_future()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="tier", version=1, text=text)
        )
    )
    await arrived[1]
    times = []
    for i in range(repeat):
        version = i + 2
        arrived[version] = loop.create_future()
        start = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangeWholeDocument(text=variant(text, i))
                ],
            )
        )
        times.append(await arrived[version] - start)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    path = largest_methodology()
    text = path.read_text(encoding="utf-8")
    check = statistics.median(time_check(path, text, args.repeat)) * 1000
    server = statistics.median(asyncio.run(time_server(path, text, args.repeat))) * 1000
    lines = text.count("\n")
    print(f"methodology: {path.relative_to(ROOT)} ({lines} lines, {len(text):,} characters)")
    print(
        f"(a) tierlang check, in-process         median {check:7.1f} ms over {args.repeat} changes"
    )
    print(
        f"(b) tierlang lsp, change -> diagnostics median {server:7.1f} ms over {args.repeat} changes"
    )
    print(f"ratio lsp/check: {server / check:.2f}")
    verdict = "under" if server < TARGET_MS else "OVER"
    print(
        f"target: diagnostics in < {TARGET_MS:.0f} ms after a change: {verdict} ({server:.1f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
