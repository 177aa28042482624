"""Peak resident memory of processes, read from /proc (VmHWM = the kernel's own high-water mark).

A background watcher samples a group's processes (a root pid and all its descendants) every
``interval`` seconds, because PostgreSQL backends and gunicorn workers may exit before the report is
written and their peak would be lost with them.
"""

from __future__ import annotations

import os
import resource
import threading
from pathlib import Path

PROC = Path("/proc")


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM of ``pid`` in KiB, or None when the process is gone or not readable."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def own_peak_rss_kib() -> int:
    """Peak RSS of this process (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def parent_pid(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its closing ")".
    return int(stat.rsplit(")", 1)[1].split()[1])


def command_name(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def descendants(root: int) -> set[int]:
    """``root`` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            ppid = parent_pid(int(entry.name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found if (PROC / str(root)).exists() else set()


class MemoryWatch:
    """Tracks the highest VmHWM seen per process, grouped by a label ("postgres", "gunicorn_minimal")."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self._roots: dict[str, int] = {}
        self._peaks: dict[str, dict[int, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, group: str, root_pid: int) -> None:
        with self._lock:
            self._roots[group] = root_pid
            self._peaks.setdefault(group, {})
        self.sample()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="memory-watch", daemon=True)
            self._thread.start()

    def sample(self) -> None:
        with self._lock:
            roots = dict(self._roots)
        for group, root in roots.items():
            for pid in descendants(root):
                kib = peak_rss_kib(pid)
                if kib is not None:
                    with self._lock:
                        peaks = self._peaks[group]
                        peaks[pid] = max(kib, peaks.get(pid, 0))

    def peak_kib(self, group: str) -> tuple[int, int]:
        """(highest peak of one process, number of processes seen) for ``group``."""
        self.sample()
        with self._lock:
            peaks = self._peaks.get(group, {})
            return (max(peaks.values(), default=0), len(peaks))

    def peak_mib(self, group: str) -> float:
        kib, processes = self.peak_kib(group)
        if not processes:
            raise RuntimeError(f"no process of {group} was observed")
        return kib / 1024

    def groups(self) -> list[str]:
        with self._lock:
            return list(self._peaks)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def is_local_pid(pid: int, expected_command: str) -> bool:
    """True when ``pid`` is a live process on this host whose command name starts with ``expected_command``."""
    return command_name(pid).startswith(expected_command) and pid != os.getpid()
