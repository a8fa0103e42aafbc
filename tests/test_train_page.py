"""The Train page (AppTest): the untrained start, a live LM run with its curves and samples, the replay of stored
alignments, the queue's message, the time cap, and texts that cannot be used."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest

from models.scheduler import Limits, Run
from pages.components.loaders import get_scheduler

from .apptest import figure, open_page, values

PAGE = "pages/views/train.py"
OWNER = "test session id"  # AppTest's session id
SENTENCE = "the dog ran to the park ."


def _status(at) -> str:
    return " | ".join(p.proto.text for p in at.get("progress"))


def _until(at, words: str, timeout_s: float = 90.0) -> str:
    """Rerun the page (as its polling fragment would) until a progress bar says ``words``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if words in _status(at):
            return _status(at)
        time.sleep(0.25)  # the poll interval of the page's fragment
    raise AssertionError(f"no {words!r} within {timeout_s} s: {_status(at)!r}")


@pytest.fixture(scope="module")
def at():
    yield open_page(PAGE, sentence=SENTENCE)
    # Every AppTest has the same session id: leave no run behind for the next test module's pages.
    sched = get_scheduler()
    run = sched.latest(OWNER)
    if run is not None:
        sched.stop(run, "the test ended")
        assert run.wait(30)
        sched.forget(OWNER)


def test_untrained_alignment_is_near_uniform_and_follows_the_seed(at):
    z = values(figure(at, "trn_align")["data"][0]["z"])
    assert z.shape[0] == len("2026-11-21") + 1 and z.max() < 3.0 / z.shape[1]
    np.testing.assert_allclose(z.sum(1), 1.0, atol=1e-5)
    at.slider(key="trn_seed").set_value(4).run()
    assert not np.array_equal(values(figure(at, "trn_align")["data"][0]["z"]), z)
    at.slider(key="trn_seed").set_value(0).run()
    assert not any(w.proto.text for w in at.get("progress"))  # nothing started by itself


def test_untrained_sentence_costs_about_ln_v(at):
    bars = figure(at, "trn_sentence")["data"]
    assert len(bars) == 1 and len(values(bars[0]["y"])) == len(SENTENCE.replace(" ", "")) + SENTENCE.count(" ")
    vocab = int(next(c.value for c in at.caption if "ln V = ln" in c.value).split("ln V = ln ")[1].split()[0])
    assert values(bars[0]["y"]).mean() == pytest.approx(math.log(vocab), abs=0.5)


def test_a_live_lm_run_draws_losses_samples_and_the_sentence(at):
    at.slider(key="trn_lm_s").set_value(5).run()
    at.select_slider(key="trn_lm_every").set_value(25).run()
    at.button(key="trn_lm_start").click().run()
    assert "Training" in _status(at) or "Waiting" in _status(at)
    _until(at, "Finished")
    traces = figure(at, "trn_lm_loss")["data"]
    assert [t["name"] for t in traces] == ["lstm: train", "lstm: valid"]
    train = values(traces[0]["y"])
    assert train[-10:].mean() < train[0]
    vx, vy = values(traces[1]["x"]), values(traces[1]["y"])
    marked = figure(at, "trn_lm_loss")["layout"]["shapes"]
    assert marked[0]["x0"] == vx[int(np.argmin(vy))]  # the best valid step, where early stopping keeps the weights
    bars = figure(at, "trn_sentence")["data"]
    assert [b["name"] for b in bars][0] == "untrained" and values(bars[1]["y"]).mean() < values(bars[0]["y"]).mean()
    assert any("Sample at step" in h.proto.body for h in at.get("html"))


