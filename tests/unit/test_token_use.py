"""engine.token_use: the uses noted in a second are written together, by a timer, once."""

from __future__ import annotations

import logging
import threading

import pytest

from engine.token_use import TokenUseLog

WAIT = 10  # seconds: a bound on waiting for the timer, not a measure of speed


def test_the_uses_noted_meanwhile_are_one_write_of_each_token_once():
    writes: list[list[int]] = []
    log = TokenUseLog(writes.append, delay=3600)
    for token_id in (7, 3, 7, 5, 3):
        log.note(token_id)
    assert log.pending == {3, 5, 7}
    assert writes == []
    assert log.flush() == [3, 5, 7]
    assert writes == [[3, 5, 7]]
    assert log.pending == frozenset()
    assert log.flush() == [] and writes == [[3, 5, 7]]  # nothing noted: nothing written


def test_the_timer_writes_without_being_asked_and_a_new_use_starts_a_new_timer():
    done = threading.Event()
    writes: list[list[int]] = []

    def write(ids: list[int]) -> None:
        writes.append(ids)
        done.set()

    log = TokenUseLog(write, delay=0.2)
    log.note(1)
    log.note(2)  # within the first timer's wait: the same write
    assert done.wait(WAIT)
    assert writes == [[1, 2]]
    done.clear()
    log.note(3)
    assert done.wait(WAIT)
    assert writes == [[1, 2], [3]]


def test_flushing_by_hand_ends_the_timer():
    """A process that stops writes what it noted; its waiting timer thread must not keep it alive."""
    writes: list[list[int]] = []
    log = TokenUseLog(writes.append, delay=3600)
    log.note(4)
    timer = log._timer
    assert timer is not None and timer.is_alive()
    log.flush()
    timer.join(WAIT)
    assert not timer.is_alive()
    assert writes == [[4]]
    log.note(5)  # a new use after the flush starts a new timer
    assert log._timer is not None and log._timer is not timer
    log.flush()


def test_a_failed_write_is_logged_and_raises_nothing(caplog: pytest.LogCaptureFixture):
    def write(ids: list[int]) -> None:
        raise OSError("connection refused")

    log = TokenUseLog(write, delay=3600)
    log.note(9)
    with caplog.at_level(logging.WARNING, logger="engine.token_use"):
        assert log.flush() == [9]
    assert "the last use of 1 API tokens was not written" in caplog.text
    assert log.pending == frozenset()  # dropped: the token's next use is due again and noted again


def test_a_process_that_stops_normally_writes_what_it_noted(tmp_path):
    """The timer is not a daemon: the interpreter waits for it at exit, so the last second is written."""
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "written"
    script = (
        "import sys\n"
        "from engine.token_use import TokenUseLog\n"
        f"log = TokenUseLog(lambda ids: open({str(out)!r}, 'w').write(repr(ids)), delay=0.3)\n"
        "log.note(42)\n"
        "sys.exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2], check=True, timeout=60)
    assert out.read_text() == "[42]"
