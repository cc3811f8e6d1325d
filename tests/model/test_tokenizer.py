"""Tests of the code tokenizer: exact round trip, one-token indents, fixed special-token ids."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, trainers

from model.tokenizer import (
    EOS,
    FIM_MIDDLE,
    FIM_PREFIX,
    SPECIAL_TOKENS,
    decode,
    encode,
    load_tokenizer,
    new_tokenizer,
    special_ids,
    train_tokenizer,
)

VOCAB = 600


@pytest.fixture(scope="module")
def tok(stdlib_texts):
    return train_tokenizer(stdlib_texts, vocab_size=VOCAB)


@pytest.fixture(scope="module")
def saved(tok, tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return path


def test_trained_vocabulary_has_the_requested_size(tok):
    assert tok.get_vocab_size() == VOCAB


@pytest.mark.parametrize(
    "text",
    [
        "def grüße(name):\n    return f'héllo {name}'\n",
        "s = '你好，世界'  # CJK 注释\n",
        "emoji = '😀👍🏽'\n",
        "if x:\n\tif y:\n\t\treturn 1\n",
        "a = 1\r\nb = 2\r\n",
        "x = 1    \ny = 2  \n    \n",
        "\n\n\n    \n        pass",
        "   leading and trailing   ",
        "mixed \t \t tabs\t\n",
        "zero\u200bwidth\u2028sep\x0cfeed\x00nul",
        "",
    ],
)
def test_round_trip_is_exact(tok, text):
    assert decode(tok, encode(tok, text)) == text


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc _():\t\r\n'\"é中😀#=")), max_size=80))
def test_round_trip_is_exact_for_arbitrary_text(tok, text):
    assert decode(tok, encode(tok, text)) == text


def test_round_trip_is_exact_on_real_code(tok, stdlib_texts):
    for text in stdlib_texts[:5]:
        assert decode(tok, encode(tok, text)) == text


@pytest.mark.parametrize("indent", [4, 8])
def test_indentation_after_a_newline_is_one_token(tok, indent):
    ids = encode(tok, f"x = 1\n{' ' * indent}return x\n")
    pieces = [decode(tok, [i]) for i in ids]
    assert " " * indent in pieces
    newline_at = pieces.index("\n")
    assert pieces[newline_at + 1] == " " * indent
    assert pieces[newline_at + 2].startswith("return")


def test_indentation_does_not_leak_into_the_next_word(tok):
    # Plain GPT-2 splitting would give "   " + " return": the word must not depend on the indent.
    word = [decode(tok, [i]) for i in encode(tok, "\n        return")][-1]
    assert word == "return"


def test_special_tokens_have_fixed_ids_in_order(tok):
    assert special_ids(tok) == {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    assert tok.token_to_id(FIM_PREFIX) == 0
    assert tok.token_to_id(EOS) == SPECIAL_TOKENS.index(EOS)


@pytest.mark.parametrize("marker", [EOS, FIM_PREFIX, FIM_MIDDLE, "<pad>"])
def test_special_token_text_in_source_is_encoded_as_plain_text(tok, saved, marker):
    text = f"s = '{marker}'\n"
    for t in (tok, load_tokenizer(saved)):
        ids = encode(t, text)
        assert not set(ids) & set(range(len(SPECIAL_TOKENS)))
        assert decode(t, ids) == text


def test_encode_batch_also_treats_special_text_as_plain(saved):
    t = load_tokenizer(saved)
    encoded = t.encode_batch(["a <eos> b", "<fim_middle>"], add_special_tokens=False)
    assert all(i >= len(SPECIAL_TOKENS) for e in encoded for i in e.ids)


def test_loaded_tokenizer_encodes_like_the_trained_one(tok, saved, stdlib_texts):
    loaded = load_tokenizer(saved)
    text = stdlib_texts[0][:3000]
    assert encode(loaded, text) == encode(tok, text)
    assert loaded.get_vocab_size() == VOCAB


def test_decode_keeps_special_tokens_added_by_ids(tok):
    ids = encode(tok, "x") + [tok.token_to_id(EOS)]
    assert decode(tok, ids) == "x<eos>"


def test_load_tokenizer_rejects_a_tokenizer_without_special_tokens(tmp_path):
    plain = new_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<eos>"], show_progress=False)
    plain.train_from_iterator(["def f():\n    return 1\n"] * 20, trainer=trainer)
    path = tmp_path / "plain.json"
    plain.save(str(path))
    with pytest.raises(ValueError, match="missing special tokens") as info:
        load_tokenizer(path)
    assert "<fim_prefix>" in str(info.value)
    assert "'<eos>'" not in str(info.value)  # only the missing ones are named


def test_load_tokenizer_rejects_an_empty_bpe_model(tmp_path):
    path = tmp_path / "empty.json"
    Tokenizer(models.BPE()).save(str(path))
    with pytest.raises(ValueError, match="not a Quill tokenizer"):
        load_tokenizer(path)