def test_the_replay_shows_the_stored_alignments(at):
    at.slider(key="trn_dates_s").set_value(8).run()
    at.toggle(key="trn_dates_none").set_value(False).run()
    at.select_slider(key="trn_dates_every").set_value(10).run()
    at.button(key="trn_dates_start").click().run()
    _until(at, "Finished")
    stored = {f.step: f.alpha for f in get_scheduler().latest(OWNER).work.view().frames}
    replay = figure(at, "trn_align")
    steps = [int(s["label"]) for s in replay["layout"]["sliders"][0]["steps"]]
    assert steps == sorted(stored) and steps[0] == 0 and len(steps) >= 2
    for i, step in enumerate(steps):  # each frame of the browser-side replay is the alignment stored at its step
        frame = replay["frames"][i]
        assert frame["name"] == str(i) and f"at step {step}" in frame["layout"]["title"]["text"]
        np.testing.assert_array_equal(values(frame["data"][0]["z"]), stored[step])
    assert not np.array_equal(stored[0], stored[steps[-1]])  # training moved the alignment
    assert any("Replay" in c.value for c in at.caption)


class Blocker:
    """Another student's run that holds a slot until released."""

    kind = "other"

    def __init__(self) -> None:
        self.release = __import__("threading").Event()

    def __call__(self, run: Run) -> None:
        while not self.release.wait(0.01) and not run.should_stop():
            pass


def test_a_run_beyond_the_cap_waits_with_a_message(at):
    sched = get_scheduler()
    blockers = [Blocker() for _ in range(sched.limits.slots)]
    others = [sched.submit(f"other{i}", b, 30) for i, b in enumerate(blockers)]
    try:
        at.slider(key="trn_lm_s").set_value(5).run()
        at.button(key="trn_lm_start").click().run()
        assert "Waiting for a free slot: 0 run(s) ahead of yours" in _status(at)
        assert any(f"{len(blockers)} run(s) training, 1 waiting" in c.value for c in at.caption)
    finally:
        for b in blockers:
            b.release.set()
    assert all(r.wait(10) for r in others)
    _until(at, "Training")


def test_a_run_stops_at_the_time_cap(at):
    sched = get_scheduler()
    limits = sched.limits
    sched.limits = Limits(limits.slots, 2.0)
    try:
        at.slider(key="trn_lm_s").set_value(30).run()
        at.button(key="trn_lm_start").click().run()
        status = _until(at, "Stopped")
    finally:
        sched.limits = limits
    assert "time cap of 2 s" in status


def test_the_stop_button_stops_a_run(at):
    at.slider(key="trn_lm_s").set_value(60).run()
    at.button(key="trn_lm_start").click().run()
    _until(at, "Training")
    at.button(key="trn_lm_stop").click().run()
    assert "Stopped by you" in _until(at, "Stopped")
    assert at.button(key="trn_lm_stop").disabled


@pytest.mark.parametrize(("text", "message"), [
    ("the dog ran .", "too short to split"),
    ("   ", "Paste a text"),
])
def test_a_text_that_cannot_be_used_gets_a_message(at, text, message):
    at.radio(key="trn_source").set_value("paste a text").run()
    at.text_area(key="trn_paste").set_value(text).run()
    assert not at.exception
    assert any(message in m.value for m in [*at.warning, *at.info])
    assert at.button(key="trn_lm_start").disabled and at.button(key="trn_race_start").disabled
    at.radio(key="trn_source").set_value("stories our transformer writes").run()


GOOD = ("once upon a time a little dog found a red ball in the park and played with it all day . " * 40).encode()


@pytest.mark.parametrize(("data", "message"), [
    (b"", "The file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50, "looks binary"),
    (b"a" * 1_000_001, "the limit is 1 MB"),
    (b"the dog ran to the park .", "too short to split"),
])
def test_bad_uploads_get_a_clear_message(at, data, message):
    at.radio(key="trn_source").set_value("upload a .txt file").run()
    at.file_uploader(key="trn_upload").set_value(("story.txt", data, "text/plain")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(message in m.value for m in at.warning), [m.value for m in at.warning]
    assert at.button(key="trn_lm_start").disabled and at.button(key="trn_race_start").disabled
    assert figure(at, "trn_align")  # the rest of the page still works
    at.file_uploader(key="trn_upload").set_value(("story.txt", GOOD, "text/plain")).run()
    assert not at.warning and not at.button(key="trn_lm_start").disabled
    at.radio(key="trn_source").set_value("stories our transformer writes").run()

