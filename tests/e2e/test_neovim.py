"""End-to-end: the Neovim plugin (editors/nvim) in a real headless Neovim against `quill serve`.

editors/nvim/tests/run.sh e2e.lua types into a Python buffer and prints one line per check
("ok - NAME: detail", "not ok - NAME: why", "skip - NAME: why"); each test here asserts a group of them.
Skipped only when `nvim` is missing and QUILL_REQUIRE_NVIM is unset (.ci/run installs Neovim and sets it).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "editors" / "nvim" / "tests" / "run.sh"
LINE = re.compile(r"^(ok|not ok|skip) - (.+?)(?:: (.*))?$")


def run_script(script: str, cmd: list[str]) -> tuple[dict[str, tuple[str, str]], str]:
    """Run one headless Neovim script of editors/nvim/tests against `cmd`; {check name: (status, detail)} and
    the whole output."""
    if shutil.which("nvim") is None:
        if os.environ.get("QUILL_REQUIRE_NVIM"):
            pytest.fail("QUILL_REQUIRE_NVIM is set but `nvim` is not installed")
        pytest.skip("nvim is not installed (apt-get install neovim)")
    env = dict(os.environ, QUILL_CMD=json.dumps(cmd))
    env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.run(["bash", str(RUNNER), script], env=env, capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL)
    output = proc.stdout + ("\n--- stderr\n" + proc.stderr if proc.stderr.strip() else "")
    checks = {}
    for line in proc.stdout.splitlines():
        if match := LINE.match(line):
            checks[match.group(2)] = (match.group(1), match.group(3) or "")
    failed = [name for name, (status, _) in checks.items() if status == "not ok"]
    if proc.returncode != 0 and not failed:
        pytest.fail(f"nvim exited with {proc.returncode} and reported no failed check:\n{output}")
    return checks, output


def expect(nvim_run, *names: str) -> None:
    """Each named check passed; a failure anywhere fails, and a skip (server feature absent) skips."""
    checks, output = nvim_run
    missing = [name for name in names if name not in checks]
    assert not missing, f"checks {missing} did not run:\n{output}"
    failed = [f"{name}: {checks[name][1]}" for name in names if checks[name][0] == "not ok"]
    assert not failed, "\n".join(failed) + "\n\n" + output
    skipped = [f"{name}: {checks[name][1]}" for name in names if checks[name][0] == "skip"]
    if skipped:
        pytest.skip("; ".join(skipped))


def assert_clean_run(nvim_run) -> None:
    """No check failed, the summary line is there, and no Lua error was printed."""
    checks, output = nvim_run
    assert not [n for n, (s, _) in checks.items() if s == "not ok"], output
    assert re.search(r"^nvim e2e: \d+ passed, 0 failed", output, re.M), output
    # A Lua error in a mapping or autocommand is printed, not raised: it must fail the run too.
    assert not re.search(r"E5108|Error executing (lua|vim\.schedule)", output), output


@pytest.fixture(scope="module")
def nvim_run() -> tuple[dict[str, tuple[str, str]], str]:
    """The plugin's main headless test (e2e.lua), run once for this module."""
    return run_script("e2e.lua", [sys.executable, "-m", "lsp_server", "serve"])


def test_neovim_plugin_finds_root_and_server_and_fits_items_to_the_cursor(nvim_run):
    expect(nvim_run,
           "root is the folder with a marker; the server comes from the cmd option, PATH or a trusted .venv",
           "server items are fitted to the cursor (typed prefix removed, UTF-16 ranges, several lines)")


def test_neovim_shows_ghost_text_after_typing_and_tab_accepts_it(nvim_run):
    expect(nvim_run, "server starts and attaches", "ghost text appears after typing",
           "<Tab> accepts the ghost text", "cursor is left after the accepted text")


def test_neovim_accept_word_dismiss_insert_leave_and_plain_tab(nvim_run):
    expect(nvim_run, "accept word inserts the next word only", "typing the suggestion's next character keeps the rest",
           "<C-]> dismisses the suggestion",
           "InsertEnter requests and InsertLeave clears the suggestion", "<Tab> without a suggestion inserts a tab")


def test_neovim_multi_line_suggestion_uses_virtual_lines_and_is_accepted_whole(nvim_run):
    expect(nvim_run, "multi-line suggestion is drawn as virtual text + virtual lines",
           "<Tab> accepts every line of a multi-line suggestion")


def test_neovim_hover_suggests_a_docstring(nvim_run):
    expect(nvim_run, "hover suggests a docstring", "vim.lsp.buf.hover() shows it in a floating window")


def test_neovim_docstring_code_action_inserts_one(nvim_run):
    expect(nvim_run, "code action adds a docstring")


def test_neovim_quill_commands_reach_the_server(nvim_run):
    checks, _ = nvim_run
    generate = next((name for name in checks if name.startswith(":QuillGenerate")), ":QuillGenerate")
    expect(nvim_run, ":QuillDocstring inserts a docstring", generate)


def test_neovim_run_reports_no_failure_and_no_lua_error(nvim_run):
    assert_clean_run(nvim_run)
