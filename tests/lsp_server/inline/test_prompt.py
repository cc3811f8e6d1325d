"""Unit tests of the FIM prompt builder (lsp_server.prompt) with fake encoders."""

import random

from lsp_server.inline.prompt import (
    CHARS_PER_TOKEN_BOUND,
    PromptBudget,
    build_fim_prompt,
)

SPECIAL = {"<fim_prefix>": 0, "<fim_suffix>": 1, "<fim_middle>": 2}
OFFSET = 10  # character ids start above the special ids


def char_encode(text):
    """One token per character."""
    return [ord(c) + OFFSET for c in text]


def char_decode(ids):
    return "".join(chr(i - OFFSET) for i in ids)


def word_encode(text):
    """One token per whitespace-separated word (ids are stable within a test run)."""
    return [OFFSET + hash(word) % 10_000 for word in text.split()]


class RecordingEncoder:
    """Character encoder that remembers how much text it was asked to encode."""

    def __init__(self):
        self.calls = 0
        self.longest = 0

    def __call__(self, text):
        self.calls += 1
        self.longest = max(self.longest, len(text))
        return char_encode(text)


def parts(prompt):
    """(prefix ids, suffix ids) of a prompt, checking the PSM layout on the way."""
    ids = prompt.ids
    assert ids[0] == SPECIAL["<fim_prefix>"]
    assert ids[-1] == SPECIAL["<fim_middle>"]
    assert ids.count(SPECIAL["<fim_suffix>"]) == 1
    middle = ids.index(SPECIAL["<fim_suffix>"])
    return ids[1:middle], ids[middle + 1:-1]


def numbered_lines(n, width=10):
    """n lines of exactly `width` characters each (newline included)."""
    return "".join(f"v{i:0{width - 6}d} = 1\n"[-width:] for i in range(n))


def starts_a_line(whole, kept):
    """True when `kept`, a suffix of `whole`, begins at the start of one of whole's lines."""
    assert whole.endswith(kept)
    start = len(whole) - len(kept)
    return start == 0 or whole[start - 1] == "\n"


def test_prompt_layout_is_prefix_suffix_middle():
    prompt = build_fim_prompt("def f(x):\n    return ", "\n\nprint(f(1))\n", char_encode, SPECIAL)
    assert prompt.ids == [0, *char_encode("def f(x):\n    return "), 1, *char_encode("\n\nprint(f(1))\n"), 2]
    assert prompt.prefix_tokens == len("def f(x):\n    return ")
    assert prompt.suffix_tokens == len("\n\nprint(f(1))\n")
    assert prompt.prefix_text == "def f(x):\n    return "


def test_prompt_layout_with_a_word_encoder():
    prompt = build_fim_prompt("x = foo", "bar baz", word_encode, SPECIAL)
    prefix_ids, suffix_ids = parts(prompt)
    assert prefix_ids == word_encode("x = foo")
    assert suffix_ids == word_encode("bar baz")


def test_empty_prefix_and_suffix_give_only_the_special_tokens():
    prompt = build_fim_prompt("", "", char_encode, SPECIAL)
    assert prompt.ids == [0, 1, 2]
    assert (prompt.prefix_tokens, prompt.suffix_tokens, prompt.prefix_text) == (0, 0, "")


def test_empty_prefix_keeps_the_suffix():
    prompt = build_fim_prompt("", "pass\n", char_encode, SPECIAL)
    assert prompt.ids == [0, 1, *char_encode("pass\n"), 2]


def test_empty_suffix_keeps_the_prefix():
    prompt = build_fim_prompt("x = ", "", char_encode, SPECIAL)
    assert prompt.ids == [0, *char_encode("x = "), 1, 2]


def test_prefix_and_suffix_budgets_are_respected():
    budget = PromptBudget(prefix_tokens=50, suffix_tokens=20)
    prefix, suffix = numbered_lines(300) + "y = ", numbered_lines(300)
    for encode in (char_encode, word_encode):
        prompt = build_fim_prompt(prefix, suffix, encode, SPECIAL, budget)
        prefix_ids, suffix_ids = parts(prompt)
        assert len(suffix_ids) == prompt.suffix_tokens <= 20
        assert len(prefix_ids) == prompt.prefix_tokens <= 50 + 20 - prompt.suffix_tokens
        assert len(prompt.ids) == prompt.prefix_tokens + prompt.suffix_tokens + 3


