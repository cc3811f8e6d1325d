"""End-to-end: the Neovim plugin's document status and acceptance statistics in a real headless Neovim
(editors/nvim/tests/e2e_status.lua) against the real server.

A buffer the project's `.quillignore` lists shows "inactive (excluded)" in the statusline, `:Quill status` and
`:checkhealth quill`, and sends no inlineCompletion request; a file the server answers is active again after
switching to it; `<M-Right>` reports a partial acceptance, `<Tab>` a whole one, and `quill.stats` / `:Quill stats`
count them. Skipped like test_neovim.py.
"""
from __future__ import annotations

import pytest

from tests.e2e.test_neovim import assert_clean_run, expect, run_script
from tests.e2e.test_neovim_editor import _server_command

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def status_run() -> tuple[dict[str, tuple[str, str]], str]:
    """e2e_status.lua, run once for this module."""
    return run_script("e2e_status.lua", _server_command())


def test_neovim_buffer_excluded_by_quillignore_shows_inactive_and_gets_no_ghost_text(status_run):
    expect(status_run, "a buffer listed in .quillignore shows inactive with the reason",
           "a buffer listed in .quillignore gets no ghost text and asks for none",
           ":checkhealth quill shows the buffer's document status")


def test_neovim_switching_to_an_answered_file_shows_it_active(status_run):
    expect(status_run, "switching to a file the server answers shows it active")


def test_neovim_accepting_a_suggestion_counts_in_quill_stats(status_run):
    expect(status_run, "accepting a word with <M-Right> reports a partial acceptance with its length",
           "accepting a suggestion with <Tab> makes quill.stats count one accepted", ":Quill stats shows quill.stats")


def test_neovim_status_run_reports_no_failure_and_no_lua_error(status_run):
    assert_clean_run(status_run)
