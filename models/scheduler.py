"""Live training on a shared server: a cap on concurrent runs, a visible queue, one run per student, a time cap.

A run is a job (``work(run)``) executed on a background thread. At most ``Limits.slots`` run at once; the rest
wait in first-come order and say where they stand. Each run stops at the first of: its job finishing, the
student's stop button, its hard time cap, and its student's session ending (``alive()`` turning False; a
watchdog checks every waiting and running run). Nothing here knows about Streamlit: the page passes ``alive``.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

CAP_ENV, SLOTS_ENV = "LML_TRAIN_CAP_S", "LML_TRAIN_SLOTS"
DEFAULT_CAP_S = 60.0
NICE = 10  # a training thread's niceness: the threads that serve pages get the cores first
WAITING, RUNNING, DONE, STOPPED, FAILED = "waiting", "running", "done", "stopped", "failed"


@dataclass(frozen=True)
class Limits:
    """What a teacher can set: runs at once (default: the cores) and each run's hard cap in seconds."""

    slots: int
    time_cap_s: float = DEFAULT_CAP_S

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        """``LML_TRAIN_SLOTS`` and ``LML_TRAIN_CAP_S`` when set (and sane), else the defaults."""
        slots = _number(env.get(SLOTS_ENV), int, os.cpu_count() or 1)
        cap = _number(env.get(CAP_ENV), float, DEFAULT_CAP_S)
        return cls(max(1, slots), max(1.0, cap))


def _number(text: str | None, kind: type, default):
    """``kind(text)``, or ``default`` when unset or unreadable (a typo must not take the server down)."""
    try:
        return kind(text) if text else default
    except ValueError:
        return default


def _lower_priority() -> None:
    """Nice this thread only (Linux gives each thread its own nice value); elsewhere leave it as it is."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except (AttributeError, OSError):
        pass


class Run:
    """One student's job: its state, the stop flag the job polls, and its timing."""

    def __init__(self, owner: str, work: Callable[[Run], None], budget_s: float, cap_s: float,
                 alive: Callable[[], bool], clock: Callable[[], float]) -> None:
        self.owner, self.work, self.alive, self.clock = owner, work, alive, clock
        self.budget_s = min(budget_s, cap_s)  # what the progress bar counts down
        self.cap_s = cap_s
        self.state, self.reason = WAITING, ""
        self.submitted_at, self.started_at, self.finished_at = clock(), None, None
        self._stop, self._finished = threading.Event(), threading.Event()

    def elapsed_s(self) -> float:
        """Seconds since the run started (0 while it waits)."""
        if self.started_at is None:
            return 0.0
        return (self.finished_at or self.clock()) - self.started_at

    def progress(self) -> float:
        """Share of the budget used, 0..1 (1 once finished)."""
        if self.state in (DONE, STOPPED, FAILED):
            return 1.0
        return min(1.0, self.elapsed_s() / self.budget_s) if self.budget_s > 0 else 0.0

    @property
    def active(self) -> bool:
        """Waiting or running: the page keeps polling it."""
        return self.state in (WAITING, RUNNING)

    def request_stop(self, reason: str) -> None:
        """Ask the job to stop at its next step (the first reason given is the one reported)."""
        if not self._stop.is_set():
            self.reason = reason
            self._stop.set()

    def finish(self, state: str, reason: str | None = None) -> None:
        """Record the end (the scheduler calls this once)."""
        self.state, self.finished_at = state, self.clock()
        if reason is not None:
            self.reason = reason
        self._finished.set()

    def wait(self, timeout_s: float) -> bool:
        """Block until the run has ended (True) or ``timeout_s`` passed (False)."""
        return self._finished.wait(timeout_s)

    @property
    def stop_requested(self) -> bool:
        """A stop was asked for (button, cap, session end), whether or not the job has seen it yet."""
        return self._stop.is_set()

    def should_stop(self) -> bool:
        """The job's hook, polled after every step: stop asked, or the hard time cap reached."""
        if self.elapsed_s() >= self.cap_s:
            self.request_stop(f"stopped at the server's time cap of {self.cap_s:g} s")
        return self._stop.is_set()


