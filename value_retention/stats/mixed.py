"""The structured layer: a linear mixed model for condition x language claims.

"The gain transfers across languages" is a statement about the condition x language-group
interaction, so it is tested as one: statsmodels ``MixedLM`` on cell means (one row per question x
condition [x seed], averaged over epochs, in percent), with

    score ~ C(condition) * C(language_group)
    groups = base_item, re_formula = "1"       a random intercept per base item
    vc_formula = {"item_lang": "0 + C(item_lang)"}   a random intercept per question within its
                                                    base item (the item asked in one language)
                 + {"seed": "0 + C(seed)"} with several seeds

Choices and the reasons for them (docs/design.md, "Statistics"):

- ``re_formula="1"`` is given explicitly: with only ``vc_formula`` statsmodels fits no random
  intercept for the groups.
- The fit is on 0-100, not 0-1: statsmodels flags a variance component below an absolute 0.01 as
  "on the boundary", which on a 0-1 scale is most of them.
- Estimates come from a REML fit; the interaction is tested by a likelihood-ratio test between ML
  fits (``reml=False``) with and without it, because REML likelihoods of models with different
  fixed effects are not comparable.
- When every base item holds a single question (AHB: one language per item) the item x language
  component is the base-item intercept under another name and is not identified: it is dropped
  and the reason recorded. With a single language group there is no interaction to test.
- The claimed interaction is one degree of freedom, not the omnibus test: for a pair (A, B) it is
  the difference of the two conditions' interaction coefficients (one of them 0 when it is the
  baseline), a Wald test from the REML fixed effects' covariance (``interaction_terms``). It is
  the model-based twin of the difference of gains in :mod:`.ratio`.
- Seed labels are shared along the condition tree (seed s of every post-trained model descends
  from seed s of the mid-trained one), so the seed component is a per-item, per-lineage deviation.
  statsmodels nests components within groups, so a seed effect crossed with all items cannot be
  expressed here, and neither can a run (condition x seed) effect crossed with the items; so the
  model's intervals describe the trained checkpoints, and the claims' recipe-level inference is
  the two-stage analysis of :mod:`.runs`. The seed-level means are reported separately (``seeds``).
- Optimiser: Powell first, then L-BFGS. statsmodels' default gradient chain (BFGS, L-BFGS, CG)
  stalled on simulated MORU-sized data with a variance component at 0, where Powell converged to a
  higher likelihood. Every warning the fits raise (convergence, boundary, singular Hessian) is
  recorded in ``warnings`` rather than hidden.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats as scipy_stats

log = logging.getLogger(__name__)

FIT_METHODS = ["powell", "lbfgs"]
RE_FORMULA = "1"
RECORDED_WARNINGS = (UserWarning, RuntimeWarning)  # statsmodels' ConvergenceWarning is a UserWarning


def model_frame(cells: pd.DataFrame, reference: str | None) -> pd.DataFrame:
    """Cell means in the shape the model wants; ``reference`` becomes the baseline level."""
    conditions = list(pd.unique(cells["condition"]))
    if reference in conditions:
        conditions.remove(reference)
        conditions.insert(0, reference)
    groups = [group for group in ("english", "non_english") if group in set(cells["language_group"])]
    return pd.DataFrame({
        "score": cells["percent"].to_numpy(float),
        # Ordered categories fix the treatment-coding baseline without changing the formula.
        "condition": pd.Categorical(cells["condition"], categories=conditions),
        "language_group": pd.Categorical(cells["language_group"], categories=groups),
        "base_item": cells["base_item"].astype(str).to_numpy(),
        "item_lang": (cells["question_id"].astype(str) + " | " + cells["language"].astype(str)).to_numpy(),
        "seed": cells["seed"].astype(str).to_numpy(),
    })


def variance_components(data: pd.DataFrame) -> tuple[dict[str, str], list[dict]]:
    """The ``vc_formula`` the data can identify, and the components dropped with the reason."""
    vc_formula, dropped = {}, []
    questions_per_item = data.groupby("base_item")["item_lang"].nunique()
    if (questions_per_item > 1).any():
        vc_formula["item_lang"] = "0 + C(item_lang)"
    else:
        dropped.append({"component": "item_lang", "reason":
                        "every base item holds a single question (one language per item), so a "
                        "question-within-item intercept is the base-item intercept itself: not identified"})
    if data["seed"].nunique() > 1:
        vc_formula["seed"] = "0 + C(seed)"
    return vc_formula, dropped


def fit_recorded(formula: str, data: pd.DataFrame, vc_formula: dict, reml: bool,
                 label: str) -> tuple[dict | None, list[str]]:
    """Fit one MixedLM; return (its summary, or None if it failed) and its warnings as text.

    The summary is taken inside the ``catch_warnings`` block on purpose: statsmodels computes
    ``llf``, ``bse_fe`` and friends lazily, and their warnings would otherwise escape later.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = smf.mixedlm(formula, data, groups="base_item", re_formula=RE_FORMULA,
                                vc_formula=vc_formula or None)
            summary = summarise_fit(model.fit(reml=reml, method=FIT_METHODS))
        except (np.linalg.LinAlgError, ValueError) as exc:
            summary = None
            caught.append(warnings.WarningMessage(f"fit failed ({type(exc).__name__}: {exc})",
                                                  RuntimeWarning, __file__, 0))
    recorded = []
    for item in caught:
        if issubclass(item.category, RECORDED_WARNINGS):
            recorded.append(f"{label}: {item.category.__name__}: {item.message}")
        else:  # library deprecations are not about the fit: let them through as usual
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    return summary, list(dict.fromkeys(recorded))


