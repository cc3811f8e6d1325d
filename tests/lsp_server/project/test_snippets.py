"""Snippets of other workspace files: windows retrieved by identifier overlap with the lines above the cursor."""
from __future__ import annotations

from lsp_server.project.snippets import SnippetIndex, identifiers, query_text

CLIENT = """import socket


def open_channel(host, port):
    sock = socket.create_connection((host, port))
    sock.settimeout(frobnication_timeout)
    return wrap_channel(sock, retries=frobnication_retries)


def close_channel(channel):
    channel.flush_pending()
    channel.close()
"""
UNRELATED = """def area(width, height):
    return width * height


def perimeter(width, height):
    return 2 * (width + height)
"""


def index_of(**files) -> SnippetIndex:
    index = SnippetIndex()
    index.update(list(files.items()))
    return index


def test_identifiers_skip_keywords_self_and_short_names():
    assert identifiers("def f(self, x, name): return self.value_of(name) if x else None") == \
        {"value_of", "name"}


def test_the_query_is_the_lines_above_the_cursors_line():
    prefix = "a = 1\nb = 2\nc = thing_being_ty"
    assert query_text(prefix) == "a = 1\nb = 2\n"
    assert query_text("no newline yet") == ""


def test_the_window_sharing_rare_names_is_found_and_the_file_itself_never():
    index = index_of(**{"client.py": CLIENT, "geometry.py": UNRELATED})
    prefix = "def reopen(host, port):\n    s = open_channel(host, port)\n    s.settimeout(frobnication_timeout)\n    "
    found = index.retrieve(prefix, exclude="server.py", k=2)
    assert found and found[0].key == "client.py" and "frobnication_timeout" in found[0].text
    assert all(s.key != "geometry.py" for s in found)
    assert index.retrieve(prefix, exclude="client.py", k=2) == []


def test_windows_of_one_file_do_not_overlap_and_k_is_respected():
    lines = [f"filler_{i} = other_thing_{i}" for i in range(60)]
    for spot in (0, 20, 40):  # three far-apart uses: each in two overlapping windows
        lines[spot] = f"value_{spot} = compute_total(alpha_rate, beta_rate)"
    long_file = "\n".join(lines) + "\n"
    index = index_of(**{"long.py": long_file})
    found = index.retrieve("x = compute_total(alpha_rate, beta_rate)\n", k=3)
    assert len(found) == 3
    lines = sorted(s.line for s in found)
    assert all(b - a >= index.window for a, b in zip(lines, lines[1:]))


def test_an_updated_or_removed_file_is_retrieved_as_it_is_now():
    index = index_of(**{"client.py": CLIENT})
    prefix = "channel = open_channel(h, p)\nchannel.flush_pending()\n"
    assert index.retrieve(prefix)  # cached from here on
    index.update([("client.py", UNRELATED)])
    assert index.retrieve(prefix) == []
    index.update([("client.py", CLIENT)])
    assert index.retrieve(prefix)
    index.remove(["client.py"])
    assert index.retrieve(prefix) == [] and len(index) == 0


def test_names_in_most_windows_are_not_looked_up():
    files = {f"m{i}.py": f"def handler_{i}(request):\n    return common_helper(request)\n" for i in range(30)}
    index = index_of(**files)
    assert index.retrieve("common_helper(request)\n") == []  # in every window: says nothing
    assert index.retrieve("handler_7(request)\n")[0].key == "m7.py"
