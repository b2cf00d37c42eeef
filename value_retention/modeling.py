"""Models and tokenizers: the tiny world's tokenizer and Llama, and the chat-token pitfall.

The tiny world mirrors Llama 3.1 in miniature so that every later stage runs the same code on both
worlds: a byte-level BPE tokenizer with Llama-3 special tokens and chat template, and a
``LlamaForCausalLM`` with a few layers. The paper world downloads the real checkpoint instead
(rule ``download_model``) and trains from it with the same code.

The pitfall (docs/design.md, "Training"): in the Llama-3.1-8B *base* model the chat-template special tokens
(``<|start_header_id|>``, ``<|end_header_id|>``, ``<|eot_id|>``) were never trained and have
near-zero embeddings. Chat-format SFT from such a model starts from tokens the network cannot see;
:func:`init_chat_token_embeddings` gives them the mean embedding of the ordinary tokens first.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedModel, PreTrainedTokenizerFast
from trl.chat_template_utils import llama3_chat_template

from .errors import ConfigError, DataError
from .jsonl import read_jsonl

log = logging.getLogger(__name__)

# Llama-3 special tokens. The pad token is Llama 3.1's own (`<|finetune_right_pad_id|>`), so a
# tokenizer made here and the real one agree on every name.
BOS = "<|begin_of_text|>"
EOS = "<|end_of_text|>"
START_HEADER = "<|start_header_id|>"
END_HEADER = "<|end_header_id|>"
EOT = "<|eot_id|>"
PAD = "<|finetune_right_pad_id|>"
CHAT_TOKENS = (START_HEADER, END_HEADER, EOT)
SPECIAL_TOKENS = (BOS, EOS, START_HEADER, END_HEADER, EOT, PAD)

# Llama 3's pre-tokenisation regex (from its tiktoken config): words with an optional leading
# space, numbers in groups of at most three digits, punctuation runs, newlines and whitespace.
LLAMA3_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# The Llama-3 chat format without its tool and date preamble, as TRL ships it: each turn is
# <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>, and a generation prompt opens an
# assistant header. The model stops by emitting <|eot_id|>. For SFT with the loss on the
# assistant's tokens only, TRL swaps in its training twin, which marks each assistant turn's
# content and <|eot_id|> with {% generation %} (the authors' "loss only after the assistant header").
LLAMA3_CHAT_TEMPLATE = llama3_chat_template

# The pitfall's other way out: a plain-text format that needs no special token but bos and eos.
# An assistant turn ends with eos so the model still learns to stop; its {% generation %} markers
# (the answer and that eos) let SFT train on the assistant's tokens only.
PLAIN_CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- 'Assistant: ' }}{%- generation %}{{- message['content'] | trim + eos_token }}{%- endgeneration %}"
    "{%- else %}"
    "{{- message['role'] | capitalize + ': ' + message['content'] | trim }}"
    "{%- endif %}"
    "{{- '\\n\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- 'Assistant:' }}{%- endif %}"
)
CHAT_TEMPLATES = {"llama3": LLAMA3_CHAT_TEMPLATE, "plain": PLAIN_CHAT_TEMPLATE}


# --------------------------------------------------------------------------------------------
# Tokenizer

def corpus_texts(paths: Iterable[str | os.PathLike]) -> Iterator[str]:
    """Every text in normalised dataset files: ``text`` rows, and message contents of ``messages``
    (SFT) and ``prompt`` (GRPO) rows. A row with none of these fields is an error naming it."""
    for path in paths:
        for row in read_jsonl(path):
            if "text" in row:
                yield require_text(row, "text", path)
            elif "messages" in row or "prompt" in row:
                field = "messages" if "messages" in row else "prompt"
                for message in require_messages(row, field, path):
                    yield message["content"]
            else:
                raise DataError("row has none of the fields 'text', 'messages', 'prompt'", path, row["_row"])


def train_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: str | os.PathLike) -> PreTrainedTokenizerFast:
    """Train a Llama-3-style byte-level BPE on ``texts`` and save it to ``out_dir``.

    ``vocab_size`` counts every token, the special ones included; as in Llama 3, the special
    tokens take the last ids. Byte-level BPE can encode any text (Hindi included) through its
    256-byte base alphabet, so nothing outside the corpus is unknown.
    """
    n_ordinary = vocab_size - len(SPECIAL_TOKENS)
    if n_ordinary < 256:
        raise ConfigError(f"vocab_size {vocab_size} leaves {n_ordinary} ordinary tokens; byte-level BPE "
                          f"needs at least 256 (the byte alphabet) plus {len(SPECIAL_TOKENS)} special tokens",
                          key="vocab_size")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=n_ordinary,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    bpe.add_special_tokens(list(SPECIAL_TOKENS))
    # Like Llama 3: plain tokenisation starts with <|begin_of_text|>; the chat template writes it
    # itself and is tokenised without special tokens, so it appears once either way.
    bpe.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bpe.token_to_id(BOS))],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        extra_special_tokens=list(CHAT_TOKENS),
        clean_up_tokenization_spaces=False,
    )
    # Like the Llama-3.1 base tokenizer, the chat tokens exist but no chat template is set: the
    # chat stages (sft, grpo) install one, so base and mid-trained models are prompted as raw text.
    tokenizer.save_pretrained(out_dir)
    log.info("trained a byte-level BPE tokenizer: %d tokens (%d special) -> %s",
             len(tokenizer), len(SPECIAL_TOKENS), out_dir)
    return tokenizer


def set_chat_template(tokenizer: PreTrainedTokenizerFast, choice: str = "auto") -> str:
    """Give ``tokenizer`` the chat template a stage asks for; returns the name of the one in use.

    ``auto`` keeps the tokenizer's own template, or installs the Llama-3 one when the tokenizer has
    the Llama-3 chat tokens (the Llama-3.1 base tokenizer ships none), else the plain one.
    ``llama3`` and ``plain`` force that template.
    """
    if choice == "auto":
        if tokenizer.chat_template:
            return "tokenizer"
        vocab = tokenizer.get_vocab()
        choice = "llama3" if all(token in vocab for token in CHAT_TOKENS) else "plain"
    if choice not in CHAT_TEMPLATES:
        raise ConfigError(f"unknown chat_template '{choice}' (expected auto, llama3 or plain)", key="chat_template")
    if choice == "llama3":
        missing = [token for token in CHAT_TOKENS if token not in tokenizer.get_vocab()]
        if missing:
            raise ConfigError(f"chat_template 'llama3' needs the tokens {missing}, which the tokenizer lacks; "
                              "use 'plain'", key="chat_template")
    tokenizer.chat_template = CHAT_TEMPLATES[choice]
    return choice


def training_chat_template(tokenizer: PreTrainedTokenizerFast, key: str = "chat_template") -> str:
    """The template SFT trains with when the loss is on the assistant's tokens only.

    TRL (``assistant_only_loss``) masks the loss through the template's ``{% generation %}``
    markers: the tokenizer's own template where it has them (``plain`` does), else TRL's training
    twin of a template it knows (``llama3``). Any other template is a ConfigError here, before
    training, naming ``key``.
    """
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    if has_generation_markers(tokenizer.chat_template):
        return tokenizer.chat_template
    try:
        return get_training_chat_template(tokenizer)
    except ValueError:
        raise ConfigError("the loss on the assistant's tokens only (trainer.assistant_only_loss) needs a chat "
                          "template with {% generation %} markers, and TRL has no training version of the "
                          "tokenizer's own: use chat_template llama3 or plain", key=key) from None


# --------------------------------------------------------------------------------------------
# Model

def init_tiny_llama(tokenizer: PreTrainedTokenizerFast, architecture: dict[str, Any], seed: int) -> LlamaForCausalLM:
    """A randomly initialised ``LlamaForCausalLM`` shaped by ``architecture`` (LlamaConfig keyword
    arguments), with the vocabulary and special-token ids taken from ``tokenizer``."""
    _check_architecture(architecture)
    config = LlamaConfig(
        **architecture,
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    configure_generation(model, tokenizer)
    # The tokenizer is saved with the model: let it know the longest sequence the model takes.
    tokenizer.model_max_length = config.max_position_embeddings
    n_params = sum(p.numel() for p in model.parameters())
    log.info("initialised a Llama with %.2fM parameters (seed %d)", n_params / 1e6, seed)
    return model


def _check_architecture(architecture: dict[str, Any]) -> None:
    """Catch typos and keys that the tokenizer decides, which LlamaConfig would silently accept."""
    known = set(inspect.signature(LlamaConfig.__init__).parameters) - {"self", "kwargs"}
    from_tokenizer = {"vocab_size", "bos_token_id", "eos_token_id", "pad_token_id"}
    for key in architecture:
        if key in from_tokenizer:
            raise ConfigError("is set from the tokenizer; remove it", key=f"architecture.{key}")
        if key not in known:
            raise ConfigError(f"not a LlamaConfig argument (known: {', '.join(sorted(known - from_tokenizer))})",
                              key=f"architecture.{key}")


def configure_generation(model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast) -> None:
    """Stop generation at end of text and at end of turn, as Llama 3.1's generation config does."""
    stop_ids = [tokenizer.eos_token_id]
    eot_id = tokenizer.convert_tokens_to_ids(EOT) if EOT in tokenizer.get_vocab() else None
    if eot_id is not None and eot_id not in stop_ids:
        stop_ids.append(eot_id)
    model.generation_config.eos_token_id = stop_ids
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id


