"""``make class``: N Streamlit replicas behind HAProxy on one port, supervised until Ctrl-C.

    python -m serve.launch [--replicas N] [--port 8501] [--hosts 127.0.0.1 ...] [--remote HOST:PORT ...]
                           [-- extra streamlit arguments for every replica]

Every replica gets the same ``server.cookieSecret`` (generated per launch unless given), so a cookie signed by one
is valid on all. HAProxy keeps each browser on its replica with a cookie, checks ``/_stcore/health``, and sends
the students of a replica that died to another one; the launcher restarts the dead replica meanwhile. Ctrl-C or
SIGTERM stops HAProxy and every replica, and the launcher exits only when all of them have exited.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .haproxy import ProxyConfig, Replica, haproxy_path, write
from .run import AGENT_ARGS, healthy, wait_healthy, warm

ROOT = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1  # linux/prctl.h: the kernel signals a child when its parent dies


@dataclass
class ClassConfig:
    """What ``make class`` starts: ``replicas`` local processes over ``hosts``, plus ``remote`` ones started
    elsewhere (``host:port``, health-checked by HAProxy but not supervised here)."""

    replicas: int = field(default_factory=lambda: os.cpu_count() or 1)
    port: int = 8501
    bind: str = "0.0.0.0"
    hosts: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    first_replica_port: int | None = None  # default: port + 1, port + 2, ...
    remote: list[str] = field(default_factory=list)
    cookie_secret: str | None = None
    streamlit_args: list[str] = field(default_factory=list)
    app: Path = ROOT / "app.py"
    health_timeout_s: float = 180.0


class Stopped(Exception):
    """SIGTERM or SIGINT arrived: stop the class."""


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it if the launcher itself is killed, so no replica is left behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def after_healthy(replica: Replica) -> None:
    """Called once per replica when it first answers its health check and after every restart, before the class
    address is announced: one script run (``serve.run.warm``), so no student meets Streamlit's "Page not found"
    notice on a first deep link."""
    seconds = warm(replica.url)
    print(f"replica {replica.name} ready at {replica.url} (warmed up in {seconds:.1f} s)", flush=True)


@dataclass
class Stack:
    """The running class: replicas (name -> process), HAProxy, and where they log."""

    cfg: ClassConfig
    workdir: Path
    on_ready: Callable[[Replica], None] = after_healthy
    replicas: list[Replica] = field(default_factory=list)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    proxy: subprocess.Popen | None = None
    restarts: int = 0
    logs: list = field(default_factory=list)  # the children's log files, closed by stop()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.cfg.bind in ("0.0.0.0", "::") else self.cfg.bind
        return f"http://{host}:{self.cfg.port}"

    def _spawn(self, cmd: list[str], log: str, env: dict | None = None) -> subprocess.Popen:
        out = open(self.workdir / log, "ab")  # noqa: SIM115 (closed by stop(), after the child exited)
        self.logs.append(out)
        # Own process group: a Ctrl-C in the terminal reaches only the launcher, which stops the children in order
        # (otherwise the supervisor could see a replica exit first and restart it).
        return subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=_die_with_parent, process_group=0, env=env)

    def start_replica(self, replica: Replica, secret: str) -> None:
        cmd = [sys.executable, "-m", "streamlit", "run", str(self.cfg.app), "--server.address", replica.host,
               "--server.port", str(replica.port), "--server.headless", "true", *AGENT_ARGS, *self.cfg.streamlit_args]
        # Streamlit takes the secret only from its config or the environment, never from the command line.
        env = {**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET": secret}
        self.procs[replica.name] = self._spawn(cmd, f"{replica.name}.log", env)
        print(f"replica {replica.name} pid {self.procs[replica.name].pid} starting on {replica.url}", flush=True)

    def wait_ready(self, replica: Replica) -> None:
        """Poll the replica's health endpoint (a readiness probe), then run the per-replica hook."""
        try:
            wait_healthy(replica.url, self.procs[replica.name], self.cfg.health_timeout_s)
        except RuntimeError as err:  # it exited: say why, from its log
            tail = (self.workdir / f"{replica.name}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"replica {replica.name}: {err}:\n{tail}") from err
        self.on_ready(replica)

    def start_proxy(self, config: Path) -> None:
        self.proxy = self._spawn([haproxy_path() or "haproxy", "-db", "-f", str(config)], "haproxy.log")
        print(f"haproxy pid {self.proxy.pid} on port {self.cfg.port}", flush=True)

    def supervise(self, secret: str, config: Path, poll_s: float = 0.5) -> None:
        """Restart any replica (or HAProxy) that exits, while the others keep serving; returns on Stopped."""
        while True:
            for replica in self.replicas:
                proc = self.procs[replica.name]
                if proc.poll() is not None:
                    print(f"replica {replica.name} exited with code {proc.returncode}: HAProxy sends its students "
                          "elsewhere; restarting it", flush=True)
                    self.restarts += 1
                    self.start_replica(replica, secret)
                    try:
                        self.wait_ready(replica)
                    except (RuntimeError, TimeoutError) as err:  # the others keep serving; try again later
                        print(f"replica {replica.name} did not come back ({err}); retrying in 5 s", flush=True)
                        time.sleep(5.0)
            if self.proxy is not None and self.proxy.poll() is not None:
                print(f"haproxy exited with code {self.proxy.returncode}: restarting it", flush=True)
                self.start_proxy(config)
            time.sleep(poll_s)

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM HAProxy and every replica, wait for each, SIGKILL what is still running after ``grace_s``."""
        procs = [p for p in [self.proxy, *self.procs.values()] if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + grace_s
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()


def plan(cfg: ClassConfig) -> list[Replica]:
    """Names, addresses and ports of the local replicas (round-robin over ``hosts``)."""
    first = cfg.first_replica_port or cfg.port + 1
    return [Replica(f"r{i}", cfg.hosts[i % len(cfg.hosts)], first + i) for i in range(cfg.replicas)]


def remote_replicas(cfg: ClassConfig) -> list[Replica]:
    """Replicas on other machines, ``host:port`` each, named after their position."""
    out = []
    for i, spec in enumerate(cfg.remote):
        host, _, port = spec.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--remote wants HOST:PORT, got {spec!r}")
        out.append(Replica(f"remote{i}", host, int(port)))
    return out


def _raise_stopped(signum, frame) -> None:
    """The first SIGTERM/SIGINT stops the class; later ones are ignored so the stop itself is not cut short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Stopped(signal.Signals(signum).name)


@contextlib.contextmanager
def running_class(cfg: ClassConfig, on_ready: Callable[[Replica], None] = after_healthy) -> Iterator[tuple]:
    """Start every replica and HAProxy; yields (stack, secret, config path); stops everything on exit."""
    secret = cfg.cookie_secret or secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="lml-class-") as tmp:
        stack = Stack(cfg, Path(tmp), on_ready)
        try:
            stack.replicas = plan(cfg)
            proxy_cfg = ProxyConfig(replicas=stack.replicas + remote_replicas(cfg), bind=cfg.bind, port=cfg.port)
            config = write(proxy_cfg, stack.workdir)  # validated with haproxy -c before anything starts
            for replica in stack.replicas:
                stack.start_replica(replica, secret)
            for replica in stack.replicas:
                stack.wait_ready(replica)
            stack.start_proxy(config)
            while not healthy(stack.url):
                if stack.proxy.poll() is not None:
                    raise RuntimeError(f"haproxy exited:\n{(stack.workdir / 'haproxy.log').read_text()[-2000:]}")
                time.sleep(0.2)  # readiness-probe interval
            yield stack, secret, config
        finally:
            stack.stop()


