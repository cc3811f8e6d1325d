"""The `quill` command line in process: every option explains itself, --json means one thing everywhere, and
errors become one line (the subprocess tests of the real command are in test_cli_errors.py)."""
import argparse
import json

import pytest

from quill import cli, cli_run, cli_train
from quill.cli_common import JSON_HELP, HelpFormatter, Report, UserError, positive_int


def subcommands() -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: parser.ready() for name, parser in action.choices.items()}


def test_every_option_of_every_subcommand_has_help_text():
    missing = [f"{name} {'/'.join(action.option_strings) or action.dest}"
               for name, parser in subcommands().items() for action in parser._actions
               if action.help is None]  # argparse.SUPPRESS (hidden test hooks) is a string
    assert missing == []


def test_help_shows_defaults_and_choices_without_saying_them_twice(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # argparse wraps to the terminal width: one option per line
    help_text = {name: parser.format_help() for name, parser in subcommands().items()}
    assert "(default: runs/corpus)" in help_text["corpus"]
    assert "{small,tiny,medium,large}" in help_text["train"] and "(default: small)" in help_text["train"]
    assert "(default: the --preset's)" in help_text["train"]  # values the preset sets
    assert "{DEBUG,INFO,WARNING,ERROR,CRITICAL}" in help_text["serve"] and "(default: WARNING)" in help_text["serve"]
    assert "(default: 2087)" in help_text["serve"]
    assert "{auto,seq2seq,lm}" in help_text["eval"]
    for name, text in help_text.items():
        assert "(default: None)" not in text and "(default: False)" not in text, name
    twice = [f"{name} {action.dest}" for name, parser in subcommands().items() for action in parser._actions
             if HelpFormatter("quill")._get_help_string(action).replace("%(default)s", "").count("(default") > 1]
    assert twice == []


def test_json_is_the_same_flag_wherever_it_exists():
    has_json = {name for name, parser in subcommands().items()
                if any(a.dest == "json" for a in parser._actions)}
    assert has_json == {"corpus", "tokenizer", "train", "train-doc", "export", "export-doc", "complete", "eval"}
    for name, parser in subcommands().items():
        for action in parser._actions:
            if action.dest == "json":
                assert isinstance(action, argparse._StoreTrueAction) and action.help == JSON_HELP, name


def test_the_cli_presets_and_default_paths_are_the_trainers():
    from model.train import PRESETS, TrainConfig
    from model.train_doc import PRESETS as DOC_PRESETS
    from model.train_doc import DocTrainConfig
    assert sorted(cli_train.LM_PRESETS) == sorted(PRESETS)
    assert sorted(cli_train.DOC_PRESETS) == sorted(DOC_PRESETS)
    parsers = subcommands()
    for name, config in (("train", TrainConfig()), ("train-doc", DocTrainConfig())):
        for key in ("corpus", "tokenizer", "out", "preset"):
            assert parsers[name].get_default(key) == getattr(config, key), (name, key)


def test_json_mode_prints_one_object_on_stdout_and_everything_else_on_stderr(capsys):
    def command(args):
        print("a log line")
        return Report({"answer": 42}, "forty-two")
    assert cli.run(argparse.Namespace(func=command, json=True)) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"answer": 42} and err == "a log line\n"
    assert cli.run(argparse.Namespace(func=command, json=False)) == 0
    assert capsys.readouterr().out == "a log line\nforty-two\n"


def test_errors_become_one_line_naming_the_command(monkeypatch):
    def fail(exc):
        def command(args):
            raise exc
        monkeypatch.setattr(cli, "build_parser", lambda: _parser(command))
        with pytest.raises(SystemExit) as info:
            cli.main(["x"])
        return info.value.code

    assert fail(UserError("--corpus runs/nope does not exist")) == "quill x: --corpus runs/nope does not exist"
    assert fail(FileNotFoundError(2, "No such file or directory", "runs/lm/final/config.json")) == \
        "quill x: No such file or directory: runs/lm/final/config.json"
    assert fail(ValueError("the train split of c is empty")) == "quill x: the train split of c is empty"
    missing = ModuleNotFoundError("No module named 'torch'", name="torch")
    assert "pip install 'quill-lsp[train]'" in fail(missing)
    with pytest.raises(ModuleNotFoundError):  # a module outside the [train] extra is a bug: its traceback stays
        fail(ModuleNotFoundError("No module named 'nope'", name="nope"))
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    with pytest.raises(ValueError):
        fail(ValueError("shown with its traceback"))


def _parser(command) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quill")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("x").set_defaults(func=command)
    return parser


def test_positions_are_checked_against_the_file(tmp_path):
    text = "x = 1\ny = 'é'\n"
    cli_run.check_position("f.py", text, 2, 8)  # after the closing quote: the end of line 2
    cli_run.check_position("f.py", text, 3, 1)  # the empty line after the last newline
    with pytest.raises(UserError, match="line 4 is past the end of f.py \\(its last line is 3\\)"):
        cli_run.check_position("f.py", text, 4, 1)
    with pytest.raises(UserError, match="column 9 is past the end of line 2 of f.py \\(7 characters"):
        cli_run.check_position("f.py", text, 2, 9)
    with pytest.raises(argparse.ArgumentTypeError, match="'0' must be at least 1|0 must be at least 1"):
        positive_int("0")


def test_python_files_are_told_apart_from_binary_and_other_files(tmp_path):
    script = tmp_path / "tool"
    script.write_text("#!/usr/bin/env python3\nprint(1)\n")
    assert cli_run.read_source(str(script)).startswith("#!")
    text_with_nul = tmp_path / "nul.py"  # NUL in valid UTF-8 is text (the server reads it too)
    text_with_nul.write_bytes(b"x = 1\x00\n")
    assert cli_run.read_source(str(text_with_nul)) == "x = 1\x00\n"
    compiled = tmp_path / "mod.pyc"
    compiled.write_bytes(b"\xa7\r\r\n\x00\x00\x00\x00\xe3\x00\x00\x00\xff\xfe")
    with pytest.raises(UserError, match="binary file"):
        cli_run.read_source(str(compiled))
    notes = tmp_path / "notes.md"
    notes.write_text("x = 1\n")
    with pytest.raises(UserError, match="not a Python file"):
        cli_run.read_source(str(notes))
