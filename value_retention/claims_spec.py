"""The shape of a declared claim (config ``analysis.claims``), checked without the statistics' imports.

A claim is a named entry under ``analysis.claims``::

    ahb_sft_domain:
      statement: "On AHB, coding SFT keeps more of the compassion values than helpfulness SFT"
      benchmark: ahb
      group: all                      # all | english | non_english
      test: difference                # difference | equivalence | transfer
      compare: [sft_magicoder, sft_dolly]
      direction: greater              # difference and transfer: greater | less
      margin: 5.0                     # equivalence only: the margin in points (percent scale)
      published: {condition: 65.2, minus: 35.7}   # the paper's numbers (optional)

- ``difference``: the paired difference ``compare[0] - compare[1]`` in the group is in
  ``direction`` (a two-sided test; its sign decides the verdict);
- ``equivalence``: that difference lies within +-``margin`` (two one-sided tests, TOST);
- ``transfer``: the gain ``compare[0] - compare[1]`` is larger (``greater``) on non-English than
  on English items: the difference of gains, with the ratio of gains beside it. Its ``group`` is
  ``all`` (it uses both groups).

``published`` may hold ``condition`` and ``minus`` (the two means, percent), ``difference``
(points) and ``ratio``. Names the config must declare (conditions, benchmarks) are checked by
:func:`value_retention.config.check_config`; this module checks everything else, so the library
(``stats.analyse``) and the workflow reject a malformed claim with the same message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConfigError
from .stats_json import GROUPS

TESTS = ("difference", "equivalence", "transfer")
DIRECTIONS = ("greater", "less")
PUBLISHED_KEYS = ("condition", "minus", "difference", "ratio")
CLAIM_KEYS = ("statement", "benchmark", "group", "test", "compare", "direction", "margin", "published")


def resolve_claims(claims: Mapping[str, Any] | None, source: str = "config") -> list[dict[str, Any]]:
    """Every claim with defaults filled in (``group: all``, ``published: {}``), in declaration order;
    ConfigError naming the key on a malformed one."""
    resolved = []
    for name, claim in (claims or {}).items():
        key = f"analysis.claims.{name}"
        if not isinstance(claim, Mapping):
            raise ConfigError("a claim is a mapping (statement, benchmark, test, compare, ...)", key=key,
                              source=source)
        unknown = sorted(set(claim) - set(CLAIM_KEYS))
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(unknown)} (expected {', '.join(CLAIM_KEYS)})", key=key,
                              source=source)
        for required in ("benchmark", "test", "compare"):
            if required not in claim:
                raise ConfigError(f"missing '{required}'", key=key, source=source)
        test = claim["test"]
        if test not in TESTS:
            raise ConfigError(f"unknown test '{test}' (expected {', '.join(TESTS)})", key=f"{key}.test", source=source)
        compare = list(claim["compare"])
        if len(compare) != 2 or compare[0] == compare[1]:
            raise ConfigError("compare is [condition, minus]: two different conditions", key=f"{key}.compare",
                              source=source)
        group = claim.get("group", "all")
        if group not in GROUPS:
            raise ConfigError(f"unknown language group '{group}' (expected {', '.join(GROUPS)})", key=f"{key}.group",
                              source=source)
        if test == "transfer" and group != "all":
            raise ConfigError("a transfer claim compares the English and non-English gains: its group is 'all'",
                              key=f"{key}.group", source=source)
        direction, margin = claim.get("direction"), claim.get("margin")
        if test == "equivalence":
            if margin is None or not float(margin) > 0:
                raise ConfigError("an equivalence claim needs a positive margin (points)", key=f"{key}.margin",
                                  source=source)
            if direction is not None:
                raise ConfigError("an equivalence claim has a margin, not a direction", key=f"{key}.direction",
                                  source=source)
        else:
            if direction not in DIRECTIONS:
                raise ConfigError(f"direction must be one of {', '.join(DIRECTIONS)}", key=f"{key}.direction",
                                  source=source)
            if margin is not None:
                raise ConfigError(f"only an equivalence claim has a margin (this one is a {test})",
                                  key=f"{key}.margin", source=source)
        published = dict(claim.get("published") or {})
        for field, value in published.items():
            if field not in PUBLISHED_KEYS:
                raise ConfigError(f"unknown published number '{field}' (expected {', '.join(PUBLISHED_KEYS)})",
                                  key=f"{key}.published", source=source)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ConfigError(f"'{field}' must be a number", key=f"{key}.published.{field}", source=source)
        resolved.append({"name": str(name), "statement": str(claim.get("statement", "")),
                         "benchmark": str(claim["benchmark"]), "group": group, "test": test,
                         "condition": str(compare[0]), "minus": str(compare[1]),
                         "direction": direction, "margin": None if margin is None else float(margin),
                         "published": published})
    return resolved
