"""The server-wide training queue: the cap on concurrent runs, the queue, one run per student, the hard time cap,
the end of a student's session, a failing job, and the teacher's settings."""
from __future__ import annotations

import threading

import pytest

from models.scheduler import DONE, FAILED, RUNNING, STOPPED, WAITING, Limits, Run, Scheduler


class Blocker:
    """A job that trains until released or told to stop (polling like the fit loop's hook)."""

    kind = "test"

    def __init__(self) -> None:
        self.release, self.started = threading.Event(), threading.Event()

    def __call__(self, run: Run) -> None:
        self.started.set()
        while not self.release.wait(0.01):
            if run.should_stop():
                return


def test_a_run_beyond_the_cap_waits_in_the_queue():
    sched = Scheduler(Limits(slots=2, time_cap_s=60))
    jobs = [Blocker() for _ in range(3)]
    runs = [sched.submit(f"student{i}", job, 10) for i, job in enumerate(jobs)]
    assert jobs[0].started.wait(5) and jobs[1].started.wait(5)
    assert [r.state for r in runs] == [RUNNING, RUNNING, WAITING]
    assert sched.counts() == (2, 1) and sched.position(runs[2]) == 1 and runs[2].progress() == 0.0
    assert not jobs[2].started.is_set()
    jobs[0].release.set()
    assert runs[0].wait(5) and runs[0].state == DONE
    assert jobs[2].started.wait(5) and runs[2].state == RUNNING  # the freed slot goes to the queue's head
    for job in jobs:
        job.release.set()
    assert all(r.wait(5) for r in runs) and sched.counts() == (0, 0)


def test_a_run_stops_at_its_time_cap():
    sched = Scheduler(Limits(slots=1, time_cap_s=1.0))
    run = sched.submit("a", Blocker(), budget_s=30)
    assert run.budget_s == 1.0  # the progress bar counts down the cap, not the longer budget asked for
    assert run.wait(10)
    assert run.state == STOPPED and "time cap of 1 s" in run.reason
    assert 1.0 <= run.elapsed_s() < 3.0


def test_a_run_stops_when_its_session_ends():
    sched = Scheduler(Limits(slots=1, time_cap_s=60), watch_every_s=0.05)
    connected = threading.Event()
    connected.set()
    job = Blocker()
    run = sched.submit("a", job, 30, alive=connected.is_set)
    assert job.started.wait(5)
    connected.clear()  # the student closed the tab
    assert run.wait(10)
    assert run.state == STOPPED and "session ended" in run.reason and sched.latest("a") is None


def test_a_waiting_run_leaves_the_queue_when_its_session_ends():
    sched = Scheduler(Limits(slots=1, time_cap_s=60), watch_every_s=0.05)
    first = Blocker()
    sched.submit("a", first, 30)
    assert first.started.wait(5)
    run = sched.submit("b", Blocker(), 30, alive=lambda: False)
    assert run.wait(10) and run.state == STOPPED and run.started_at is None
    first.release.set()


def test_one_run_per_student():
    sched = Scheduler(Limits(slots=4, time_cap_s=60))
    old_job, new_job = Blocker(), Blocker()
    old = sched.submit("a", old_job, 30)
    assert old_job.started.wait(5)
    new = sched.submit("a", new_job, 30)
    assert old.wait(5) and old.state == STOPPED and old.reason == "replaced by a new run"
    assert sched.latest("a") is new
    sched.stop(new, "stopped by you")
    assert new.wait(5) and new.state == STOPPED and new.reason == "stopped by you"


def test_a_failing_job_frees_its_slot():
    sched = Scheduler(Limits(slots=1, time_cap_s=60))

    def broken(run: Run) -> None:
        raise RuntimeError("out of memory")

    bad = sched.submit("a", broken, 5)
    good = sched.submit("b", lambda run: None, 5)
    assert bad.wait(5) and good.wait(5)
    assert bad.state == FAILED and "out of memory" in bad.reason and good.state == DONE


@pytest.mark.parametrize(("env", "slots", "cap"), [
    ({}, None, 60.0),
    ({"LML_TRAIN_SLOTS": "3", "LML_TRAIN_CAP_S": "20"}, 3, 20.0),
    ({"LML_TRAIN_SLOTS": "zero", "LML_TRAIN_CAP_S": "-5"}, None, 1.0),
])
def test_a_teacher_sets_the_limits(env, slots, cap, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    limits = Limits.from_env(env)
    assert limits.slots == (slots or 8) and limits.time_cap_s == cap


def test_a_finished_run_is_forgotten_when_its_student_leaves():
    sched = Scheduler(Limits(slots=1, time_cap_s=60), watch_every_s=0.05)
    connected = threading.Event()
    connected.set()
    run = sched.submit("a", lambda run: None, 5, alive=connected.is_set)
    assert run.wait(5) and run.state == DONE and sched.latest("a") is run  # kept while the student may look at it
    connected.clear()
    deadline = run.clock() + 10
    while sched.latest("a") is not None and run.clock() < deadline:
        threading.Event().wait(0.05)  # the watchdog's own interval
    assert sched.latest("a") is None

