"""The outcomes of a methodology's `test` blocks as `tierlang test` shows them."""

from __future__ import annotations


def render_tests(outcomes: list, quiet: bool = False) -> str:
    lines = []
    for outcome in outcomes:
        if outcome.passed and not quiet:
            lines.append(f"PASS  {outcome.file}: {outcome.name}")
        elif not outcome.passed:
            lines.append(f"FAIL  {outcome.file}: {outcome.name}")
            for detail in outcome.details:
                lines.extend("      " + line for line in detail.splitlines())
    passed = sum(o.passed for o in outcomes)
    failed = len(outcomes) - passed
    lines.append("")
    lines.append(f"{passed} passed, {failed} failed")
    return "\n".join(lines) + "\n"