def summarise_fit(fit) -> dict:
    """Plain numbers from a MixedLM result: fixed effects, variance components, likelihood."""
    variance = {"base_item": float(fit.cov_re.iloc[0, 0]),
                **{name: float(value) for name, value in zip(fit.model.exog_vc.names, fit.vcomp)},
                "residual": float(fit.scale)}
    names = list(fit.fe_params.index)
    return {"params": {name: float(value) for name, value in fit.fe_params.items()},
            "bse": {name: float(value) for name, value in fit.bse_fe.items()},
            "variance_components": variance, "converged": bool(fit.converged),
            "llf": float(fit.llf),
            # private: the fixed effects' covariance, for the 1-df interaction terms
            "_cov_fe": pd.DataFrame(np.asarray(fit.cov_params())[:len(names), :len(names)],
                                    index=names, columns=names)}


def interaction_term_name(condition: str) -> str:
    return f"C(condition)[T.{condition}]:C(language_group)[T.non_english]"


def interaction_term(fit: dict, condition: str, minus: str, reference: str, confidence: float) -> dict:
    """The 1-df interaction of ``condition`` minus ``minus``: how much larger its gain is off English."""
    row = {"condition": condition, "minus": minus, "estimate": None, "se": None, "z": None, "p": None,
           "ci_low": None, "ci_high": None, "method": "Wald, REML fixed effects"}
    cov = fit["_cov_fe"]
    weights = pd.Series(0.0, index=cov.index)
    for name, sign in ((condition, 1.0), (minus, -1.0)):
        if name == reference:
            continue
        term = interaction_term_name(name)
        if term not in weights.index:
            row["note"] = f"no term {term} in the model"
            return row
        weights[term] += sign
    estimate = float(sum(weights[name] * fit["params"][name] for name in weights.index))
    variance = float(weights.to_numpy() @ cov.to_numpy() @ weights.to_numpy())
    if not variance > 0:
        row["note"] = "the term's variance is not positive"
        return row
    se = variance ** 0.5
    z_crit = float(scipy_stats.norm.ppf(0.5 + confidence / 2))
    row.update(estimate=estimate, se=se, z=estimate / se, p=float(2 * scipy_stats.norm.sf(abs(estimate) / se)),
               ci_low=estimate - z_crit * se, ci_high=estimate + z_crit * se)
    return row


