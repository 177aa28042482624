"""When each API token was last used, written once a second for all the tokens used in it.

The lookup that resolves a bearer token only reads (``engine.auth.principal_for_token``); it says whether
the token's recorded use is older than ``TOKEN_TOUCH_INTERVAL``. Such a token is noted here, and one
statement a second stamps every token noted meanwhile. Written by the request itself, the stamp was a
write transaction of its own per request whenever a token was used for the first time in a minute:
every request of the benchmark, where each village clerk's token is used once, ~0.2 ms of PostgreSQL's
CPU per submit (docs/performance.md, round 10). The stamp is bookkeeping for the centre (which tokens
are still in use); nothing reads it to decide anything, so it may land a second late.

The write runs on a timer thread started by the first use noted into an empty log: an idle process
still writes what it noted, and no thread exists while there is nothing to write. The timer is not a
daemon, so a process stopping normally writes its last second too; a process killed outright loses it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

FLUSH_DELAY = 1.0  # seconds from the first use noted to the write


class TokenUseLog:
    """Token ids used since the last write; ``write(ids)`` stamps them (one statement, its own commit)."""

    def __init__(self, write: Callable[[list[int]], None], *, delay: float = FLUSH_DELAY) -> None:
        self._write = write
        self._delay = delay
        self._lock = threading.Lock()
        self._pending: set[int] = set()
        self._timer: threading.Timer | None = None

    def note(self, token_id: int) -> None:
        with self._lock:
            self._pending.add(token_id)
            if self._timer is None:
                self._timer = threading.Timer(self._delay, self.flush)
                self._timer.name = "token-use"
                self._timer.start()

    @property
    def pending(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._pending)

    def flush(self) -> list[int]:
        """Write what is noted now (the timer calls this; so may a caller that cannot wait). Returns the ids."""
        with self._lock:
            ids, self._pending = sorted(self._pending), set()
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if ids:
            self._write_logged(ids)
        return ids

    def _write_logged(self, ids: list[int]) -> None:
        try:
            self._write(ids)
        except Exception:  # a lost stamp must not fail anything; the next use is noted again
            log.warning("the last use of %d API tokens was not written", len(ids), exc_info=True)
