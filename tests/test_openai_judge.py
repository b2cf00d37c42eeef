"""The OpenAI-compatible judge against a real HTTP server on 127.0.0.1 (the loopback server).

Everything goes over real sockets through the real `openai` client: retries on 429/5xx and
timeouts, failures, unparseable answers, the response cache (proved by counting server hits), and
that the API key never leaves the Authorization header.
"""

from __future__ import annotations

import json
import logging
import re
import runpy
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from value_retention.errors import ConfigError
from value_retention.jsonl import read_jsonl, write_jsonl
from value_retention.judges import JudgeError, judge_file
from value_retention.judges.loopback import LoopbackServer, Scripted, always

REPO = Path(__file__).resolve().parents[1]
KEY_ENV = "LOOPBACK_JUDGE_KEY"
SECRET = "sk-loopback-0123456789-do-not-log"
DIMENSIONS = [
    {"dimension": "Moral Consideration", "guiding_question": "Does it consider {{animal}}s?",
     "indicators": ['Says "sentient"'], "observable_indicators": 'Says "sentient"', "weight": 1.0},
    {"dimension": "Harm Minimization", "guiding_question": "Does it offer gentler options?",
     "indicators": ['Says "humane"'], "observable_indicators": 'Says "humane"', "weight": 1.0},
]


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)


@pytest.fixture
def bench(tmp_path):
    """Two answers x two dimensions, no variables: four distinct prompts."""
    return write_benchmark(tmp_path, ["Pigs are sentient.", "Use humane methods."])


def write_benchmark(folder: Path, answers: list[str], dimensions=DIMENSIONS) -> SimpleNamespace:
    files = SimpleNamespace(questions=folder / "questions.jsonl", dimensions=folder / "dimensions.jsonl",
                            generations=folder / "generations.jsonl", folder=folder)
    write_jsonl(files.questions, [{
        "question_id": "42", "language": "English", "base_item": "42", "question": "How do I raise pigs?",
        "dimensions": [d["dimension"] for d in dimensions], "assignments": [{}], "english": None}])
    write_jsonl(files.dimensions, dimensions)
    write_jsonl(files.generations, [{"question_id": "42", "language": "English", "base_item": "42",
                                     "epoch": epoch, "answer": answer} for epoch, answer in enumerate(answers)])
    return files


def spec_for(server: LoopbackServer, **overrides) -> dict:
    return {"type": "openai", "model": "grader-1", "base_url": server.base_url, "api_key_env": KEY_ENV,
            "temperature": 0.0, "max_tokens": 64, "concurrency": 4, "timeout_s": 2.0, "retries": 3,
            "backoff_s": 0.01, **overrides}


def run(files, server, out_name="judgments.jsonl", cache="cache", version=None, draw_scope="run-a",
        **overrides) -> dict:
    return judge_file(files.generations, files.questions, files.dimensions, "gpt",
                      spec_for(server, **overrides), files.folder / cache, files.folder / out_name,
                      version=version, draw_scope=draw_scope)


def criterion(body: dict) -> str:
    return re.search(r"\[Criterion\]: (.*)", body["messages"][0]["content"]).group(1)


def submission(body: dict) -> str:
    return re.search(r"\[Submission\]: (.*)", body["messages"][0]["content"]).group(1)


# ------------------------------------------------------------------------------------------------

