"""The audit store's schema and its migrations.

The schema version lives in the `tierlang_meta` table (key `schema_version`). `MIGRATIONS` is
an ordered list: migration *i* takes a store from version *i* to *i + 1*. Opening a store
applies every pending migration, all in one `BEGIN IMMEDIATE` transaction (so two processes
opening the same new store cannot both migrate it, and a failed migration leaves the store as
it was). A store whose version is newer than `SCHEMA_VERSION` was written by a newer tierlang
and is refused rather than guessed at. Migrations are append-only: a released migration is
never edited, a change to the schema is a new migration (see docs/audit.md).

Design notes (measured, see docs/audit.md):
- `node_values` is the one big table (nodes × entities rows per run). It is a rowid table
  written in entity-major order with consecutive ids, so appending a run costs what a bare
  insert costs (a WITHOUT ROWID primary key or a secondary index added 25-40% to the insert).
  The run row records `first_value_id` and `values_per_entity`, so the values of entity
  position `e` are the rows with id from `first_value_id + e * values_per_entity` for
  `values_per_entity` rows, in node position order: one primary-key range read. The view
  `named_values` joins through that range, so a plain SQL query by run and key is as fast.
  It declares no foreign keys: a per-row foreign-key check would cost more than the insert;
  the single transaction that writes a run keeps it consistent (`AuditStore.verify` checks).
- `-0.0` is stored as `0.0` (SQLite REAL); no Tier operation distinguishes them.
- Entities at several levels (version 5): the top level (the rated entities) keeps `entities`
  and `node_values` exactly as a single-level run has them. Each lower level of a run is one
  `levels` row (its key and label columns, parent level, member count, the positions of its
  nodes and the first id of its values); its entities are `members` rows (with the key of
  their parent); the values of its nodes are `member_values`, laid out like `node_values`:
  a rowid table written level by level, member-major, with consecutive ids, so the values of
  member position `m` of a level are the ids `levels.first_value_id + m * values_per_member`
  for `values_per_member` rows, one primary-key range read (view `named_member_values`);
  like `node_values` it holds positions only (`level` is `levels.position`, `member` the
  member's position, `node` the node's position in `nodes`): an integer costs less to append
  than a level name (measured: a TEXT level added about 10% to the insert).
  A level's nodes have consecutive positions `first_node ..`, after the top level's
  `0 .. values_per_entity - 1`. Tier
  steps of a lower level's tiers are `member_tier_steps` (one row per tier per member).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlite_utils

APPLICATION = "tierlang audit store"

_V1 = """
CREATE TABLE tierlang_meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);

CREATE TABLE methodologies (
    sha256       TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    version      TEXT,
    effective    TEXT,
    entity       TEXT,
    key_column   TEXT,
    label_column TEXT,
    doc          TEXT,
    path         TEXT,
    source       TEXT NOT NULL,
    sources      TEXT NOT NULL
);

CREATE TABLE datasets (
    sha256  TEXT PRIMARY KEY,
    path    TEXT,
    format  TEXT,
    rows    INTEGER,
    columns TEXT
);

CREATE TABLE runs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    started             TEXT NOT NULL,
    finished            TEXT NOT NULL,
    tool_version        TEXT NOT NULL,
    methodology_sha256  TEXT NOT NULL REFERENCES methodologies(sha256),
    methodology_name    TEXT NOT NULL,
    methodology_version TEXT,
    methodology_path    TEXT,
    dataset_sha256      TEXT REFERENCES datasets(sha256),
    dataset_path        TEXT,
    params              TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'complete',
    entity_count        INTEGER NOT NULL,
    node_count          INTEGER NOT NULL,
    values_per_entity   INTEGER NOT NULL,
    first_value_id      INTEGER,
    note                TEXT
);

CREATE TABLE entities (
    run      INTEGER NOT NULL REFERENCES runs(id),
    position INTEGER NOT NULL,
    key      TEXT NOT NULL,
    label    TEXT,
    PRIMARY KEY (run, position)
) WITHOUT ROWID;
CREATE UNIQUE INDEX entities_run_key ON entities(run, key);
CREATE INDEX entities_run_label ON entities(run, label);

