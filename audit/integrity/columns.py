"""The columns each hashed section covers, with the kind that says how a cell is encoded
(audit/integrity/hashing.py), and the names of the schemes.
"""

from __future__ import annotations

import zlib

CONTENT_SCHEME = "tierlang-content-v1"
CHAIN_SCHEME = "tierlang-chain-v1"
GENESIS = "0" * 64  # the "previous chain hash" of the first run

REAL, INT, TEXT, FLAG, BLOB = "real", "int", "text", "flag", "blob"

RUN_COLUMNS = (
    ("started", TEXT),
    ("finished", TEXT),
    ("tool_version", TEXT),
    ("methodology_sha256", TEXT),
    ("methodology_name", TEXT),
    ("methodology_version", TEXT),
    ("methodology_path", TEXT),
    ("dataset_sha256", TEXT),
    ("dataset_path", TEXT),
    ("params", "json"),
    ("status", TEXT),
    ("entity_count", INT),
    ("node_count", INT),
    ("values_per_entity", INT),
    ("note", TEXT),
    ("rerun_of", INT),
)
METHODOLOGY_COLUMNS = tuple(
    (c, TEXT)
    for c in (
        "sha256",
        "name",
        "version",
        "effective",
        "entity",
        "key_column",
        "label_column",
        "doc",
        "path",
        "source",
        "sources",
    )
)
DATASET_COLUMNS = (
    ("sha256", TEXT),
    ("path", TEXT),
    ("format", TEXT),
    ("rows", INT),
    ("columns", TEXT),
)
ENTITY_COLUMNS = (("position", INT), ("key", TEXT), ("label", TEXT))
NODE_COLUMNS = (  # audit.recorder.NODE_COLUMNS with their kinds
    ("name", TEXT),
    ("position", INT),
    ("kind", TEXT),
    ("label", TEXT),
    ("doc", TEXT),
    ("source_text", TEXT),
    ("expression", TEXT),
    ("file", TEXT),
    ("line", INT),
    ("overrides", TEXT),
    ("type", TEXT),
    ("base", TEXT),
    ("scalar", INT),
    ("dependencies", TEXT),
    ("scale", TEXT),
    ("call", TEXT),
    ("weights", TEXT),
    ("tier", TEXT),
    ("data_column", TEXT),
    ("range", TEXT),
    ("required", INT),
    ("declared_value", TEXT),
)
VALUE_COLUMNS = (("num", REAL), ("text", TEXT), ("bool", FLAG), ("missing_reason", TEXT))
SCALAR_COLUMNS = (
    ("node", TEXT),
    ("position", INT),
    ("name", TEXT),
    ("value", REAL),
    ("text", TEXT),
)
TIER_COLUMNS = (
    ("tier", TEXT),
    ("entity", INT),
    ("from_value", REAL),
    ("rule_index", INT),
    ("before_limits", TEXT),
    ("after", TEXT),
    ("limits_acted", TEXT),
    ("display", TEXT),
)
SECTIONS = ("entities", "nodes", "values", "scalars", "tier_steps")
LEVEL_COLUMNS = (  # audit.recorder.LEVEL_COLUMNS with their kinds (not first_value_id)
    ("position", INT),
    ("name", TEXT),
    ("parent", TEXT),
    ("key_column", TEXT),
    ("label_column", TEXT),
    ("member_count", INT),
    ("first_node", INT),
    ("values_per_member", INT),
)
NODE_LEVEL_COLUMNS = (("position", INT), ("level", TEXT), ("aggregates", TEXT))
MEMBER_COLUMNS = (
    ("level", TEXT),
    ("position", INT),
    ("key", TEXT),
    ("label", TEXT),
    ("parent_key", TEXT),
)
MEMBER_TIER_COLUMNS = (
    ("level", TEXT),
    ("tier", TEXT),
    ("member", INT),
    *TIER_COLUMNS[2:],
)
LOWER_SECTIONS = ("levels", "node_levels", "members", "member_values", "member_tier_steps")
COMPONENT_COLUMNS = (
    ("node", TEXT),
    ("entities", INT),
    ("components", TEXT),
    ("value", "blob"),
    ("weight", "blob"),
    ("coefficient", "blob"),
    ("contribution", "blob"),
)
RANK_COLUMNS = (
    ("tier", TEXT),
    ("entity", INT),
    ("rank", INT),
    ("from_rank_top", INT),
    ("from_rank_bottom", INT),
)
BRANCH_COLUMNS = (
    ("node", TEXT),
    ("entity", INT),
    ("taken", TEXT),
    ("op", TEXT),
    ("left_value", REAL),
    ("right_value", REAL),
)
STATISTIC_COLUMNS = (
    ("node", TEXT),
    ("key", TEXT),
    ("shown", TEXT),
    ("name", TEXT),
    ("item", INT),
    ("grp", TEXT),
    ("call", TEXT),
    ("prefix", TEXT),
    ("rule", TEXT),
)
# How `node_components` encodes its four matrices (schema version 9, `codec`): NULL for the
# raw float64 bytes (runs recorded before), "zlib" for each BLOB zlib-compressed. Hashing is of
# the decoded bytes, so the digest of a run does not depend on the codec.
COMPONENT_CODEC = "zlib"
COMPONENT_MATRICES = ("value", "weight", "coefficient", "contribution")


def codec_column(conn) -> str:
    """The SQL that reads `node_components.codec`: the column, or NULL in a store still at
    version 7 or 8 (a read-only store is never migrated)."""
    found = conn.execute(
        "SELECT 1 FROM pragma_table_info('node_components') WHERE name = 'codec'"
    ).fetchone()
    return "codec" if found else "NULL"


def encode_matrix(raw: bytes) -> bytes:
    """A component matrix's bytes as `COMPONENT_CODEC` stores them (level 1: the matrices of
    weights and coefficients repeat, so the fastest level already shrinks them 25-100x)."""
    return zlib.compress(raw, 1)


def decode_matrix(codec: str | None, stored: bytes) -> bytes | None:
    """The raw float64 bytes of a stored matrix; None when `codec` is unknown or the bytes do
    not decode (damage: the caller reports it, the digest of the run no longer matches)."""
    if codec is None:
        return stored
    if codec != COMPONENT_CODEC or not isinstance(stored, bytes):
        return None
    try:
        return zlib.decompress(stored)
    except zlib.error:
        return None


FACT_SECTIONS = ("node_components", "entity_ranks", "node_branches", "node_statistics")


