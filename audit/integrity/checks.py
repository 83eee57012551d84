"""The checks that recompute each run's hashes and shape from the stored rows, and the
store-wide checks (`check_run`, `check_store`, `store_problems`); the shape of a run's rows is
audit/integrity/shape.py's.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterable

import attrs

from audit.integrity.reading import (
    _count,
    levels_table_exists,
    methodology_sources_sha256,
    read_body,
)
from audit.integrity.sealing import (
    chain_hash,
    content_hash,
    latest_digest,
    previous_chain,
    read_header,
)
from audit.integrity.shape import shape_problems


@attrs.frozen
class RunCheck:
    """What the store-side checks found for one run."""

    run_id: int
    values: int  # value rows the run should have (node_values and member_values)
    content_ok: bool  # recomputed content hash == stored
    chain_ok: bool  # stored chain hash == hash(previous chain hash, content hash, id)
    problems: tuple[str, ...]  # every problem found (without a "run N:" prefix)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_run(
    conn: sqlite3.Connection,
    run_id: int,
    body_digest: str | None = None,
    value_counts: dict[int, int] | None = None,
    member_counts: dict[int, int] | None = None,
) -> RunCheck:
    """Recompute run `run_id`'s content hash from its stored rows and its link in the chain,
    and check its shape (entities, nodes, one value per valued node per entity at the id its
    position implies, one tier step per tier per entity) and its methodology's hash.
    `body_digest`: of the run's stored rows, if already computed (`read_body(...).digest()`);
    `value_counts`: `node_values` rows per run (`value_counts`), if already counted;
    `member_counts`: `member_values` rows per run (`member_value_counts`), likewise."""
    problems: list[str] = []
    say = problems.append
    header = read_header(conn, run_id)
    run = header.run
    stored_content, stored_chain = conn.execute(
        "SELECT content_hash, chain_hash FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    problems += shape_problems(conn, run_id, value_counts, member_counts)
    if isinstance(run["params"], str):
        try:
            json.loads(run["params"])
        except ValueError:
            say("its params are not valid JSON")
    m = header.methodology
    if m is None:
        say(f"its methodology {run['methodology_sha256']} is not in the store")
    else:
        try:
            sources = json.loads(m["sources"])
            sha = methodology_sources_sha256(sources)
            first_text = sources[0][1] if sources else ""
        except (TypeError, ValueError, IndexError, AttributeError):
            say(f"the sources of methodology {m['sha256'][:12]} are not valid JSON")
        else:
            if sha != m["sha256"]:
                say(
                    f"the recorded methodology source does not match its sha256 "
                    f"{m['sha256'][:12]} (the source text was changed)"
                )
            if first_text != m["source"]:
                say("methodologies.source differs from the first of its sources")
    if run["dataset_sha256"] is not None and header.dataset is None:
        say(f"its dataset {run['dataset_sha256'][:12]} is not in the store")
    if body_digest is None:
        body_digest = read_body(conn, run_id).digest()
    recomputed = content_hash(header, body_digest)
    content_ok = stored_content is not None and recomputed == stored_content
    if stored_content is None:
        say("no content hash recorded")
    elif not content_ok:
        say(
            f"content hash mismatch: its stored rows were changed after recording "
            f"(stored {stored_content[:12]}, recomputed {recomputed[:12]})"
        )
    prev_id, prev_chain = previous_chain(conn, run_id)
    expected_chain = chain_hash(prev_chain, stored_content or "", run_id)
    chain_ok = stored_chain is not None and stored_chain == expected_chain
    if not chain_ok:
        after = f"run {prev_id}" if prev_id is not None else "the start of the chain"
        gap = ""
        if prev_id is not None and prev_id != run_id - 1:
            gap = f"; run {_id_range(prev_id + 1, run_id - 1)} missing"
        elif prev_id is None and run_id != 1:
            gap = f"; run {_id_range(1, run_id - 1)} missing"
        say(f"chain broken: its chain hash does not follow {after}{gap}")
    return RunCheck(
        run_id,
        int(run["entity_count"] or 0) * int(run["values_per_entity"] or 0)
        + expected_member_values(conn, run_id),
        content_ok,
        chain_ok,
        tuple(problems),
    )


def _id_range(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def value_counts(conn: sqlite3.Connection) -> dict[int, int]:
    """`node_values` rows per run id (one scan of the table)."""
    return dict(conn.execute("SELECT run, count(*) FROM node_values GROUP BY run").fetchall())


def member_value_counts(conn: sqlite3.Connection) -> dict[int, int]:
    """`member_values` rows per run id (one scan of the table)."""
    if not levels_table_exists(conn):
        return {}
    return dict(conn.execute("SELECT run, count(*) FROM member_values GROUP BY run").fetchall())


def expected_member_values(conn: sqlite3.Connection, run_id: int) -> int:
    """The `member_values` rows the run's `levels` rows call for."""
    if not levels_table_exists(conn):
        return 0
    return sum(
        _count(count) * _count(stride)
        for count, stride in conn.execute(
            "SELECT member_count, values_per_member FROM levels WHERE run = ?", (run_id,)
        )
    )