CREATE TABLE nodes (
    run            INTEGER NOT NULL REFERENCES runs(id),
    name           TEXT NOT NULL,
    position       INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    label          TEXT,
    doc            TEXT,
    source_text    TEXT,
    expression     TEXT,
    file           TEXT,
    line           INTEGER,
    overrides      TEXT,
    type           TEXT NOT NULL,
    base           TEXT NOT NULL,
    scalar         INTEGER NOT NULL,
    dependencies   TEXT NOT NULL,
    scale          TEXT,
    call           TEXT,
    weights        TEXT,
    tier           TEXT,
    data_column    TEXT,
    range          TEXT,
    required       INTEGER,
    declared_value TEXT,
    PRIMARY KEY (run, name)
);
CREATE UNIQUE INDEX nodes_run_position ON nodes(run, position);

CREATE TABLE node_values (
    id             INTEGER PRIMARY KEY,
    run            INTEGER NOT NULL,
    entity         INTEGER NOT NULL,
    node           INTEGER NOT NULL,
    num            REAL,
    text           TEXT,
    bool           INTEGER,
    missing_reason TEXT
);

CREATE TABLE scalars (
    run      INTEGER NOT NULL REFERENCES runs(id),
    node     TEXT NOT NULL,
    position INTEGER NOT NULL,
    name     TEXT NOT NULL,
    value    REAL,
    text     TEXT,
    PRIMARY KEY (run, node, name)
);

CREATE TABLE tier_steps (
    run           INTEGER NOT NULL,
    tier          TEXT NOT NULL,
    entity        INTEGER NOT NULL,
    from_value    REAL,
    rule_index    INTEGER NOT NULL,
    before_limits TEXT,
    after         TEXT NOT NULL,
    limits_acted  TEXT NOT NULL,
    display       TEXT,
    PRIMARY KEY (run, tier, entity)
) WITHOUT ROWID;

-- CROSS JOIN fixes the join order: entity, run, the entity's id range of values, node.
CREATE VIEW named_values AS
SELECT e.run AS run, e.key AS entity_key, e.label AS entity_label, n.name AS node, n.kind,
       n.label AS node_label, v.num, v.text, v.bool, v.missing_reason,
       e.position AS entity_position, v.node AS node_position, v.id AS value_id
FROM entities e
CROSS JOIN runs r
CROSS JOIN node_values v
CROSS JOIN nodes n
WHERE r.id = e.run
  AND v.id BETWEEN r.first_value_id + e.position * r.values_per_entity
               AND r.first_value_id + (e.position + 1) * r.values_per_entity - 1
  AND n.run = e.run AND n.position = v.node;

CREATE VIEW named_tier_steps AS
SELECT t.run, t.tier, e.key AS entity_key, e.label AS entity_label, t.from_value, t.rule_index,
       t.before_limits, t.after, t.limits_acted, t.display, t.entity AS entity_position
