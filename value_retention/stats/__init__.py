"""Statistics for one benchmark's tidy scores (docs/design.md, "Statistics").

``analyse(scores, spec, benchmark)`` returns the statistics JSON of docs/contracts.md; the modules
hold one layer each:

- :mod:`.tidy`: averaging the checked tidy scores within question (epochs, then seeds);
- :mod:`.cluster`: means with cluster-robust t inference, and the studentized cluster bootstrap;
- :mod:`.runs`: the run (seed) component of a variance, so intervals describe the recipe;
- :mod:`.bounded`: intervals for a mean score that stay within 0-100 (Korn-Graubard);
- :mod:`.contrasts`: condition means, paired contrasts (Holm), the per-dimension table (BH);
- :mod:`.claims`: the declared claims' tests, their Holm family and verdicts, the paper's method;
- :mod:`.languages`: every language with enough questions on its own;
- :mod:`.mixed`: the condition x language mixed model, its omnibus test and 1-df terms;
- :mod:`.ratio`: the difference and the ratio of non-English and English gains (Fieller);
- :mod:`.agreement`: Krippendorff's alpha between judges and per-contrast sign agreement;
- :mod:`.grading`: the scorer version and unparseable grades per condition and judge;
- :mod:`.simulate`, :mod:`.simulate_grades`, :mod:`.coverage`: data with a known truth, and the
  coverage checks of ``bench/stats_coverage.py``.
"""

from .analysis import analyse, resolve_spec
from .bounded import score_mean
from .claims import confirm
from .cluster import ClusterEstimate, cluster_mean
from .contrasts import benjamini_hochberg, holm, paired_differences
from .grading import grading_summary, read_runs
from .ratio import fieller_interval

__all__ = ["analyse", "resolve_spec", "cluster_mean", "score_mean", "confirm", "ClusterEstimate",
           "paired_differences", "holm", "benjamini_hochberg", "fieller_interval", "grading_summary", "read_runs"]