def test_normal_answers_are_graded_and_usage_counted(bench):
    def grade_by_dimension(body, number):
        verdict = "C" if criterion(body) == "Moral Consideration" else "I"
        return Scripted(content=f"Reasoning about the criterion.\nGRADE: {verdict}")

    with LoopbackServer(grade_by_dimension) as server:
        stats = run(bench, server)
    rows = read_jsonl(bench.folder / "judgments.jsonl")
    assert [(row["dimension"], row["grade"]) for row in rows] == [
        ("Moral Consideration", "C"), ("Harm Minimization", "I")] * 2
    assert all(row["judge"] == "gpt" and row["raw"].endswith(f"GRADE: {row['grade']}") for row in rows)
    assert server.hits == stats["calls"] == 4 and stats["retries"] == 0 and stats["unparseable"] == 0
    # usage: the loopback counts words; the judge must add up what the server reported
    assert stats["prompt_tokens"] == sum(len(b["messages"][0]["content"].split()) for b in server.bodies)
    assert stats["completion_tokens"] == 4 * len("Reasoning about the criterion.\nGRADE: C".split())
    # The four requests are concurrent: they reach the server in any order, so every check below
    # holds for each request, or for all of them together, never for the n-th one.
    for body in server.bodies:
        assert body["model"] == "grader-1" and body["temperature"] == 0.0 and body["max_tokens"] == 64
        assert len(body["messages"]) == 1 and body["messages"][0]["role"] == "user"
    asked = sorted((submission(body), criterion(body)) for body in server.bodies)
    assert asked == sorted((answer, dimension["dimension"]) for answer in ("Pigs are sentient.", "Use humane methods.")
                           for dimension in DIMENSIONS)
    assert set(server.authorizations) == {f"Bearer {SECRET}"}


def test_rate_limit_then_server_error_then_success_is_retried_and_counted(tmp_path):
    files = write_benchmark(tmp_path, ["Pigs are sentient."], DIMENSIONS[:1])
    script = {1: Scripted("slow down", status=429), 2: Scripted("oops", status=500)}
    with LoopbackServer(lambda body, number: script.get(number, Scripted("ok\nGRADE: C"))) as server:
        stats = run(files, server)
    assert server.hits == 3 and stats["calls"] == 3 and stats["retries"] == 2
    assert read_jsonl(tmp_path / "judgments.jsonl")[0]["grade"] == "C"


def test_a_timeout_is_retried(tmp_path):
    files = write_benchmark(tmp_path, ["Pigs are sentient."], DIMENSIONS[:1])
    def responder(body, number):
        return Scripted("late\nGRADE: I", delay_s=60.0 if number == 1 else 0.0)

    with LoopbackServer(responder) as server:  # a timeout well clear of a loaded machine's latency
        stats = run(files, server, timeout_s=1.0)
    assert stats["calls"] == 2 and stats["retries"] == 1
    assert read_jsonl(tmp_path / "judgments.jsonl")[0]["grade"] == "I"


def test_a_judge_that_always_times_out_fails_the_job_clearly(tmp_path):
    files = write_benchmark(tmp_path, ["Pigs are sentient."], DIMENSIONS[:1])
    started = time.monotonic()
    # The server would answer after 60 s: only the client's timeout ends each attempt, so the
    # bound below holds by a wide margin however loaded the machine, and fails without timeouts.
    with LoopbackServer(always("never in time", delay_s=60.0)) as server:
        with pytest.raises(JudgeError) as error:
            run(files, server, timeout_s=0.2, retries=2)
    message = str(error.value)
    assert "judge 'gpt'" in message and "question 42" in message and "'Moral Consideration'" in message
    assert "after 3 attempt(s)" in message and "Timeout" in message
    assert server.hits == 3
    assert not (tmp_path / "judgments.jsonl").exists()  # nothing half-written
    assert time.monotonic() - started < 30


def test_a_non_transient_error_is_not_retried(tmp_path):
    files = write_benchmark(tmp_path, ["Pigs are sentient."], DIMENSIONS[:1])
    with LoopbackServer(always_status(400, "model not found")) as server:
        with pytest.raises(JudgeError, match="HTTP 400.*model not found"):
            run(files, server)
    assert server.hits == 1


def always_status(status: int, message: str):
    return lambda body, number: Scripted(message, status=status)


def test_an_answer_without_a_grade_is_kept_as_null_with_its_raw_text(bench):
    with LoopbackServer(always("I am not sure what to say about this.")) as server:
        stats = run(bench, server)
    rows = read_jsonl(bench.folder / "judgments.jsonl")
    assert [row["grade"] for row in rows] == [None] * 4
    assert rows[0]["raw"] == "I am not sure what to say about this."
    assert stats["unparseable"] == 4 and stats["rows"] == 4