FROM tier_steps t
JOIN entities e ON e.run = t.run AND e.position = t.entity;
"""


def _v1(db: sqlite_utils.Database) -> None:
    """Version 1: the initial schema."""
    db.executescript(_V1)
    db["tierlang_meta"].insert({"key": "application", "value": APPLICATION}, replace=True)


def _v2(db: sqlite_utils.Database) -> None:
    """Version 2: tamper evidence and re-runs. Each run's content hash (over its methodology,
    dataset, parameters, nodes and values in a canonical order), the chain hash linking it to
    the previous run, and the run it re-ran (last year's method on this year's data).

    Runs recorded before this version are sealed here, in id order, from their stored rows
    (scheme and caveat in docs/audit.md): their hashes prove nothing about changes made
    before the migration."""
    from audit import integrity

    for statement in (
        "ALTER TABLE runs ADD COLUMN content_hash TEXT",
        "ALTER TABLE runs ADD COLUMN chain_hash TEXT",
        "ALTER TABLE runs ADD COLUMN rerun_of INTEGER REFERENCES runs(id)",
    ):
        db.conn.execute(statement)
    integrity.seal_unsealed(db.conn)


def _v3(db: sqlite_utils.Database) -> None:
    """Version 3: comparisons. Two runs compared by `tierlang diff` (both made for it from two
    methodology files, kind `methodologies`, or two runs recorded before, kind `runs`), with the
    structural diff of their methodologies and the outcome (transitions, rank correlations,
    movers with attribution) as JSON (docs/diff.md)."""
    db.executescript(
        """
        CREATE TABLE comparisons (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,
            created      TEXT NOT NULL,
            tool_version TEXT NOT NULL,
            kind         TEXT NOT NULL,
            old_run      INTEGER NOT NULL REFERENCES runs(id),
            new_run      INTEGER NOT NULL REFERENCES runs(id),
            structural   TEXT,
            outcome      TEXT NOT NULL
        );
        CREATE INDEX comparisons_runs ON comparisons(old_run, new_run);
        """
    )


def _v4(db: sqlite_utils.Database) -> None:
    """Version 4: sensitivity analyses (docs/sensitivity.md) linked to their nominal run: the
    sampling spec and seed (JSON), one row per entity (tier probabilities, rank interval,
    stability, the choice it is most sensitive to) and one per choice (sensitivity indices of
    the score and of the tier, share of tier changes when varied alone; `kind` param, weights,
    or drop for an indicator removed). The sample runs themselves are never stored."""
    db.executescript(
        """
        CREATE TABLE analyses (
            id                  INTEGER PRIMARY KEY AUTOINCREMENT,
            created             TEXT NOT NULL,
            tool_version        TEXT NOT NULL,
            run                 INTEGER NOT NULL REFERENCES runs(id),
            kind                TEXT NOT NULL,
            methodology_sha256  TEXT NOT NULL,
            dataset_sha256      TEXT,
            tier                TEXT NOT NULL,
            spec                TEXT NOT NULL,
            seed                INTEGER NOT NULL,
            samples             INTEGER NOT NULL,
            evaluations         INTEGER NOT NULL,
            summary             TEXT NOT NULL
        );
        CREATE INDEX analyses_run ON analyses(run);
        CREATE TABLE analysis_entities (
            analysis        INTEGER NOT NULL REFERENCES analyses(id),
            position        INTEGER NOT NULL,
            key             TEXT NOT NULL,
            nominal_tier    TEXT,
            nominal_rank    INTEGER,
            probabilities   TEXT NOT NULL,
            held            REAL NOT NULL,
            median_rank     REAL,
            rank_low        REAL,
            rank_high       REAL,
            stable          INTEGER NOT NULL,
            most_sensitive  TEXT,
            PRIMARY KEY (analysis, key)
        ) WITHOUT ROWID;
        CREATE TABLE analysis_choices (
            analysis            INTEGER NOT NULL REFERENCES analyses(id),
            position            INTEGER NOT NULL,
            choice              TEXT NOT NULL,
            kind                TEXT NOT NULL,
            rank                INTEGER,
            first_order_index   REAL,
            total_order_index   REAL,
            first_order_tier    REAL,
            total_order_tier    REAL,
            tier_change_share   REAL,
            detail              TEXT,
            PRIMARY KEY (analysis, choice)
        ) WITHOUT ROWID;
        """
    )


_V5 = """
ALTER TABLE nodes ADD COLUMN level TEXT;
ALTER TABLE nodes ADD COLUMN aggregates TEXT;

CREATE TABLE levels (
    run               INTEGER NOT NULL REFERENCES runs(id),
    position          INTEGER NOT NULL,
    name              TEXT NOT NULL,
    parent            TEXT NOT NULL,
    key_column        TEXT,
    label_column      TEXT,
    member_count      INTEGER NOT NULL,
    first_node        INTEGER NOT NULL,
    values_per_member INTEGER NOT NULL,
    first_value_id    INTEGER,
    PRIMARY KEY (run, position)
) WITHOUT ROWID;
CREATE UNIQUE INDEX levels_run_name ON levels(run, name);

CREATE TABLE members (
    run        INTEGER NOT NULL REFERENCES runs(id),
    level      TEXT NOT NULL,
    position   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    label      TEXT,
    parent_key TEXT,
    PRIMARY KEY (run, level, position)
) WITHOUT ROWID;
CREATE UNIQUE INDEX members_run_key ON members(run, level, key);
CREATE INDEX members_run_label ON members(run, label);
CREATE INDEX members_run_parent ON members(run, level, parent_key);

CREATE TABLE member_values (
    id             INTEGER PRIMARY KEY,
    run            INTEGER NOT NULL,
    level          INTEGER NOT NULL,
    member         INTEGER NOT NULL,
    node           INTEGER NOT NULL,
    num            REAL,
    text           TEXT,
    bool           INTEGER,
    missing_reason TEXT
);

