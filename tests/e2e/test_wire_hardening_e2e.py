"""The real `quill serve` against hostile framing (issue 12: each fault of ../shared/repro has a test here).

Oversized Content-Length, wrong lengths and header case, bodies that are not UTF-8 or nest too deep,
batches, notifications with ids, invalid ids and methods, `exit` without `shutdown`, and a second client on
--tcp or --socket.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time

import pytest

from .rawrpc import SERVE, RawServer

pytestmark = pytest.mark.e2e
HOVER = {"textDocument": {"uri": "file:///x.py"}, "position": {"line": 0, "character": 0}}


def frame(obj) -> bytes:
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def run_stdin(data: bytes, *flags: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*SERVE, *flags], input=data, capture_output=True, timeout=timeout)


@pytest.mark.parametrize("length", [10**20, 9 * 10**18, 10**12])
def test_an_absurd_content_length_is_discarded_and_logged_not_a_crash(length):
    done = run_stdin(b"Content-Length: %d\r\n\r\n{}" % length)
    err = done.stderr.decode()
    assert done.returncode == 1, err  # the client left without shutdown
    assert "over the" in err and "MemoryError" not in err and "OverflowError" not in err and "Traceback" not in err


def test_a_message_over_the_cap_is_skipped_and_the_next_one_answered():
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}}
    shutdown = {"jsonrpc": "2.0", "id": 2, "method": "shutdown"}
    data = frame(b'{"pad":"' + b"x" * 20_000 + b'"}') + frame(init) + frame(shutdown) + frame(
        {"jsonrpc": "2.0", "method": "exit"})
    done = run_stdin(data, "--max-message-mb", "0.01")
    assert done.returncode == 0, done.stderr.decode()
    assert b'"id": 1' in done.stdout and b'"id": 2' in done.stdout


def test_exit_without_shutdown_ends_with_status_1():
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}}
    process = subprocess.Popen(SERVE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdin.write(frame(init))
    process.stdin.flush()
    time.sleep(1)
    process.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    process.stdin.flush()  # stdin stays open: the server must not wait for it
    try:
        assert process.wait(20) == 1
    finally:
        process.kill()


@pytest.mark.parametrize("bad", ["short", "lowercase"])
def test_a_wrong_length_or_a_lowercase_header_does_not_lose_later_requests(bad):
    server = RawServer()
    try:
        server.initialize()
        body = json.dumps({"jsonrpc": "2.0", "id": "bad", "method": "textDocument/hover", "params": HOVER}).encode()
        if bad == "short":
            server.process.stdin.write(b"Content-Length: %d\r\n\r\n" % (len(body) - 10) + body)
        else:
            server.process.stdin.write(b"content-length: %d\r\n\r\n" % len(body) + body)
        server.process.stdin.flush()
        for i in range(3):
            assert "result" in server.call(f"after-{i}", "textDocument/hover", HOVER, timeout=20)
        assert server.process.poll() is None
    finally:
        assert server.close() == 0


def test_garbage_with_an_id_gets_one_reply_and_no_popup():
    server = RawServer()
    try:
        server.initialize()
        params = json.dumps({"params": HOVER})[1:-1].encode()
        server.write(b'{"jsonrpc":"2.0","id":41,"method":"textDocument/hover","x":"\xff",' + params + b"}")
        server.write(b'{"jsonrpc":"2.0","id":42,"method":"textDocument/hover","deep":' + b"[" * 100_000
                     + b"]" * 100_000 + b"}")
        server.request(43, "textDocument/didSave", {"textDocument": {"uri": "file:///x.py"}})
        server.write(json.dumps([{"jsonrpc": "2.0", "id": 44, "method": "shutdown"}]).encode())
        server.send({"jsonrpc": "2.0", "id": {"a": 1}, "method": "textDocument/hover", "params": HOVER})
        server.send({"jsonrpc": "2.0", "id": 46, "method": 5, "params": HOVER})
        server.send({"jsonrpc": "2.0", "id": True, "method": "textDocument/hover", "params": HOVER})
        server.send({"jsonrpc": "2.0", "id": 1.5, "method": "textDocument/hover", "params": HOVER})
        codes = {i: server.wait_reply(i, timeout=20)["error"]["code"] for i in (41, 42, 43, 44, 46)}
        assert codes == {41: -32700, 42: -32600, 43: -32600, 44: -32600, 46: -32600}
        assert "result" in server.call("alive", "textDocument/hover", HOVER)
        null_replies = [m for m in server.messages if "method" not in m and m.get("id") is None]
        assert [m["error"]["code"] for m in null_replies] == [-32600] * 3  # the three invalid ids
        errors = null_replies + server.replies(46)
        assert all("data" not in m["error"] for m in errors)  # no traceback with file paths
        assert not [m for m in server.messages if m.get("method") == "window/showMessage"]
        assert all(len(server.replies(i)) == 1 for i in (41, 42, 43, 44, 46))
    finally:
        assert server.close() == 0


def read_messages(sock: socket.socket, timeout: float = 3.0) -> list:
    sock.settimeout(timeout)
    data, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, OSError):
            break
        if not chunk:
            return _parse(data) + ["EOF"]
        data += chunk
        if data.count(b"Content-Length") and data.endswith(b"}"):
            break
    return _parse(data)


def _parse(data: bytes) -> list:
    out = []
    while b"\r\n\r\n" in data:
        head, rest = data.split(b"\r\n\r\n", 1)
        n = int(head.split(b"\r\n")[0].split(b":")[1])
        out.append(json.loads(rest[:n]))
        data = rest[n:]
    return out


def start_listening(flags: list[str], connect) -> tuple[subprocess.Popen, socket.socket]:
    process = subprocess.Popen([*SERVE, *flags], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            return process, connect()
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError(process.stderr.read().decode()[-2000:])
            time.sleep(0.1)


def check_one_client(process: subprocess.Popen, a: socket.socket, connect) -> None:
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}}
    a.sendall(frame(init))
    assert [m.get("id") for m in read_messages(a)] == [1]
    b = connect()  # another local process: refused at once
    assert read_messages(b, 2) == ["EOF"]
    a.sendall(frame({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": HOVER}))
    assert [m.get("id") for m in read_messages(a)] == [2]
    b.close()
    time.sleep(0.5)
    assert process.poll() is None  # the intruder leaving does not end the editor's session
    a.sendall(frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}) + frame({"jsonrpc": "2.0", "method": "exit"}))
    assert process.wait(20) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_serves_one_client_and_refuses_a_second():
    port = free_port()

    def connect():
        return socket.create_connection(("127.0.0.1", port), timeout=5)
    process, a = start_listening(["--tcp", "--port", str(port)], connect)
    try:
        check_one_client(process, a, connect)
    finally:
        process.kill()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")
def test_a_unix_socket_is_private_and_serves_one_client(tmp_path):
    path = tmp_path / "quill.sock"

    def connect():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(path))
        return s
    process, a = start_listening(["--socket", str(path)], connect)
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        check_one_client(process, a, connect)
    finally:
        process.kill()
    assert not path.exists()


def test_a_socket_path_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "not-a-socket"
    path.write_text("keep me")
    done = subprocess.run([*SERVE, "--socket", str(path)], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode != 0 and "not a socket" in done.stderr.decode()
    assert path.read_text() == "keep me"


def test_serve_is_importable_without_the_app_package():
    code = "import lsp_server.app, sys; assert 'quill' not in sys.modules and 'model' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