def test_long_prefix_is_cut_at_a_line_boundary_and_keeps_the_text_nearest_the_cursor():
    prefix = numbered_lines(500) + "    result = compute("
    prompt = build_fim_prompt(prefix, "", char_encode, SPECIAL, PromptBudget(64, 0))
    prefix_ids, _ = parts(prompt)
    assert 0 < len(prefix_ids) <= 64
    assert char_decode(prefix_ids) == prompt.prefix_text
    assert starts_a_line(prefix, prompt.prefix_text)
    assert prompt.prefix_text.endswith("    result = compute(")
    # Whole lines are dropped only as far as needed: one more line would not fit.
    assert len(prompt.prefix_text) + 10 > 64


def test_long_suffix_is_cut_at_a_line_end_and_keeps_the_text_nearest_the_cursor():
    suffix = ")\n" + numbered_lines(500)
    prompt = build_fim_prompt("x = f(", suffix, char_encode, SPECIAL, PromptBudget(64, 32))
    _, suffix_ids = parts(prompt)
    kept = char_decode(suffix_ids)
    assert 0 < len(kept) <= 32
    assert suffix.startswith(kept)
    assert kept.endswith("\n")


def test_prefix_of_few_long_lines_still_keeps_the_cursor_line():
    # Regression: dropping lines in proportion to the excess could drop every line, cursor line included.
    prefix = "x = 1\n" + "y" * 200 + "\nreturn val"
    prompt = build_fim_prompt(prefix, "", char_encode, SPECIAL, PromptBudget(28, 0))
    assert prompt.prefix_text == "return val"
    assert char_decode(parts(prompt)[0]) == "return val"


def test_prefix_fits_at_a_line_boundary_for_uneven_line_lengths():
    rng = random.Random(1234)
    for _ in range(200):
        lines = [" " * rng.randint(0, 8) + "x" * rng.choice([0, 0, 1, 4, 10, 40, 80, 200]) + "\n"
                 for _ in range(rng.randint(1, 300))]
        prefix = "".join(lines) + "y = "
        budget = rng.randint(16, 300)
        prompt = build_fim_prompt(prefix, "", char_encode, SPECIAL, PromptBudget(budget, 0))
        assert "y = " in prompt.prefix_text
        assert prompt.prefix_tokens <= budget
        assert starts_a_line(prefix, prompt.prefix_text)
        assert char_decode(parts(prompt)[0]) == prompt.prefix_text


def test_single_overlong_line_is_cut_to_its_last_tokens():
    prefix = "call(" + "a, " * 500
    prompt = build_fim_prompt(prefix, "", char_encode, SPECIAL, PromptBudget(40, 0))
    prefix_ids, _ = parts(prompt)
    assert len(prefix_ids) == 40
    assert prefix.endswith(char_decode(prefix_ids))


def test_unused_suffix_budget_goes_to_the_prefix():
    budget = PromptBudget(prefix_tokens=40, suffix_tokens=30)
    prefix = numbered_lines(100)
    no_suffix = build_fim_prompt(prefix, "", char_encode, SPECIAL, budget)
    assert no_suffix.prefix_tokens == 70  # exactly 7 lines of 10 characters
    short_suffix = build_fim_prompt(prefix, ")\n", char_encode, SPECIAL, budget)
    assert short_suffix.suffix_tokens == 2
    assert 40 < short_suffix.prefix_tokens <= 68


def test_full_suffix_leaves_the_prefix_its_own_budget():
    budget = PromptBudget(prefix_tokens=40, suffix_tokens=30)
    prompt = build_fim_prompt(numbered_lines(100), numbered_lines(100), char_encode, SPECIAL, budget)
    assert prompt.suffix_tokens == 30
    assert prompt.prefix_tokens == 40


