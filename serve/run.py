"""``make run``: start Streamlit, warm it up with one script run, then announce the address.

Why the warm-up: with a ``pages/`` folder beside ``app.py``, Streamlit 1.67 starts in its legacy multipage mode
until the first script run calls ``st.navigation`` (Streamlit issue #9992). A link to a sub-page opened as the
very first request after a start is then answered with a "Page not found" dialog over the right page. One script
run before anyone is told the address (through Streamlit's agent API, ``POST /_stcore/agent/interact``, on the
loopback) leaves no first request to meet it.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AGENT_ARGS = ["--server.enableAgentApi", "true"]


def healthy(url: str) -> bool:
    """Whether Streamlit's health endpoint answers ok."""
    with contextlib.suppress(OSError):
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            return resp.status == 200
    return False


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout_s: float = 180.0) -> None:
    """Poll the health endpoint (a readiness probe) until it answers, the process exits, or time runs out."""
    deadline = time.monotonic() + timeout_s
    while not healthy(url):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not healthy within {timeout_s} s")
        time.sleep(0.2)


def warm(url: str, timeout_s: float = 180.0) -> float:
    """One real script run of the app on the server at ``url`` (started with the agent API on); returns seconds.

    After it, Streamlit knows the app's navigation, so the first student's deep link opens without a dialog."""
    start = time.perf_counter()
    req = urllib.request.Request(f"{url}/_stcore/agent/interact", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            out = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"warm-up refused by {url}: {err.code} (is --server.enableAgentApi on?)") from err
    if "error" in out:
        raise RuntimeError(f"warm-up of {url} failed: {out['error']}")
    return time.perf_counter() - start


def command(port: int, address: str, extra: list[str]) -> list[str]:
    """The streamlit command line of one server."""
    return [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
            "--server.address", address, "--logger.hideWelcomeMessage", "true", *AGENT_ARGS, *extra]


def _stop(signum: int, frame) -> None:
    """SIGTERM ends the launcher like Ctrl-C, so the ``finally`` below stops the server too."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--address", default="0.0.0.0", help="where to listen (0.0.0.0: every interface)")
    args, extra = parser.parse_known_args(argv)
    local = f"http://127.0.0.1:{args.port}"
    proc = subprocess.Popen(command(args.port, args.address, extra), cwd=ROOT)
    try:
        wait_healthy(local, proc)
        seconds = warm(local)
        print(f"\n  Language Model Lab is ready (warmed up in {seconds:.1f} s): http://localhost:{args.port}\n",
              flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
