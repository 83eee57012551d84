"""Rendering, in one place: one module per kind of result (a run's table, the recorded runs, test
outcomes, a diff, a sensitivity analysis, an explanation, a comparison, a reconciliation), each
turning a result object into text, CSV, JSON or a workbook. Renderers compute nothing: every
number they show was computed once (by the interpreter, or the analysis) and is only formatted,
with the one number formatter (dsl/numbers.py)."""