def test_ten_thousand_line_prefix_encodes_a_bounded_window():
    encode = RecordingEncoder()
    budget = PromptBudget(prefix_tokens=256, suffix_tokens=64)
    prefix = "".join(f"    value_{i} = compute({i}, 'é😀')\n" for i in range(10_000)) + "    total = "
    suffix = "".join(f"    other_{i} = {i}\n" for i in range(10_000))
    prompt = build_fim_prompt(prefix, suffix, encode, SPECIAL, budget)
    bound = (budget.prefix_tokens + budget.suffix_tokens) * CHARS_PER_TOKEN_BOUND
    assert encode.longest <= bound
    assert encode.calls <= 12
    assert prompt.prefix_tokens <= 256 + 64 - prompt.suffix_tokens
    assert prompt.prefix_text.endswith("    total = ")
    assert starts_a_line(prefix, prompt.prefix_text)


def test_zero_budgets_give_an_empty_prompt_body():
    prompt = build_fim_prompt("x = 1\n", "y\n", char_encode, SPECIAL, PromptBudget(0, 0))
    assert prompt.ids == [0, 1, 2]


def test_build_prompt_uses_fim_only_when_code_follows_the_cursor():
    from lsp_server.inline.prompt import build_prompt
    special = {**SPECIAL, "<eos>": 3}
    with_suffix = build_prompt("x = ", "\nprint(x)\n", char_encode, special)
    assert with_suffix.ids[0] == SPECIAL["<fim_prefix>"] and with_suffix.ids[-1] == SPECIAL["<fim_middle>"]
    at_end = build_prompt("def f():\n    return ", "\n  \n", char_encode, special)
    assert char_decode(at_end.ids) == "def f():\n    return "
    assert build_prompt("", "", char_encode, special).ids == [special["<eos>"]]


# --- cross-file context --------------------------------------------------------------------------

CONTEXT = "# path: other.py\nimport os\ndef helper(a, b): ...\n# path: far.py\nclass Far: ...\n"


def test_context_goes_before_the_prefix_inside_the_fim_prefix_part():
    from lsp_server.inline.prompt import build_prompt
    prompt = build_prompt("x = ", "\nprint(x)\n", char_encode, {**SPECIAL, "<eos>": 3}, PromptBudget(512, 64),
                          context=CONTEXT)
    prefix_ids, _ = parts(prompt)
    assert char_decode(prefix_ids) == CONTEXT + "x = "
    assert prompt.context_tokens == len(CONTEXT)
    assert prompt.prefix_tokens == len("x = ")


def test_context_gets_at_most_a_quarter_of_the_prefix_budget_in_whole_lines_nearest_first():
    from lsp_server.inline.prompt import build_prompt, fit_context
    ids = fit_context(CONTEXT, char_encode, 40)
    assert char_decode(ids) == "# path: other.py\nimport os\n"  # the next line would not fit
    prompt = build_prompt("x = ", "", char_encode, {**SPECIAL, "<eos>": 3}, PromptBudget(100, 60), context=CONTEXT)
    assert prompt.context_tokens <= (100 + 60) // 4
    assert char_decode(prompt.ids).endswith("x = ")


def test_context_never_pushes_out_the_code_right_before_the_cursor():
    from lsp_server.inline.prompt import build_prompt
    budget = PromptBudget(64, 0)
    prefix = numbered_lines(200) + "    result = compute("
    with_context = build_prompt(prefix, "", char_encode, {**SPECIAL, "<eos>": 3}, budget, context=CONTEXT * 20)
    assert with_context.prefix_tokens >= 64 - 64 // 4
    assert with_context.prefix_text.endswith("    result = compute(")
    assert len(with_context.ids) <= 64


def test_a_path_line_without_any_of_its_lines_is_dropped():
    from lsp_server.inline.prompt import fit_context
    assert char_decode(fit_context(CONTEXT, char_encode, len("# path: other.py\n") + 3)) == ""
    assert fit_context("", char_encode, 100) == []
    assert fit_context(CONTEXT, char_encode, 0) == []
