"""Reward functions for GRPO, built from a ``rewards`` config entry.

Every reward is a TRL-style callable ``reward(prompts, completions, **kwargs) -> list[float]``:
TRL passes the batch's prompts and completions (conversational message lists, or plain strings)
and every other dataset column as a keyword list (``tests``, ``reference``). A reward's
``required_columns`` names the columns every row must carry; training checks them up front.

Types (``type:`` in the config):

- ``code``: a graded score in [0, 1] for coding prompts, which in Magicoder carry a reference
  solution but no tests. The answer's code (its first ```python block, else its first block) is
  run against *checks*: the row's ``tests``, one per statement, where it has them; otherwise
  calls of the reference solution's functions on the inputs its own examples use and on
  perturbations of them, which must return what the reference returns. The score is
  ``(1 - similarity_weight) x the share of checks passed + similarity_weight x the similarity
  of the answer to the reference`` (difflib, code block to code block). A row whose reference is
  not Python, or shows no call to derive checks from, is scored by that similarity alone, so a
  correct answer in another language is not scored 0; a row with neither tests nor a reference
  (the reward crossed onto other prompts) scores 1.0 for a non-empty block that parses where it
  is Python, else 0.0.
- ``lexical_helpfulness``: the tiny world's transparent proxy, NOT a learned reward model.
- ``reward_model``: a sequence-classification reward model (paper world): a ``models`` entry, which
  the download_model rule fetches and the train rule reads from its local directory.
- ``reference_similarity``: similarity of the completion to the row's ``reference``.

Running model-written code (and the dataset's reference solutions): :class:`Sandbox` runs it in a
child process in an empty temporary directory, in isolated mode, with stdin closed, a minimal
environment (no API keys), CPU-time, memory and file-size limits, a per-check alarm and a
wall-clock timeout that kills the whole process group. That contains accidents, not an
adversary; on a shared cluster run GRPO with the code reward inside a container without network.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import logging
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from . import schema

log = logging.getLogger(__name__)

# The code reward's options: their types, defaults and meanings are the config schema's.
CODE_OPTIONS = tuple(schema.definition("reward_code")["properties"])


def build_reward(spec: dict[str, Any], name: str | None = None):
    """The reward callable for a ``rewards`` entry (checked against the config schema, which gives
    its defaults); ``name`` only labels config errors."""
    spec = schema.resolved("reward", spec, key=f"rewards.{name}" if name else "reward")
    kind = spec["type"]
    if kind == "code":
        return CodeReward(**{key: spec[key] for key in CODE_OPTIONS})
    if kind == "lexical_helpfulness":
        return lexical_helpfulness
    if kind == "reference_similarity":
        return reference_similarity
    return RewardModel(spec["model"], revision=spec.get("revision"), batch_size=spec["batch_size"])


# --------------------------------------------------------------------------------------------
# Reading TRL's inputs

def completion_text(completion: Any) -> str:
    """The text of one completion: a plain string, or the contents of its assistant messages."""
    if isinstance(completion, str):
        return completion
    return "".join(message.get("content") or "" for message in completion
                   if message.get("role", "assistant") == "assistant")


def prompt_text(prompt: Any) -> str:
    """The text of one prompt: a plain string, or its last user message."""
    if isinstance(prompt, str):
        return prompt
    user_turns = [message.get("content") or "" for message in prompt if message.get("role") == "user"]
    return user_turns[-1] if user_turns else ""


FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


# --------------------------------------------------------------------------------------------
# Code

PYTHON_TAGS = ("python", "py", "python3")


@dataclass(frozen=True)
class CodeBlock:
    language: str   # the fence's tag, lower-cased ("" when it has none)
    code: str

    @property
    def is_python(self) -> bool:
        return self.language in PYTHON_TAGS or (not self.language and parses(self.code))


def code_block(text: str | None) -> CodeBlock | None:
    """The first ```python block, else the first fenced block of any kind, with its language.

    A block left open at the end of the text (a completion cut at its token limit) counts.
    """
    blocks = [CodeBlock(lang.lower(), body) for lang, body in FENCE.findall(text or "")]
    return next((block for block in blocks if block.language in PYTHON_TAGS), blocks[0] if blocks else None)


def first_code_block(text: str) -> str | None:
    """The code of :func:`code_block`, or None."""
    block = code_block(text)
    return block.code if block else None


class CodeReward:
    """A graded code reward in [0, 1]; the module docstring has the rule.

    ``similarity_weight``: the share of the reward that similarity to the reference carries where
    the answer can also be run against checks. ``generated_inputs``: how many inputs are derived
    from the reference solution's own example calls, beyond those calls.
    """

    __name__ = "code_reward"  # TRL names a reward's logged metrics after it
    required_columns: tuple[str, ...] = ()

    def __init__(self, timeout_s: float, memory_mb: int, generated_inputs: int, similarity_weight: float,
                 max_workers: int | None = None):
        self.sandbox = Sandbox(timeout_s=timeout_s, memory_bytes=int(memory_mb) << 20)
        self.generated_inputs = generated_inputs
        self.similarity_weight = similarity_weight
        self.max_workers = max_workers or os.cpu_count() or 1
        self._checks: dict[tuple[str | None, str | None], list[Check] | None] = {}

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], tests: Sequence[str | None] | None = None,
                 reference: Sequence[str | None] | None = None, **kwargs: Any) -> list[float]:
        n = len(completions)
        rows = list(zip(tests if tests is not None else [None] * n,
                        reference if reference is not None else [None] * n, strict=True))
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            new = [row for row in dict.fromkeys(rows) if row not in self._checks]
            # Each prompt's checks are derived, and run on its reference, once per training run.
            self._checks.update(zip(new, pool.map(lambda row: self.derive_checks(*row), new)))
            return list(pool.map(self.score, map(completion_text, completions), rows))

    def derive_checks(self, tests: str | None, reference: str | None) -> list[Check] | None:
        """What an answer is run against: the row's tests, else the reference solution's behaviour
        on inputs derived from its own examples; None where there is neither."""
        if tests and tests.strip():
            return checks_from_tests(tests)
        solution = code_block(reference)
        if solution is None or not solution.is_python or not parses(solution.code):
            return None
        calls = derived_calls(reference, solution.code, self.generated_inputs)
        if not calls:
            return None
        results = self.sandbox.run(solution.code, calls)
        # Inputs that the reference itself rejects say nothing about an answer.
        kept = [replace(call, expected=result.value) for call, result in zip(calls, results, strict=True)
                if result.ok]
        return kept or None

    def score(self, text: str, row: tuple[str | None, str | None]) -> float:
        tests, reference = row
        answer = code_block(text)
        checks = self._checks[row] if row in self._checks else self.derive_checks(tests, reference)
        similarity = reference_similarity_score(text, reference) if reference else None
        if checks is None:
            if similarity is not None:
                return round(similarity, 6)
            # Neither tests nor a reference (the code reward crossed onto other prompts): only the
            # form can be checked, and a block in another language cannot be parsed here.
            return 1.0 if answer and answer.code.strip() and (not answer.is_python or parses(answer.code)) else 0.0
        passed = 0.0
        if answer is not None and answer.is_python and parses(answer.code):
            results = self.sandbox.run(answer.code, checks)
            passed = sum(map(Check.passed_by, checks, results)) / len(checks)
        if similarity is None:
            return passed
        return round((1 - self.similarity_weight) * passed + self.similarity_weight * similarity, 6)


def parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: null bytes in the source
        return False
    return True


@dataclass(frozen=True)
class Check:
    """One thing run after an answer's code: a test statement (``source``), or a call of one of its
    functions (``args``: a tuple of literals, ``kwargs``: a dict, both as source text) whose
    result's repr should match the reference's (``expected``)."""
    source: str | None = None
    function: str | None = None
    args: str = "()"
    kwargs: str = "{}"
    expected: str | None = None

    def passed_by(self, result: RunResult) -> bool:
        return result.ok and (self.source is not None or same_value(self.expected, result.value))


def checks_from_tests(tests: str) -> list[Check]:
    """One check per top-level statement of the tests, so the score is the share that passes; the
    whole text as one check where it does not parse on its own."""
    try:
        statements = ast.parse(tests).body
    except (SyntaxError, ValueError):
        return [Check(source=tests)]
    return [Check(source=ast.unparse(statement)) for statement in statements] or [Check(source=tests)]


INLINE_CODE = re.compile(r"`([^`\n]+)`")


def derived_calls(reference: str, code: str, n_generated: int) -> list[Check]:
    """Calls of the reference solution's top-level functions, to compare an answer's on.

    The seeds are the calls with literal arguments that the reference shows: in its code
    (example usage, ``print(f(...))``, a ``__main__`` block) and as inline code in its prose.
    Up to ``n_generated`` more perturb those arguments (:func:`perturb`) with a generator seeded by
    the code, so a prompt always gets the same checks.
    """
    tree = ast.parse(code)
    defined = (ast.FunctionDef, ast.AsyncFunctionDef)
    functions = {node.name for node in tree.body if isinstance(node, defined)}
    if not functions:
        return []
    nodes = [node for statement in tree.body if not isinstance(statement, (*defined, ast.ClassDef))
             for node in ast.walk(statement)]
    for snippet in INLINE_CODE.findall(FENCE.sub("", reference)):
        try:
            nodes.extend(ast.walk(ast.parse(snippet.strip(), mode="eval")))
        except (SyntaxError, ValueError):
            continue
    calls: dict[tuple[str, str, str], Check] = {}
    for node in nodes:
        literal = literal_call(node, functions)
        if literal is not None:
            name, args, kwargs = literal
            calls.setdefault((name, repr(args), repr(kwargs)),
                             Check(function=name, args=repr(args), kwargs=repr(kwargs)))
    seeds = list(calls.values())
    rng = random.Random(hashlib.sha256(code.encode()).hexdigest())
    for attempt in range(4 * n_generated if seeds else 0):
        if len(calls) >= len(seeds) + n_generated:
            break
        seed = seeds[attempt % len(seeds)]
        args, kwargs = map(repr, perturb_arguments(ast.literal_eval(seed.args), ast.literal_eval(seed.kwargs), rng))
        calls.setdefault((seed.function, args, kwargs), Check(function=seed.function, args=args, kwargs=kwargs))
    return list(calls.values())


def literal_call(node: ast.AST, functions: set[str]) -> tuple[str, tuple, dict] | None:
    """(name, args, kwargs) of a call ``f(<literals>)`` to one of ``functions``, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions):
        return None
    if any(isinstance(arg, ast.Starred) for arg in node.args) or any(kw.arg is None for kw in node.keywords):
        return None
    try:
        args = tuple(ast.literal_eval(arg) for arg in node.args)
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return node.func.id, args, kwargs


def perturb(value: Any, rng: random.Random) -> Any:
    """A nearby value of the same type: the kind of input a function of this shape should handle.
    Numbers move across a range a few times their size (and to 0 or their negative); strings are
    shuffled, shortened or lengthened; lists and tuples change elements, length and order."""
    if isinstance(value, bool):
        return rng.random() < 0.5
    if isinstance(value, int):
        spread = max(5, 2 * abs(value))
        return rng.choice([value + rng.randint(-spread, spread), rng.randint(-spread, spread), -value, 0])
    if isinstance(value, float):
        spread = max(5.0, 2 * abs(value))
        return round(rng.choice([value + rng.uniform(-spread, spread), -value, 0.0]), 3)
    if isinstance(value, str):
        if not value:
            return rng.choice(["a", "ab", " "])
        chars = list(value)
        choice = rng.randrange(3)
        if choice == 0:
            rng.shuffle(chars)
        elif choice == 1 and len(chars) > 1:
            del chars[rng.randrange(len(chars))]
        else:
            position = rng.randrange(len(chars))
            chars.insert(position, chars[position])
        return "".join(chars)
    if isinstance(value, (list, tuple)):
        items = [perturb(item, rng) if rng.random() < 0.5 else item for item in value]
        if items and rng.random() < 0.3:
            del items[rng.randrange(len(items))]
        elif items and rng.random() < 0.3:
            items.append(perturb(rng.choice(items), rng))
        if rng.random() < 0.5:
            rng.shuffle(items)
        return type(value)(items)
    if isinstance(value, dict):
        return {key: perturb(item, rng) if rng.random() < 0.5 else item for key, item in value.items()}
    return value  # None, bytes, sets, complex: kept as they are


def perturb_arguments(args: tuple, kwargs: dict, rng: random.Random) -> tuple[tuple, dict]:
    """New arguments for a call: each argument perturbed (:func:`perturb`), the arity kept."""
    return (tuple(perturb(arg, rng) for arg in args),
            {key: perturb(value, rng) for key, value in kwargs.items()})


def same_value(expected: str | None, got: str | None) -> bool:
    """Whether two reprs denote the same value; floats within a relative 1e-6."""
    if expected == got:
        return True
    try:
        return _close(ast.literal_eval(expected), ast.literal_eval(got))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b and type(a) is type(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_close, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[key], b[key]) for key in a)
    return a == b


# ---- running model-written code

@dataclass(frozen=True)
class RunResult:
    ok: bool
    value: str | None = None   # a call's result, as its repr
    error: str | None = None   # the exception's type, "timeout", or "not run"


# Runs a solution, then each check, in a child process under CPU-time, address-space and file-size
# limits, set inside the child rather than through preexec_fn (unsafe with threads: torch's, the
# reward's pool). The solution's own output goes nowhere; one JSON line per check goes to a file,
# flushed as it goes, so a check that hangs costs only the checks after it.
HARNESS = """
import ast, json, os, resource, signal, sys
resource.setrlimit(resource.RLIMIT_CPU, ({cpu_s}, {cpu_s}))
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
resource.setrlimit(resource.RLIMIT_FSIZE, ({file_bytes}, {file_bytes}))
solution, checks, out = sys.argv[1:4]
checks = json.load(open(checks))
out = open(out, "w")
sys.stdout = sys.stderr = open(os.devnull, "w")
def timeout(*_):
    raise TimeoutError
signal.signal(signal.SIGALRM, timeout)
namespace = {{"__name__": "solution"}}
try:
    signal.setitimer(signal.ITIMER_REAL, {per_check_s})
    exec(compile(open(solution).read(), "solution.py", "exec"), namespace)
    signal.setitimer(signal.ITIMER_REAL, 0)
except BaseException as error:
    for _ in checks:
        out.write(json.dumps({{"error": "solution: " + type(error).__name__}}) + "\\n")
    sys.exit(0)
for check in checks:
    try:
        signal.setitimer(signal.ITIMER_REAL, {per_check_s})
        if check["source"] is not None:
            exec(check["source"], namespace)
            line = {{"ok": True}}
        else:
            value = namespace[check["function"]](*ast.literal_eval(check["args"]), **ast.literal_eval(check["kwargs"]))
            line = {{"ok": True, "value": repr(value)[:4000]}}
        signal.setitimer(signal.ITIMER_REAL, 0)
    except BaseException as error:
        signal.setitimer(signal.ITIMER_REAL, 0)
        line = {{"error": type(error).__name__}}
    out.write(json.dumps(line) + "\\n")
    out.flush()
"""
FILE_LIMIT_BYTES = 16 << 20


class Sandbox:
    """Runs model-written (or dataset) Python against checks in a separate, limited process."""

    def __init__(self, timeout_s: float = 5.0, memory_bytes: int = 2 << 30):
        self.timeout_s = timeout_s
        self.memory_bytes = memory_bytes

    def run(self, code: str, checks: Sequence[Check]) -> list[RunResult]:
        """One result per check, in order; checks left unfinished at the time limit fail."""
        with tempfile.TemporaryDirectory(prefix="code_reward_") as workdir:
            paths = {name: os.path.join(workdir, name) for name in ("solution.py", "checks.json", "results.jsonl")}
            with open(paths["solution.py"], "w", encoding="utf-8") as handle:
                handle.write(code)
            with open(paths["checks.json"], "w", encoding="utf-8") as handle:
                json.dump([{"source": c.source, "function": c.function, "args": c.args, "kwargs": c.kwargs}
                           for c in checks], handle)
            harness = HARNESS.format(cpu_s=max(1, math.ceil(self.timeout_s)) + 1, memory=self.memory_bytes,
                                     file_bytes=FILE_LIMIT_BYTES, per_check_s=self.timeout_s / 2)
            process = subprocess.Popen(
                [sys.executable, "-I", "-c", harness, paths["solution.py"], paths["checks.json"],
                 paths["results.jsonl"]],
                cwd=workdir, env=child_environment(workdir), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                process.wait(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                _kill_group(process)
            lines = []
            if os.path.exists(paths["results.jsonl"]):
                with open(paths["results.jsonl"], encoding="utf-8") as handle:
                    lines = [json.loads(line) for line in handle if line.endswith("\n")]
        results = [RunResult(ok=bool(line.get("ok")), value=line.get("value"), error=line.get("error"))
                   for line in lines[: len(checks)]]
        return results + [RunResult(ok=False, error="timeout")] * (len(checks) - len(results))


def child_environment(workdir: str) -> dict[str, str]:
    """A minimal environment: model-written code sees no API keys or tokens of the parent."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir, "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the child and anything it started (it leads its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


# --------------------------------------------------------------------------------------------
# Lexical helpfulness (tiny world)

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers him his how i if in into is it its itself just me more most my
no nor not now of off on once only or other our out over own please same she should so some such
than that the their them then there these they this those through to too under until up very was
we were what when where which while who whom why will with would you your yours tell give explain
describe write
""".split())
WORD = re.compile(r"[^\W_]+", re.UNICODE)
CLEAN_ENDING = re.compile(r"""([.!?。।]["')\]]*|```)\s*$""")


def lexical_helpfulness(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """A transparent stand-in for a helpfulness reward model, in [0, 1]. NOT a learned judgement.

    0 for an empty answer; otherwise the mean of three checks a reader can verify by eye:
    it ends cleanly (sentence punctuation or a closing code fence), it reuses the prompt's content
    words (the fraction of them it mentions), and it does not repeat itself (the fraction of its
    word bigrams that are distinct).
    """
    return [_lexical_score(prompt_text(p), completion_text(c)) for p, c in zip(prompts, completions, strict=True)]


def _lexical_score(prompt: str, answer: str) -> float:
    words = [w.lower() for w in WORD.findall(answer)]
    if not words:
        return 0.0
    ends_cleanly = 1.0 if CLEAN_ENDING.search(answer) else 0.0
    content = {w.lower() for w in WORD.findall(prompt) if len(w) > 2 and w.lower() not in STOPWORDS}
    on_topic = len(content & set(words)) / len(content) if content else 1.0
    bigrams = list(zip(words, words[1:]))
    distinct = len(set(bigrams)) / len(bigrams) if bigrams else 1.0
    return round((ends_cleanly + on_topic + distinct) / 3, 6)


lexical_helpfulness.required_columns = ()


# --------------------------------------------------------------------------------------------
# Reference similarity

def reference_similarity(prompts: Sequence[Any], completions: Sequence[Any],
                         reference: Sequence[str | None] | None = None, **kwargs: Any) -> list[float]:
    """difflib similarity ratio (0-1) of the completion to the row's ``reference``.

    Where both contain a fenced code block, the code blocks are compared (the prose around code
    varies more than the code); otherwise the whole texts.
    """
    if reference is None:
        raise ValueError("reference_similarity needs a 'reference' column in the GRPO dataset")
    return [reference_similarity_score(completion_text(c), ref or "")
            for c, ref in zip(completions, reference, strict=True)]


def reference_similarity_score(answer: str, reference: str) -> float:
    answer_code, reference_code = first_code_block(answer), first_code_block(reference)
    if answer_code is not None and reference_code is not None:
        answer, reference = answer_code, reference_code
    return difflib.SequenceMatcher(None, answer.strip(), reference.strip(), autojunk=False).ratio()


reference_similarity.required_columns = ("reference",)


# --------------------------------------------------------------------------------------------
# Reward model (paper world)

class RewardModel:
    """Scores (prompt, completion) with a sequence-classification reward model and its chat template.

    For example ``sfairXC/FsfairX-LLaMA3-RM-v0.1`` (a Llama-3 classifier with one output): the
    conversation is rendered with the reward model's own chat template and the first logit is the
    reward. Loaded once, in bfloat16 on CUDA where available.
    """

    __name__ = "reward_model"  # TRL names a reward's logged metrics after it
    required_columns: tuple[str, ...] = ()

    def __init__(self, model: str, revision: str | None = None, batch_size: int = 8):
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(model, revision=revision)
        self.model = AutoModelForSequenceClassification.from_pretrained(model, revision=revision, dtype=dtype)
        self.model.to(self.device).eval()
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.batch_size = batch_size
        log.info("loaded reward model %s on %s", model, self.device)

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        texts = [self.render(p, c) for p, c in zip(prompts, completions, strict=True)]
        scores: list[float] = []
        for start in range(0, len(texts), self.batch_size):
            scores.extend(self.score_texts(texts[start:start + self.batch_size]))
        return scores

    def render(self, prompt: Any, completion: Any) -> str:
        conversation = (list(prompt) if not isinstance(prompt, str) else [{"role": "user", "content": prompt}])
        conversation = conversation + [{"role": "assistant", "content": completion_text(completion)}]
        return self.tokenizer.apply_chat_template(conversation, tokenize=False)

    def score_texts(self, texts: list[str]) -> list[float]:
        import torch

        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        with torch.inference_mode():
            logits = self.model(**batch).logits
        return logits[:, 0].float().cpu().tolist()
