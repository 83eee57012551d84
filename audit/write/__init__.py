"""Writing a run: a finished `RunResult` turned into rows (`rows`, `nodes`, `columns`, all pure,
before the write lock is taken), then written in one transaction and sealed (`transaction`).

    run_id = record_run(conn, path, result, dataset)   # what AuditStore.record calls
"""

from audit.write.columns import FactRows, TierColumns, matrix_blob
from audit.write.nodes import NODE_COLUMNS, aggregates, expression_text, fold, node_row
from audit.write.rows import (
    LEVEL_COLUMNS,
    LowerRows,
    RunRows,
    build_rows,
    dataset_parts,
    iso,
    lower_rows,
    methodology_sha256,
    now_iso,
)
from audit.write.synthetic import synthetic_result, value_rows
from audit.write.transaction import WRITE_WAIT_S, begin_write, record_run
from audit.write.values import ValueColumns, value_columns

__all__ = [
    "LEVEL_COLUMNS",
    "NODE_COLUMNS",
    "WRITE_WAIT_S",
    "FactRows",
    "LowerRows",
    "RunRows",
    "TierColumns",
    "ValueColumns",
    "aggregates",
    "begin_write",
    "build_rows",
    "dataset_parts",
    "expression_text",
    "fold",
    "iso",
    "lower_rows",
    "matrix_blob",
    "methodology_sha256",
    "node_row",
    "now_iso",
    "record_run",
    "synthetic_result",
    "value_columns",
    "value_rows",
]