def ensure_pad_token(model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast) -> None:
    """Give a tokenizer without a pad token Llama 3.1's own, else eos (the Llama-3.1 base ships none).

    Padding positions are masked out of attention and loss, so which token pads does not matter
    for training; a dedicated one keeps eos meaning "end" in the saved tokenizer.
    """
    if tokenizer.pad_token is None:
        tokenizer.pad_token = PAD if PAD in tokenizer.get_vocab() else tokenizer.eos_token
        log.info("the tokenizer had no pad token; using %s", tokenizer.pad_token)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id


def init_chat_token_embeddings(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    tokens: Sequence[str] | None = None,
    threshold: float = 0.1,
) -> list[str]:
    """Give untrained chat tokens the mean embedding of the ordinary tokens; returns those reset.

    A token counts as untrained in an embedding matrix (the input one, and the output one when it is
    not tied to it) when its row's norm is below ``threshold`` times the median norm of the
    ordinary tokens' rows, as in the Llama-3.1 base model. Each matrix is checked and fixed on its
    own. Ordinary tokens are the ones the tokenizer did not add (not special, not reserved).
    ``tokens`` defaults to the Llama-3 chat tokens the tokenizer has.
    """
    vocab = tokenizer.get_vocab()
    if tokens is None:
        tokens = [token for token in CHAT_TOKENS if token in vocab]
    unknown = [token for token in tokens if token not in vocab]
    if unknown:
        raise ValueError(f"tokens not in the tokenizer's vocabulary: {unknown}")
    token_ids = {token: vocab[token] for token in tokens}

    input_weight = model.get_input_embeddings().weight
    matrices = [input_weight]
    output = model.get_output_embeddings()
    if output is not None and output.weight.data_ptr() != input_weight.data_ptr():
        matrices.append(output.weight)

    ordinary = _ordinary_token_mask(tokenizer, n_rows=input_weight.shape[0])
    reset = set()
    with torch.no_grad():
        for weight in matrices:
            norms = weight.float().norm(dim=1)
            floor = threshold * norms[ordinary].median()
            mean_row = weight[ordinary].float().mean(dim=0).to(weight.dtype)
            for token, token_id in token_ids.items():
                if norms[token_id] < floor:
                    weight[token_id] = mean_row
                    reset.add(token)
    names = [token for token in tokens if token in reset]
    if names:
        log.info("initialised untrained chat-token embeddings from the mean embedding: %s", ", ".join(names))
    return names


