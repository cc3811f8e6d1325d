"""Hostile input: huge files, deep nesting, NUL bytes, invalid UTF-8, lone surrogates, a 50,000-character line.

Every feature is requested through the real protocol (an in-process client feeding JSON to QuillServer,
with the shipped model): no crash, no error reply, bounded time, and where a feature gives up, an empty
answer with one log line. The worst latency per case is printed (`pytest -s`). QUILL_LONG=1 adds positions.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_support import InProcessClient, scaled

from lsp_server.app import create_server
from lsp_server.errors import InputTooComplex
from lsp_server.runtime.engine import Engine
from lsp_server.syntax.documents import Document, parse, scrub
from lsp_server.syntax.limits import (
    MAX_DEPTH,
    WINDOW_BYTES,
    check_position,
    error_count,
    statement_window,
)

MAX_REPLY_S = 10.0  # per request, on a loaded 2-core machine; unbounded steps took minutes before the fix
LATENCIES: dict[str, float] = {}
URI = "file:///hostile/case.py"


def _big(stdlib_dir: Path) -> str:
    src = "".join((stdlib_dir / name).read_text(encoding="utf-8") for name in ("json/decoder.py", "textwrap.py"))
    return src * (5_000_000 // len(src) + 1)


CASES = {
    "5 MB file": _big,
    "100,000 nested brackets on one line": lambda _: "x = " + "(" * 100_000 + ")" * 100_000 + "\n",
    "100,000 nested brackets, one per line": lambda _: "x = " + "(\n" * 100_000 + ")\n" * 100_000,
    "100,000 unclosed brackets": lambda _: "def f(a):\n    return " + "[" * 100_000 + "\n",
    "20,000-term expression": lambda _: "def f(a):\n    return " + "+".join(["a"] * 20_000) + "\n",
    "NUL bytes": lambda _: "import os\n\x00def f(a\x00):\n    x = '\x00'\n    return a\x00 + 1\n\nclass C:\n"
                           "    def g(self):\n        self.\x00\n",
    "lone surrogates": lambda _: "def f(a):\n    s = '\ud800'\n    return a + \udfff\n\nclass C:\n    pass\n",
    "50,000-character line": lambda _: "import os\nvalue = [" + ", ".join(str(i) for i in range(12_000))[:50_000]
                                       + "]\ndef g(x):\n    return x\n",
}


def _positions(text: str) -> list[int]:
    """Offsets worth asking at: start, a few inside, around the longest line's middle, the end."""
    n = len(text)
    picks = {0, min(n, 25), n // 2, max(n - 3, 0), n}
    if scaled(0, 1):
        picks |= {n // 7, n // 3, 2 * n // 3}
    return sorted(picks)


def _requests(doc: Document, offset: int) -> list[tuple[str, dict]]:
    pos = doc.position_at(offset, "utf-16")
    where = {"textDocument": {"uri": URI}, "position": {"line": pos.line, "character": pos.character}}
    span = {"start": where["position"], "end": where["position"]}
    return [("textDocument/inlineCompletion", {**where, "context": {"triggerKind": 1}}),
            ("textDocument/completion", where), ("textDocument/hover", where),
            ("textDocument/codeAction", {"textDocument": where["textDocument"], "range": span,
                                         "context": {"diagnostics": []}})]


def _client(engine: Engine) -> InProcessClient:
    server = create_server(threads=1)
    server.engine = engine  # the shared fixture, loaded once; `initialized` (which would load another) is not sent
    client = InProcessClient(server)
    client.initialize("utf-16")
    return client


def _log_lines(client: InProcessClient) -> list[str]:
    return [m["params"]["message"] for m in client.writer.messages if m.get("method") == "window/logMessage"]


@pytest.mark.parametrize("case", list(CASES))
async def test_hostile_document_gets_bounded_empty_or_real_answers(case, engine, stdlib_dir):
    text = CASES[case](stdlib_dir)
    client = _client(engine)
    started = time.perf_counter()
    client.did_open(URI, text)
    doc = client.server.store.get(URI)
    worst = ("didOpen", time.perf_counter() - started)
    for offset in _positions(doc.text):
        for method, params in _requests(doc, offset):
            started = time.perf_counter()
            reply = await client.reply(client.request(method, params), timeout=MAX_REPLY_S)
            elapsed = time.perf_counter() - started
            assert "error" not in reply, (method, offset, reply)
            worst = max(worst, (f"{method} at {offset}", elapsed), key=lambda w: w[1])
    LATENCIES[case] = worst[1]
    print(f"\n[hostile] {case}: worst {worst[1] * 1000:.0f} ms ({worst[0]})")
    assert worst[1] < MAX_REPLY_S
    gave_up = [line for line in _log_lines(client) if "gave up" in line]
    methods = [line.split()[1] for line in gave_up]
    assert len(methods) == len(set(methods)), gave_up  # one log line per feature and document
    assert not [line for line in _log_lines(client) if "failed" in line], _log_lines(client)


def test_deep_and_wide_positions_raise_the_typed_error_at_once():
    deep = Document("file:///d.py", "x = " + "(\n" * 2 * MAX_DEPTH + ")\n" * 2 * MAX_DEPTH)
    with pytest.raises(InputTooComplex, match="nested"):
        check_position(deep, len(deep.text) // 2)
    check_position(deep, 2)  # the top of the same file is fine
    wide = Document("file:///w.py", "y = 1\n" + "[" * 10_000 + "\n")
    with pytest.raises(InputTooComplex, match="syntax error spans"):
        check_position(wide, 2)
    long_line = Document("file:///l.py", "s = '" + "a" * 200_000 + "'\n")
    with pytest.raises(InputTooComplex, match="characters into its line"):
        check_position(long_line, 150_000)


def test_statement_windows_stay_bounded_and_hold_the_position():
    huge_class = "class Big:\n" + "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(2_000))
    doc = Document("file:///c.py", huge_class)
    offset = huge_class.index("return 1000")
    lo, hi = statement_window(doc, offset)
    assert lo <= offset <= hi and len(doc.source_bytes[doc.byte_at(lo):doc.byte_at(hi)]) <= WINDOW_BYTES
    assert doc.text[lo:hi].strip().startswith("def m1000")  # the method, not a cut line
    one_line = Document("file:///o.py", "x = " + "(" * 100_000 + ")" * 100_000 + "\n")
    lo, hi = statement_window(one_line, 50_000)
    assert lo <= 50_000 <= hi and hi - lo <= WINDOW_BYTES
    small = "a = 1\n\ndef f():\n    return 2\n"
    assert statement_window(Document("file:///s.py", small), small.index("return")) == (5, len(small))


def test_error_count_does_not_recurse():
    tree = parse(("x = " + "(" * 5_000 + "\n").encode())
    assert error_count(tree.root_node) >= 1  # 5,000 levels: a recursive count would overflow the stack


def test_lone_surrogates_become_replacement_characters_at_the_same_positions():
    text = "a = '\ud800'\nb = 2\n"
    doc = Document("file:///s.py", text)
    assert doc.text == scrub(text) == "a = '\ufffd'\nb = 2\n"
    assert doc.offset_at(doc.position_at(12, "utf-16"), "utf-16") == 12


def _complete(path: Path, line: int, col: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "quill", "complete", str(path), str(line), str(col),
                           "--json"], capture_output=True, text=True, timeout=120)


def test_quill_complete_reads_nul_bytes_and_invalid_utf8_from_disk(tmp_path):
    nul = tmp_path / "nul.py"
    nul.write_bytes(b"import os\n\x00\ndef f(a):\n    return a\x00\n")
    latin = tmp_path / "latin1.py"
    latin.write_bytes("name = 'caf\xe9'\ndef greet(who):\n    return ".encode("latin-1"))
    started = time.perf_counter()
    for path, line, col in ((nul, 4, 13), (latin, 3, 12)):
        done = _complete(path, line, col)
        assert done.returncode == 0, done.stderr
        assert isinstance(json.loads(done.stdout)["text"], str)
    assert "not valid UTF-8" in done.stderr
    LATENCIES["invalid UTF-8 / NUL on disk (quill complete)"] = (time.perf_counter() - started) / 2
    print(f"\n[hostile] quill complete on NUL bytes / invalid UTF-8: {LATENCIES[list(LATENCIES)[-1]]:.1f} s "
          "per run, process start and model load included")


async def test_an_internal_error_degrades_to_an_empty_answer_with_one_log_line(engine, monkeypatch):
    from lsp_server.features import completion
    client = _client(engine)
    client.did_open(URI, "value = 1\nprint(val")
    monkeypatch.setattr(completion, "word_at", lambda doc, offset: 1 / 0)  # a bug in a feature
    params = {"textDocument": {"uri": URI}, "position": {"line": 1, "character": 9}}
    for _ in range(3):
        reply = await client.reply(client.request("textDocument/completion", params))
        assert reply["result"] == {"isIncomplete": False, "items": []}
    (line,) = [line for line in _log_lines(client) if "failed" in line]
    assert "ZeroDivisionError" in line and "QUILL_STRICT" in line
    client.server.strict = True  # strict mode: the same bug fails the request instead
    reply = await client.reply(client.request("textDocument/completion", params))
    assert reply["error"]["code"] == -32603


def teardown_module(module):
    if LATENCIES:
        cases = "; ".join(f"{case} {seconds * 1000:.0f} ms" for case, seconds in LATENCIES.items())
        print(f"\n[hostile] worst latency per case: {cases}")