class Scheduler:
    """The server-wide queue: at most ``limits.slots`` runs at once, one run per owner, a watchdog."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic, watch_every_s: float = 0.5):
        self.limits, self.clock, self.watch_every_s = limits, clock, watch_every_s
        self._lock = threading.Lock()
        self._waiting: list[Run] = []
        self._running: list[Run] = []
        self._latest: dict[str, Run] = {}
        self._watchdog: threading.Thread | None = None

    def submit(self, owner: str, work: Callable[[Run], None], budget_s: float,
               alive: Callable[[], bool] = lambda: True) -> Run:
        """Queue a run for ``owner``, stopping the owner's previous one (one run per student)."""
        run = Run(owner, work, budget_s, self.limits.time_cap_s, alive, self.clock)
        with self._lock:
            previous = self._latest.get(owner)
            self._latest[owner] = run
            self._waiting.append(run)
        if previous is not None:
            self.stop(previous, "replaced by a new run")
        self._fill_slots()
        self._ensure_watchdog()
        return run

    def latest(self, owner: str) -> Run | None:
        """The owner's most recent run (active or finished)."""
        with self._lock:
            return self._latest.get(owner)

    def position(self, run: Run) -> int:
        """1-based place in the queue, 0 when not waiting."""
        with self._lock:
            return self._waiting.index(run) + 1 if run in self._waiting else 0

    def counts(self) -> tuple[int, int]:
        """(running, waiting) on the whole server."""
        with self._lock:
            return len(self._running), len(self._waiting)

    def stop(self, run: Run, reason: str) -> None:
        """Stop a run: a waiting one leaves the queue at once, a running one at its next step."""
        with self._lock:
            if run in self._waiting:
                self._waiting.remove(run)
                run.finish(STOPPED, reason)
                return
        run.request_stop(reason)

    def _fill_slots(self) -> None:
        """Start waiting runs while slots are free, oldest first."""
        while True:
            with self._lock:
                if not self._waiting or len(self._running) >= self.limits.slots:
                    return
                run = self._waiting.pop(0)
                self._running.append(run)
                run.state, run.started_at = RUNNING, self.clock()
            threading.Thread(target=self._execute, args=(run,), name=f"train-{run.owner[:8]}", daemon=True).start()

    def _execute(self, run: Run) -> None:
        """Run the job on this thread (at a lower priority); free the slot whatever happens."""
        _lower_priority()
        state, reason = DONE, None
        try:
            run.work(run)
            state = STOPPED if run.stop_requested else DONE
        except Exception as err:  # a failed run is reported on its page; the server and the other runs go on
            state, reason = FAILED, f"the run failed: {err}"
        gone = not run.alive()
        with self._lock:
            self._running.remove(run)
            if gone and self._latest.get(run.owner) is run:
                del self._latest[run.owner]  # nobody will look at it again
            run.finish(state, reason)
        self._fill_slots()

    def _ensure_watchdog(self) -> None:
        with self._lock:
            if self._watchdog is not None and self._watchdog.is_alive():
                return
            self._watchdog = threading.Thread(target=self._watch, name="train-watchdog", daemon=True)
            self._watchdog.start()

    def sweep(self) -> None:
        """Stop the runs of students who left and forget their finished runs; cap runs stuck in a long step."""
        with self._lock:
            latest = list(self._latest.items())
        for owner, run in latest:
            if run.alive():
                if run.state == RUNNING:
                    run.should_stop()
            elif run.active:
                self.stop(run, "stopped: the student's session ended")
            else:
                self.forget(owner)

    def forget(self, owner: str) -> None:
        """Drop the owner's run once it has ended (its student left, or a test cleans up)."""
        with self._lock:
            run = self._latest.get(owner)
            if run is not None and not run.active:
                del self._latest[owner]

    def _watch(self) -> None:
        """Sweep until no run is remembered: finished runs are forgotten once their students leave (memory)."""
        while True:
            time.sleep(self.watch_every_s)
            self.sweep()
            with self._lock:
                if not self._latest and not self._waiting and not self._running:
                    self._watchdog = None
                    return
