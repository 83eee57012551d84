"""Sealing a run: its stored header rows, its content hash, the chain hash linking it to the
previous run, and writing both (`seal`, inside `record`'s transaction).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

import attrs

from audit.integrity.columns import (
    CHAIN_SCHEME,
    CONTENT_SCHEME,
    DATASET_COLUMNS,
    GENESIS,
    METHODOLOGY_COLUMNS,
    RUN_COLUMNS,
    TEXT,
)
from audit.integrity.hashing import _cell, _json, _section
from audit.integrity.reading import read_body


@attrs.frozen
class Header:
    """The stored rows the content hash covers besides the body (dicts of column -> value)."""

    run: dict
    methodology: dict | None
    dataset: dict | None


def _row(conn: sqlite3.Connection, table: str, columns, where: str, args) -> dict | None:
    names = ", ".join(c for c, _ in columns)
    found = conn.execute(f"SELECT {names} FROM {table} WHERE {where}", args).fetchone()
    return None if found is None else dict(zip((c for c, _ in columns), found))


def read_header(conn: sqlite3.Connection, run_id: int) -> Header:
    run = _row(conn, "runs", RUN_COLUMNS, "id = ?", (run_id,))
    if run is None:
        raise KeyError(run_id)
    if _has_user_column(conn):  # schema version 6: who recorded the run
        run["user"] = conn.execute("SELECT user FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    methodology = _row(
        conn, "methodologies", METHODOLOGY_COLUMNS, "sha256 = ?", (run["methodology_sha256"],)
    )
    dataset = None
    if run["dataset_sha256"] is not None:
        dataset = _row(conn, "datasets", DATASET_COLUMNS, "sha256 = ?", (run["dataset_sha256"],))
        if dataset is not None and _has_parts_column(conn):  # schema version 8: each file's sha256
            dataset["parts"] = conn.execute(
                "SELECT parts FROM datasets WHERE sha256 = ?", (run["dataset_sha256"],)).fetchone()[0]
    return Header(run, methodology, dataset)


def _has_parts_column(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "parts" for row in conn.execute("PRAGMA table_info(datasets)"))


def _has_user_column(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "user" for row in conn.execute("PRAGMA table_info(runs)"))


def _canonical_params(text: Any) -> Any:
    try:
        return ["json", json.loads(text)]
    except (TypeError, ValueError):
        return ["!not-json", _cell(text, TEXT)]


def _row_json(row: dict | None, columns) -> Any:
    if row is None:
        return None
    return [
        [c, _canonical_params(row[c]) if kind == "json" else _cell(row[c], kind)]
        for c, kind in columns
    ]


def content_hash(header: Header, body: str) -> str:
    """sha256 hex over the stored run row, its methodology and dataset rows, and the body
    digest."""
    h = hashlib.sha256()
    h.update(f"{CONTENT_SCHEME}\n".encode())
    run_json = json.dumps(
        _row_json(header.run, RUN_COLUMNS), ensure_ascii=True, separators=(",", ":"), sort_keys=True
    )
    _section(h, "run", run_json.encode())
    if header.run.get("user") is not None:  # version 6; a run without a user hashes as before
        _section(h, "user", _json(_cell(header.run["user"], TEXT)))
    _section(h, "methodology", _json(_row_json(header.methodology, METHODOLOGY_COLUMNS)))
    _section(h, "dataset", _json(_row_json(header.dataset, DATASET_COLUMNS)))
    if header.dataset is not None and header.dataset.get("parts") is not None:  # version 8; else as before
        _section(h, "dataset_parts", _json(_cell(header.dataset["parts"], TEXT)))
    _section(h, "body", body.encode())
    return h.hexdigest()


def chain_hash(previous: str | None, content: str, run_id: int) -> str:
    """sha256 hex linking a run to the previous run's chain hash (GENESIS for the first)."""
    text = f"{CHAIN_SCHEME}\n{previous or GENESIS}\n{int(run_id)}\n{content}\n"
    return hashlib.sha256(text.encode()).hexdigest()


def previous_chain(conn: sqlite3.Connection, run_id: int) -> tuple[int | None, str | None]:
    """(id, stored chain hash) of the run recorded before `run_id`, or (None, None)."""
    row = conn.execute(
        "SELECT id, chain_hash FROM runs WHERE id < ? ORDER BY id DESC LIMIT 1", (run_id,)
    ).fetchone()
    return (None, None) if row is None else (row[0], row[1])


def seal(conn: sqlite3.Connection, run_id: int, body: str) -> tuple[str, str]:
    """Store the content and chain hashes of run `run_id`, whose body digest is `body`.
    Call inside the write transaction that records the run, after every row is written:
    the previous chain hash is read under the write lock, so writers form one chain."""
    content = content_hash(read_header(conn, run_id), body)
    _prev_id, prev = previous_chain(conn, run_id)
    chain = chain_hash(prev, content, run_id)
    conn.execute(
        "UPDATE runs SET content_hash = ?, chain_hash = ? WHERE id = ?", (content, chain, run_id)
    )
    return content, chain


def seal_unsealed(conn: sqlite3.Connection) -> int:
    """Seal, in id order, every run without a content hash (runs recorded before schema
    version 2; called by that migration). Returns the number sealed."""
    ids = [r[0] for r in conn.execute("SELECT id FROM runs WHERE content_hash IS NULL ORDER BY id")]
    for run_id in ids:
        seal(conn, run_id, read_body(conn, run_id).digest())
    return len(ids)


def latest_digest(conn: sqlite3.Connection) -> tuple[int, str | None] | None:
    """(id, chain hash) of the latest run, or None without runs: what to publish."""
    row = conn.execute("SELECT id, chain_hash FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), row[1])


# ---------------------------------------------------------------- reading a stored run


