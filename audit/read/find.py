"""Finding what a store holds: the runs (newest first, by id), their methodology and dataset
rows, and an entity by key or label, at any level, with a did-you-mean when nothing matches."""

from __future__ import annotations

import contextlib
import itertools
import json
from typing import TYPE_CHECKING

from audit.errors import AuditError
from audit.read.levels import members_where
from audit.read.records import EntityRef, LevelInfo, RunInfo, loads, run_info
from dsl.errors import did_you_mean

if TYPE_CHECKING:
    from audit.store import AuditStore

_RUN_SELECT = """
SELECT r.*, m.entity AS entity_kind
FROM runs r LEFT JOIN methodologies m ON m.sha256 = r.methodology_sha256
"""




def runs(store: AuditStore) -> list[RunInfo]:
    """Every recorded run, newest first."""
    return [run_info(row) for row in store.db.query(_RUN_SELECT + " ORDER BY r.id DESC")]

def latest_run_id(store: AuditStore) -> int:
    row = store.conn.execute("SELECT max(id) FROM runs").fetchone()
    if row[0] is None:
        raise AuditError(f"the audit store {store.path} has no runs yet")
    return int(row[0])

def run(store: AuditStore, run_id: int) -> RunInfo:
    rows = list(store.db.query(_RUN_SELECT + " WHERE r.id = ?", [run_id]))
    if not rows:
        ids = [r[0] for r in store.conn.execute("SELECT id FROM runs ORDER BY id")]
        known = f"runs recorded: {_id_ranges(ids)}" if ids else "no runs are recorded"
        raise AuditError(f"no run {run_id} in the audit store {store.path} ({known})")
    return run_info(rows[0])

def methodology(store: AuditStore, sha256: str) -> dict:
    rows = list(store.db.query("SELECT * FROM methodologies WHERE sha256 = ?", [sha256]))
    if not rows:
        raise AuditError(f"no methodology {sha256} in the audit store {store.path}")
    row = rows[0]
    row["sources"] = [tuple(s) for s in json.loads(row["sources"])]
    return row

def dataset(store: AuditStore, sha256: str) -> dict | None:
    rows = list(store.db.query("SELECT * FROM datasets WHERE sha256 = ?", [sha256]))
    if not rows:
        return None
    row = rows[0]
    row["columns"] = loads(row["columns"])
    if "parts" in row:  # schema version 8: each data file's own sha256 (None for one file)
        with contextlib.suppress(TypeError, ValueError):  # damaged: kept as stored (its hash fails)
            row["parts"] = loads(row["parts"])
    return row

# ------------------------------------------------------------ entities

def entities(store: AuditStore, run_id: int) -> list[EntityRef]:
    return [
        EntityRef(run_id, position, key, label)
        for position, key, label in store.conn.execute(
            "SELECT position, key, label FROM entities WHERE run = ? ORDER BY position",
            (run_id,),
        )
    ]

def find_entity(store: AuditStore, run_id: int, text: str) -> EntityRef:
    """The entity whose key is `text`; else whose label is; else the same ignoring case and
    surrounding spaces. Raises AuditError (with a did-you-mean suggestion) otherwise.

    In a run with lower levels every level is searched (the EntityRef says which level:
    `level` is None for the top level); a key or label found at several levels is an error
    naming them, and `LEVEL:TEXT` (`location:L1`) searches one level only."""
    info = store.run(run_id)
    kind = info.entity_kind or "entity"
    levels = store.levels(run_id)
    if not levels:
        return _find_top(store, run_id, info, kind, text)
    return _find_any(store, run_id, info, kind, levels, text)

def _find_top(store: AuditStore, run_id: int, info: RunInfo, kind: str, text: str) -> EntityRef:
    row = store.conn.execute(
        "SELECT position, key, label FROM entities WHERE run = ? AND key = ?", (run_id, text)
    ).fetchone()
    if row is not None:
        return EntityRef(run_id, *row)
    rows = store.conn.execute(
        "SELECT position, key, label FROM entities WHERE run = ? AND label = ? ORDER BY position",
        (run_id, text),
    ).fetchall()
    if len(rows) == 1:
        return EntityRef(run_id, *rows[0])
    if len(rows) > 1:
        raise _ambiguous(kind, text, [EntityRef(run_id, *r) for r in rows])
    everything = store.entities(run_id)
    found = _folded_match(kind, text, everything)
    if found is not None:
        return found
    raise _not_found(
        text, everything, f"no {kind} '{text}' among the {info.entity_count} of run {run_id}"
    )

