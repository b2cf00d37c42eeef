"""Tidy scores drawn from a known model, to check that the statistics recover the truth.

The model, on the percent scale, for question q (base item b, language l), condition c, seed s,
epoch e:

    score = baseline + effect[c] + interaction[c] * [l is not English]
            + u_b              item difficulty (shared by the item's languages)
            + v_q              question-within-item deviation
            + w_bc             item x condition deviation: makes an item's paired differences
                               correlated across its languages, i.e. clustered
            + z_bs             item x seed (lineage) deviation
            + r_cs             run effect: condition x seed, shared by all of a run's questions
            + noise            per answer (epoch)

then divided by 100 for the tidy CSV's 0-1 scale. Keep the standard deviations small enough that
scores stay inside 0-100: :func:`simulate_scores` refuses to clip, since clipping would bias the
very effects a test checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd


def simulate_scores(
    *,
    n_items: int = 30,
    languages: Sequence[str] = ("English", "Malay", "Hindi"),
    one_language_per_item: bool = False,
    effects: Mapping[str, float] = {"base": 0.0, "treated": 10.0},
    interaction: Mapping[str, float] | None = None,
    baseline: float = 50.0,
    item_sd: float = 8.0,
    question_sd: float = 3.0,
    item_condition_sd: float = 0.0,
    item_seed_sd: float = 0.0,
    run_sd: float = 0.0,
    noise_sd: float = 5.0,
    n_seeds: int = 1,
    n_epochs: int = 1,
    dimensions: Sequence[str] = (),
    bench: str = "sim",
    seed: int = 0,
) -> pd.DataFrame:
    """A tidy scores table (docs/contracts.md) drawn from the model in the module docstring.

    ``one_language_per_item`` gives AHB's shape (each base item asked in one language, languages
    in turn); otherwise MORU's (every item in every language). ``dimensions``, if given, adds
    panel per-dimension rows equal to the overall score plus independent noise.
    """
    rng = np.random.default_rng(seed)
    interaction = dict(interaction or {})
    conditions = list(effects)
    run_rng = np.random.default_rng([seed, 1])  # its own stream: the other draws stay as they were
    runs = {c: run_rng.normal(0, run_sd, size=n_seeds) for c in conditions}
    rows = []
    for item in range(n_items):
        item_languages = [languages[item % len(languages)]] if one_language_per_item else list(languages)
        item_effect = rng.normal(0, item_sd)
        item_condition = {c: rng.normal(0, item_condition_sd) for c in conditions}
        item_seed = rng.normal(0, item_seed_sd, size=n_seeds)
        for language in item_languages:
            question_effect = rng.normal(0, question_sd)
            non_english = language.lower() != "english"
            for condition in conditions:
                mean = (baseline + effects[condition] + interaction.get(condition, 0.0) * non_english
                        + item_effect + question_effect + item_condition[condition])
                for seed_index in range(n_seeds):
                    for epoch in range(n_epochs):
                        score = (mean + item_seed[seed_index] + runs[condition][seed_index]
                                 + rng.normal(0, noise_sd))
                        key = {"bench": bench, "condition": condition, "seed": seed_index,
                               "question_id": f"q{item}", "base_item": f"q{item}", "language": language,
                               "epoch": epoch, "judge": "panel"}
                        rows.append({**key, "dimension": "overall", "score": score})
                        for dimension in dimensions:
                            rows.append({**key, "dimension": dimension,
                                         "score": score + rng.normal(0, noise_sd)})
    table = pd.DataFrame(rows)
    if not table["score"].between(0, 100).all():
        raise ValueError("simulated scores left 0-100; lower the standard deviations or move the baseline")
    table["score"] = table["score"] / 100.0
    return table


def truth_contrast(effects: Mapping[str, float], interaction: Mapping[str, float] | None,
                   condition: str, minus: str, non_english_share: float) -> float:
    """The true mean paired difference (percent) over a question mix with this non-English share."""
    interaction = dict(interaction or {})
    return (effects[condition] - effects[minus]
            + non_english_share * (interaction.get(condition, 0.0) - interaction.get(minus, 0.0)))
