"""With blocks (sensitivity analysis), a scalar expression of constants, names and operators is
computed once per block (Evaluator.block_scalar) and gives what computing it for every row
gives; anything else (a population function, a per-entity value) is left to the full path."""

from __future__ import annotations

import numpy as np
import pandas as pd

import dsl
from interpreter.evaluate import Evaluator, block_constant

SOURCE = """methodology "Blocks"
entity org key code

input x: number
param w = 2 range 0..10
param z = 0 range 0..10

let weight = w * 3 - 1 / z
let spread = w ^ 2 + population_mean(x)
let per_entity = x * w
"""


def evaluator(blocks: int = 3, entities: int = 4) -> tuple[Evaluator, object]:
    m = dsl.check_source(SOURCE, "blocks.tier")
    index = pd.Index([f"E{i}" for i in range(entities)], name="code")
    ev = Evaluator(m, index, {"w": 2.0, "z": 0.0}, blocks=blocks)
    ev.env["w"] = block_constant(np.array([1.0, 2.0, 4.0]), m.node("w").type, entities)
    ev.env["z"] = block_constant(np.array([0.0, 2.0, 0.5]), m.node("z").type, entities)
    xs = np.arange(blocks * entities, dtype=float)
    ev.env["x"] = block_constant(xs[::entities], m.node("x").type, entities)
    return ev, m


def test_a_scalar_of_operators_is_computed_once_per_block_as_for_every_row():
    ev, m = evaluator()
    expr = m.node("weight").expr
    with np.errstate(all="ignore"):  # as evaluate's entry points run it (numeric.float_errors_ignored)
        once = ev.block_scalar(expr)
        every_row = ev.eval(expr).data[:: ev.entities]
    np.testing.assert_array_equal(once, every_row)  # 1 / 0 is missing in block 0: NaN in both
    assert np.isnan(once[0]) and once[1:].tolist() == [5.5, 10.0]


def test_anything_else_is_left_to_the_full_path():
    ev, m = evaluator()
    assert ev.block_scalar(m.node("spread").expr) is None  # a population function
    assert ev.block_scalar(m.node("per_entity").expr) is None  # not a scalar
    single, m = evaluator(blocks=1)
    assert single.block_scalar(m.node("weight").expr) is None  # no blocks
