"""`python -m serve.launch` (what `make class` runs) as a child process, with its printed events readable."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from .harness import ROOT, free_port


@dataclass
class ClassProcess:
    """The launcher and the lines it printed (read by a thread, so a test waits on a line, not on time)."""

    proc: subprocess.Popen
    url: str
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    ended: bool = False  # the launcher closed its output (it exited)

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def wait_line(self, pattern: str, after: int = 0, timeout_s: float = 240.0) -> re.Match:
        """The first printed line from index ``after`` on that matches ``pattern``; fails if the launcher exits."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while True:
                for line in self.lines[after:]:
                    if m := regex.search(line):
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self.ended:
                    break
                self.changed.wait(timeout=min(left, 1.0))
        raise TimeoutError(f"launcher never printed {pattern!r}; it printed:\n" + "\n".join(self.lines))

    def pids(self) -> dict[str, int]:
        """Every child the launcher started so far (replicas by name, haproxy), latest pid per name."""
        out = {}
        for line in self.lines:
            if m := re.match(r"replica (\S+) pid (\d+)", line):
                out[m.group(1)] = int(m.group(2))
            elif m := re.match(r"haproxy pid (\d+)", line):
                out["haproxy"] = int(m.group(1))
        return out

    def replica_urls(self) -> dict[str, str]:
        return {m.group(1): m.group(2) for line in self.lines
                if (m := re.match(r"replica (\S+) ready at (\S+)", line))}


def alive(pid: int) -> bool:
    """Whether a process with this pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def class_stack(replicas: int = 2, hosts: tuple[str, ...] = ("127.0.0.2", "127.0.0.3"),
                streamlit_args: list[str] | None = None) -> Iterator[ClassProcess]:
    """Start the class on 127.0.0.1 and a free port; yields once it prints "class ready"; SIGTERM on exit."""
    port = free_port()
    cmd = [sys.executable, "-m", "serve.launch", "--replicas", str(replicas), "--port", str(port),
           "--bind", "127.0.0.1", "--hosts", *hosts, "--first-replica-port", str(free_port()),
           *(["--", *streamlit_args] if streamlit_args else [])]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    stack = ClassProcess(proc, f"http://127.0.0.1:{port}")
    threading.Thread(target=stack._read, daemon=True).start()
    try:
        stack.wait_line(r"^class ready")
        yield stack
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
