"""Tamper evidence: each run's content hash, the chain linking the runs, and the checks that
recompute both from the store. Nothing here evaluates a methodology (re-evaluating a run is
`tierlang.verification`); this package only hashes rows and reads the store. The scheme is
described in audit/integrity/hashing.py and docs/audit.md ("Tamper evidence").

By job: `columns` (what each section covers), `hashing` (canonical encoding, the body digest),
`sealing` (header rows, content and chain hash, sealing a run), `reading` (a stored run's rows
in canonical order), `shape` (each level's rows as its run declares them, the top level being level 0), `checks`
(recomputing and checking runs and the store). Every name is
re-exported here: `audit.integrity.check_store`, `audit.integrity.CHAIN_SCHEME`, ...
"""

from audit.integrity.checks import (  # noqa: F401
    RunCheck,
    StoreCheck,
    _id_range,
    _ranges,
    check_run,
    check_store,
    expected_member_values,
    member_value_counts,
    run_ids,
    safe_check_run,
    store_problems,
    value_counts,
)
from audit.integrity.columns import (  # noqa: F401
    BLOB,
    BRANCH_COLUMNS,
    CHAIN_SCHEME,
    COMPONENT_CODEC,
    COMPONENT_COLUMNS,
    COMPONENT_MATRICES,
    CONTENT_SCHEME,
    DATASET_COLUMNS,
    ENTITY_COLUMNS,
    FACT_SECTIONS,
    FLAG,
    GENESIS,
    INT,
    LEVEL_COLUMNS,
    LOWER_SECTIONS,
    MEMBER_COLUMNS,
    MEMBER_TIER_COLUMNS,
    METHODOLOGY_COLUMNS,
    NODE_COLUMNS,
    NODE_LEVEL_COLUMNS,
    RANK_COLUMNS,
    REAL,
    RUN_COLUMNS,
    SCALAR_COLUMNS,
    SECTIONS,
    STATISTIC_COLUMNS,
    TEXT,
    TIER_COLUMNS,
    VALUE_COLUMNS,
    codec_column,
    decode_matrix,
    encode_matrix,
)
from audit.integrity.hashing import (  # noqa: F401
    Body,
    FactBody,
    LowerBody,
    _cell,
    _encode_column,
    _sorted_columns,
    body_digest,
    body_of_rows,
    fact_body_of_rows,
    lower_body_of_rows,
    table_digest,
)
from audit.integrity.reading import (  # noqa: F401
    has_facts,
    has_lower_levels,
    levels_table_exists,
    methodology_sources_sha256,
    read_body,
    read_fact_body,
    read_lower_body,
)
from audit.integrity.sealing import (  # noqa: F401
    Header,
    chain_hash,
    content_hash,
    latest_digest,
    previous_chain,
    read_header,
    seal,
    seal_unsealed,
)
from audit.integrity.shape import LevelShape, level_problems, levels_of, shape_problems  # noqa: F401
