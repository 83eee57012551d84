"""Reading a data table (CSV, TSV, Excel or a DataFrame) and preparing a methodology's inputs.

Two steps, both reporting every problem found in one `DataError`:

- `read_dataset` / `dataset_from_frame` give a `Dataset`: the table exactly as read, every cell
  a `str` (nothing stripped or converted) or None for an empty or whitespace-only cell. Its
  index is the spreadsheet row number of each row (the header is row 1 of a plain file; rows
  left entirely empty are dropped but keep the numbering), so every problem can name the row
  a user sees in Excel.
- `prepare_inputs` checks the table against a methodology (columns, keys, values) and gives
  each input typed as `interpreter/trace.py` says, indexed by entity key; a methodology with
  several entity levels takes a table per level (interpreter.data.level_tables).

The modules, by job: `files` (formats, bounded reads), `decoding` (encodings), `delimited` and
`plain_csv` (CSV and TSV), `xlsx` (Excel), `reading` (`read_dataset`), `dataset` (the table as
read, its provenance, tables combined), `cells` (numbers, labels, booleans, missing spellings),
`keys` (entity keys), `inputs` (one input's column checked and typed), `prepare`
(`prepare_inputs`) and `level_tables` (entities at several levels). Nothing here writes anywhere.
"""

from interpreter.data.dataset import (
    FRAME_PATH,
    ROW_INDEX_NAME,
    Dataset,
    combine_datasets,
    dataset_from_frame,
)
from interpreter.data.inputs import PreparedInputs
from interpreter.data.prepare import prepare_inputs
from interpreter.data.reading import read_dataset

__all__ = [
    "FRAME_PATH",
    "ROW_INDEX_NAME",
    "Dataset",
    "PreparedInputs",
    "combine_datasets",
    "dataset_from_frame",
    "prepare_inputs",
    "read_dataset",
]
