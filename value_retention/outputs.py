"""Names of the files the figures and tables rules write.

Kept apart from the plotting code so the Snakefile can declare the outputs without importing
matplotlib or pandas at parse time (every SLURM job re-parses the Snakefile).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import ConfigError

SUMMARY_FIGURES = ("condition_scores", "language_groups", "language_scores", "seed_spread", "score_distributions")
HEATMAP_STEM = "dimension_heatmap"
HEATMAP_FRAGMENT = "dimension_heatmaps.tex"
TABLES = ("claims", "headline", "languages", "contrasts", "interactions", "dimensions", "mixedlm", "published",
          "conditions", "grading")


def figure_files(outdir: str | os.PathLike, benches: Sequence[str]) -> list[str]:
    """Every file ``figures.make_all`` writes: the rule declares exactly these as outputs."""
    stems = [*SUMMARY_FIGURES, *(f"{HEATMAP_STEM}_{bench}" for bench in benches)]
    files = [os.path.join(outdir, f"{stem}{suffix}") for stem in stems for suffix in (".pdf", ".png")]
    return [*files, os.path.join(outdir, HEATMAP_FRAGMENT)]


TABLE_FORMATS = (".tex", ".html")  # the paper's fragment; the report's page


def table_files(outdir: str | os.PathLike) -> list[str]:
    """The files ``tables.write_tables`` writes, per table its LaTeX fragment then its HTML page:
    the rule declares exactly these as outputs."""
    return [os.path.join(outdir, f"table_{name}{suffix}") for name in TABLES for suffix in TABLE_FORMATS]


def check_declared(expected: Iterable[str | os.PathLike], declared: Iterable[str | os.PathLike],
                   rule: str, helper: str) -> set[str]:
    """Fail before any work when a rule declares other outputs than its script writes."""
    expected_set = {str(Path(path)) for path in expected}
    declared_set = {str(Path(path)) for path in declared}
    if expected_set != declared_set:
        raise ConfigError(f"the rule's outputs differ from the files its script writes: undeclared "
                          f"{sorted(expected_set - declared_set)}, unknown "
                          f"{sorted(declared_set - expected_set)}; declare {helper}", key=f"rule {rule}: output")
    return expected_set


# --------------------------------------------------------------------------------------------
# Where each figure and table sits in `snakemake --report`: its category (one of
# REPORT_CATEGORIES), subcategory and caption (report/<caption>.rst). The PNG figures and the
# HTML tables are shown; the PDFs and the LaTeX are the paper's. Not "Statistics": the report's
# own menu has an entry of that name (the jobs' runtimes), and captions would warn of the clash.

REPORT_CATEGORIES = ("Training", "Generation", "Judging", "Statistical analysis", "Paper")
_TABLE_SECTIONS = {"conditions": ("Training", "Conditions"), "grading": ("Judging", "Unparseable grades")}


def report_section(path: str | os.PathLike) -> tuple[str, str, str] | None:
    """``(category, subcategory, caption stem)`` of a figures or tables output the report shows,
    or ``None`` for one it does not show (a PDF, a LaTeX fragment)."""
    name = Path(path).name
    stem, suffix = os.path.splitext(name)
    if suffix == ".png" and stem.startswith(f"{HEATMAP_STEM}_"):
        return "Statistical analysis", "Dimensions", HEATMAP_STEM
    if suffix == ".png" and stem in SUMMARY_FIGURES:
        return "Statistical analysis", "Figures", stem
    if suffix == ".html" and stem.startswith("table_") and stem[len("table_"):] in TABLES:
        category, subcategory = _TABLE_SECTIONS.get(stem[len("table_"):], ("Statistical analysis", "Tables"))
        return category, subcategory, stem
    return None
