"""Unit tests of settings parsing (lsp_server.config.parse_config)."""

import pytest

from lsp_server.config import CompletionConfig, InlineConfig, QuillConfig, parse_config
from lsp_server.inline.options import SuggestOptions
from lsp_server.inline.prompt import PromptBudget

DEFAULT = QuillConfig()


def test_none_gives_defaults_and_no_problems():
    config, problems = parse_config(None)
    assert config == DEFAULT
    assert problems == []


def test_empty_object_gives_defaults_and_no_problems():
    assert parse_config({}) == (DEFAULT, [])


def test_default_values():
    config, _ = parse_config(None)
    assert config.inline == InlineConfig(True, 24, 6, 256, 64, 400)
    assert config.completion == CompletionConfig(True)


def test_valid_inline_overrides_are_applied():
    config, problems = parse_config({"inline": {"max_lines": 3, "prefix_tokens": 512, "enabled": False}})
    assert problems == []
    assert config.inline.max_lines == 3
    assert config.inline.prefix_tokens == 512
    assert config.inline.enabled is False
    assert config.inline.max_new_tokens == 24  # untouched keys keep their defaults


def test_settings_under_a_quill_section_are_applied():
    config, problems = parse_config({"quill": {"inline": {"timeout_ms": 900}, "completion": {"enabled": False}}})
    assert problems == []
    assert config.inline.timeout_ms == 900
    assert config.completion.enabled is False


def test_limits_are_inclusive():
    config, problems = parse_config({"inline": {"suffix_tokens": 0, "max_new_tokens": 256}})
    assert problems == []
    assert (config.inline.suffix_tokens, config.inline.max_new_tokens) == (0, 256)


@pytest.mark.parametrize("key, value", [
    ("max_lines", "3"),
    ("max_lines", 2.5),
    ("max_lines", None),
    ("enabled", "yes"),
    ("enabled", 1),
])
def test_wrong_type_gives_one_problem_and_keeps_the_default(key, value):
    config, problems = parse_config({"inline": {key: value}})
    assert len(problems) == 1
    assert key in problems[0]
    assert getattr(config.inline, key) == getattr(DEFAULT.inline, key)


@pytest.mark.parametrize("key, value", [
    ("max_lines", 0),
    ("max_lines", 51),
    ("prefix_tokens", 15),
    ("suffix_tokens", -1),
    ("timeout_ms", 10_001),
])
def test_out_of_range_value_gives_one_problem_and_keeps_the_default(key, value):
    config, problems = parse_config({"inline": {key: value}})
    assert len(problems) == 1
    assert key in problems[0] and str(value) in problems[0]
    assert getattr(config.inline, key) == getattr(DEFAULT.inline, key)


def test_booleans_are_not_accepted_as_ints():
    config, problems = parse_config({"inline": {"max_lines": True}})
    assert len(problems) == 1
    assert config.inline.max_lines == 6


def test_unknown_key_gives_one_problem():
    config, problems = parse_config({"inline": {"temperature": 0.2}})
    assert problems == ["unknown setting inline.temperature"]
    assert config == DEFAULT


def test_unknown_section_gives_one_problem():
    config, problems = parse_config({"modelPath": "/tmp/evil.onnx"})
    assert len(problems) == 1
    assert "modelPath" in problems[0]
    assert config == DEFAULT


def test_section_that_is_not_an_object_gives_one_problem():
    config, problems = parse_config({"inline": 5})
    assert len(problems) == 1
    assert config == DEFAULT


@pytest.mark.parametrize("data", [[1, 2], "inline", 3, True])
def test_settings_that_are_not_an_object_give_one_problem_and_defaults(data):
    config, problems = parse_config(data)
    assert config == DEFAULT
    assert len(problems) == 1


def test_each_bad_value_is_reported_and_good_ones_still_apply():
    config, problems = parse_config({"inline": {"max_lines": "x", "timeout_ms": 5, "prefix_tokens": 100}})
    assert len(problems) == 2
    assert config.inline.prefix_tokens == 100
    assert (config.inline.max_lines, config.inline.timeout_ms) == (6, 400)


def test_overrides_apply_over_a_base_without_changing_it():
    base, _ = parse_config({"inline": {"max_lines": 3}})
    config, problems = parse_config({"inline": {"timeout_ms": 800}}, base)
    assert problems == []
    assert (config.inline.max_lines, config.inline.timeout_ms) == (3, 800)
    assert base.inline.timeout_ms == 400


