"""Tamper evidence beyond the runs: the store's schema, and the comparisons and analyses.

The runs are covered by their content hashes and the chain (audit/integrity.py). Two more
things a forger could change so that what the store shows is not what tierlang recorded:

- **The schema**: a view (`named_values`, `named_tier_steps`, ...) replaced by one that shows
  fabricated labels or values, a trigger added, a table altered. `schema_problems` builds the
  schema tierlang creates, from the code (every migration of audit/schema.py run on an empty
  in-memory database), and compares every object of the store with it by type, name and SQL
  text: an object that differs, is missing or was added is named. No hash to forge: the
  reference is the code itself.
- **Comparisons and analyses** (`tierlang diff`, `tierlang sensitivity`): each is *sealed*
  when recorded, in the transaction that records it. Scheme `tierlang-record-v1`: the record
  digest is sha256 over the scheme, the kind, the id and, for each of its tables (comparisons:
  its `comparisons` row; analyses: its `analyses` row, its `analysis_entities` and
  `analysis_choices` rows), the table name, its column names and its rows in primary-key order
  as JSON. The seal is sha256(the seal of the previous record of that kind, in id order, or 64
  zeros; the record digest), kept in `tierlang_meta` under the key `seal.KIND.ID`. `verify`
  recomputes each record's seal from the stored previous seal and says which record was
  changed, has no seal, or was deleted (a seal whose rows are gone). No schema migration is
  needed: the seals are rows of the existing key-value table.
- **Records older than seals** (a store written by a tierlang before seals): the first time a
  tierlang with seals opens the store for writing (`mark_first_open`, in one transaction; at
  the latest inside the transaction of its first seal), every record of a kind that has no seal
  yet is sealed, in id order, as *legacy*: scheme `tierlang-record-legacy-v1`, whose record
  digest also covers the claim itself (`legacy.KIND.ID`: "sealed on first open by tierlang X
  at T, not sealed when recorded"), chained like the others. The marker `seals.first_open`
  (JSON: the version, the time, and the highest id of each kind then) is set in that
  transaction. `verify` reports legacy records as a note, not a failure; after the marker, an
  unsealed record, or a legacy claim on a record newer than the marker, is a failure. A forger
  who deletes the seals and the marker to have an edited record sealed as legacy changes the
  latest seal: a published digest catches it, as it catches a recomputed seal.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import sqlite3

import sqlite_utils

from audit import integrity, schema

RECORD_SCHEME = "tierlang-record-v1"
LEGACY_SCHEME = "tierlang-record-legacy-v1"
MARKER = "seals.first_open"  # set when a tierlang with seals first opens the store for writing
GENESIS = "0" * 64
KINDS = {  # kind: (its main table, (table, column naming the record) of each of its tables)
    "comparison": ("comparisons", (("comparisons", "id"),)),
    "analysis": ("analyses", (("analyses", "id"), ("analysis_entities", "analysis"),
                              ("analysis_choices", "analysis"))),
}


# ---------------------------------------------------------------- the schema


def reference_schema() -> dict[tuple[str, str], str | None]:
    """(type, name) -> SQL of every object tierlang creates, from the migrations themselves."""
    db = sqlite_utils.Database(memory=True)
    for _description, migration in schema.MIGRATIONS:
        migration(db)
    schema.set_version(db, schema.SCHEMA_VERSION)
    objects = _objects(db.conn)
    db.conn.close()
    return objects


def _objects(conn: sqlite3.Connection) -> dict[tuple[str, str], str | None]:
    return {
        (kind, name): _squash(sql)
        for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master")
        if not name.startswith("sqlite_")  # SQLite's own: autoindexes, sqlite_sequence, sqlite_stat*
    }


def _squash(sql: str | None) -> str | None:
    return None if sql is None else " ".join(sql.split())


def schema_problems(conn: sqlite3.Connection) -> list[str]:
    """Each object of the store that is not as tierlang creates it, named."""
    version = conn.execute("SELECT value FROM tierlang_meta WHERE key = 'schema_version'").fetchone()
    if version is None or str(version[0]) != str(schema.SCHEMA_VERSION):
        return []  # an older store is migrated when opened for writing; open_store checks newer
    expected, stored = reference_schema(), _objects(conn)
    problems = []
    for (kind, name), sql in sorted(stored.items()):
        if (kind, name) not in expected:
            problems.append(f"{kind} {name}: not created by tierlang (added to the store)")
        elif sql != expected[(kind, name)]:
            what = " (it may show other rows than the tables hold)" if kind == "view" else ""
            problems.append(f"{kind} {name}: its definition differs from the one tierlang creates{what}")
    for kind, name in sorted(set(expected) - set(stored)):
        problems.append(f"{kind} {name}: missing (dropped from the store)")
    return problems


# ---------------------------------------------------------------- comparisons and analyses


def _table_rows(conn: sqlite3.Connection, table: str, column: str, record_id: int) -> list:
    info = list(conn.execute(f"PRAGMA table_info({table})"))  # table names are ours, never data
    columns = [r[1] for r in info]
    key = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]] or ["rowid"]
    names = ", ".join(f'"{c}"' for c in columns)
    order = ", ".join(f'"{c}"' if c != "rowid" else c for c in key)
    where = f'"{column}" = ?'
    rows = conn.execute(f"SELECT {names} FROM {table} WHERE {where} ORDER BY {order}", (record_id,)).fetchall()
    return [table, columns, [[_plain(v) for v in r] for r in rows]]


def _plain(value):
    if isinstance(value, bytes):  # never written by tierlang: tagged, so it cannot hash as text
        return {"blob": value.hex()}
    return value


def record_digest(conn: sqlite3.Connection, kind: str, record_id: int, legacy: str | None = None) -> str:
    """`legacy`: the legacy claim of a record sealed on first open (covered by the digest)."""
    parts = [_table_rows(conn, table, column, record_id) for table, column in KINDS[kind][1]]
    head = [RECORD_SCHEME, kind, record_id, parts] if legacy is None else [LEGACY_SCHEME, kind, record_id, parts, legacy]
    text = json.dumps(head, ensure_ascii=True, allow_nan=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _seal_of(previous: str, digest: str) -> str:
    return hashlib.sha256(f"{previous}\n{digest}".encode("ascii")).hexdigest()


def _key(kind: str, record_id: int) -> str:
    return f"seal.{kind}.{record_id}"


def _stored_seals(conn: sqlite3.Connection, kind: str) -> dict[int, str]:
    prefix = f"seal.{kind}."
    out = {}
    for key, value in conn.execute("SELECT key, value FROM tierlang_meta WHERE key LIKE ?", (prefix + "%",)):
        suffix = key[len(prefix):]
        if suffix.isdigit():
            out[int(suffix)] = value
    return out


def _legacy_key(kind: str, record_id: int) -> str:
    return f"legacy.{kind}.{record_id}"


def seal_record(conn: sqlite3.Connection, kind: str, record_id: int, legacy: str | None = None) -> str:
    """Seal record `record_id` of `kind`: call inside the transaction that writes its rows.
    Records older than seals are sealed first (`mark_first_open`), so they chain before it."""
    if legacy is None:
        mark_first_open(conn, recording=(kind, record_id))
    previous = conn.execute(
        "SELECT value FROM tierlang_meta WHERE key = ?",
        (_key(kind, _previous_id(conn, kind, record_id)),),
    ).fetchone()
    seal = _seal_of(previous[0] if previous else GENESIS, record_digest(conn, kind, record_id, legacy))
    conn.execute("INSERT OR REPLACE INTO tierlang_meta (key, value) VALUES (?, ?)", (_key(kind, record_id), seal))
    if legacy is not None:
        conn.execute("INSERT OR REPLACE INTO tierlang_meta (key, value) VALUES (?, ?)",
                     (_legacy_key(kind, record_id), legacy))
    return seal


def first_open(conn: sqlite3.Connection) -> dict | None:
    """The marker `seals.first_open` (version, time, highest id of each kind then), or None."""
    row = conn.execute("SELECT value FROM tierlang_meta WHERE key = ?", (MARKER,)).fetchone()
    if row is None:
        return None
    try:
        marker = json.loads(row[0])
    except (TypeError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def _has_table(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is not None


def mark_first_open(conn: sqlite3.Connection, recording: tuple[str, int] | None = None) -> dict[str, list[int]]:
    """Inside a write transaction: unless the store has the marker, seal as legacy every record
    of each kind that has no seal yet (in id order), and set the marker. Returns the ids sealed.
    A kind that already has seals is left as it is (its unsealed records stay failures).
    `recording`: (kind, id) of the record this transaction is writing: it and later ids of its
    kind are not old."""
    if conn.execute("SELECT 1 FROM tierlang_meta WHERE key = ?", (MARKER,)).fetchone() is not None:
        return {}
    from audit.store import installed_version  # audit.store imports this module

    version = installed_version()
    at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    marker: dict = {"tierlang": version, "at": at}
    sealed: dict[str, list[int]] = {}
    claim = f"sealed on first open by tierlang {version} at {at}, not sealed when recorded"
    for kind, (table, _tables) in KINDS.items():
        ids = [int(r[0]) for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")] if _has_table(conn, table) else []
        if recording is not None and recording[0] == kind:
            ids = [i for i in ids if i < recording[1]]
        marker[kind] = max(ids, default=0)
        if ids and not _stored_seals(conn, kind):
            for record_id in ids:
                seal_record(conn, kind, record_id, legacy=claim)
            sealed[kind] = ids
    conn.execute("INSERT INTO tierlang_meta (key, value) VALUES (?, ?)", (MARKER, json.dumps(marker)))
    return sealed


def _previous_id(conn: sqlite3.Connection, kind: str, record_id: int) -> int:
    table = KINDS[kind][0]
    row = conn.execute(f"SELECT max(id) FROM {table} WHERE id < ?", (record_id,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def check_records(conn: sqlite3.Connection) -> tuple[list[str], list[str]]:
    """(problems, notes): each comparison or analysis whose rows are not as sealed, that has no
    seal, whose rows were deleted, or that claims a legacy seal it cannot have; a note for each
    kind's records sealed as legacy (or still unsealed in a store never opened for writing by a
    tierlang with seals, such as a read-only one)."""
    problems, notes = [], []
    marker = first_open(conn)
    if marker == {}:
        problems.append(f"tierlang_meta {MARKER}: not as tierlang writes it (edited)")
    for kind, (table, _tables) in KINDS.items():
        if not _has_table(conn, table):
            continue
        seals = _stored_seals(conn, kind)
        legacy_claims = _stored_legacy(conn, kind)
        ids = [int(r[0]) for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")]
        boundary = marker.get(kind, 0) if marker else 0
        legacy, unsealed_old, claims = [], [], set()
        previous = GENESIS
        for record_id in ids:
            stored, claim = seals.get(record_id), legacy_claims.get(record_id)
            if stored is None:
                if marker is None and not seals:  # older than seals; not yet opened for writing
                    unsealed_old.append(record_id)
                else:
                    problems.append(f"{kind} {record_id}: not sealed (recorded without a seal, or its seal was deleted)")
            elif _seal_of(previous, record_digest(conn, kind, record_id, claim)) != stored:
                problems.append(f"{kind} {record_id}: its rows do not match its seal: changed after it was "
                                f"recorded (or an earlier {kind} was deleted)")
            elif claim is not None and (marker is None or not isinstance(boundary, int) or record_id > boundary):
                problems.append(f"{kind} {record_id}: sealed as older than seals, but recorded after the store "
                                f"was first opened by a tierlang with seals (a forged legacy seal)")
            elif claim is not None:
                legacy.append(record_id)
                claims.add(claim)
            previous = stored or previous
        if legacy:
            notes.append(f"{_plural(kind)} {_id_ranges(legacy)}: legacy, {'; '.join(sorted(claims))}")
        if unsealed_old:
            notes.append(f"{_plural(kind)} {_id_ranges(unsealed_old)}: legacy, recorded by a tierlang before "
                         f"seals and not sealed yet (the store was never opened for writing by this tierlang; "
                         f"run any recording command on it once to seal them)")
        present = set(ids)
        for record_id in range(1, max([*ids, *seals, 0]) + 1):
            if record_id not in present and (record_id in seals or record_id < max(ids, default=0)):
                problems.append(f"{kind} {record_id}: deleted from the store")
    return problems, notes


def _stored_legacy(conn: sqlite3.Connection, kind: str) -> dict[int, str]:
    prefix = f"legacy.{kind}."
    rows = conn.execute("SELECT key, value FROM tierlang_meta WHERE key LIKE ?", (prefix + "%",))
    return {int(k[len(prefix):]): v for k, v in rows if k[len(prefix):].isdigit()}


def _plural(kind: str) -> str:
    return "analyses" if kind == "analysis" else kind + "s"


def _id_ranges(ids: list[int]) -> str:
    """1-3, 5 from [1, 2, 3, 5] (ids ascending)."""
    return ", ".join(integrity._id_range(first, last) for first, last in integrity._ranges(ids))


def latest_seals(conn: sqlite3.Connection) -> list[tuple[str, int, str]]:
    """(kind, id, seal) of the latest sealed record of each kind: what a published digest pins
    (each seal pins every earlier record of its kind)."""
    out = []
    for kind in KINDS:
        seals = _stored_seals(conn, kind)
        if seals:
            last = max(seals)
            out.append((kind, last, seals[last]))
    return out


def seal_of(conn: sqlite3.Connection, kind: str, record_id: int) -> str | None:
    row = conn.execute("SELECT value FROM tierlang_meta WHERE key = ?", (_key(kind, record_id),)).fetchone()
    return None if row is None else row[0]
