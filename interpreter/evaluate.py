"""Evaluate a checked methodology over a table of entities, recording every node."""

from interpreter.evaluator import (  # noqa: F401
    Evaluator,
    SampleEvaluator,
    block_constant,
    evaluate,
    evaluate_expression,
    evaluate_value,
    resolve_params,
)