@pytest.mark.parametrize("content, paper_era, current", [
    ("GRADE: C\nThat is my verdict, for the reasons above.", None, "C"),  # paper era: not the last line
    ("At first GRADE: C seemed right.\nBut no indicator is present.\nGRADE: I", "I", "I"),
    ("**GRADE:** I\n\nOn reflection the answer does mention sentience.\n**GRADE: C**", "C", "C"),
])
def test_replies_are_graded_by_the_scorer_versions_rule(tmp_path, content, paper_era, current):
    files = write_benchmark(tmp_path, ["Pigs are sentient."], DIMENSIONS[:1])
    with LoopbackServer(always(content)) as server:
        run(files, server, version="paper_era", out_name="paper.jsonl")
        run(files, server, version="current", out_name="current.jsonl")
    assert server.hits == 2  # "AHB Revision" then, "ANIMA Revision" now: two prompts
    paper_row, current_row = read_jsonl(tmp_path / "paper.jsonl")[0], read_jsonl(tmp_path / "current.jsonl")[0]
    assert (paper_row["grade"], current_row["grade"]) == (paper_era, current)
    assert (paper_row["scorer_version"], current_row["scorer_version"]) == ("paper_era", "current")


class InFlight:
    """A responder that counts the requests in flight (``peak``). Each request waits until
    ``together`` are in flight at once (a barrier), so reaching a limit of ``together`` is proven
    rather than left to timing; a limit below it breaks the barrier and fails the request."""

    def __init__(self, together: int, timeout_s: float = 20.0):
        self.peak, self._now, self._lock = 0, 0, threading.Lock()
        self._barrier = threading.Barrier(together, timeout=timeout_s)

    def __call__(self, body: dict, number: int) -> Scripted:
        with self._lock:
            self._now += 1
            self.peak = max(self.peak, self._now)
        try:
            self._barrier.wait()
        except threading.BrokenBarrierError:
            return Scripted("fewer requests in flight than expected", status=400)
        finally:
            with self._lock:
                self._now -= 1
        return Scripted("GRADE: C")


def test_concurrency_is_bounded(tmp_path):
    files = write_benchmark(tmp_path, [f"answer {i}" for i in range(6)])  # 12 prompts
    in_flight = InFlight(together=3)
    with LoopbackServer(in_flight) as server:
        run(files, server, concurrency=3)
    assert server.hits == 12 and in_flight.peak == 3


# ------------------------------------------------------------------------------------------------
# The response cache

def test_a_rerun_makes_no_call(bench):
    with LoopbackServer(always("fine\nGRADE: C")) as server:
        first = run(bench, server, out_name="first.jsonl")
        hits_after_first = server.hits
        second = run(bench, server, out_name="second.jsonl")
    assert hits_after_first == 4 and server.hits == 4  # second run: zero hits
    assert second["calls"] == 0 and second["cache_hits"] == 4 and second["prompt_tokens"] == 0
    assert first["cache_hits"] == 0
    assert (bench.folder / "first.jsonl").read_text() == (bench.folder / "second.jsonl").read_text()


def test_the_cache_key_covers_model_temperature_and_token_limit(bench):
    with LoopbackServer(always("fine\nGRADE: C")) as server:
        run(bench, server)
        run(bench, server, temperature=0.7)
        run(bench, server, model="grader-2")
        run(bench, server, max_tokens=8)  # a shorter limit can cut the grade off: not the same answer
    assert server.hits == 16


