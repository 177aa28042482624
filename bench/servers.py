"""Starting HTTP servers for a measurement: a subprocess on 127.0.0.1, a free port, a readiness wait."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cli.serve import default_threads

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn: graceful stop of the workers
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(
    command: list[str], *, port: int, env: dict[str, str], log_path: Path, ready_path: str = "/healthz",
    timeout: float = 60.0,
) -> Server:
    """Run ``command`` (which must listen on 127.0.0.1:``port``) until GET ``ready_path`` answers 200."""
    log = log_path.open("wb")
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()  # the child holds its own descriptor
    server = Server(process, port, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        if _answers(port, ready_path):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server not ready after {timeout:.0f}s: {log_path.read_text()[-2000:]}")


def gunicorn_command(app: str, *, port: int, workers: int, threads: int | None = None) -> list[str]:
    """gunicorn with the same worker model as `grassroots serve` (gthread), on loopback only."""
    return [
        sys.executable, "-m", "gunicorn", app,
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--threads", str(threads or default_threads()),
        "--worker-class", "gthread",
        "--timeout", "120",
        "--log-level", "warning",
    ]


def _answers(port: int, path: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()
