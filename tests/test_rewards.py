"""GRPO reward functions on hand-made completions."""

from __future__ import annotations

import math
import time

import pytest

from value_retention import rewards
from value_retention.errors import ConfigError

PROMPT = [{"role": "user", "content": "Write a function add(a, b) that returns the sum."}]
TESTS = "assert add(1, 2) == 3\nassert add(-1, 1) == 0"


def chat(text: str) -> list[dict[str, str]]:
    """A completion as TRL passes it in conversational mode."""
    return [{"role": "assistant", "content": text}]


def code_answer(body: str, lang: str = "python") -> str:
    return f"Here is the code:\n```{lang}\n{body}\n```\nHope it helps."


# --------------------------------------------------------------------------------------------
# code

# A Magicoder-style reference: a solution with an example in its prose, and no tests.
REFERENCE = """Here is a simple implementation:

```python
def clamp(x, low, high):
    return max(low, min(x, high))
```

`min` caps the value at `high` and `max` raises it to `low`. For example, `clamp(12, -5, 5)` returns `5`."""
CLAMP = "def clamp(x, low, high):\n    return max(low, min(x, high))"


@pytest.fixture
def code_reward():
    return rewards.build_reward({"type": "code", "timeout_s": 1.0})


def test_code_reward_with_tests_is_the_share_passed(code_reward):
    completions = [
        chat(code_answer("def add(a, b):\n    return a + b")),        # passes both
        chat(code_answer("def add(a, b):\n    return 3")),            # passes one of two
        chat(code_answer("def add(a, b):\n    return a - b")),        # passes none
        chat(code_answer("def add(a, b) return a + b")),              # syntax error
        chat("The sum of a and b is a + b."),                         # no code block
        chat(code_answer("   ")),                                     # empty block
    ]
    assert code_reward([PROMPT] * 6, completions, tests=[TESTS] * 6) == [1.0, 0.5, 0.0, 0.0, 0.0, 0.0]


def test_code_reward_checks_answers_against_the_reference_on_derived_inputs(code_reward):
    """Magicoder has no tests: the reference's own example call and perturbations of it are run on
    the reference and on the answer. Scores are graded, not saturated by anything that parses."""
    answers = [
        chat(code_answer(CLAMP)),                                                     # right
        chat(code_answer("def clamp(x, low, high):\n    return min(x, high)")),      # half right
        chat(code_answer("def clamp(x, low, high):\n    return x")),                 # wrong
        chat(code_answer("x = 1")),                                                   # parses, no function
        chat("I would clamp it."),                                                    # no code
    ]
    scores = code_reward([PROMPT] * 5, answers, reference=[REFERENCE] * 5)
    assert scores[0] == 1.0
    assert 1.0 > scores[1] > scores[2] > scores[4] >= 0.0 and scores[3] < scores[1]
    assert len(set(scores)) == 5
    checks = code_reward._checks[(None, REFERENCE)]
    assert checks[0].args == "(12, -5, 5)" and checks[0].expected == "5"  # the reference's own example
    assert len(checks) > 4 and len({check.expected for check in checks}) > 1  # derived inputs that discriminate
    again = rewards.build_reward({"type": "code", "timeout_s": 1.0})
    again([PROMPT], [answers[0]], reference=[REFERENCE])
    assert again._checks[(None, REFERENCE)] == checks  # the same checks for the same prompt


def test_code_reward_scores_other_languages_by_similarity(code_reward):
    cpp_reference = "Sure:\n```cpp\nint clamp(int x, int lo, int hi) { return std::max(lo, std::min(x, hi)); }\n```"
    right = chat(code_answer("int clamp(int x, int lo, int hi) { return std::max(lo, std::min(x, hi)); }", "cpp"))
    wrong = chat(code_answer("int clamp(int x) { return 0; }", "cpp"))
    scores = code_reward([PROMPT] * 2, [right, wrong], reference=[cpp_reference] * 2)
    assert scores[0] == pytest.approx(1.0) and 0.0 < scores[1] < scores[0]
    # Against a Python reference, a correct answer in another language keeps the similarity share.
    javascript = chat(code_answer("function clamp(x, lo, hi) { return Math.max(lo, Math.min(x, hi)); }", "js"))
    assert 0.0 < code_reward([PROMPT], [javascript], reference=[REFERENCE])[0] <= 0.2


