"""Byte-level BPE tokenizer for code, trained with HF `tokenizers` on the corpus train split."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

# The prompt's tokens are the serving format's (one module for training and serving).
from lsp_server.prompt_format import EOS, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX

PAD = "<pad>"
# Reserved for the docstring / code-generation tasks and MLM pretraining (issue 3).
TASK_TOKENS = ["<mask>", "<sep>", "<docstring>", "<code>", "<comment>"] + [f"<reserved_{i}>" for i in range(3)]
SPECIAL_TOKENS = [FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, EOS, PAD] + TASK_TOKENS


def code_pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    """Newline runs and indentation runs become their own pre-tokens, so an indent is one token."""
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\n+|[ \t]{2,}"), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])


def new_tokenizer() -> Tokenizer:
    """An untrained tokenizer with Quill's pre-tokenizer and decoder."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = code_pre_tokenizer()
    tok.decoder = decoders.ByteLevel()
    return tok


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8192, min_frequency: int = 2) -> Tokenizer:
    """Train byte-level BPE; special tokens get the first ids (0..len(SPECIAL_TOKENS)-1)."""
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_batched(texts), trainer=trainer)
    tok.encode_special_tokens = True
    return tok


def _batched(texts: Iterable[str], size: int = 256) -> Iterator[list[str]]:
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_tokenizer(path: Path | str) -> Tokenizer:
    """Load tokenizer.json and check that it carries Quill's special tokens."""
    tok = Tokenizer.from_file(str(path))
    missing = [t for t in SPECIAL_TOKENS if tok.token_to_id(t) is None]
    if missing:
        raise ValueError(f"{path} is not a Quill tokenizer: missing special tokens {missing}")
    # Source code that happens to contain "<eos>" must stay text; special ids are only added by us.
    tok.encode_special_tokens = True
    return tok


def special_ids(tok: Tokenizer) -> dict[str, int]:
    """Map of special-token string to id."""
    return {t: tok.token_to_id(t) for t in SPECIAL_TOKENS}


def encode(tok: Tokenizer, text: str) -> list[int]:
    """Token ids for plain text; special-token strings inside source code are not treated as special."""
    return tok.encode(text, add_special_tokens=False).ids


def decode(tok: Tokenizer, ids: list[int]) -> str:
    """Exact inverse of encode for ids that came from text."""
    return tok.decode(ids, skip_special_tokens=False)