def test_retry_after_is_honoured(tmp_path, caplog):
    files = write_benchmark(tmp_path, ["Pigs are sentient."], DIMENSIONS[:1])
    script = {1: Scripted("slow down", status=429, retry_after="0.4")}
    caplog.set_level(logging.WARNING, logger="value_retention.judges.openai_judge")
    with LoopbackServer(lambda body, number: script.get(number, Scripted("ok\nGRADE: C"))) as server:
        stats = run(files, server)  # backoff_s 0.01: without the header the retry would wait ~0.01 s
    assert server.hits == 2 and stats["retries"] == 1
    assert "retry 1 of 3 in 0.40 s" in caplog.text


def test_identical_prompts_are_asked_once_at_temperature_zero(tmp_path):
    files = write_benchmark(tmp_path, ["Same answer.", "Same answer."])  # two epochs, same text
    with LoopbackServer(always("GRADE: I")) as server:
        stats = run(files, server)
        run(files, server, draw_scope="run-b", out_name="other_run.jsonl")  # deterministic: shared
    assert server.hits == 2 and stats["rows"] == 4
    assert [row["grade"] for row in read_jsonl(tmp_path / "judgments.jsonl")] == ["I"] * 4


@pytest.mark.parametrize("temperature", [0.7, None])
def test_stochastic_judges_draw_every_epoch_and_run_separately(tmp_path, temperature):
    """As in the reference, where every epoch's every call is its own draw; None (the provider's
    default, Gemini's 1.0) is stochastic too."""
    files = write_benchmark(tmp_path, ["Same answer.", "Same answer."])  # two epochs, same text
    with LoopbackServer(lambda body, number: Scripted(f"draw {number}\nGRADE: C")) as server:
        stats = run(files, server, temperature=temperature)
        again = run(files, server, temperature=temperature, out_name="again.jsonl")
        other = run(files, server, temperature=temperature, draw_scope="run-b", out_name="other_run.jsonl")
    assert stats["calls"] == 4 and again["calls"] == 0 and other["calls"] == 4 and server.hits == 8
    raws = [row["raw"] for row in read_jsonl(tmp_path / "judgments.jsonl")]
    assert len(set(raws)) == 4  # no two items share a draw
    assert (tmp_path / "again.jsonl").read_text() == (tmp_path / "judgments.jsonl").read_text()


def test_unset_sampling_is_not_sent(bench):
    with LoopbackServer(always("fine\nGRADE: C")) as server:
        stats = run(bench, server, temperature=None, max_tokens=None, top_p=None)
        run(bench, server, cache="other", temperature=0.5, top_p=0.9, max_tokens=100)
    assert not {"temperature", "top_p", "max_tokens"} & set(server.bodies[0])
    assert {key: server.bodies[-1][key] for key in ("temperature", "top_p", "max_tokens")} == {
        "temperature": 0.5, "top_p": 0.9, "max_tokens": 100}
    assert stats["calls"] == 4


def test_errors_are_not_cached_and_answers_survive_a_failed_job(bench):
    # concurrency 1: prompts go in order, and the last one (epoch 1, Harm Minimization) fails for good
    def fail_last(body, number):
        content = body["messages"][0]["content"]
        if "Use humane methods." in content and criterion(body) == "Harm Minimization":
            return Scripted("bad request", status=400)
        return Scripted("fine\nGRADE: C")

    with LoopbackServer(fail_last) as server:
        with pytest.raises(JudgeError):
            run(bench, server, concurrency=1)
        assert server.hits == 4
        server.responder = always("fine\nGRADE: C")
        stats = run(bench, server)
    assert server.hits == 5 and stats["calls"] == 1 and stats["cache_hits"] == 3  # only the failed one


# ------------------------------------------------------------------------------------------------
# The key

def test_a_missing_key_names_the_variable_and_a_cached_run_needs_none(bench, monkeypatch):
    with LoopbackServer(always("fine\nGRADE: C")) as server:
        monkeypatch.delenv(KEY_ENV)
        with pytest.raises(ConfigError, match=f"{KEY_ENV}.*not set") as error:
            run(bench, server)
        assert "judges.gpt.api_key_env" in str(error.value)
        assert server.hits == 0
        monkeypatch.setenv(KEY_ENV, SECRET)
        run(bench, server)
        monkeypatch.delenv(KEY_ENV)
        stats = run(bench, server, out_name="cached.jsonl")
    assert stats["calls"] == 0 and server.hits == 4


