"""The STP walk-through notebook (examples/stp_2017/walkthrough.ipynb) runs headless from start
to end (nbclient), and shows what it says it shows."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "stp_2017" / "walkthrough.ipynb"


def _outputs(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append(output["text"])
        for kind, value in output.get("data", {}).items():
            if kind.startswith("text/"):
                parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def test_the_notebook_runs_headless():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "commit the notebook without outputs"
    )
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not any(o.get("output_type") == "error" for cell in code for o in cell.outputs)
    shown = [_outputs(cell) for cell in code]
    assert any(text.startswith("<RunOutcome run 1: STP progress dashboard") for text in shown)
    assert any('STP 41 "Dorset"' in text for text in shown)
    assert any("<table" in text and "attribution" in text for text in shown)
    assert any("advanced_cutoff" in text for text in shown)
    images = [o for cell in code for o in cell.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1  # the plot
    assert shown[-1].strip() == "True"  # the report was written
