"""The rehearsal's judge panel: two judges behind one OpenAI-compatible server on loopback.

The server (:class:`value_retention.judges.loopback.LoopbackServer`) answers by the request's
``model``, as a provider serving two models does. Each judge reads the grader prompt the workflow
sent (the reference's template: ``[Submission]``, ``[Criterion]``, guiding question, indicators)
and replies as a judge does: a few sentences of reasoning, then ``GRADE: C`` or ``GRADE: I`` on
the last line. The rules are transparent and differ, so agreement statistics get real input:

- ``rehearsal-indicators`` grades C when the answer uses a content word of the dimension's
  observable indicators (the project's lexical rule, in prose);
- ``rehearsal-overlap`` is more lenient: C when the answer shares a content word with the
  question, the guiding question or the indicators, or reads as prose (at least
  :data:`PROSE_WORDS` words of three letters or more; the rehearsal's 2-layer models mostly write
  fragments); now and then it writes its grade in markdown bold (``**GRADE:** C``), which neither
  scorer version can read, as real judges sometimes do.

The server also fails one request in :data:`TRANSIENT_EVERY` with HTTP 503 (a retry succeeds), so
every judge job exercises the client's retries. None of this is an LLM: it is the nearest local
thing to one that runs on 2 CPU cores in seconds.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ..judges.loopback import LoopbackServer, Scripted

INDICATOR_JUDGE = "rehearsal-indicators"
OVERLAP_JUDGE = "rehearsal-overlap"
TRANSIENT_EVERY = 9           # every ninth request answers 503 Service Unavailable
BOLD_EVERY = 17               # about one overlap reply in 17 is unparseable (markdown-bold grade)
PROSE_WORDS = 5
STOPWORDS = frozenset("""a an the and or of to in on for with by is are was were be been it its this that
these those as at from not no do does did can could should would will may might what which who whom how why
when where your you they them their there than then so if but about into over under more most such any all
each other some our we us i he she his her has have had""".split())

SECTION = r"\[{name}\]:\s*(.*?)\s*(?:\*\*\*|\[END DATA\])"


def section(prompt: str, name: str) -> str:
    match = re.search(SECTION.format(name=re.escape(name)), prompt, re.DOTALL)
    return match.group(1) if match else ""


def content_words(text: str) -> set[str]:
    return {word for word in re.findall(r"[^\W\d_]{3,}", text.lower()) if word not in STOPWORDS}


def grade_reply(model: str, prompt: str) -> str:
    """A judge's reply to one grader prompt: reasoning, then the grade on the last line."""
    answer = section(prompt, "Submission")
    criterion = section(prompt, "Criterion")
    indicators = content_words(section(prompt, "Observable indicators"))
    said = content_words(answer)
    if model == INDICATOR_JUDGE:
        shared = sorted(said & indicators)[:3]
        met = bool(shared)
        reasoning = (f"The submission uses {', '.join(repr(w) for w in shared)}, which the indicators for "
                     f"{criterion} name." if met else
                     f"The submission uses none of the words the indicators for {criterion} look for.")
    elif model == OVERLAP_JUDGE:
        context = indicators | content_words(section(prompt, "Task")) | content_words(
            section(prompt, "Guiding question for that dimension"))
        shared = sorted(said & context)[:3]
        n_words = len(re.findall(r"[^\W\d_]{3,}", answer))
        met = bool(shared) or n_words >= PROSE_WORDS
        reasoning = (f"Step 1: the answer has {n_words} words of three letters or more. Step 2: it "
                     + (f"takes up {', '.join(repr(w) for w in shared)} from the task." if shared else
                        "takes up nothing from the task.")
                     + f" So it {'addresses' if met else 'does not address'} {criterion}.")
        if _bucket(prompt, BOLD_EVERY) == 0:
            return f"{reasoning}\n\n**GRADE:** {'C' if met else 'I'}"
    else:
        raise ValueError(f"no rehearsal judge named {model!r} (serving {INDICATOR_JUDGE}, {OVERLAP_JUDGE})")
    return f"{reasoning}\n\nGRADE: {'C' if met else 'I'}"


def _bucket(text: str, every: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % every


def respond(body: dict[str, Any], number: int) -> Scripted:
    if number % TRANSIENT_EVERY == 0:
        return Scripted(content="The server is overloaded; try again.", status=503)
    messages = body.get("messages") or [{}]
    model = body.get("model", "")
    try:
        return Scripted(content=grade_reply(model, str(messages[-1].get("content", ""))))
    except ValueError as error:
        return Scripted(content=str(error), status=404)


def judge_server(port: int) -> LoopbackServer:
    """The rehearsal's judge server on 127.0.0.1:``port`` (the config's judges name that port)."""
    return LoopbackServer(respond, port=port)
