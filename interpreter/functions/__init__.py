"""The built-in functions: one implementation per built-in of dsl.builtins.BUILTINS."""

from interpreter.functions.population import (  # noqa: F401
    FUNCTIONS,
    POPULATION_FUNCTIONS,
    _count_rows,
    _groups,
    _key,
    _per_block,
    _population,
    _quantile_rows,
    builtin,
    group_names,
)