def test_inline_config_converts_to_suggest_options():
    config, _ = parse_config({"inline": {"max_new_tokens": 10, "prefix_tokens": 128, "suffix_tokens": 32}})
    assert config.inline.suggest_options() == SuggestOptions(10, 6, PromptBudget(128, 32), 400,
                                                             cut_logprob=config.inline.cut_logprob,
                                                             min_confidence=config.inline.min_confidence)
    # The pipeline's own defaults leave the doubt cut and the gate off; the server's settings turn them on.
    assert SuggestOptions().min_confidence == 0.0 and config.inline.min_confidence > 0


# --- settings added with alternatives, cross-file context and model loading ----------------------

def test_new_defaults():
    config, _ = parse_config(None)
    assert (config.inline.multiline, config.inline.alternatives, config.inline.debounce_ms) == (True, 1, 0)
    assert config.inline.cross_file_context is True
    assert config.inline.confidence_threshold == SuggestOptions().confidence_threshold
    assert (config.completion.model_ranking, config.completion.max_items) == (True, 50)
    assert (config.model.bundle_path, config.model.threads) == (None, 0)


def test_confidence_threshold_accepts_ints_as_floats_and_rejects_non_finite_values():
    config, problems = parse_config({"inline": {"confidence_threshold": -2}})
    assert problems == [] and config.inline.confidence_threshold == -2.0
    for bad in (float("nan"), float("-inf"), "low", 1.5):
        config, problems = parse_config({"inline": {"confidence_threshold": bad}})
        assert len(problems) == 1 and "inline.confidence_threshold" in problems[0]
        assert config.inline.confidence_threshold == DEFAULT.inline.confidence_threshold


def test_alternatives_and_multiline_reach_the_suggest_options():
    config, _ = parse_config({"inline": {"alternatives": 3, "multiline": False, "confidence_threshold": -1.0}})
    options = config.inline.suggest_options()
    assert (options.alternatives, options.multiline, options.confidence_threshold) == (3, False, -1.0)


def test_bundle_path_is_honoured_from_user_level_settings():
    config, problems = parse_config({"model": {"bundle_path": "/opt/quill/bundle", "threads": 2}})
    assert problems == []
    assert (config.model.bundle_path, config.model.threads) == ("/opt/quill/bundle", 2)


def test_bundle_path_from_workspace_settings_is_refused_with_one_problem_naming_it():
    base, _ = parse_config({"model": {"bundle_path": "/opt/quill/bundle"}})
    config, problems = parse_config({"model": {"bundle_path": "/tmp/evil"}, "inline": {"max_lines": 2}},
                                    base, user_level=False)
    assert len(problems) == 1 and "model.bundle_path" in problems[0]
    assert config.model.bundle_path == "/opt/quill/bundle"
    assert config.inline.max_lines == 2  # the rest of the settings still apply


def test_the_same_bundle_path_echoed_back_by_workspace_settings_is_silently_kept():
    base, _ = parse_config({"model": {"bundle_path": "/opt/quill/bundle"}})
    config, problems = parse_config({"model": {"bundle_path": "/opt/quill/bundle"}}, base, user_level=False)
    assert problems == [] and config.model.bundle_path == "/opt/quill/bundle"


@pytest.mark.parametrize("value", ["relative/bundle", "", 5])
def test_a_bundle_path_must_be_an_absolute_path(value):
    config, problems = parse_config({"model": {"bundle_path": value}})
    assert len(problems) == 1 and "model.bundle_path" in problems[0]
    assert config.model.bundle_path is None


def test_project_settings_choose_the_mix_and_the_caps():
    config, problems = parse_config({"project": {"weight": 0.3, "max_files": 10, "max_file_kb": 5}})
    assert problems == []
    assert config.project.mix_rule().weight == 0.3
    assert config.project.walk_limits().max_files == 10 and config.project.walk_limits().max_file_bytes == 5000
    assert parse_config({"project": {"cache": False}})[0].project.mix_rule() is None
    assert parse_config({"project": {"weight": 0.0}})[0].project.mix_rule() is None
    _, problems = parse_config({"project": {"weight": 1.5, "index": "yes"}})
    assert any("project.weight" in p for p in problems) and any("project.index" in p for p in problems)
