"""The editor-process watch (lsp_server.parent): the server ends when the processId of initialize dies.

tests/e2e/test_reliability_rpc.py checks the real server exiting; these check the watch itself.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from lsp_server.server.parent import process_alive, watch_parent


def sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_running_process_is_alive_and_a_reaped_one_is_not():
    proc = sleeper()
    assert process_alive(proc.pid) and process_alive(os.getpid())
    proc.kill()
    proc.wait()
    assert not process_alive(proc.pid)


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc to see zombies")
def test_an_exited_process_nobody_reaped_counts_as_dead():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while process_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)  # os.kill(pid, 0) alone still succeeds on the zombie
    assert not process_alive(proc.pid)
    proc.wait()


def test_the_watch_calls_back_once_the_process_dies():
    proc = sleeper()
    died = threading.Event()
    thread = watch_parent(proc.pid, died.set, poll_s=0.05)
    assert thread is not None and thread.daemon
    time.sleep(0.2)
    assert not died.is_set()
    proc.kill()
    proc.wait()
    assert died.wait(5)


def test_no_watch_without_a_live_foreign_process():
    proc = sleeper()
    proc.kill()
    proc.wait()
    never = threading.Event()
    for pid in (None, 0, -5, os.getpid(), proc.pid):  # the last: no such process here (another namespace)
        assert watch_parent(pid, never.set, poll_s=0.01) is None
    assert not never.is_set()
