"""Statistics for one benchmark's tidy scores (docs/design.md, "Statistics").

``analyse(scores, spec, benchmark)`` returns the statistics JSON of docs/contracts.md; the modules
hold one layer each:

- :mod:`.tidy`: averaging the checked tidy scores within question (epochs, then seeds);
- :mod:`.cluster`: means with cluster-robust t inference, and the cluster bootstrap;
- :mod:`.contrasts`: condition means, paired contrasts (Holm), the per-dimension table (BH);
- :mod:`.mixed`: the condition x language mixed model and its likelihood-ratio test;
- :mod:`.ratio`: the transfer ratio with Fieller and bootstrap intervals;
- :mod:`.agreement`: Krippendorff's alpha between judges and per-contrast sign agreement;
- :mod:`.grading`: the scorer version and unparseable grades per condition and judge.
"""

from .analysis import analyse, resolve_spec
from .cluster import ClusterEstimate, cluster_mean
from .contrasts import benjamini_hochberg, holm, paired_differences
from .grading import grading_summary, read_runs
from .ratio import fieller_interval

__all__ = ["analyse", "resolve_spec", "cluster_mean", "ClusterEstimate", "paired_differences", "holm",
           "benjamini_hochberg", "fieller_interval", "grading_summary", "read_runs"]
