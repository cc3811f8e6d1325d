"""Cross-file training samples: windows of other files of the same package before the prefix, retrieved,
rendered, budgeted and laid out exactly as the server does it at that cursor; a share 1 - rate stays plain."""
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsp_server.inline.context import snippet_context, snippet_label
from lsp_server.inline.prompt import PromptBudget, build_fim_prompt, build_prompt
from lsp_server.project.snippets import SnippetIndex, query_text
from lsp_server.prompt_format import CONTEXT_HEADER
from model.crossfile import (
    CrossFileSpec,
    StreamStats,
    build_crossfile_stream,
    cursor_prefix,
    memo_encode,
    plan_package,
    training_stream,
    validation_stream,
)
from model.data import FimSpec, build_stream, chunk_range, lay_out
from model.tokenizer import (
    EOS,
    FIM_MIDDLE,
    FIM_PREFIX,
    FIM_SUFFIX,
    decode,
    special_ids,
    train_tokenizer,
)

WIDE = CrossFileSpec(rate=1.0, snippets=(4,), prompt_tokens=(100_000,))  # one k, a budget that cuts nothing
LINE_CHARS = st.sampled_from(list("ab \n\r\x0c\u2028é"))


def package_files(pkg: str, files: int = 4, lines: int = 60) -> list[dict]:
    """Files whose lines at the same position share identifiers across the package (and shared_/arg_ names
    across packages), each line tagged with its own file, so that a window's origin can be read back."""
    out = []
    for f in range(files):
        label = f"{pkg}/m{f}.py"
        text = "".join(f"{pkg}_v{f}_{i} = {pkg}_fn_{i % 60}(shared_{i % 50}, arg_{i * 7 % 40})  # {label}\n"
                       for i in range(lines))
        out.append({"path": f"src/{pkg}/m{f}.py", "text": text})
    return out


@pytest.fixture(scope="module")
def tok(stdlib_texts):
    return train_tokenizer(stdlib_texts + [r["text"] for r in package_files("alpha")], vocab_size=600)


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return package_files("alpha") + package_files("beta") + [{"path": "src/lonely.py", "text": "x = 1\n" * 80}]


def file_parts(stream: np.ndarray, tok) -> list[str]:
    """The decoded text of each file's samples (plain samples only: <eos> only ends a file)."""
    eos = tok.token_to_id(EOS)
    ids = stream.tolist()
    parts, start = [], 0
    for i, t in enumerate(ids):
        if t == eos:
            parts.append(decode(tok, ids[start:i]))
            start = i + 1
    return parts


@settings(max_examples=300, deadline=None)
@given(st.text(LINE_CHARS, max_size=200), st.data())
def test_cursor_prefix_asks_what_the_server_asks_at_that_cursor(text, data):
    cut = data.draw(st.integers(0, len(text)))
    assert query_text(cursor_prefix(text, cut)) == query_text(text[:cut])


def test_context_holds_windows_of_other_files_of_the_same_package_only(tok, corpus):
    stats = StreamStats()
    stream = build_crossfile_stream(corpus, tok, seed=2, fim=FimSpec(rate=0.0), spec=WIDE, stats=stats)
    parts = file_parts(stream, tok)
    assert len(parts) == len(corpus)
    seen = set()
    for part in parts:
        lines = part.splitlines()
        if "# " not in lines[-1]:  # lonely.py: the only file of its package
            assert CONTEXT_HEADER not in part
            continue
        target = lines[-1].rsplit("# ", 1)[1]  # a file's samples end with its own last line
        header = None
        for line in lines:
            if line.startswith(CONTEXT_HEADER):
                header = line[len(CONTEXT_HEADER):]
                assert header != target, "a window of the file itself"
                assert header.split("/")[0] == target.split("/")[0], "a window of another package"
                seen.add((target, header))
            elif not line.endswith(f"# {target}"):
                assert header is not None and line.endswith(f"# {header}"), line
    assert stats.with_context > stats.chunks // 2
    assert {t.split("/")[0] for t, _ in seen} == {"alpha", "beta"}  # every package had context; lonely.py none


def test_rate_zero_gives_todays_stream_exactly(tok, corpus):
    fim = FimSpec()
    plain = build_stream([r["text"] for r in corpus], tok, seed=4, fim=fim)
    np.testing.assert_array_equal(training_stream(corpus, tok, 4, fim, CrossFileSpec(rate=0.0)), plain)


