"""Terminal tables (rich), made safe and rendered to plain text: what every command's table
output goes through."""

from __future__ import annotations

import io
import shutil
import sys

from rich.console import Console
from rich.table import Table

from dsl.escaping import terminal_text


class EscapedTable(Table):
    """A rich table whose text is made terminal-safe (dsl.escaping.terminal_text) when it is
    added, before rich measures it: a control character's stand-in is one column wide as shown,
    while rich would measure (and drop) the control itself, misaligning the row and losing text.
    The output stream escapes again (tierlang.cli.support.TerminalSafeStream): escaped text is
    unchanged."""

    def add_column(self, header="", *args, **options) -> None:
        super().add_column(_escaped(header), *args, **options)

    def add_row(self, *cells, **options) -> None:
        super().add_row(*(_escaped(cell) for cell in cells), **options)


def _escaped(cell):
    return terminal_text(cell) if isinstance(cell, str) else cell


def width(terminal: int = 120, piped: int = 120) -> int:
    """The width tables are laid out to: the terminal's (`terminal` if unknown), or `piped`
    when stdout is not a terminal."""
    return shutil.get_terminal_size((terminal, 24)).columns if sys.stdout.isatty() else piped


def render(table: Table, columns: int | None = None) -> str:
    """The table as plain text, `columns` wide (default: width()), trailing spaces removed."""
    buffer = io.StringIO()
    # markup=False: cells hold keys and labels from the data, shown as written ("[b]x[/b]" is text)
    Console(file=buffer, width=columns or width(), no_color=True, highlight=False, emoji=False,
            soft_wrap=False, markup=False).print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