def test_code_reward_without_tests_or_reference_checks_the_form(code_reward):
    completions = [code_answer("x = 1"), code_answer("x = = 1"), code_answer("let x = 1;", "rust"), "none"]
    assert code_reward(["prompt"] * 4, completions, tests=[None, "", None, None]) == [1.0, 0.0, 1.0, 0.0]
    assert code_reward(["prompt"] * 4, completions) == [1.0, 0.0, 1.0, 0.0]  # no tests column at all


def test_code_reward_infinite_loop_times_out_quickly(code_reward):
    looping = chat(code_answer("def add(a, b):\n    while True:\n        pass"))
    passing = chat(code_answer("def add(a, b):\n    return a + b"))
    started = time.monotonic()
    scores = code_reward([PROMPT] * 2, [looping, passing], tests=[TESTS] * 2)
    assert scores == [0.0, 1.0]
    assert time.monotonic() - started < 5.0


def test_code_reward_exception_in_tests_fails(code_reward):
    crashing = chat(code_answer("def add(a, b):\n    raise RuntimeError('boom')"))
    assert code_reward([PROMPT], [crashing], tests=[TESTS]) == [0.0]


def test_code_runs_without_the_parents_secrets_and_within_a_memory_limit(code_reward, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-model-code")
    snoop = chat(code_answer("import os\ndef add(a, b):\n    return a + b"))
    assert code_reward([PROMPT], [snoop], tests=["assert 'OPENAI_API_KEY' not in os.environ"]) == [1.0]
    hog = chat(code_answer("def add(a, b):\n    return a + b\nblob = bytearray(16 << 30)"))
    assert code_reward([PROMPT], [hog], tests=[TESTS]) == [0.0]
    writer = chat(code_answer("def add(a, b):\n    open('big', 'wb').write(bytes(64 << 20))\n    return a + b"))
    assert code_reward([PROMPT], [writer], tests=[TESTS]) == [0.0]  # the file-size limit


def test_first_code_block_prefers_python_and_accepts_an_unclosed_fence():
    text = "```text\nnot code\n```\nthen\n```python\nx = 1\n```\n```python\ny = 2\n```"
    assert rewards.first_code_block(text).strip() == "x = 1"
    assert rewards.first_code_block("```\nz = 3\n```").strip() == "z = 3"
    assert rewards.first_code_block("cut off:\n```py\ndef f():\n    return 1").strip().endswith("return 1")
    assert rewards.first_code_block("no fences here") is None
    assert rewards.code_block("```C++\nint x;\n```").language == "c++"


def test_derived_calls_and_value_comparison():
    calls = rewards.derived_calls("Try `greet('Ann')`.", "def greet(name):\n    return 'Hi ' + name\n"
                                  "print(greet(name='Bo'))\nclass A:\n    pass", 6)
    assert [(c.function, c.args, c.kwargs) for c in calls[:2]] == [("greet", "()", "{'name': 'Bo'}"),
                                                                  ("greet", "('Ann',)", "{}")]
    assert 2 < len(calls) <= 8 and all(c.function == "greet" for c in calls)
    assert rewards.derived_calls("", "x = 1", 6) == []                    # no function
    assert rewards.derived_calls("", "def f(x):\n    return x", 6) == []  # no example call
    assert rewards.same_value("0.30000000000000004", "0.3") and rewards.same_value("[1, (2.0,)]", "[1, (2,)]")
    assert not rewards.same_value("True", "1") and not rewards.same_value("[1]", "(1,)")


# --------------------------------------------------------------------------------------------
# lexical helpfulness

def test_lexical_helpfulness_orders_answers_sensibly():
    reward = rewards.build_reward({"type": "lexical_helpfulness"})
    prompt = [{"role": "user", "content": "How should farmers treat their pigs during transport?"}]
    good = "Farmers should give pigs water, space and rest during transport, and handle them gently."
    off_topic = "The stock market closed higher today after a long week of trading."
    repetitive = "pigs pigs pigs pigs pigs pigs pigs pigs pigs pigs"
    unfinished = "Farmers should give pigs water, space and rest during transport, and"
    scores = reward([prompt] * 5, [chat(good), chat(off_topic), chat(repetitive), chat(unfinished), chat("")])
    good_score, off_score, repetitive_score, unfinished_score, empty_score = scores
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert empty_score == 0.0
    assert good_score > off_score
    assert good_score > repetitive_score
    assert good_score > unfinished_score
    assert good_score == pytest.approx((1 + 3 / 4 + 1) / 3)  # mentions 3 of farmers, treat, pigs, transport


# --------------------------------------------------------------------------------------------
# reference similarity

def test_reference_similarity():
    reward = rewards.build_reward({"type": "reference_similarity"})
    reference = code_answer("def add(a, b):\n    return a + b")
    same_code_other_prose = "Sure!\n```python\ndef add(a, b):\n    return a + b\n```"
    different = code_answer("import os\nprint(os.listdir('.'))")
    scores = reward([PROMPT] * 3, [chat(same_code_other_prose), chat(different), chat("no idea")],
                    reference=[reference] * 3)
    assert scores[0] == pytest.approx(1.0)  # code blocks are compared, not the prose around them
    assert scores[0] > scores[1] > 0.0
    assert 0.0 <= scores[2] < 0.5
    assert reward.required_columns == ("reference",)
    with pytest.raises(ValueError, match="reference"):
        reward([PROMPT], [chat("x")])


# --------------------------------------------------------------------------------------------
# reward model and config errors

def test_reward_model_scores_batches_consistently(tmp_path):
    """A tiny locally built sequence classifier stands in for a hub reward model."""
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from value_retention import modeling

    texts = ["Pigs can feel pain, so handle them gently.", "def add(a, b):\n    return a + b"] * 20
    tokenizer = modeling.train_tokenizer(texts, 320, tmp_path)
    modeling.set_chat_template(tokenizer, "llama3")  # reward models ship one; ours gets it here
    tokenizer.save_pretrained(tmp_path)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, num_labels=1,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    LlamaForSequenceClassification(config).save_pretrained(tmp_path)

    prompts = [[{"role": "user", "content": "How do I add numbers?"}]] * 3
    completions = [chat("Use a + b."), chat("Add them together with the plus sign, like a + b."), chat("No.")]
    one_batch = rewards.build_reward({"type": "reward_model", "model": str(tmp_path), "batch_size": 8})
    small_batches = rewards.build_reward({"type": "reward_model", "model": str(tmp_path), "batch_size": 1})
    scores = one_batch(prompts, completions)
    assert len(scores) == 3 and all(math.isfinite(s) for s in scores)
    assert len(set(scores)) == 3  # different answers, different scores
    # Padding must not change a score: the classifier reads the last real token of each row.
    assert small_batches(prompts, completions) == pytest.approx(scores, abs=1e-5)


def test_build_reward_rejects_bad_specs():
    with pytest.raises(ConfigError, match=r"rewards\.mine\.type': 'vibes' is not one of code, "):
        rewards.build_reward({"type": "vibes"}, name="mine")
    with pytest.raises(ConfigError, match="needs 'model'"):
        rewards.build_reward({"type": "reward_model"})
    with pytest.raises(ConfigError, match=r"rewards\.code\.timeout': unknown key \(did you mean 'timeout_s'\?\)"):
        rewards.build_reward({"type": "code", "timeout": 1}, name="code")