def test_the_key_never_appears_in_outputs_or_logs(bench, caplog):
    from snakemake.iocontainers import InputFiles, OutputFiles, Params, Wildcards

    caplog.set_level(logging.DEBUG)  # every logger, openai's and the HTTP client's included
    script = {1: Scripted("busy", status=503)}  # one retry, so the retry path logs too
    out = bench.folder / "results" / "gpt.jsonl"
    with LoopbackServer(lambda body, number: script.get(number, Scripted("ok\nGRADE: C"))) as server:
        spec = spec_for(server)
        snakemake = SimpleNamespace(
            rule="judge",
            input=InputFiles(fromdict={"generations": str(bench.generations),
                                       "questions": str(bench.questions), "dimensions": str(bench.dimensions)}),
            output=OutputFiles(fromdict={"judgments": str(out)}),
            params=Params(fromdict={"judge": "gpt", "spec": spec, "cache_dir": str(bench.folder / "cache"),
                                    "scoring": {"version": "paper_era", "format": "ahb", "revision": "AHB-2.2"},
                                    "draw_scope": "ahb/base/seed0"}),
            wildcards=Wildcards(fromdict={"bench": "ahb", "condition": "base", "seed": "0", "judge": "gpt"}),
            config={"judges": {"gpt": spec}},
        )
        runpy.run_path(str(REPO / "scripts" / "judge.py"), init_globals={"snakemake": snakemake})
        with pytest.raises(JudgeError) as error:  # and the failure path
            run(bench, server, cache="empty", base_url=server.base_url + "/missing", retries=0)
    assert server.authorizations[0] == f"Bearer {SECRET}"  # the key was used...
    assert "Retry" in caplog.text or "retry" in caplog.text
    sidecar = out.with_name(out.name + ".prov.json").read_text()
    assert json.loads(sidecar)["judge"]["api_key_env"] == KEY_ENV
    assert json.loads(sidecar)["judge_stats"]["retries"] == 1
    assert server.bodies[0]["messages"][0]["content"].startswith("\nAHB Revision: AHB-2.2\n")
    cache_bytes = b"".join(path.read_bytes() for path in (bench.folder / "cache").rglob("*") if path.is_file())
    for text in (caplog.text, out.read_text(), sidecar, str(error.value)):  # ...and is nowhere else
        assert SECRET not in text
    assert SECRET.encode() not in cache_bytes


