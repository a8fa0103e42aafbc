"""A real Streamlit server on 127.0.0.1 and Debian's Chromium driven by Playwright (no browser download)."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from pages.components.catalog import built_pages
from serve.run import AGENT_ARGS
from serve.run import warm as warm_up

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    for path in CHROMIUM_CANDIDATES:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 120.0) -> None:
    """Poll Streamlit's health endpoint until it answers ok (or the server exits)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        time.sleep(0.2)  # polling interval of a readiness probe, not a guess at readiness
    raise TimeoutError(f"streamlit did not become healthy within {timeout_s} s")


@contextlib.contextmanager
def streamlit_server(
    extra_args: list[str] | None = None, script: Path | None = None, warm: bool = False
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``streamlit run app.py`` (or ``script``) on 127.0.0.1 and a free port; yields (base URL, process).
    ``warm``: one script run before yielding, as ``make run`` does (``serve.run.warm``)."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(script or ROOT / "app.py"), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", *(AGENT_ARGS if warm else []),
           *(extra_args or [])]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        if warm:
            warm_up(url)
        yield url, proc
    finally:
        stop(proc, 10)


def stop(proc: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM, then SIGKILL if the process is still there after ``grace_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()


def url_path(page_path: str) -> str:
    """The URL path Streamlit gives a page file (``pages/views/ngram.py`` -> ``ngram``); the default page (Home)
    lives at the root: ``/home`` is answered with "Page not found"."""
    return "" if page_path == built_pages()[0].path else Path(page_path).stem


def wait_rendered(page, timeout_ms: int = 60_000) -> None:
    """Wait until the app has finished running: a title is shown and no run is in progress."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_selector("h1", timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"] [data-testid=\"stStatusWidgetRunningIcon\"]')"
        " && document.querySelector('[data-testid=\"stApp\"]').getAttribute('data-test-script-state') !== 'running'",
        timeout=timeout_ms,
    )