def _ordinary_token_mask(tokenizer: PreTrainedTokenizerFast, n_rows: int) -> torch.Tensor:
    """True for rows of an embedding matrix that belong to ordinary (learned-merge) tokens.

    Rows beyond the tokenizer (embedding matrices padded to a multiple) are not ordinary either.
    """
    mask = torch.zeros(n_rows, dtype=torch.bool)
    mask[: min(len(tokenizer), n_rows)] = True
    for token_id in tokenizer.added_tokens_decoder:
        if token_id < n_rows:
            mask[token_id] = False
    return mask


# --------------------------------------------------------------------------------------------
# Loading model directories

def load_model_dir(model_dir: str | os.PathLike,
                   dtype: str | torch.dtype = "auto") -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """Load a model directory (the workflow's contract: a complete Hugging Face checkpoint)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").exists():
        raise DataError("not a model directory (no config.json)", model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    return model, tokenizer


# --------------------------------------------------------------------------------------------
# Row validation shared with training

def require_text(row: dict[str, Any], field: str, path: Any) -> str:
    """A text field: a non-empty string, else an error naming the file and row."""
    value = row.get(field)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"field '{field}' must be a non-empty string", path, row.get("_row"))
    return value


def require_messages(row: dict[str, Any], field: str, path: Any) -> list[dict[str, str]]:
    """A conversational field: a non-empty list of {role, content} with string content."""
    messages = row.get(field)
    if not isinstance(messages, list) or not messages:
        raise DataError(f"field '{field}' must be a non-empty list of messages", path, row.get("_row"))
    for index, message in enumerate(messages):
        if not (isinstance(message, dict) and isinstance(message.get("role"), str)
                and isinstance(message.get("content"), str)):
            raise DataError(f"{field}[{index}] must be an object with string 'role' and 'content'",
                            path, row.get("_row"))
        if message["role"] not in ("system", "user", "assistant"):
            raise DataError(f"{field}[{index}] has role '{message['role']}' (expected system, user or assistant)",
                            path, row.get("_row"))
    return messages
