"""The real `quill` command, as a user runs it: every bad input ends in one line on stderr and a non-zero exit
status, never a Python traceback; --version and --json work from a shell; `serve` talks to a person at a
terminal. Each case is one subprocess (about a second each), so cases that need no model share none."""
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lsp_server.runtime.bundles import load_bundle


def quill_command() -> list[str]:
    script = Path(sys.executable).with_name("quill")
    return [str(script)] if script.exists() else [sys.executable, "-m", "quill"]


def quill_env(**extra) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "COLUMNS": "200", **extra}


def quill(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*quill_command(), *args], cwd=cwd, env=env or quill_env(), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "short.py").write_text("import os\n\ndef f(path):\n    return os.path.\n")
    (folder / "notes.txt").write_text("def f():\n    return 1\n")
    (folder / "blob.py").write_bytes(bytes(range(256)) * 8)  # NUL bytes and invalid UTF-8 under a .py name
    (folder / "project").mkdir()
    (folder / "project" / "a.py").write_text("def a():\n    return 1\n")
    return folder


NO_TORCH = "import sys\nsys.modules['torch'] = None  # `import torch` fails: the [train] extra is not installed\n"

# (arguments, exit status, what stderr says); {files} is the fixture's folder
BAD_INPUTS = [
    (["serve", "--log-level", "BOGUS"], 2, "invalid choice: 'BOGUS'"),
    (["serve", "--port", "0"], 2, "0 is not a TCP port"),
    (["train", "--source", "/nonexistent"], 1, "quill train: --source /nonexistent does not exist"),
    (["train", "--corpus", "/nonexistent"], 1, "quill train: --corpus /nonexistent does not exist; build one"),
    (["train", "--eval-interval", "0"], 2, "must be at least 1"),
    (["train", "--preset", "huge"], 2, "invalid choice: 'huge'"),
    (["train-doc", "--stage", "mlm", "--corpus", "/nonexistent"], 1, "--corpus /nonexistent does not exist"),
    (["corpus", "--no-stdlib", "--source", "/nonexistent"], 1, "quill corpus: --source /nonexistent does not exist"),
    (["tokenizer", "--corpus", "/nonexistent"], 1, "quill tokenizer: --corpus /nonexistent does not exist"),
    (["export", "--checkpoint", "/nonexistent"], 1, "quill export: --checkpoint /nonexistent does not exist"),
    (["export-doc", "--checkpoint", "{files}", "--bundle", "/nonexistent"], 1, "--bundle /nonexistent/manifest.json"),
    (["eval", "--corpus", "/nonexistent"], 1, "quill eval: --corpus /nonexistent does not exist"),
    (["eval", "--corpus", "{files}/project", "--settings", "{inline"], 1, "quill eval: --settings is not JSON"),
    (["demo", "--file", "/nonexistent.py"], 1, "quill demo: --file /nonexistent.py does not exist"),
    (["complete", "/nonexistent.py", "1", "1"], 1, "quill complete: cannot read /nonexistent.py"),
    (["complete", "{files}/blob.py", "1", "1"], 1, "is a binary file"),
    (["complete", "{files}/notes.txt", "1", "1"], 1, "is not a Python file"),
    (["complete", "{files}/short.py", "9", "1"], 1, "line 9 is past the end of"),
    (["complete", "{files}/short.py", "4", "40"], 1, "column 40 is past the end of line 4"),
    (["complete", "{files}/short.py", "0", "1"], 2, "must be at least 1"),
    (["complete", "{files}/short.py", "1", "1", "--bundle", "/nonexistent"], 1, "/nonexistent does not exist"),
]


@pytest.mark.parametrize("args, status, message", BAD_INPUTS, ids=[" ".join(a[:2]) for a, _, _ in BAD_INPUTS])
def test_a_bad_input_is_one_line_on_stderr_and_an_exit_status(files, args, status, message):
    done = quill(*[a.replace("{files}", str(files)) for a in args])
    assert "Traceback" not in done.stderr
    assert done.returncode == status, done.stderr
    assert message.replace("{files}", str(files)) in done.stderr
    assert done.stdout == ""


def test_training_without_the_train_extra_says_what_to_install(files, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(NO_TORCH)
    env = quill_env(PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    for command in (["train", "--source", str(files / "project")], ["export"]):
        done = quill(*command, env=env)
        assert "Traceback" not in done.stderr
        assert done.returncode == 1
        assert "needs the [train] extra (torch is not installed): pip install 'quill-lsp[train]'" in done.stderr


def test_version_names_the_package_and_the_shipped_model():
    done = quill("--version")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("quill 0.") and f"(bundle {load_bundle().name})" in done.stdout


def test_help_shows_each_default_and_the_choices():
    done = quill("serve", "--help")
    assert done.returncode == 0
    assert "--log-level {DEBUG,INFO,WARNING,ERROR,CRITICAL}" in done.stdout and "(default: WARNING)" in done.stdout


def test_json_output_is_one_object_on_stdout_with_the_logs_on_stderr(files, tmp_path):
    done = quill("corpus", "--no-stdlib", "--source", str(files / "project"), "--out", str(tmp_path / "c"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["out"] == str(tmp_path / "c") and (tmp_path / "c" / "summary.json").exists()
    done = quill("complete", str(files / "short.py"), "4", "20", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert isinstance(result["text"], str) and result["ms"] >= 0


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_serve_with_a_missing_bundle_says_so_on_stderr_at_start_and_to_the_client():
    proc = subprocess.Popen([*quill_command(), "serve", "--bundle", "/nonexistent"], env=quill_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        said = _read_until(proc.stderr.fileno(), b"starting without a model")  # before any client message
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                "params": {"processId": None, "rootUri": None, "capabilities": {}}})
                         + frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        proc.stdin.flush()
        told = _read_until(proc.stdout.fileno(), b"Other features keep working")  # the showMessage's end
    finally:
        proc.stdin.close()  # end of input: the server ends
        proc.wait(timeout=30)
    assert b"model bundle folder /nonexistent does not exist" in said and b"Traceback" not in said
    assert b"the completion model is unavailable (model bundle folder /nonexistent does not exist" in told


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="needs a pseudo-terminal")
def test_serve_at_a_terminal_says_it_waits_for_an_editor_and_ctrl_c_ends_it_quietly():
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*quill_command(), "serve"], env=quill_env(), stdin=follower, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    os.close(follower)
    try:
        said = _read_until(proc.stderr.fileno(), b"Ctrl-C quits.")
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[1]
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
    assert b"speaks LSP (JSON-RPC) on stdin/stdout and is waiting for a client" in said
    assert b"Traceback" not in said + rest and proc.returncode is not None


def _read_until(fd: int, marker: bytes, timeout: float = 30) -> bytes:
    """What the process wrote to fd until marker (or the timeout, or its end)."""
    data, deadline = b"", time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    return data


def test_the_server_module_refuses_a_bad_log_level_without_a_traceback():
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "lsp_server", "--log-level", "BOGUS"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "invalid choice: 'BOGUS'" in done.stderr and "Traceback" not in done.stderr