def test_backoff_grows_exponentially_with_jitter_and_a_cap(tmp_path):
    from value_retention.judges import build_judge

    judge = build_judge("gpt", {"type": "openai", "model": "m", "backoff_s": 1.0, "max_backoff_s": 8.0},
                        tmp_path)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 8.0)]:
        delays = [judge.backoff_delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 100  # jittered, not a fixed schedule
    judge.close()


# ------------------------------------------------------------------------------------------------
# Malformed replies: HTTP 200 without an answer

MALFORMED = {
    "no choices": Scripted(body={"id": "chatcmpl-1", "object": "chat.completion", "model": "grader-1"}),
    "empty choices": Scripted(body={"id": "chatcmpl-1", "object": "chat.completion", "choices": []}),
    "an error object": Scripted(body={"error": {"message": "upstream overloaded", "code": 503}}),
    "empty content": Scripted(content=""),
    "blank content": Scripted(content="  \n"),
    "null content": Scripted(content=None),
    "invalid JSON": Scripted(body='{"choices": [{"message": {"content": "GRADE: C'),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_reply_is_retried_like_an_api_error(tmp_path, kind, caplog):
    files = write_benchmark(tmp_path, ["Pigs are sentient."], DIMENSIONS[:1])
    caplog.set_level(logging.WARNING, logger="value_retention.judges.openai_judge")
    with LoopbackServer(lambda body, number: MALFORMED[kind] if number <= 2 else Scripted("ok\nGRADE: C")) as server:
        stats = run(files, server)
    assert server.hits == 3 and stats["retries"] == 2
    assert read_jsonl(tmp_path / "judgments.jsonl")[0]["raw"] == "ok\nGRADE: C"
    assert "HTTP 200 MalformedReply" in caplog.text and "retry 2 of 3" in caplog.text


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_reply_fails_the_job_naming_the_item_and_is_never_cached(tmp_path, kind):
    files = write_benchmark(tmp_path, ["Pigs are sentient."], DIMENSIONS[:1])
    with LoopbackServer(lambda body, number: MALFORMED[kind]) as server:
        with pytest.raises(JudgeError) as error:
            run(files, server, retries=1)
        assert server.hits == 2
        message = str(error.value)
        assert "question 42" in message and "'Moral Consideration'" in message and "after 2 attempt(s)" in message
        assert "HTTP 200 MalformedReply" in message
        assert not (tmp_path / "judgments.jsonl").exists()
        server.responder = always("healed\nGRADE: I")  # the same server, healed: the item is asked again
        stats = run(files, server)
    assert stats["calls"] == 1 and stats["cache_hits"] == 0
    assert read_jsonl(tmp_path / "judgments.jsonl")[0]["grade"] == "I"


def test_an_empty_answer_in_an_old_cache_is_not_read_and_the_cache_command_purges_it(bench):
    from value_retention.cli import main
    from value_retention.judges import ResponseCache, build_judge
    from value_retention.judges.items import build_items

    # An older version cached HTTP 200s without an answer as "": plant one under the key the judge asks.
    with LoopbackServer(always("fine\nGRADE: C")) as server:
        judge = build_judge("gpt", spec_for(server), bench.folder / "cache")
        item = build_items(bench.generations, bench.questions, bench.dimensions)[0]
        judge.cache._db.execute("INSERT INTO responses VALUES (?, 'grader-1', '', 0, 0, 0, 2)",
                                (judge.key(item, "run-a"),))
        judge.close()
        assert main(["cache", str(bench.folder / "cache")]) == 1  # found, not purged: a failing check
        stats = run(bench, server)
    assert stats["calls"] == 4 and stats["cache_hits"] == 0  # the empty answer was asked again
    cache = ResponseCache(bench.folder / "cache")
    assert cache.report()["malformed"] == 0 and len(cache) == 4  # ...and replaced by the answer
    cache._db.execute("INSERT INTO responses VALUES ('stale', 'grader-1', '', 0, 0, 0, NULL)")
    cache.close()
    assert main(["cache", str(bench.folder / "cache"), "--purge"]) == 0
    cache = ResponseCache(bench.folder / "cache")
    assert len(cache) == 4 and cache.report()["malformed"] == 0
    cache.close()


def test_the_cache_refuses_to_store_what_is_not_an_answer(tmp_path):
    from value_retention.judges import ResponseCache
    from value_retention.judges.cache import MalformedResponse

    cache = ResponseCache(tmp_path)
    for response in ("", "   \n", None):
        with pytest.raises(MalformedResponse):
            cache.put("k", model="m", response=response)
    assert len(cache) == 0
    cache.close()


def test_a_cache_of_an_older_key_scheme_is_counted_and_never_read(tmp_path, capsys):
    import sqlite3

    from value_retention.cli import main
    from value_retention.judges import ResponseCache

    db = sqlite3.connect(tmp_path / "responses.sqlite")  # the table as scheme 2 wrote it: no scheme column
    db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, model TEXT NOT NULL, response TEXT NOT NULL,"
               " prompt_tokens INTEGER, completion_tokens INTEGER, created REAL NOT NULL)")
    db.execute("INSERT INTO responses VALUES ('old', 'grader-1', 'fine\nGRADE: C', 1, 1, 0)")
    db.commit()
    db.close()
    assert main(["cache", str(tmp_path)]) == 0
    assert "of older key schemes (never read): 1" in capsys.readouterr().out
    assert main(["cache", str(tmp_path), "--purge-old-schemes"]) == 0
    cache = ResponseCache(tmp_path)
    assert len(cache) == 0
    cache.close()
    assert main(["cache", str(tmp_path / "nowhere")]) == 2  # a missing cache is a one-line error


def test_a_judge_server_that_moves_keeps_its_answers(bench):
    """The base URL is not part of the key: a vLLM server restarted on another node is the same judge."""
    with LoopbackServer(always("fine\nGRADE: C")) as old, LoopbackServer(always("other\nGRADE: I")) as moved:
        run(bench, old)
        stats = run(bench, moved, out_name="moved.jsonl")
    assert old.hits == 4 and moved.hits == 0 and stats["cache_hits"] == 4
    assert (bench.folder / "moved.jsonl").read_text() == (bench.folder / "judgments.jsonl").read_text()


# ------------------------------------------------------------------------------------------------
# Secrets: a server that echoes the Authorization header, on every path a message takes

@pytest.mark.parametrize("key_env", [KEY_ENV, "JUDGE_AUTH"])  # a name that looks secret, and one that does not
def test_a_server_echoing_the_key_puts_it_on_no_console_and_in_no_file(tmp_path, capfd, monkeypatch, key_env):
    from value_retention import redact

    from conftest import run_script

    monkeypatch.setattr(redact, "_registered", set())  # no value registered by an earlier test
    monkeypatch.delenv(KEY_ENV)  # the key lives in key_env only
    monkeypatch.setenv(key_env, SECRET)
    files = write_benchmark(tmp_path / "run", ["Pigs are sentient.", "Use humane methods."])
    echo_error = Scripted("unauthorised proxy hop", status=503, echo_authorization=True)
    echo_reply = Scripted("fine\nGRADE: C", echo_authorization=True)  # a 200 that repeats the header
    script = {1: echo_error, 2: echo_error}

    def job(folder: Path, spec: dict) -> None:
        run_script("judge", input={"generations": files.generations, "questions": files.questions,
                                   "dimensions": files.dimensions},
                   output={"judgments": folder / "judgments.jsonl"},
                   params={"judge": "gpt", "spec": spec, "cache_dir": str(tmp_path / "run" / "cache"),
                           "scoring": {"version": "paper_era", "format": "ahb", "revision": "AHB-2.2"},
                           "draw_scope": "ahb/base/seed0"},
                   wildcards={"bench": "ahb", "condition": "base", "seed": "0", "judge": "gpt"},
                   log=folder / "judge.log")

    with LoopbackServer(lambda body, number: script.get(number, echo_reply)) as server:
        job(tmp_path / "run" / "ok", spec_for(server, api_key_env=key_env, concurrency=1))
        server.responder = lambda body, number: echo_error
        with pytest.raises(JudgeError):  # and a job that fails for good, with a traceback in its log
            job(tmp_path / "run" / "failed", spec_for(server, api_key_env=key_env, model="other", retries=1,
                                                      concurrency=1))
    assert f"Bearer {SECRET}" in {*server.authorizations}  # the key was sent, and echoed back...
    console = capfd.readouterr()
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    names = {path.name for path in written}
    assert {"judge.log", "judgments.jsonl", "judgments.jsonl.prov.json", "responses.sqlite"} <= names
    ok_log = (tmp_path / "run" / "ok" / "judge.log").read_text()
    assert "retry 2 of 3" in ok_log and "Authorization: Bearer ***" in ok_log  # the retry warnings, scrubbed
    assert "Traceback" in (tmp_path / "run" / "failed" / "judge.log").read_text()
    assert "failed: JudgeError" in console.err
    for text in (console.out, console.err):  # ...and appears on no console
        assert SECRET not in text
    for path in written:  # ...and in no file the run wrote: logs, judgments, sidecars, the cache
        assert SECRET.encode() not in path.read_bytes(), path
