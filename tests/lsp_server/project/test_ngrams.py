"""The n-gram table, the project index (updates equal a rebuild) and the mixing rule."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server.project.index import IndexLimits, ProjectIndex
from lsp_server.project.mixing import (
    CONTEXT,
    FIXED,
    GATE,
    LocalText,
    Mixer,
    MixRule,
    mix,
    nested_match,
)
from lsp_server.project.ngrams import NgramTable, context_keys


def brute_counts(sequences, context, order, before=None):
    """Next-token counts after context[-order:] in plain Python (positions in the concatenation)."""
    found, position = Counter(), 0
    for seq in sequences:
        position += 1  # the separator before each sequence
        for i in range(order, len(seq)):
            if list(seq[i - order:i]) == list(context[-order:]) and (before is None or position + i < before):
                found[seq[i]] += 1
        position += len(seq)
    return found


def as_counter(match):
    return Counter({int(i): int(c) for i, c in zip(match.ids, match.counts)}) if match is not None else Counter()


def chars(text):
    return [ord(c) for c in text]


def encode_chars(texts):
    return [chars(t) for t in texts]


def test_lookup_backs_off_to_the_longest_seen_context():
    table = NgramTable([chars("abcabd"), chars("abc")], max_order=3)
    match = table.lookup(chars("xab"))  # "xab" never seen: "ab" was, followed by c twice and d once
    assert match.order == 2 and as_counter(match) == Counter({ord("c"): 2, ord("d"): 1})
    assert table.lookup(chars("zz")) is None
    assert table.lookup(chars("ab"), min_order=3) is None


def test_no_context_spans_two_files():
    table = NgramTable([chars("ab"), chars("cd")], max_order=2)
    assert table.lookup(chars("bc")) is not None and table.lookup(chars("bc")).order == 1
    assert table.positions(chars("bc"), 2).size == 0  # "b|c" crosses the file boundary


def test_before_reads_only_the_known_prefix():
    seq = chars("abXabY")
    table = NgramTable([seq], max_order=2)
    # seq index 5 (Y) sits at concatenated position 6: before=6 knows "abXab" only
    assert as_counter(table.lookup(chars("ab"), before=6)) == Counter({ord("X"): 1})
    assert as_counter(table.lookup(chars("ab"))) == Counter({ord("X"): 1, ord("Y"): 1})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 4), max_size=30), min_size=1, max_size=4),
       st.lists(st.integers(0, 4), min_size=1, max_size=4), st.integers(1, 4))
def test_table_counts_equal_brute_force(sequences, context, order):
    table = NgramTable(sequences, max_order=4)
    positions = table.positions(context, order)
    if order > len(context):
        assert positions.size == 0
        return
    got = Counter(int(t) for t in table.tokens[positions])
    assert got == brute_counts(sequences, context, order)
    assert list(positions) == sorted(positions)


def test_context_keys_match_the_table_hashes():
    table = NgramTable([[5, 6, 7, 8]], max_order=3)
    keys, _ = table.orders[2]
    assert int(keys[0]) == context_keys([5, 6, 7], 3)[2]


def test_memory_is_stated_per_token():
    table = NgramTable([list(range(1000))], max_order=4)
    assert table.n_tokens == 1000
    assert 4 * 1000 <= table.nbytes <= (4 + 4 * 12) * 1001 + 64


# --- the project index ----------------------------------------------------------------------------------------

OPS = st.lists(st.tuples(st.sampled_from(["update", "remove"]), st.sampled_from("abcde"),
                         st.text(alphabet="xyz", max_size=40)), max_size=40)


@settings(max_examples=40, deadline=None)
@given(OPS)
def test_any_update_sequence_equals_a_rebuild(ops):
    index = ProjectIndex(encode_chars, IndexLimits(max_order=3))
    texts = {}
    for op, key, text in ops:
        if op == "update":
            index.update([(key, text)])
            texts[key] = text
        else:
            index.remove([key])
            texts.pop(key, None)
    rebuilt = NgramTable([chars(texts[k]) for k in sorted(texts)], max_order=3)
    assert index.keys() == set(texts)
    for context in ("x", "xy", "zz", "xyz", "yxz"):
        assert as_counter(index.lookup(chars(context))) == as_counter(rebuilt.lookup(chars(context)))


def test_a_thousand_churning_updates_stay_consistent(monkeypatch):
    monkeypatch.setattr("lsp_server.project.index.REBUILD_MIN_TOKENS", 50)  # force base rebuilds too
    rng = np.random.default_rng(0)
    index = ProjectIndex(encode_chars, IndexLimits(max_order=2, rebuild_share=0.25))
    texts = {}
    for step in range(1000):
        key = f"f{rng.integers(30)}"
        if rng.random() < 0.2:
            index.remove([key])
            texts.pop(key, None)
        else:
            texts[key] = "".join(rng.choice(list("pqrs"), size=rng.integers(0, 20)))
            index.update([(key, texts[key])])
    rebuilt = NgramTable([chars(texts[k]) for k in sorted(texts)], max_order=2)
    assert index.stats.rebuilds > 1
    for context in ("p", "pq", "rs", "sp", "qq"):
        assert as_counter(index.lookup(chars(context))) == as_counter(rebuilt.lookup(chars(context)))


def test_exclude_leaves_one_file_out():
    index = ProjectIndex(encode_chars, IndexLimits(max_order=2))
    index.update([("a", "abX"), ("b", "abY")])
    assert as_counter(index.lookup(chars("ab"), exclude="a")) == Counter({ord("Y"): 1})


def test_the_token_cap_refuses_files_with_one_message():
    index = ProjectIndex(encode_chars, IndexLimits(max_order=2, max_tokens=10))
    index.update([("a", "x" * 8), ("b", "y" * 8), ("c", "z" * 8)])
    assert index.keys() == {"a"} and index.stats.refused == 2 and len(index.stats.messages) == 1


# --- mixing ----------------------------------------------------------------------------------------------------

def uniform(v=8):
    return np.log(np.full(v, 1.0 / v))


def test_mix_moves_probability_to_the_cache_and_stays_normalised():
    index = ProjectIndex(lambda texts: [[int(c) for c in t] for t in texts], IndexLimits(max_order=2))
    index.update([("a", "1231237")])
    rule = MixRule(kind=FIXED, weight=0.5, max_order=2)
    match = nested_match([1, 2], rule, project=index)
    mixed = mix(uniform(), match, rule)
    assert int(mixed.argmax()) == 3
    assert np.isclose(np.exp(mixed).sum(), 1.0)
    assert mix(uniform(), None, rule) is not None and np.allclose(mix(uniform(), None, rule), uniform())


def test_the_file_counts_more_than_the_project():
    index = ProjectIndex(lambda texts: [[int(c) for c in t] for t in texts], IndexLimits(max_order=2))
    index.update([("other", "1251251")])  # the project says 5 after 1 2 (twice)
    local = LocalText.of([1, 2, 6], max_order=2)  # the file itself says 6 (once)
    rule = MixRule(kind=FIXED, weight=1.0, max_order=2, local_weight=4.0)
    assert int(mix(uniform(), nested_match([1, 2], rule, local, index), rule).argmax()) == 6


@pytest.mark.parametrize("kind", [FIXED, CONTEXT, GATE])
def test_every_rule_gives_a_weight_between_0_and_1(kind):
    table = NgramTable([[1, 2, 3, 1, 2, 3]], max_order=2)
    match = table.lookup([1, 2])
    lam = MixRule(kind=kind).weight_for(match, uniform())
    assert 0.0 <= lam <= 1.0


def test_context_rule_trusts_longer_and_more_frequent_contexts_more():
    rule = MixRule(kind=CONTEXT, max_order=4)
    short = NgramTable([[1, 2]], max_order=4).lookup([1])
    long_often = NgramTable([[1, 2, 3, 4, 5]] * 5, max_order=4).lookup([1, 2, 3, 4])
    assert rule.weight_for(long_often, uniform()) > rule.weight_for(short, uniform())


def test_mixer_reads_the_prefix_and_the_generated_tokens():
    table = NgramTable([[7, 8, 9, 4]], max_order=3)
    mixer = Mixer([5, 7], MixRule(kind=FIXED, weight=0.9, max_order=3), LocalText(table))
    assert int(mixer([8], uniform(10)).argmax()) == 9
    assert int(mixer([8, 9], uniform(10)).argmax()) == 4
    assert mixer.lookups == 2 and mixer.matched == 2