def mixedlm_block(cells: pd.DataFrame, reference: str | None, notes: list[str],
                  pairs: Sequence[Sequence[str]] = (), confidence: float = 0.95) -> dict:
    """The contract's ``mixedlm`` block (REML estimates, the interaction's ML likelihood-ratio test,
    and the 1-df interaction term of every (condition, minus) in ``pairs``)."""
    data = model_frame(cells, reference)
    vc_formula, dropped = variance_components(data)
    n_conditions = data["condition"].nunique()
    two_groups = data["language_group"].nunique() > 1
    terms = ["C(condition)"] + (["C(language_group)"] if two_groups else [])
    formula = "score ~ " + " * ".join(terms)
    block = {"formula": formula, "re_formula": RE_FORMULA, "vc_formula": vc_formula,
             "groups": "base_item", "method": "REML", "optimizer": FIT_METHODS,
             "reference_condition": data["condition"].cat.categories[0] if n_conditions else None,
             "dropped_components": dropped, "params": {}, "bse": {}, "variance_components": {},
             "converged": None, "n_obs": int(len(data)), "n_groups": int(data["base_item"].nunique()),
             "warnings": [], "lr_interaction": None, "lr_interaction_note": None,
             "interaction_terms": [], "scope": "checkpoints"}
    for item in dropped:
        notes.append(f"mixedlm: dropped variance component '{item['component']}': {item['reason']}")
    if n_conditions < 2 or block["n_groups"] < 2:
        block["formula"] = None
        notes.append(f"mixedlm: not fitted (needs 2 conditions and 2 base items; has {n_conditions} "
                     f"and {block['n_groups']})")
        return block

    started = time.time()
    fit, fit_warnings = fit_recorded(formula, data, vc_formula, reml=True, label="REML fit")
    block["warnings"].extend(fit_warnings)
    if fit is None:
        notes.append("mixedlm: the REML fit failed; see mixedlm.warnings")
    else:
        block.update(params=fit["params"], bse=fit["bse"], converged=fit["converged"],
                     variance_components=fit["variance_components"], llf_reml=fit["llf"])
        if two_groups:
            base = block["reference_condition"]
            block["interaction_terms"] = [interaction_term(fit, condition, minus, base, confidence)
                                          for condition, minus in pairs
                                          if {condition, minus} <= set(data["condition"].cat.categories)]
        if not fit["converged"]:
            notes.append("mixedlm: the REML fit did not converge; read its estimates with care")
    if two_groups:
        block["lr_interaction"] = interaction_lr_test(data, vc_formula, block["warnings"])
        if block["lr_interaction"] is None:
            notes.append("mixedlm: no likelihood-ratio test of the interaction; see mixedlm.warnings")
    else:
        block["lr_interaction_note"] = "a single language group: no condition x language interaction to test"
        notes.append(f"mixedlm: {block['lr_interaction_note']}")
    if block["warnings"]:
        notes.append(f"mixedlm: {len(block['warnings'])} fit warning(s) recorded in mixedlm.warnings")
    log.info("mixedlm: %d cells, %d base items, fitted in %.1f s", len(data), block["n_groups"],
             time.time() - started)
    return block


def interaction_lr_test(data: pd.DataFrame, vc_formula: dict, fit_warnings: list[str]) -> dict | None:
    """Likelihood-ratio test of the condition x language interaction between two ML fits."""
    full_formula = "score ~ C(condition) * C(language_group)"
    reduced_formula = "score ~ C(condition) + C(language_group)"
    full, full_warnings = fit_recorded(full_formula, data, vc_formula, reml=False, label="ML fit (full)")
    reduced, reduced_warnings = fit_recorded(reduced_formula, data, vc_formula, reml=False,
                                             label="ML fit (no interaction)")
    fit_warnings.extend(full_warnings + reduced_warnings)
    if full is None or reduced is None:
        return None
    if not (np.isfinite(full["llf"]) and np.isfinite(reduced["llf"])):
        fit_warnings.append("LR test: an ML log-likelihood is not finite (degenerate fit); no test")
        return None
    statistic = 2.0 * (full["llf"] - reduced["llf"])
    if statistic < 0:
        # Nested models: a negative statistic can only be the optimiser stopping short.
        fit_warnings.append(f"LR test: the model without the interaction reached a higher ML likelihood "
                            f"({reduced['llf']:.4f} > {full['llf']:.4f}); statistic set to 0")
        statistic = 0.0
    df = len(full["params"]) - len(reduced["params"])
    return {"statistic": float(statistic), "df": int(df), "p": float(scipy_stats.chi2.sf(statistic, df)),
            "method": "ML", "full_formula": full_formula, "reduced_formula": reduced_formula,
            "converged": full["converged"] and reduced["converged"]}