def samples_with_cursor(files: list[dict], tok, fim: FimSpec, spec: CrossFileSpec):
    """(key, text, cut, sample, pieces) of every chunk of a package, with the cursor the sample was cut at."""
    samples, pieces = plan_package(files, [], random.Random(5), random.Random(6), fim, spec, memo_encode(tok),
                                   StreamStats())
    out, order = [], iter(files)
    record, start = next(order), 0
    for sample in samples:
        if not sample.pieces:
            record, start = next(order, None), 0
            continue
        texts = [pieces[i] for i in sample.pieces]
        cut = start + len(texts[0])  # after the FIM prefix; after a left-to-right chunk
        out.append((record["path"], record["text"], cut, sample, pieces))
        start += sum(len(t) for t in texts)
    return out


@pytest.mark.parametrize("fim_rate, spm_rate", [(1.0, 0.0), (1.0, 1.0), (0.0, 0.0)])
def test_a_sample_is_laid_out_as_the_server_builds_its_prompt(tok, fim_rate, spm_rate):
    files = package_files("alpha")
    server = SnippetIndex()  # the workspace: the package's files
    server.update([(r["path"], r["text"]) for r in files])
    encode, special = memo_encode(tok), special_ids(tok)
    budget = PromptBudget(100_000, 100_000, 2)
    checked = 0
    for key, text, cut, sample, pieces in samples_with_cursor(files, tok, FimSpec(rate=fim_rate, spm_rate=spm_rate),
                                                             WIDE):
        context = snippet_context(server.retrieve(text[:cut], exclude=key, k=4))
        ids = lay_out([sample], pieces, tok).tolist()
        if sample.order:
            prefix, middle, suffix = (pieces[i] for i in sample.pieces)
            prompt = build_fim_prompt(prefix, suffix, encode, special, budget, context, order=sample.order)
            assert ids == prompt.ids + encode(middle) + [special[EOS]]
        else:
            prompt = build_prompt(pieces[sample.pieces[0]], "", encode, special, budget, context)
            assert ids == prompt.ids
        checked += prompt.context_tokens > 0
    assert checked >= 5


@pytest.mark.parametrize("fim_rate", [0.0, 1.0])
def test_context_is_cut_to_the_servers_budget(tok, fim_rate):
    small = CrossFileSpec(rate=1.0, snippets=(8,), prompt_tokens=(320,))
    found = [len(s.context) for *_, s, _ in samples_with_cursor(package_files("alpha"), tok,
                                                                FimSpec(rate=fim_rate), small)]
    # The snippet share (1/2) of a 256 + 64 prompt: eight 6-line windows would be ~5 times that.
    assert max(found) <= 320 // 2 and sum(n > 100 for n in found) > len(found) // 2


def contexts_in_stream(stream: np.ndarray, tok) -> tuple[int, int]:
    """(PSM samples, of them with cross-file context) in a stream of FIM samples."""
    pre, suf = tok.token_to_id(FIM_PREFIX), tok.token_to_id(FIM_SUFFIX)
    ids = stream.tolist()
    starts = [i for i, t in enumerate(ids) if t == pre]
    with_context = sum(decode(tok, ids[i + 1:ids.index(suf, i)]).startswith(CONTEXT_HEADER) for i in starts)
    return len(starts), with_context


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.7, 1.0])
def test_the_share_of_cross_file_samples_follows_the_rate(tok, rate):
    files = package_files("alpha", files=8, lines=200) + package_files("beta", files=8, lines=200)
    stats = StreamStats()
    fim = FimSpec(rate=1.0, spm_rate=0.0, chunk_chars=(200, 400))
    stream = build_crossfile_stream(files, tok, 1, fim, CrossFileSpec(rate=rate), stats)
    samples, with_context = contexts_in_stream(stream, tok)
    assert samples == stats.chunks > 300
    assert with_context == stats.with_context <= stats.drawn
    assert abs(stats.drawn / stats.chunks - rate) < 0.08
    assert with_context >= 0.8 * stats.drawn  # nearly every drawn chunk finds a window of its package


def test_long_windows_get_longer_chunks():
    assert chunk_range(64) == chunk_range(512) == (400, 2400)
    assert chunk_range(1024) == (400, 4800)


def test_validation_retrieves_from_the_train_files_of_its_packages(tok):
    train = package_files("alpha")[:3] + package_files("beta")[:3]
    val = package_files("alpha")[3:] + package_files("beta")[3:]
    stream = validation_stream(val, train, tok, FimSpec(rate=0.0), WIDE, tokens=10_000)
    headers = {line[len(CONTEXT_HEADER):] for part in file_parts(stream, tok) for line in part.splitlines()
               if line.startswith(CONTEXT_HEADER)}
    assert headers and headers <= {snippet_label(r["path"]) for r in train}


def test_fim_layout_names_are_the_tokenizers():
    from lsp_server.bundle_format import SPECIAL_TOKENS
    assert (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, EOS) == SPECIAL_TOKENS
