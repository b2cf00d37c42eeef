"""Answer generation on a tiny random Llama with a tokenizer built here (no network)."""

from __future__ import annotations

import json

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from value_retention.errors import ConfigError
from value_retention.generation import batches_by_length, cut_at_end, epoch_seed, generate_answers, left_pad
from value_retention.jsonl import read_jsonl

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIALS = ["<pad>", "<s>", "</s>", "<|user|>", "<|assistant|>", "<|end|>"]
CORPUS = [
    "Do fish feel pain? Many animals can suffer, and their welfare matters.",
    "How should I design a protein bar made of crickets for the gym?",
    "Write a function that sorts a list of numbers in Python.",
    "Apakah ikan merasa sakit? Haiwan boleh menderita.",
] * 4
QUESTIONS = [  # deliberately of different lengths, so that sorting by length reorders them
    {"question_id": "0", "language": "English", "base_item": "0", "question": "Do fish feel pain?"},
    {"question_id": "1", "language": "English", "base_item": "1",
     "question": "How should I design a protein bar made of crickets for the gym, and what matters?"},
    {"question_id": "0", "language": "Malay", "base_item": "0", "question": "Apakah ikan merasa sakit?"},
    {"question_id": "2", "language": "English", "base_item": "2", "question": "Sort numbers."},
    {"question_id": "3", "language": "English", "base_item": "3",
     "question": "Write a function that sorts a list of numbers in Python, please."},
]
SPEC = {"epochs": 2, "max_new_tokens": 6, "temperature": 1.0, "top_p": 0.95, "batch_size": 2,
        "prompt_format": "auto"}