def _find_any(
    store: AuditStore, run_id: int, info: RunInfo, kind: str, levels: list[LevelInfo], text: str
) -> EntityRef:
    q = store.conn.execute
    top_name = info.entity_kind or "entity"
    names = [top_name, *(lv.name for lv in levels)]
    for column in ("key", "label"):
        where = "key = ?" if column == "key" else "label = ?"
        matches = [
            EntityRef(run_id, *r)
            for r in q(
                f"SELECT position, key, label FROM entities WHERE run = ? AND {where} "
                "ORDER BY position",
                (run_id, text),
            )
        ]
        if column == "key":  # one index seek per level (members_run_key)
            for lv in levels:
                matches += members_where(store,
                    run_id, "m.level = ? AND m.key = ?", (lv.name, text)
                )
        else:  # members_run_label
            matches += members_where(store, run_id, "m.label = ?", (text,))
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise _ambiguous(kind, text, matches, names)
        prefix, colon, rest = text.partition(":")
        if column == "key" and colon and prefix.strip() in names:
            return _find_within(store, run_id, prefix.strip(), top_name, rest.strip())
    everything = store.entities(run_id) + members_where(store, run_id, "1", ())
    found = _folded_match(kind, text, everything, names)
    if found is not None:
        return found
    sizes = [(info.entity_count, top_name)] + [(lv.member_count, lv.name) for lv in levels]
    counts = ", ".join(f"{n} {plural(name, n)}" for n, name in sizes)
    kinds = f"{', '.join(names[:-1])} or {names[-1]}"
    message = f"no {kinds} '{text}' in run {run_id} ({counts})"
    raise _not_found(text, everything, message)

def _find_within(store: AuditStore, run_id: int, level: str, top_name: str, text: str) -> EntityRef:
    """`LEVEL:TEXT`: the entity of that one level whose key, else label, is `text` (then
    ignoring case and spaces)."""
    for column in ("key", "label"):
        where = "key = ?" if column == "key" else "label = ?"
        if level == top_name:
            matches = [
                EntityRef(run_id, *r)
                for r in store.conn.execute(
                    f"SELECT position, key, label FROM entities WHERE run = ? AND {where} "
                    "ORDER BY position",
                    (run_id, text),
                )
            ]
        else:
            matches = members_where(store, run_id, f"m.level = ? AND m.{where}", (level, text))
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise _ambiguous(level, text, matches)
    entities = store.entities(run_id) if level == top_name else store.members(run_id, level)
    found = _folded_match(level, text, entities)
    if found is not None:
        return found
    raise _not_found(
        text, entities, f"no {level} '{text}' among the {len(entities)} of run {run_id}"
    )

def plural(word: str, n: int) -> str:
    """`word` for `n` of them: location, locations; entity, entities; process, processes."""
    if n == 1:
        return word
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _ambiguous(
    kind: str, text: str, matches: list[EntityRef], names: list[str] | None = None
) -> AuditError:
    more = f" and {len(matches) - 10} more" if len(matches) > 10 else ""
    if names is None:  # one level
        keys = ", ".join(f"'{e.key}'" for e in matches[:10])
        return AuditError(
            f"'{text}' names {len(matches)} {kind} entities ({keys}{more}); give the key"
        )
    keys = ", ".join(f"{e.level or names[0]} '{e.key}'" for e in matches[:10])
    first = matches[0]
    hint = f"{first.level or names[0]}:{first.key}"
    return AuditError(
        f"'{text}' names {len(matches)} entities ({keys}{more}); give the key, with its "
        f"level if need be ('{hint}')",
        suggestion=hint,
    )


def _folded_match(
    kind: str, text: str, everything: list[EntityRef], names: list[str] | None = None
) -> EntityRef | None:
    """The one entity whose key, else label, equals `text` ignoring case and surrounding
    spaces; None if none; AuditError if several."""
    folded = text.strip().casefold()
    for field in ("key", "label"):
        matches = [e for e in everything if (getattr(e, field) or "").strip().casefold() == folded]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise _ambiguous(kind, text, matches, names)
    return None


def _not_found(text: str, everything: list[EntityRef], message: str) -> AuditError:
    """A did-you-mean error: the closest key or label, or the names containing `text`."""
    folded = text.strip().casefold()
    candidates = [e.key for e in everything] + [e.label for e in everything if e.label]
    suggestion = did_you_mean(text, candidates)
    if suggestion is not None:
        suggested = [e for e in everything if suggestion in (e.key, e.label)][:1]
    else:  # a part of a name: "bristol"
        suggested = [
            e
            for e in everything
            if folded and (folded in e.key.casefold() or folded in (e.label or "").casefold())
        ][:5]
    if suggested:
        hints = [
            f"'{e.label}' ({e.key})" if e.label and e.label != e.key else f"'{e.key}'"
            for e in suggested
        ]
        message += f"; did you mean {' or '.join(hints)}?"
        suggestion = suggestion or suggested[0].key
    return AuditError(message, suggestion=suggestion)


def _id_ranges(ids: list[int]) -> str:
    parts = []
    for _, group in itertools.groupby(enumerate(ids), key=lambda p: p[1] - p[0]):
        g = [v for _, v in group]
        parts.append(str(g[0]) if len(g) == 1 else f"{g[0]}-{g[-1]}")
    return ", ".join(parts)
