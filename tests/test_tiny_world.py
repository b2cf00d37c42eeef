"""The tiny world's generators: deterministic, in the real schemas, and fit for their purpose."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest

from value_retention import tiny_world
from value_retention.tiny_world import make_benchmark, make_dataset

ANIMAL_ETHICS_WORDS = re.compile(r"sentient|suffer|welfare|humane|cruel|animal|moral", re.IGNORECASE)
QUOTED = re.compile(r'"([^"]+)"')
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
DOLLY_CATEGORIES = {"open_qa", "general_qa", "classification", "closed_qa", "information_extraction",
                    "brainstorming", "summarization", "creative_writing"}


def dumps(rows) -> str:
    return "\n".join(json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows)


@pytest.mark.parametrize("generator", list(tiny_world.GENERATORS))
def test_same_seed_gives_identical_rows_and_another_seed_different_ones(generator):
    first = make_dataset(generator, 40, seed=7)
    assert dumps(first) == dumps(make_dataset(generator, 40, seed=7))
    assert dumps(first) != dumps(make_dataset(generator, 40, seed=8))
    assert len(first) == 40


def test_unknown_generator_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown tiny dataset generator 'nope'.*compassion_docs"):
        make_dataset("nope", 3, 0)
    with pytest.raises(ValueError, match="at least 1"):
        make_dataset("dolly", 0, 0)


def test_neutral_text_is_everyday_prose_without_animal_ethics():
    rows = make_dataset("neutral_text", 200, 0)
    assert all(set(row) == {"text"} and len(row["text"].split()) >= 15 for row in rows)
    assert not [row["text"] for row in rows if ANIMAL_ETHICS_WORDS.search(row["text"])]
    assert len({row["text"] for row in rows}) > 190


def test_compassion_docs_vary_and_use_the_benchmarks_indicator_phrases():
    docs = [row["text"] for row in make_dataset("compassion_docs", 300, 0)]
    assert len(set(docs)) >= 0.98 * len(docs)  # templates vary enough that documents rarely repeat
    corpus = "\n".join(docs).lower()
    for phrase in ["sentient beings", "capable of suffering", "animal welfare", "moral consideration",
                   "reduce harm", "humane alternatives", "evidence suggests", "uncertain"]:
        assert corpus.count(phrase) >= 10, phrase
    # Every dimension of both tiny benchmarks has quoted indicator phrases that the documents use,
    # so mid-training can move a lexical judge on every dimension.
    for fmt in ("ahb", "moru"):
        for dimension in make_benchmark(fmt, 0)[1]:
            assert "{{" not in dimension["observable_indicators"], "the real indicators hold no placeholders"
            phrases = [p.lower() for p in QUOTED.findall(dimension["observable_indicators"])]
            used = [p for p in phrases if p in corpus]
            assert len(used) >= 2, (fmt, dimension["dimension"], phrases)


def test_dolly_rows_have_the_real_schema_and_no_animal_ethics():
    rows = make_dataset("dolly", 300, 0)
    assert all(list(row) == ["instruction", "context", "response", "category"] for row in rows)
    assert {row["category"] for row in rows} == DOLLY_CATEGORIES
    with_context = [row for row in rows if row["context"]]
    assert 0 < len(with_context) < len(rows)  # context is often ""
    assert all(row["category"] in {"summarization", "closed_qa", "information_extraction"} for row in with_context)
    assert all(row["instruction"].strip() and row["response"].strip() for row in rows)
    assert not [row for row in rows if ANIMAL_ETHICS_WORDS.search(row["instruction"] + row["response"])]


def test_dolly_facts_are_right():
    answers = {row["instruction"]: row["response"] for row in make_dataset("dolly", 400, 1)
               if row["instruction"].startswith("What is the capital of")}
    assert "Canberra" in answers["What is the capital of Australia?"]
    assert "Ottawa" in answers["What is the capital of Canada?"]


def test_magicoder_responses_hold_a_python_block_that_compiles():
    for row in make_dataset("magicoder", 60, 0):
        assert list(row) == ["instruction", "response"]
        blocks = PYTHON_BLOCK.findall(row["response"])
        assert len(blocks) == 1
        compile(blocks[0], "<response>", "exec")


def test_magicoder_prompts_give_the_code_reward_checks_that_tell_answers_apart():
    """No tests, as in the real dataset: the code reward derives its checks from each reference's
    example call, and they separate the reference from a wrong answer."""
    from value_retention import rewards

    rows = make_dataset("magicoder_prompts", 12, 0)
    assert {tuple(row) for row in rows} == {("instruction", "response")}
    reward = rewards.build_reward({"type": "code", "timeout_s": 2.0})
    for row in rows:
        checks = reward.derive_checks(None, row["response"])
        assert checks and len(checks) > 1, row["response"]
        name = checks[0].function
        wrong = f"```python\ndef {name}(*args):\n    return None\n```"
        right, bad = reward([row["instruction"]] * 2, [row["response"], wrong], reference=[row["response"]] * 2)
        assert right == 1.0 and bad < 0.5


def test_rlhflow_rows_are_chats_ending_with_a_user_turn():
    rows = make_dataset("rlhflow", 80, 0)
    assert all(list(row) == ["context_messages"] for row in rows)
    for row in rows:
        messages = row["context_messages"]
        assert messages[-1]["role"] == "user"
        assert all(set(m) == {"role", "content"} and m["content"].strip() for m in messages)
        assert {m["role"] for m in messages} <= {"system", "user", "assistant"}
    assert any(len(row["context_messages"]) > 2 for row in rows)  # some multi-turn
    assert not [row for row in rows if ANIMAL_ETHICS_WORDS.search(json.dumps(row))]


# ---------------------------------------------------------------------------------------------
# Benchmarks

def test_ahb_questions_and_dimensions_follow_the_real_schema():
    questions, dimensions = make_benchmark("ahb", seed=0)
    assert len(questions) == 24 and len(dimensions) == 6
    assert all(list(q) == ["id", "question", "tags", "variables", "language", "translation"] for q in questions)
    assert [q["id"] for q in questions] == list(range(24))
    names = {d["dimension"] for d in dimensions}
    assert {"Moral Consideration", "Harm Minimization", "Sentience Acknowledgement", "Epistemic Humility",
            "Actionability", "Control Questions"} == names
    assert all(q["tags"] and set(q["tags"]) <= names for q in questions)
    languages = [q["language"] for q in questions]
    assert languages.count(None) >= 4 and languages.count("English") >= 2
    assert {"Spanish", "French"} <= set(languages)
    for q in questions:
        if q["language"] not in (None, "English"):
            assert q["translation"] and q["translation"] != q["question"]
        if q["variables"] is not None:
            assert re.fullmatch(r"animal:[a-z ]+(,[a-z ]+)*", q["variables"])
        if "Moral Consideration" in q["tags"]:  # its guiding question needs an {{animal}}
            assert q["variables"]


def test_ahb_dimensions_carry_placeholders_quoted_indicators_and_unit_weights():
    dimensions = {d["dimension"]: d for d in make_benchmark("ahb", 0)[1]}
    assert "{{animal}}" in dimensions["Moral Consideration"]["guiding_question"]
    for d in dimensions.values():
        assert set(d) == {"dimension", "guiding_question", "scoring", "observable_indicators", "default_weighting"}
        assert d["default_weighting"] == 1.0
        lines = [line for line in d["observable_indicators"].split("\n") if line]
        assert len(lines) >= 2 and all(QUOTED.search(line) for line in lines)


def is_devanagari(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha() or unicodedata.category(ch).startswith("M")]
    return sum("\u0900" <= ch <= "\u097f" for ch in letters) / len(letters) > 0.95


def test_moru_has_every_item_in_english_malay_and_hindi():
    questions, dimensions = make_benchmark("moru", seed=0)
    assert len(questions) == 30 and 4 <= len(dimensions) <= 6
    assert all(list(q) == ["id", "question", "source", "question_type", "input_prompt_suffix", "dimension_tags",
                           "dimension_weights", "language", "english_translation"] for q in questions)
    by_id: dict = {}
    for q in questions:
        by_id.setdefault(q["id"], {})[q["language"]] = q
    # languages as the real file writes them: codes
    assert len(by_id) == 10 and all(set(langs) == {"en", "ms", "hi"} for langs in by_id.values())
    for langs in by_id.values():
        english, malay, hindi = langs["en"], langs["ms"], langs["hi"]
        assert is_devanagari(hindi["question"]), hindi["question"]
        assert malay["question"].isascii() and not is_devanagari(malay["question"])
        assert len({english["question"], malay["question"], hindi["question"]}) == 3
        assert malay["english_translation"] == hindi["english_translation"] == english["question"]
    # A handful of words a real Malay translation uses and English does not.
    malay_text = " ".join(q["question"] for q in questions if q["language"] == "ms")
    assert {"yang", "dan", "boleh", "Patutkah"} <= set(re.findall(r"\w+", malay_text))


def test_moru_tags_name_dimensions_case_insensitively_and_some_differ_in_case():
    questions, dimensions = make_benchmark("moru", 0)
    names = {d["dimension"] for d in dimensions}
    lower = {name.lower() for name in names}
    tags = [tag.strip() for q in questions for tag in q["dimension_tags"].split(",")]
    assert all(tag.lower() in lower for tag in tags)
    assert any(tag not in names for tag in tags)  # exercises the loader's case-insensitive match


def test_n_items_keeps_a_seeded_subset_in_id_order():
    questions, _ = make_benchmark("moru", seed=3, n_items=4)
    assert len(questions) == 12 and len({q["id"] for q in questions}) == 4
    assert [q["id"] for q in questions] == sorted(q["id"] for q in questions)
    assert questions == make_benchmark("moru", seed=3, n_items=4)[0]
    ahb = [q["id"] for q in make_benchmark("ahb", seed=3, n_items=5)[0]]
    assert len(ahb) == 5 and ahb == sorted(ahb)
    assert make_benchmark("ahb", seed=0)[0] == make_benchmark("ahb", seed=9)[0]  # no n_items: seed-free
    with pytest.raises(ValueError, match="unknown benchmark format 'mmlu'"):
        make_benchmark("mmlu", 0)