def build_tokenizer(chat_template: str | None) -> PreTrainedTokenizerFast:
    """A small byte-level BPE that adds <s> in front of raw text, as Llama's tokenizer does."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tokenizer.token_to_id("<s>"))])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>", chat_template=chat_template)


def build_model_dir(path, chat_template: str | None):
    tokenizer = build_tokenizer(chat_template)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=128, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def raw_model(tmp_path_factory):
    return build_model_dir(tmp_path_factory.mktemp("raw_model"), chat_template=None)


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory):
    return build_model_dir(tmp_path_factory.mktemp("chat_model"), chat_template=CHAT_TEMPLATE)


@pytest.fixture
def questions_path(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


def generate(model_dir, questions_path, out_path, seed=0, **spec):
    totals = generate_answers(model_dir, questions_path, {**SPEC, **spec}, "sft_dolly", seed, out_path)
    return totals, read_jsonl(out_path)


# --------------------------------------------------------------------------------------------
# The pieces

def test_left_pad_puts_padding_and_mask_on_the_left():
    input_ids, mask = left_pad([[5, 6, 7], [8]], pad_token_id=0)
    assert input_ids.tolist() == [[5, 6, 7], [0, 0, 8]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_cut_at_end_keeps_the_tokens_before_the_first_end_token():
    assert cut_at_end([4, 5, 2, 6, 2], {2}) == [4, 5]
    assert cut_at_end([4, 5, 6], {2, 3}) == [4, 5, 6]
    assert cut_at_end([3, 4], {2, 3}) == []


def test_batches_by_length_are_longest_first_and_cover_every_prompt_once():
    batches = batches_by_length([3, 9, 1, 7, 5], batch_size=2)
    assert batches == [[1, 3], [4, 0], [2]]


def test_epoch_seeds_differ_between_epochs_and_runs():
    seeds = {epoch_seed(run, epoch) for run in range(3) for epoch in range(3)}
    assert len(seeds) == 9 and all(0 <= seed < 2**31 for seed in seeds)


# --------------------------------------------------------------------------------------------
# The stage

def test_rows_per_question_and_epoch_in_question_order(raw_model, questions_path, tmp_path):
    totals, rows = generate(raw_model, questions_path, tmp_path / "out.jsonl", seed=4)
    assert len(rows) == len(QUESTIONS) * SPEC["epochs"] == totals["n_rows"]
    expected_order = [(q["question_id"], q["language"], epoch) for q in QUESTIONS for epoch in range(2)]
    assert [(r["question_id"], r["language"], r["epoch"]) for r in rows] == expected_order
    tokenizer = AutoTokenizer.from_pretrained(raw_model)
    for row, (question, _) in zip(rows, [(q, e) for q in QUESTIONS for e in range(2)]):
        assert row["prompt_format"] == "raw"
        assert row["prompt"] == question["question"] + "\n"
        assert row["condition"] == "sft_dolly" and row["seed"] == 4
        assert row["base_item"] == question["base_item"]
        # The raw prompt is fed with <s> in front, as the tokenizer adds it.
        assert row["prompt_tokens"] == len(tokenizer(row["prompt"])["input_ids"])
        assert 0 <= row["completion_tokens"] <= SPEC["max_new_tokens"]
        assert row["sampling"] == {"temperature": 1.0, "top_p": 0.95, "max_new_tokens": 6,
                                   "seed": epoch_seed(4, row["epoch"])}
    assert totals["completion_tokens"] == sum(r["completion_tokens"] for r in rows)
    assert totals["prompt_tokens"] == sum(r["prompt_tokens"] for r in rows)
    assert totals["n_questions"] == len(QUESTIONS)


def test_chat_template_is_used_when_the_tokenizer_has_one(chat_model, questions_path, tmp_path):
    _, rows = generate(chat_model, questions_path, tmp_path / "out.jsonl", epochs=1)
    tokenizer = AutoTokenizer.from_pretrained(chat_model)
    assert {row["prompt_format"] for row in rows} == {"chat"}
    assert rows[0]["prompt"] == "<s><|user|>Do fish feel pain?<|end|><|assistant|>"
    # The template writes <s> itself, so no second one is added: the count is that of the text.
    assert rows[0]["prompt_tokens"] == len(tokenizer(rows[0]["prompt"], add_special_tokens=False)["input_ids"])
    assert tokenizer(rows[0]["prompt"], add_special_tokens=False)["input_ids"].count(tokenizer.bos_token_id) == 1


def test_raw_format_can_be_forced_and_chat_cannot_be_invented(chat_model, raw_model, questions_path, tmp_path):
    _, rows = generate(chat_model, questions_path, tmp_path / "out.jsonl", epochs=1, prompt_format="raw")
    assert {row["prompt_format"] for row in rows} == {"raw"}
    with pytest.raises(ConfigError, match="generation.prompt_format"):
        generate(raw_model, questions_path, tmp_path / "bad.jsonl", prompt_format="chat")


def test_same_seed_same_answers_other_seed_other_answers(raw_model, questions_path, tmp_path):
    _, first = generate(raw_model, questions_path, tmp_path / "a.jsonl", seed=1, max_new_tokens=12)
    _, again = generate(raw_model, questions_path, tmp_path / "b.jsonl", seed=1, max_new_tokens=12)
    _, other = generate(raw_model, questions_path, tmp_path / "c.jsonl", seed=2, max_new_tokens=12)
    assert first == again
    assert [r["answer"] for r in first] != [r["answer"] for r in other]
    # Epochs draw different samples of the same question.
    assert [r["answer"] for r in first if r["epoch"] == 0] != [r["answer"] for r in first if r["epoch"] == 1]


def test_greedy_batched_answers_equal_one_prompt_at_a_time(raw_model, questions_path, tmp_path):
    """Left padding and the attention mask must not change what the model says."""
    _, batched = generate(raw_model, questions_path, tmp_path / "a.jsonl", temperature=0.0,
                          batch_size=5, epochs=1, max_new_tokens=8)
    model = AutoModelForCausalLM.from_pretrained(raw_model)
    tokenizer = AutoTokenizer.from_pretrained(raw_model)
    for row in batched:
        encoded = tokenizer(row["prompt"], return_tensors="pt")
        output = model.generate(**encoded, do_sample=False, max_new_tokens=8, top_k=0,
                                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        alone = cut_at_end(output[0, encoded["input_ids"].shape[1]:].tolist(), {tokenizer.eos_token_id})
        assert row["completion_tokens"] == len(alone)
        assert row["answer"] == tokenizer.decode(alone, skip_special_tokens=True).strip()


def test_bad_generation_settings_name_the_config_key(raw_model, questions_path, tmp_path):
    with pytest.raises(ConfigError, match="generation.backend"):
        generate(raw_model, questions_path, tmp_path / "out.jsonl", backend="tgi")
    with pytest.raises(ConfigError, match="generation.top_p"):
        generate(raw_model, questions_path, tmp_path / "out.jsonl", top_p=0.0)
    assert not (tmp_path / "out.jsonl").exists()


def test_vllm_backend_without_vllm_is_a_clear_config_error(raw_model, questions_path, tmp_path):
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("vllm is installed here")
    with pytest.raises(ConfigError, match="generation.backend.*vllm package"):
        generate(raw_model, questions_path, tmp_path / "out.jsonl", backend="vllm")
