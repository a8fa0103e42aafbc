"""A minimal client for Streamlit's agent API (``POST /_stcore/agent/interact``): one simulated user.

Each request is one rerun through the same path a browser's widget change takes, so its round
trip on 127.0.0.1 is the server time of that rerun plus a small, constant JSON overhead.
"""
from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

AGENT_ARGS = ["--server.enableAgentApi", "true"]


@dataclass
class AgentUser:
    """One session of the app, driven over HTTP."""

    base_url: str
    session_id: str | None = None
    snapshot: dict = field(default_factory=dict)
    cookies: http.cookiejar.CookieJar | None = None  # kept per user behind a proxy (its affinity cookie)

    @classmethod
    def behind_proxy(cls, base_url: str) -> AgentUser:
        """A user that keeps its cookies, as a browser does, so HAProxy's affinity holds it on one replica."""
        return cls(base_url, cookies=http.cookiejar.CookieJar())

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies or () if c.name == name), None)

    def _post(self, body: dict, timeout_s: float = 120.0) -> dict:
        req = urllib.request.Request(
            f"{self.base_url}/_stcore/agent/interact", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies)) \
            if self.cookies is not None else urllib.request.build_opener()
        try:
            with opener.open(req, timeout=timeout_s) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            body = err.read()
            try:
                return json.loads(body or b"{}") or {"error": {"code": str(err.code), "message": str(err)}}
            except json.JSONDecodeError:  # a proxy's own page (HAProxy's 502/503), not the agent API's JSON
                text = " ".join(re.sub(r"<[^>]+>", " ", body.decode(errors="replace")).split())
                return {"error": {"code": f"http_{err.code}", "message": text}}
        except (urllib.error.URLError, OSError) as err:  # the connection itself failed (a replica went away)
            return {"error": {"code": "connection", "message": str(err)}}

    def interact(self, **body) -> tuple[float, dict]:
        """Send one transition; returns (milliseconds, snapshot or error) and follows the session."""
        if self.session_id:
            body["session_id"] = self.session_id
        start = time.perf_counter()
        out = self._post(body)
        ms = 1000 * (time.perf_counter() - start)
        self.session_id = out.get("session_id", self.session_id)
        if "tree" in out:
            self.snapshot = out
        return ms, out

    def open(self, page: str | None = None) -> tuple[float, dict]:
        """Create the session (on ``page``, a url_path, or the default page)."""
        return self.interact(**({"page": page} if page else {}))

    def set(self, **widget_state) -> tuple[float, dict]:
        """Change widgets by key, as a student would."""
        return self.interact(widget_state=widget_state)


def failed(out: dict) -> str | None:
    """Why a response counts as an error (refused request, or the app raised), else None."""
    if "error" in out:
        return out["error"].get("code", "error")
    if out.get("status") == "error":
        return "app_error"
    return None


def walk(node: dict) -> Iterator[dict]:
    """Every node of a snapshot tree."""
    yield node
    for child in node.get("children", []):
        yield from walk(child)


def widget(snapshot: dict, key: str) -> dict | None:
    """The node of the widget with this key in the latest snapshot."""
    return next((n for n in walk(snapshot.get("tree", {})) if n.get("key") == key), None)


def other_value(node: dict):
    """A value different from the widget's current one (next option, flipped toggle, other bound)."""
    props = node.get("props", {})
    if "options" in props:
        options = props["options"]
        return options[(options.index(node["value"]) + 1) % len(options)] if node["value"] in options else options[0]
    if isinstance(node.get("value"), bool):
        return not node["value"]
    if "max_value" in props:
        return props["max_value"] if node["value"] != props["max_value"] else props["min_value"]
    raise ValueError(f"do not know how to change a {node.get('type')}")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")
