"""inline.exclude in the configuration: a list of gitignore-style globs; anything else is reported and the
previous value kept."""
from __future__ import annotations

import pytest

from lsp_server.config import QuillConfig, parse_config


def test_exclude_defaults_to_nothing_and_takes_a_list_of_globs():
    assert QuillConfig().inline.exclude == []
    config, problems = parse_config({"inline": {"exclude": ["tests/**", "*_pb2.py"]}})
    assert problems == [] and config.inline.exclude == ["tests/**", "*_pb2.py"]


@pytest.mark.parametrize("value, words", [
    ("tests/**", "expected list[str]"), ([1, 2], "expected list[str]"), (None, "expected list[str]"),
    (["ok/", "!"], "not a gitignore-style glob"),
])
def test_a_bad_exclude_value_is_reported_and_the_previous_one_kept(value, words):
    base, _ = parse_config({"inline": {"exclude": ["keep/**"]}})
    config, problems = parse_config({"inline": {"exclude": value}}, base)
    assert len(problems) == 1 and problems[0].startswith("inline.exclude: ") and words in problems[0]
    assert config.inline.exclude == ["keep/**"]


def test_the_parsed_list_is_a_copy_of_the_clients():
    sent = ["a/**"]
    config, _ = parse_config({"inline": {"exclude": sent}})
    sent.append("b/**")
    assert config.inline.exclude == ["a/**"]
