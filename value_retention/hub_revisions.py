"""Revisions on the Hugging Face Hub: a branch or tag resolved to the commit it names now.

Every download resolves its configured revision first and then downloads that commit, so the
files and the commit SHA recorded in provenance always agree, even if the branch moves between
two requests. ``value-retention pin`` (:mod:`value_retention.pinning`) writes those SHAs back into
a config, so a published run can be repeated exactly. The endpoint is huggingface_hub's
(``HF_ENDPOINT``; huggingface.co unless set, the local hub in the rehearsal world).
"""

from __future__ import annotations

import re
from typing import Any

COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")


def endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def resolve(repo_id: str, revision: str | None, repo_type: str = "model") -> str:
    """The commit SHA that ``revision`` (a branch, tag or SHA; None: main) of ``repo_id`` names.

    A token for a gated repository comes from HF_TOKEN in the environment, as for the download.
    """
    from huggingface_hub import HfApi

    info = HfApi().repo_info(repo_id, repo_type=repo_type, revision=revision)
    if not info.sha or not COMMIT_SHA.match(info.sha):
        raise RuntimeError(f"{endpoint()} gave no commit SHA for {repo_type} {repo_id}@{revision}")
    return info.sha


def record(repo_id: str, requested: str | None, commit: str) -> dict[str, Any]:
    """What provenance records of one downloaded repository."""
    return {"repo": repo_id, "revision": requested, "commit": commit, "endpoint": endpoint()}