CREATE TABLE member_tier_steps (
    run           INTEGER NOT NULL,
    level         TEXT NOT NULL,
    tier          TEXT NOT NULL,
    member        INTEGER NOT NULL,
    from_value    REAL,
    rule_index    INTEGER NOT NULL,
    before_limits TEXT,
    after         TEXT NOT NULL,
    limits_acted  TEXT NOT NULL,
    display       TEXT,
    PRIMARY KEY (run, tier, member)
) WITHOUT ROWID;

-- CROSS JOIN fixes the join order: member, its level, the member's id range of values, node.
CREATE VIEW named_member_values AS
SELECT m.run AS run, m.level AS level, m.key AS member_key, m.label AS member_label,
       m.parent_key AS parent_key, n.name AS node, n.kind, n.label AS node_label, v.num, v.text,
       v.bool, v.missing_reason, m.position AS member_position, v.node AS node_position,
       v.id AS value_id
FROM members m
CROSS JOIN levels l
CROSS JOIN member_values v
CROSS JOIN nodes n
WHERE l.run = m.run AND l.name = m.level
  AND v.id BETWEEN l.first_value_id + m.position * l.values_per_member
               AND l.first_value_id + (m.position + 1) * l.values_per_member - 1
  AND n.run = m.run AND n.position = v.node;

CREATE VIEW named_member_tier_steps AS
SELECT t.run, t.level, t.tier, m.key AS member_key, m.label AS member_label,
       m.parent_key AS parent_key, t.from_value, t.rule_index, t.before_limits, t.after,
       t.limits_acted, t.display, t.member AS member_position
