"""Real processes on loopback, for the end-to-end and reliability tests: start, reach, wait for, stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.polling import eventually


@dataclass
class Process:
    """A process the test started, and the file its stdout and stderr go to."""

    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def base_env(tmp_path: Path) -> dict[str, str]:
    """This environment without Slack's settings, the database's or the port, for a process of the test's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "PORT"))}
    env["PYTHONUNBUFFERED"] = "1"
    # No .env of the developer's may leak into the run.
    env["HOME"] = str(tmp_path)
    return env


def launch(args: list[str], env: dict[str, str], log: Path) -> Process:
    """``python -m <args>`` with stdout and stderr appended to ``log`` (appended: a restart keeps both)."""
    handle = log.open("ab")
    popen = subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return Process(popen, log)


def stop(process: Process) -> None:
    """SIGTERM, as a service manager stops a process; SIGKILL if it has not exited 10 s later."""
    process.popen.terminate()
    try:
        process.popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.popen.kill()
        process.popen.wait()


def kill_hard(process: Process) -> None:
    """SIGKILL: no shutdown hook, no finally, no flushed buffer; a machine losing power."""
    process.popen.send_signal(signal.SIGKILL)
    process.popen.wait(timeout=10)


def http(
    method: str,
    url: str,
    payload: Any = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, Any]:
    """One request; returns the status and the decoded JSON (or text) body, also for 4xx/5xx."""
    data = body if body is not None else (json.dumps(payload).encode() if payload is not None else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def running(process: Process) -> bool:
    """True while ``process`` runs; fails the test, with its log, once it has exited."""
    code = process.popen.poll()
    if code is not None:
        raise AssertionError(f"{process.popen.args!r} exited with {code}:\n{process.output()}")
    return True


def wait_until_up(url: str, process: Process, timeout: float = 30) -> None:
    """Wait for ``process`` to answer 200 at ``url``; fail with its log if it exits or never does."""

    def answers() -> bool:
        running(process)
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError):
            return False

    eventually(answers, timeout=timeout, interval=0.1, what=f"{url} to answer", detail=process.output)


def wait_for_exit(*processes: Process, timeout: float = 120) -> None:
    """Wait for each of ``processes`` to exit on its own; fail, with the end of its log, unless it exits 0."""
    for process in processes:
        _wait_for_exit(process, timeout)


def _wait_for_exit(process: Process, timeout: float) -> None:
    def tail() -> str:
        return process.output()[-3000:]

    eventually(
        lambda: process.popen.poll() is not None,
        timeout=timeout,
        interval=0.1,
        what=f"{process.popen.args!r} to exit",
        detail=tail,
    )
    assert process.popen.returncode == 0, tail()
