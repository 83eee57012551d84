"""The interpreter: evaluates a checked methodology over a table of entities.

    from interpreter import evaluate, run_tests
    result = evaluate(methodology, inputs, params={"w": 0.45}, tracer=recorder)
"""

from interpreter.evaluate import evaluate, evaluate_expression
from interpreter.param_errors import ParamError
from interpreter.testing import TestOutcome, run_tests

__all__ = ["evaluate", "evaluate_expression", "run_tests", "TestOutcome", "ParamError"]