def parse(argv: list[str] | None = None) -> ClassConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Arguments after -- go to every `streamlit run`.")
    parser.add_argument("--replicas", type=int, default=os.cpu_count() or 1, help="local replicas (default: cores)")
    parser.add_argument("--port", type=int, default=8501, help="the one port students open")
    parser.add_argument("--bind", default="0.0.0.0", help="the proxy's address (0.0.0.0: every interface)")
    parser.add_argument("--hosts", nargs="+", default=["127.0.0.1"], help="addresses the replicas bind to")
    parser.add_argument("--first-replica-port", type=int, default=None)
    parser.add_argument("--remote", nargs="*", default=[], help="replicas on other machines, HOST:PORT")
    parser.add_argument("--cookie-secret", default=os.environ.get("LML_COOKIE_SECRET"),
                        help="shared with remote replicas (default: $LML_COOKIE_SECRET or a fresh one)")
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    if args.replicas < 1 and not args.remote:
        parser.error("--replicas must be at least 1 (or give --remote replicas)")
    return ClassConfig(replicas=args.replicas, port=args.port, bind=args.bind, hosts=args.hosts,
                       first_replica_port=args.first_replica_port, remote=args.remote,
                       cookie_secret=args.cookie_secret, streamlit_args=extra)


def main(argv: list[str] | None = None) -> int:
    cfg = parse(argv)
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with running_class(cfg) as (stack, secret, config):
            print(f"class ready: {stack.url} ({len(stack.replicas)} replicas, logs in {stack.workdir})", flush=True)
            stack.supervise(secret, config)
    except Stopped as why:
        print(f"stopping the class ({why}): every replica and HAProxy", flush=True)
    except (FileNotFoundError, ValueError, RuntimeError, TimeoutError) as err:  # a message, never a traceback
        print(f"the class could not start: {err}", file=sys.stderr, flush=True)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("class stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
