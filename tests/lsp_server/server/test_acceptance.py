"""The session's acceptance counters (quill.stats): each suggestion counted once, whole acceptance over partial,
unknown ids refused, the mean latency over shown suggestions."""
from __future__ import annotations

from lsp_server.server.acceptance import AcceptanceStats


def test_a_fresh_session_has_nothing_to_report():
    assert AcceptanceStats().to_json() == {
        "requests": 0, "shown": 0, "accepted": 0, "partially_accepted": 0, "partial_chars": 0,
        "acceptance_rate": None, "mean_latency_ms": None}


def test_shown_and_accepted_suggestions_are_counted_with_their_mean_latency():
    stats = AcceptanceStats()
    first, second = stats.show("file:///a.py", 30.0), stats.show("file:///b.py", 50.0)
    for _ in range(3):
        stats.answered()
    assert first != second
    assert stats.accept(first)
    found = stats.to_json()
    assert (found["requests"], found["shown"], found["accepted"]) == (3, 2, 1)
    assert found["acceptance_rate"] == 0.5 and found["mean_latency_ms"] == 40.0


def test_a_suggestion_accepted_twice_counts_once():
    stats = AcceptanceStats()
    sid = stats.show("file:///a.py", 10.0)
    assert stats.accept(sid) and stats.accept(sid)
    assert stats.accepted == 1


def test_partial_acceptances_count_the_suggestion_once_until_it_is_accepted_whole():
    stats = AcceptanceStats()
    sid = stats.show("file:///a.py", 10.0)
    assert stats.accept(sid, 4) and stats.accept(sid, 6)
    assert (stats.partially_accepted, stats.accepted, stats.partial_chars) == (1, 0, 10)
    assert stats.accept(sid)  # the rest with Tab: now it is accepted, no longer only partly
    assert (stats.partially_accepted, stats.accepted) == (0, 1)
    assert stats.accept(sid, 3)  # a late partial report changes no count
    assert (stats.partially_accepted, stats.accepted) == (0, 1)


def test_an_unknown_or_forgotten_id_is_refused_and_counts_nothing():
    stats = AcceptanceStats(max_tracked=2)
    old = stats.show("file:///a.py", 1.0)
    stats.show("file:///a.py", 1.0)
    stats.show("file:///a.py", 1.0)
    assert not stats.accept(old) and not stats.accept("q999") and not stats.accept("q999", 3)
    assert (stats.accepted, stats.partially_accepted, stats.partial_chars) == (0, 0, 0)


def test_each_document_remembers_the_suggestion_it_shows_until_hidden_or_closed():
    stats = AcceptanceStats()
    a = stats.show("file:///a.py", 1.0)
    b = stats.show("file:///b.py", 1.0)
    assert stats.current("file:///a.py") == a and stats.documents() == 2
    stats.hide("file:///a.py")
    assert stats.current("file:///a.py") is None
    stats.forget("file:///b.py")
    assert stats.current("file:///b.py") is None and stats.documents() == 0
    assert stats.accept(b) and stats.shown == 2  # closing a document keeps what it counted
