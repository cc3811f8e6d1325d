"""Exit when the editor dies: LSP's `processId` names the client process whose death ends the server.

An editor that crashes (or is killed) sends no `shutdown`/`exit`, and its stdin pipe may stay open
(another process can hold it), so the server would otherwise live on as an orphan.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Callable

log = logging.getLogger("quill")
POLL_S = 1.0


def process_alive(pid: int) -> bool:
    """True while process pid exists and is not a zombie (an exited process nobody has reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # "pid (comm) state ...": comm may hold spaces and parentheses, so split after the last ")".
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc (macOS): os.kill is all there is


def watch_parent(pid: int | None, on_death: Callable[[], None], poll_s: float = POLL_S) -> threading.Thread | None:
    """Poll pid every poll_s seconds in a daemon thread; call on_death (once) when it is gone.

    No watcher for a missing pid, for our own pid, or on Windows (where os.kill(pid, 0) would kill it); nor
    for a pid that is not alive now: a client in another pid namespace (a container) may send one that
    means nothing here, and the server must not quit at once because of it.
    """
    if pid is None or pid <= 0 or pid == os.getpid() or sys.platform == "win32":
        return None
    if not process_alive(pid):
        log.warning("processId %d names no running process here; the server will not watch it", pid)
        return None

    def poll() -> None:
        while process_alive(pid):
            time.sleep(poll_s)
        log.warning("the editor process %d has exited; stopping the language server", pid)
        on_death()

    thread = threading.Thread(target=poll, name=f"quill-parent-{pid}", daemon=True)
    thread.start()
    return thread


def exit_now() -> None:
    """Leave at once: the client is gone, so no exit notification will come and nobody reads our replies.

    os._exit, not sys.exit: the stdin reader thread may be blocked in read() forever, and a normal
    interpreter exit joins executor threads first.
    """
    logging.shutdown()
    os._exit(1)  # like an `exit` without `shutdown` first