def store_problems(
    conn: sqlite3.Connection,
    counts: dict[int, int] | None = None,
    member_counts: dict[int, int] | None = None,
) -> list[str]:
    """Problems of the store as a whole: SQLite's integrity and foreign-key checks, rows of
    no recorded run (left over after a deletion, or inserted), runs deleted from the middle
    or the end. `counts`: `value_counts(conn)`, `member_counts`: `member_value_counts(conn)`,
    if already counted."""
    q = conn.execute
    problems = [f"integrity_check: {r[0]}" for r in q("PRAGMA integrity_check") if r[0] != "ok"]
    dangling: dict[tuple[str, str], int] = {}
    for table, _rowid, parent, _fk in q("PRAGMA foreign_key_check"):
        dangling[(table, parent)] = dangling.get((table, parent), 0) + 1
    problems += [
        f"foreign key: {n} {table} rows refer to missing {parent} rows"
        for (table, parent), n in dangling.items()
    ]
    runs = set(run_ids(conn))
    for rid, count in sorted((counts if counts is not None else value_counts(conn)).items()):
        if rid not in runs:
            problems.append(f"node_values: {count} rows of run {rid}, which is not recorded")
    if member_counts is None:
        member_counts = member_value_counts(conn)
    for rid, count in sorted(member_counts.items()):
        if rid not in runs:
            problems.append(f"member_values: {count} rows of run {rid}, which is not recorded")
    tables = ["entities", "nodes", "scalars", "tier_steps"]
    if levels_table_exists(conn):
        tables += ["levels", "members", "member_tier_steps"]
    for table in tables:
        for rid, count in q(
            f"SELECT run, count(*) FROM {table} WHERE run NOT IN (SELECT id FROM runs) "
            "GROUP BY run ORDER BY run"
        ):
            problems.append(f"{table}: {count} rows of run {rid}, which is not recorded")
    ids = sorted(runs)
    present = set(ids)
    missing = [i for i in range(1, (ids[-1] if ids else 0) + 1) if i not in present]
    for first, last in _ranges(missing):
        problems.append(f"run {_id_range(first, last)} missing: deleted from the store")
    seq = q("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").fetchone()
    top = ids[-1] if ids else 0
    if seq is not None and seq[0] is not None and int(seq[0]) > top:
        problems.append(
            f"run {_id_range(top + 1, int(seq[0]))} missing: deleted from the end "
            f"of the store (runs were recorded up to {int(seq[0])})"
        )
    return problems


def _ranges(ids: list[int]) -> list[tuple[int, int]]:
    out = []
    for _, group in itertools.groupby(enumerate(ids), key=lambda p: p[1] - p[0]):
        g = [v for _, v in group]
        out.append((g[0], g[-1]))
    return out


@attrs.frozen
class StoreCheck:
    problems: tuple[str, ...]  # store-wide
    runs: tuple[RunCheck, ...]
    latest: tuple[int, str | None] | None  # (id, chain hash) of the latest run

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.ok for r in self.runs)


def run_ids(conn: sqlite3.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY id")]


def check_store(conn: sqlite3.Connection, ids: Iterable[int] | None = None) -> StoreCheck:
    """The store-wide checks, and `check_run` for each of `ids` (default: every run)."""
    chosen = run_ids(conn) if ids is None else list(ids)
    counts, members = value_counts(conn), member_value_counts(conn)
    return StoreCheck(
        tuple(store_problems(conn, counts, members)),
        tuple(
            safe_check_run(conn, rid, value_counts=counts, member_counts=members)
            for rid in chosen
        ),
        latest_digest(conn),
    )


def safe_check_run(
    conn: sqlite3.Connection,
    run_id: int,
    body_digest: str | None = None,
    value_counts: dict[int, int] | None = None,
    member_counts: dict[int, int] | None = None,
) -> RunCheck:
    """`check_run`, reporting a run whose rows are too damaged to check as a failed check."""
    try:
        return check_run(conn, run_id, body_digest, value_counts, member_counts)
    except KeyError:
        return RunCheck(run_id, 0, False, False, ("not in the store",))
    except (sqlite3.Error, TypeError, ValueError) as error:
        return RunCheck(run_id, 0, False, False, (f"cannot be checked: {error}",))

