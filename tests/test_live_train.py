"""Live training jobs: a 20-step run lowers the loss, frames keep the alignments, early stopping is marked, the
student's text is checked and split, and the fit loop's hook sees every step and can stop it."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.fit import StepReport, fit
from models.live_record import Curve
from models.live_text import MAX_BYTES, check_upload, prepare
from models.live_train import (
    FIXED_DATE,
    DatesJob,
    DatesSetup,
    LMJob,
    LMSetup,
    dates_data,
    tiny_lm,
    tiny_seq2seq,
)
from models.readings.training import alignment, sentence_loss
from models.registry import TrainConfig
from models.scheduler import DONE, Limits, Run, Scheduler

STORY = ("once upon a time there was a little dog named max. max liked to run in the park with his red ball. "
         "one day the ball rolled into the pond and max was sad. a kind girl named lily found the ball and gave it "
         "back. max was happy and they played all day. ") * 12


def _run(job, cap_s: float = 60.0) -> Run:
    """Execute ``job`` on this thread as a scheduler would (a run that nobody stops)."""
    run = Run("student", job, cap_s, cap_s, lambda: True, __import__("time").monotonic)
    run.started_at = run.clock()
    job(run)
    return run


@pytest.fixture(scope="module")
def date_data():
    return dates_data(n_train=2000, n_valid=50, n_fresh=40)


def test_fit_hook_sees_every_step_and_can_stop():
    model = tiny_lm("rnn", 20, seed=0)
    seen: list[StepReport] = []

    def batches(gen):
        x = torch.randint(3, 20, (4, 9), generator=gen)
        return lambda: (model(x[:, :-1], x[:, 1:])[1], x.numel())

    result = fit(model, TrainConfig(max_steps=50, eval_every=5, warmup=1), torch.device("cpu"), batches,
                 lambda: 1.0, "tokens", progress=False, on_step=lambda r: seen.append(r) or r.step == 12)
    assert [r.step for r in seen] == list(range(1, 13)) and result.steps == 12
    assert [r.step for r in seen if r.valid_loss is not None] == [5, 10]


def test_twenty_dates_steps_lower_the_loss_and_record_alignments(date_data):
    job = DatesJob(DatesSetup(("additive", "none"), seed=0, seconds_each=60.0, every=10, max_steps=20), date_data)
    _run(job)
    view = job.view()
    for name in ("additive", "none"):
        curve = view.curves[name]
        assert list(curve.steps) == list(range(1, 21))
        assert list(curve.valid_steps) == [0, 10, 20]
        assert curve.valid[-1] < curve.valid[0] and curve.train[-5:].mean() < curve.train[:5].mean()
    frames = [f for f in view.frames if f.model == "additive"]
    assert [f.step for f in frames] == [0, 10, 20]
    for f in frames:
        assert f.alpha.shape == (len(view.target_tokens), len(view.source_tokens))
        np.testing.assert_allclose(f.alpha.sum(1), 1.0, atol=1e-5)
    assert not np.allclose(frames[0].alpha, frames[-1].alpha)  # the stored alignments differ from step to step
    assert all(f.alpha is None for f in view.frames if f.model == "none")  # no α without attention
    assert view.target_tokens == (*FIXED_DATE[1], "<eos>")


def test_an_untrained_alignment_is_near_uniform(date_data):
    alpha = alignment(tiny_seq2seq(date_data.pairs, "additive", seed=0), *FIXED_DATE)
    n = alpha.shape[1]
    assert alpha.max() < 3.0 / n  # nothing stands out before training


def test_fresh_dates_never_occur_in_training(date_data):
    trained = {tuple(src) for src, _ in date_data.train}
    assert len(date_data.fresh) == 40 and not any(tuple(src) in trained for src, _ in date_data.fresh)
    assert "".join(date_data.source_tokens) == FIXED_DATE[0]


def test_same_seed_same_start(date_data):
    a = alignment(tiny_seq2seq(date_data.pairs, "additive", seed=4), *FIXED_DATE)
    b = alignment(tiny_seq2seq(date_data.pairs, "additive", seed=4), *FIXED_DATE)
    c = alignment(tiny_seq2seq(date_data.pairs, "additive", seed=5), *FIXED_DATE)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("architecture", ["rnn", "lstm", "transformer"])
def test_twenty_lm_steps_lower_the_loss(architecture):
    data = prepare(STORY, "char")
    job = LMJob(LMSetup((architecture,), "the dog ran.", seed=0, seconds_each=60.0, every=10, max_steps=20), data)
    _run(job)
    view = job.view()
    curve = view.curves[architecture]
    assert len(curve.steps) == 20 and list(curve.valid_steps) == [10, 20]
    assert curve.train[-5:].mean() < curve.train[:5].mean()
    assert curve.train[0] == pytest.approx(math.log(len(data.tokenizer)), abs=0.5)  # ≈ ln V from random weights
    assert [s.step for s in view.samples] == [0, 10, 20]
    first, last = view.sentence[0], view.sentence[-1]
    assert first.tokens == last.tokens and len(first.tokens) == len("the dog ran.")
    assert last.nll.mean() < first.nll.mean()  # the student's sentence became more probable


def test_sentence_loss_of_an_untrained_model_is_about_ln_v():
    data = prepare(STORY, "word")
    result = sentence_loss(tiny_lm("lstm", len(data.tokenizer), 0), data.tokenizer, "the dog was happy")
    assert result.tokens == ("the", "dog", "was", "happy")
    assert result.nll.mean() == pytest.approx(math.log(len(data.tokenizer)), abs=0.5)


def test_early_stop_marks():
    curve = Curve(np.arange(1, 101), np.linspace(0, 1, 100), np.ones(100), np.array([0, 20, 40, 60, 80, 100]),
                  np.array([3.0, 2.0, 1.5, 1.6, 1.7, 1.8]))
    assert curve.early_stop(3) == (40, 100)
    assert curve.early_stop(4) == (40, None)  # not patient enough to stop within the run


def test_the_scheduler_runs_a_real_job(date_data):
    sched = Scheduler(Limits(slots=1, time_cap_s=60))
    job = DatesJob(DatesSetup(("additive",), seed=0, seconds_each=60.0, every=5, max_steps=5), date_data)
    run = sched.submit("a", job, 5)
    assert run.wait(60)
    assert run.state == DONE and job.view().curves["additive"].steps[-1] == 5


# ----- the student's text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "words"), [
    (b"", "empty"),
    (b"  \n\t ", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("caf\u00e9 au lait".encode("latin-1"), "not UTF-8"),
    (b"a" * (MAX_BYTES + 1), "limit is 1 MB"),
])
def test_bad_uploads_get_a_clear_message(data, words):
    checked = check_upload(data)
    assert checked.text == "" and words in checked.message


def test_a_good_upload_is_read_as_text():
    checked = check_upload("Once upon a time… “quoted”\r\nline two".encode())
    assert checked.message == "" and checked.text == "Once upon a time… “quoted”\nline two"


@pytest.mark.parametrize("level", ["char", "word"])
def test_a_text_too_short_to_split_is_refused(level):
    with pytest.raises(ValueError, match="too short to split"):
        prepare("the dog ran to the park.", level)


def test_the_message_names_a_length_that_is_enough():
    with pytest.raises(ValueError, match="at least about 640 are needed"):
        prepare(" ".join(["dog"] * 400), "word")  # enough to train on, but its last 10% is too short to validate
    prepare(" ".join(["dog"] * 640), "word")


def test_split_keeps_the_last_tenth_for_validation():
    data = prepare(STORY, "char")
    assert len(data.train) - 1 == int(len(STORY) * 0.9) and len(data.valid) - 1 == len(STORY) - int(len(STORY) * 0.9)
