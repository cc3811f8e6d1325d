"""End-to-end: the Neovim plugin's editor conventions in a real headless Neovim (editors/nvim/tests/e2e_editor.lua).

`:checkhealth quill` against the real server, `:help quill`, the commands of plugin/quill.lua without setup(),
`:Quill toggle`, manual mode, the next/previous keys and the statusline, and that a repository's own
`.venv/bin/quill` is not run without trust. The server is the `quill` console script beside this Python (so the
health check runs `quill --version`), else `python -m lsp_server`. Skipped like test_neovim.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e.test_neovim import assert_clean_run, expect, run_script

pytestmark = pytest.mark.e2e


def _server_command() -> list[str]:
    quill = Path(sys.executable).parent / "quill"
    return [str(quill), "serve"] if quill.exists() else [sys.executable, "-m", "lsp_server", "serve"]


@pytest.fixture(scope="module")
def editor_run() -> tuple[dict[str, tuple[str, str]], str]:
    """e2e_editor.lua, run once for this module."""
    return run_script("e2e_editor.lua", _server_command())


def test_neovim_checkhealth_quill_has_no_error_with_the_real_server_and_reports_a_broken_command(editor_run):
    expect(editor_run, ":checkhealth quill has no ERROR with the real server",
           ":checkhealth quill reports a server command that cannot run as an ERROR")


def test_neovim_help_quill_opens_and_documents_every_option(editor_run):
    expect(editor_run, ":help quill opens the plugin's doc",
           "the help documents every option, command and mapping, and its links resolve")


def test_neovim_commands_exist_without_setup(editor_run):
    expect(editor_run, "plugin/quill.lua defines :Quill, :QuillDocstring, :QuillGenerate without setup()")


def test_neovim_quill_toggle_stops_ghost_text_and_brings_it_back(editor_run):
    expect(editor_run, ":Quill toggle stops ghost text", ":Quill toggle again brings suggestions back")


def test_neovim_manual_mode_shows_nothing_until_the_trigger_key(editor_run):
    expect(editor_run, "manual mode shows no suggestion while typing", "in manual mode the trigger key shows one")


def test_neovim_next_and_previous_keys_cycle_alternatives_and_the_statusline_counts_them(editor_run):
    expect(editor_run, "next/previous keys cycle through the alternatives")


def test_neovim_project_local_server_is_not_run_without_trust(editor_run):
    expect(editor_run, "a project-local .venv/bin/quill is not run without trust",
           "project_server = true runs the project-local server")


def test_neovim_project_local_server_trusted_through_vim_secure_runs(editor_run):
    expect(editor_run, "a project-local server trusted with vim.secure.trust runs")


def test_neovim_native_accept_line_accepts_one_line(editor_run):
    expect(editor_run, "on the 0.12 native path accept_line accepts one line")


def test_neovim_editor_run_reports_no_failure_and_no_lua_error(editor_run):
    assert_clean_run(editor_run)