FROM member_tier_steps t
JOIN members m ON m.run = t.run AND m.level = t.level AND m.position = t.member;
"""


def _v5(db: sqlite_utils.Database) -> None:
    """Version 5: entities at several levels. `nodes.level` (NULL for the top level and the
    scalars) and `nodes.aggregates` (JSON: the `F(x) over LEVEL` calls of the node); per run,
    one `levels` row per lower level, its `members`, their `member_values` and the
    `member_tier_steps` of its tiers (layout in this module's docstring and docs/audit.md).
    Runs recorded before have no lower level: nothing of them changes.

    Statement by statement, not `executescript` (which would commit the migration's
    transaction first): a failure leaves the store at version 4."""
    for statement in _V5.split(";\n"):
        if statement.strip():
            db.conn.execute(statement)


def _v6(db: sqlite_utils.Database) -> None:
    """Version 6: who recorded a run. `runs.user`, the login name of the user who recorded it
    (from the environment, `tierlang.api.current_user`), NULL when unknown and for runs recorded
    before. A run's content hash covers it when it is not NULL (audit/integrity.py), so the hash
    of every run recorded before is unchanged."""
    db.conn.execute("ALTER TABLE runs ADD COLUMN user TEXT")


_V7 = """
CREATE TABLE node_components (
    run          INTEGER NOT NULL,
    node         TEXT NOT NULL,
    entities     INTEGER NOT NULL,
    components   TEXT NOT NULL,
    value        BLOB NOT NULL,
    weight       BLOB NOT NULL,
    coefficient  BLOB NOT NULL,
    contribution BLOB NOT NULL,
    PRIMARY KEY (run, node)
) WITHOUT ROWID;

CREATE TABLE entity_ranks (
    run              INTEGER NOT NULL,
    tier             TEXT NOT NULL,
    entity           INTEGER NOT NULL,
    rank             INTEGER,
    from_rank_top    INTEGER,
    from_rank_bottom INTEGER,
    PRIMARY KEY (run, tier, entity)
) WITHOUT ROWID;

CREATE TABLE node_branches (
    run         INTEGER NOT NULL,
    node        TEXT NOT NULL,
    entity      INTEGER NOT NULL,
    taken       TEXT,
    op          TEXT,
    left_value  REAL,
    right_value REAL,
    PRIMARY KEY (run, node, entity)
) WITHOUT ROWID;

CREATE TABLE node_statistics (
    run      INTEGER NOT NULL,
    node     TEXT NOT NULL,
    key      TEXT NOT NULL,
    shown    TEXT NOT NULL,
    name     TEXT NOT NULL,
    item     INTEGER,
    grp      TEXT,
    call     TEXT,
    prefix   TEXT,
    rule     TEXT,
    PRIMARY KEY (run, node, key)
) WITHOUT ROWID
"""


def _v7(db: sqlite_utils.Database) -> None:
    """Version 7: the facts explain, diff and reconcile show, as the interpreter computed them
    (interpreter/trace.py), so that they only read them. `node_components`: per node that is
    one additive aggregation (`sum`, `mean`, `weighted_mean`), its components (JSON names)
    and four float64 matrices (entities x components, entity-major, little-endian BLOBs; NaN
    for missing): each component's value, weight, effective coefficient (after `normalise` /
    `skip missing` re-normalised the weights) and contribution — one row per node, not per
    entity and component, so recording them costs a few BLOB copies (measured: one row per
    component per entity tripled the cost of recording a 10,000-entity run);
    `entity_ranks`: per tier and entity, the rank `tierlang run`
    shows (by tier, then score) and the competition rank of its `from` value from the top and
    from the bottom, under the one tie rule (interpreter/ranking.py); `node_branches`: per
    entity, the branch a node's `if` took (`then` / `else`) or the component its `max` / `min`
    gave, and for an `if` comparing two numbers the operator and both values;
    `node_statistics`: what each statistic of `scalars` (same run, node and name `key`) is,
    typed: the statistic, the cut's number, the `within` group, the call or tier rule that
    computed it (interpreter/trace.py `Statistic`). `entity` is the
    entity's position in its level (a member's position for a lower level's node). Runs
    recorded before have none of these rows: they verify and explain as before."""
    for statement in _V7.split(";\n"):
        if statement.strip():
            db.conn.execute(statement)


def _v8(db: sqlite_utils.Database) -> None:
    """Version 8: `datasets.parts`, for the data of a run read from several files
    (`--data LEVEL=FILE`, format `tables`): JSON list of each file's own `level` (null for the
    unnamed table), `path`, `format`, `rows` and `sha256`, in the order the combined sha256
    hashes them (interpreter.data.combine_datasets); NULL for one file and for rows recorded
    before."""
    db.conn.execute("ALTER TABLE datasets ADD COLUMN parts TEXT")


def _v9(db: sqlite_utils.Database) -> None:
    """Version 9: `node_components.codec`, how its four matrices are encoded: NULL, the raw
    little-endian float64 bytes of version 7 (every run recorded before); `zlib`, each of the
    four BLOBs zlib-compressed (audit.integrity.columns.COMPONENT_CODEC). The facts are the same
    bytes once decoded, and the run's digest is of the decoded bytes, so a run's seal does
    not depend on the codec. Measured on the wide benchmark (400 nodes x 5,000 entities):
    `node_components` went from 38.3 to about 9 bytes per recorded value (the weights and
    coefficients repeat; see docs/audit.md)."""
    db.conn.execute("ALTER TABLE node_components ADD COLUMN codec TEXT")


# Append-only. Index i takes the store from version i to version i + 1.
MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("initial schema", _v1),
    ("tamper evidence and re-runs", _v2),
    ("comparisons", _v3),
    ("sensitivity analyses", _v4),
    ("entities at several levels", _v5),
    ("who recorded a run", _v6),
    ("recorded facts: components, ranks, branches, typed statistics", _v7),
    ("each data file's own sha256", _v8),
    ("compressed component matrices", _v9),
]

SCHEMA_VERSION = len(MIGRATIONS)


def current_version(db: sqlite_utils.Database) -> int:
    """The store's schema version; 0 for an empty database."""
    if not db["tierlang_meta"].exists():
        return 0
    rows = list(db.query("SELECT value FROM tierlang_meta WHERE key = 'schema_version'"))
    if not rows:  # tierlang writes the table and its version in one transaction: damaged (an index)
        raise sqlite3.DatabaseError("its tierlang_meta table has no schema_version")
    value = rows[0]["value"]
    try:
        return int(value)
    except (TypeError, ValueError):  # a sqlite3 error, so that open_store reports the store unusable
        raise sqlite3.DatabaseError(f"its schema_version is {value!r}, not a number") from None


def set_version(db: sqlite_utils.Database, version: int) -> None:
    db.execute(
        "INSERT INTO tierlang_meta (key, value) VALUES ('schema_version', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [str(version)],
    )
