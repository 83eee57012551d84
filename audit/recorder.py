"""The recorder's former name: `audit.recorder.build_rows`, `synthetic_result`, ... keep working.
The recorder itself is audit/write/ (rows built from a RunResult, then one transaction)."""

from audit.write import (  # noqa: F401
    LEVEL_COLUMNS,
    NODE_COLUMNS,
    FactRows,
    LowerRows,
    RunRows,
    TierColumns,
    ValueColumns,
    aggregates,
    build_rows,
    dataset_parts,
    expression_text,
    fold,
    iso,
    lower_rows,
    matrix_blob,
    methodology_sha256,
    node_row,
    now_iso,
    synthetic_result,
    value_columns,
    value_rows,
)
from audit.write.columns import fact_rows, scalar_rows, tier_columns  # noqa: F401
