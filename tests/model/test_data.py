"""Tests of training samples: exact chunking, FIM splits and layouts, packed streams and batches."""
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.data import (
    FimSpec,
    body_split,
    build_stream,
    chunk_text,
    fim_ids,
    fim_split,
    plain_stream,
    sample_batch,
)
from model.tokenizer import (
    EOS,
    FIM_MIDDLE,
    FIM_PREFIX,
    FIM_SUFFIX,
    SPECIAL_TOKENS,
    decode,
    train_tokenizer,
)

CODE_CHARS = st.sampled_from(list("ab (): \t\r\n'é中😀\u2028\x0c"))
SPECIAL = {FIM_PREFIX: 0, FIM_SUFFIX: 1, FIM_MIDDLE: 2, EOS: 3}


@pytest.fixture(scope="module")
def tok(stdlib_texts):
    return train_tokenizer(stdlib_texts, vocab_size=600)


@pytest.fixture(scope="module")
def texts(stdlib_texts):
    # Real files plus edge cases: non-ASCII, \r\n, special-token text inside source, no final newline.
    return stdlib_texts[:6] + [
        "s = '<eos> and <fim_middle> are text here'\n",
        "def grüße():\r\n    return '你好 😀'\r\n",
        "x = 1",
    ]


@settings(max_examples=200, deadline=None)
@given(st.text(CODE_CHARS, max_size=300), st.integers(0, 2**32), st.integers(1, 40), st.integers(0, 60))
def test_chunk_text_joins_back_to_the_text(text, seed, lo, extra):
    chunks = chunk_text(text, random.Random(seed), min_chars=lo, max_chars=lo + extra)
    assert "".join(chunks) == text
    assert all(chunks)


def test_chunk_text_cuts_only_at_line_ends_within_bounds(stdlib_texts):
    text = stdlib_texts[0]
    chunks = chunk_text(text, random.Random(0), min_chars=400, max_chars=2400)
    assert len(chunks) > 1
    assert all(c.endswith("\n") for c in chunks[:-1])
    # Each chunk but the last reaches its target (>= min) and overshoots it by less than one line.
    longest_line = max(len(line) for line in text.splitlines(keepends=True))
    assert all(400 <= len(c) < 2400 + longest_line for c in chunks[:-1])


def test_chunk_text_is_deterministic_for_a_seed(stdlib_texts):
    text = stdlib_texts[1]
    assert chunk_text(text, random.Random(7)) == chunk_text(text, random.Random(7))


@settings(max_examples=300, deadline=None)
@given(st.text(CODE_CHARS, max_size=200), st.integers(0, 2**32), st.sampled_from([0.0, 0.5, 1.0]))
def test_fim_split_pieces_concatenate_to_the_input(text, seed, line_rate):
    prefix, middle, suffix = fim_split(text, random.Random(seed), line_rate)
    assert prefix + middle + suffix == text


def test_fim_split_in_line_mode_ends_the_middle_at_a_line_boundary():
    text = "".join(f"line_{i} = {i}\n" for i in range(30))
    for seed in range(200):
        prefix, middle, suffix = fim_split(text, random.Random(seed), line_rate=1.0)
        assert prefix + middle + suffix == text
        assert suffix == "" or middle == "" or middle.endswith("\n") or suffix.startswith("\n")


def test_fim_split_of_tiny_text_is_all_prefix():
    assert fim_split("", random.Random(0)) == ("", "", "")
    assert fim_split("x", random.Random(0)) == ("x", "", "")


def test_fim_ids_psm_layout():
    ids = fim_ids([10, 11], [20], [30, 31], SPECIAL)
    assert ids == [0, 10, 11, 1, 30, 31, 2, 20, 3]


def test_fim_ids_spm_layout():
    ids = fim_ids([10, 11], [20], [30, 31], SPECIAL, spm=True)
    assert ids == [1, 30, 31, 0, 10, 11, 2, 20, 3]


def test_fim_ids_with_empty_pieces_keeps_every_sentinel():
    assert fim_ids([], [], [], SPECIAL) == [0, 1, 2, 3]
    assert fim_ids([], [], [], SPECIAL, spm=True) == [1, 0, 2, 3]


def split_at(ids: list[int], sep: int) -> list[list[int]]:
    parts, current = [], []
    for i in ids:
        if i == sep:
            parts.append(current)
            current = []
        else:
            current.append(i)
    assert current == [], "a stream ends with <eos>"
    return parts


def test_build_stream_without_fim_has_one_eos_per_file_and_decodes_back(tok, texts):
    stream = build_stream(texts, tok, seed=3, fim=FimSpec(rate=0.0))
    eos = tok.token_to_id(EOS)
    assert stream.dtype == np.uint16
    assert int((stream == eos).sum()) == len(texts)
    assert not np.isin(stream, [i for i in range(len(SPECIAL_TOKENS)) if i != eos]).any()
    decoded = [decode(tok, part) for part in split_at(stream.tolist(), eos)]
    assert sorted(decoded) == sorted(texts)  # every file exactly once, in a shuffled order


def test_build_stream_shuffles_files_deterministically_by_seed(tok, texts):
    a = build_stream(texts, tok, seed=1, fim=FimSpec(rate=0.0))
    b = build_stream(texts, tok, seed=1, fim=FimSpec(rate=0.0))
    np.testing.assert_array_equal(a, b)
    eos = tok.token_to_id(EOS)
    orders = {
        tuple(decode(tok, p)[:20] for p in split_at(build_stream(texts, tok, seed=s, fim=FimSpec(rate=0.0)).tolist(), eos))
        for s in range(4)
    }
    assert len(orders) > 1


