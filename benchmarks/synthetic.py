"""The synthetic 50-indicator methodology and data the benchmarks share: 50 quartiled
indicators in 10 domains, a weighted overall score and a four-way tier, over N organisations
with 2% missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd

DOMAINS = 10
PER_DOMAIN = 5
INDICATORS = DOMAINS * PER_DOMAIN


def methodology_text(name: str, sampled_choices: bool = False) -> str:
    """With `sampled_choices`, three domain weights and the `good` cut-off are params with
    ranges (what sensitivity analysis samples); without, every weight is a fixed 10%."""
    lines = [f'methodology "{name}"', "entity org key org_id label org_name", ""]
    lines += [f"input x{i:02d}: number range 0..100" for i in range(INDICATORS)]
    for i in range(INDICATORS):
        polarity = "lower" if i % 7 == 0 else "higher"
        lines.append(f"indicator s{i:02d} = quartile(x{i:02d}, {polarity} is better)")
    for d in range(DOMAINS):
        parts = ", ".join(f"s{d * PER_DOMAIN + k:02d}" for k in range(PER_DOMAIN))
        lines.append(f"domain d{d} = mean({parts}, skip missing, require 3)")
    if sampled_choices:
        lines += [f"param w{d} = 10% range 5%..15%" for d in range(3)]
        weights = ", ".join(f"d{d}: w{d}" if d < 3 else f"d{d}: 10%" for d in range(DOMAINS))
        lines.append(f"score overall = weighted_mean({weights}, skip missing, normalise)")
        lines.append("param good_cutoff = 2.5 range 2.25..2.75")
        good = "good_cutoff"
    else:
        weights = ", ".join(f"d{d}: 10%" for d in range(DOMAINS))
        lines.append(f"score overall = weighted_mean({weights}, skip missing)")
        good = "2.5"
    lines += [
        "tier grade from overall {",
        "  best: top 10%",
        "  worst: bottom 10%",
        f"  good: >= {good}",
        "  fair: otherwise",
        "}",
    ]
    return "\n".join(lines) + "\n"


def data_frame(entities: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 100, size=(entities, INDICATORS)).round(1)
    values[rng.random(values.shape) < 0.02] = np.nan  # 2% missing
    frame = pd.DataFrame(values, columns=[f"x{i:02d}" for i in range(INDICATORS)])
    frame.insert(0, "org_name", [f"Organisation {i}" for i in range(entities)])
    frame.insert(0, "org_id", [f"ORG{i:06d}" for i in range(entities)])
    return frame