def parse_fim_sample(sample: list[int], tok) -> tuple[str, str, str, bool]:
    pre, suf, mid = (tok.token_to_id(t) for t in (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE))
    assert sample.count(pre) == sample.count(suf) == sample.count(mid) == 1
    m = sample.index(mid)
    if sample[0] == pre:  # PSM
        s = sample.index(suf)
        return decode(tok, sample[1:s]), decode(tok, sample[m + 1:]), decode(tok, sample[s + 1:m]), False
    assert sample[0] == suf
    p = sample.index(pre)
    return decode(tok, sample[p + 1:m]), decode(tok, sample[m + 1:]), decode(tok, sample[1:p]), True


def test_build_stream_with_all_fim_rebuilds_every_file(tok, texts):
    stream = build_stream(texts, tok, seed=5, fim=FimSpec(rate=1.0, spm_rate=0.5))
    eos = tok.token_to_id(EOS)
    files, current, layouts = [], [], set()
    for part in split_at(stream.tolist(), eos):
        if not part:  # the <eos> that closes a file follows its last sample's <eos>
            files.append("".join(current))
            current = []
            continue
        prefix, middle, suffix, spm = parse_fim_sample(part, tok)
        layouts.add(spm)
        current.append(prefix + middle + suffix)
    assert current == []
    assert sorted(files) == sorted(texts)
    assert layouts == {True, False}


def test_build_stream_fim_rate_controls_the_share_of_fim_samples(tok, texts):
    mid = tok.token_to_id(FIM_MIDDLE)
    plain = build_stream(texts, tok, seed=0, fim=FimSpec(rate=0.0))
    some = build_stream(texts, tok, seed=0, fim=FimSpec(rate=0.5))
    assert int((plain == mid).sum()) == 0
    assert int((some == mid).sum()) > 0


def test_plain_stream_keeps_file_order(tok, texts):
    stream = plain_stream(texts, tok)
    eos = tok.token_to_id(EOS)
    assert [decode(tok, p) for p in split_at(stream.tolist(), eos)] == texts


def test_sample_batch_shapes_and_targets_are_inputs_shifted_by_one():
    stream = np.arange(5000, dtype=np.uint16)
    x, y = sample_batch(stream, batch=6, block=32, rng=np.random.default_rng(0))
    assert x.shape == y.shape == (6, 32)
    assert x.dtype == y.dtype == np.int64
    np.testing.assert_array_equal(y, x + 1)  # arange: the next token is the value plus one
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    assert y.max() < len(stream)


def test_sample_batch_is_reproducible_from_the_rng_seed(tok, texts):
    stream = build_stream(texts, tok, seed=0, fim=FimSpec(rate=0.5))
    a = sample_batch(stream, 4, 64, np.random.default_rng(42))
    b = sample_batch(stream, 4, 64, np.random.default_rng(42))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[0][:, 1:], a[1][:, :-1])


def test_sample_batch_rejects_a_stream_shorter_than_a_block():
    with pytest.raises(ValueError, match="shorter than one block"):
        sample_batch(np.arange(10), batch=1, block=16, rng=np.random.default_rng(0))


@pytest.mark.parametrize("head, body, tail", [
    # One-line docstring; a blank line inside the body stays in it, the blank lines after it do not.
    ('import os\n\n\ndef area(w, h):\n    """Area of a rectangle."""\n',
     "    result = w * h\n\n    return result\n", "\n\nprint(area(2, 3))\n"),
    # A signature over two lines and a raw, multi-line docstring.
    ('def load(path,\n         encoding="utf-8") -> str:\n    r"""Read a file.\n\n    Returns its text.\n    """\n',
     "    with open(path, encoding=encoding) as fh:\n        return fh.read()\n", ""),
    # A method: the body ends at the first line indented no deeper than its `def`.
    ("class Box:\n    def size(self):\n        '''Its area.'''\n", "        return self.w * self.h\n",
     '\n    name = "box"\n'),
    # No docstring, async.
    ("async def fetch(url):\n", "    data = await get(url)\n    return data\n", ""),
])
def test_body_split_middle_is_exactly_the_body_after_signature_and_docstring(head, body, tail):
    assert body_split(head + body + tail, random.Random(0)) == (head, body, tail)


@pytest.mark.parametrize("text", ['def todo():\n    """Not yet."""\n', "x = 1\n", ""])
def test_body_split_without_a_function_body_is_none(text):
    assert body_split(text, random.Random(0)) is None


def test_body_split_of_real_files_always_cuts_whole_indented_lines(stdlib_texts):
    found = 0
    for seed, text in enumerate(stdlib_texts[:40]):
        split = body_split(text, random.Random(seed))
        if split is None:
            continue
        found += 1
        prefix, middle, suffix = split
        assert prefix + middle + suffix == text
        assert prefix.endswith("\n") and middle.endswith("\n") and middle.strip()
        assert middle.splitlines()[-1].strip()  # trailing blank lines are left to the suffix
        assert all(not line.strip() or line[0] in " \t" for line in middle.splitlines())
    assert found > 20
