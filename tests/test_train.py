"""The training loop: schedule, learning, determinism for a seed, early stopping, the time cap, and the same
weights as the two loops ``fit`` replaced (runs recorded with dc55476's ``train_model`` and ``train_seq2seq``)."""
from __future__ import annotations

import math

import pytest
import torch

from models import seq2seq_train
from models.checkpoint import read_manifest
from models.data import sha256_file
from models.ffnn import FFNNLM, FFNNConfig
from models.fit import fit
from models.optim import lr_at
from models.pairs import dates, encode_pairs
from models.registry import TrainConfig, load
from models.rnn import RecurrentLM, RNNConfig
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.seq2seq_train import train_seq2seq
from models.train import train_model, train_zoo_model
from models.transformer import TransformerConfig, TransformerLM

from .conftest import V, tiny_models, tiny_word

CPU = torch.device("cpu")


def test_lr_schedule():
    cfg = TrainConfig(lr=1.0, min_lr_ratio=0.1, warmup=10, max_steps=110)
    assert math.isclose(lr_at(0, cfg), 0.1)
    assert math.isclose(lr_at(9, cfg), 1.0)
    assert math.isclose(lr_at(60, cfg), 0.55)
    assert math.isclose(lr_at(110, cfg), 0.1)


def _stream() -> torch.Tensor:
    pattern = torch.arange(3, 13)  # a repeating sequence: learnable from context
    return pattern.repeat(300)


def test_training_learns_and_is_deterministic():
    cfg = TrainConfig(batch_size=8, block=16, lr=1e-2, warmup=5, max_steps=60, eval_every=30, eval_tokens=200)
    for name in ("transformer", "gru", "ffnn"):
        runs = []
        for _ in range(2):
            model = tiny_models()[name]
            result = train_model(model, _stream(), _stream()[:300], cfg, CPU, progress=False)
            runs.append((result.best_valid_loss, [p.clone() for p in model.parameters()]))
        assert runs[0][0] == runs[1][0], name
        assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1], strict=True)), name  # same weights
        assert runs[0][0] < 0.5 * math.log(V), name
        assert not model.training


# ----- the same runs as before the trainers shared ``fit`` -------------------------------------------------

def _dropout_model(name: str) -> torch.nn.Module:
    """A tiny model with dropout, so the forward pass draws from the global generator too."""
    torch.manual_seed(0)
    if name == "ffnn":
        return FFNNLM(FFNNConfig(V, k=4, n_embd=8, n_hidden=32, dropout=0.1))
    if name == "transformer":
        return TransformerLM(TransformerConfig(V, block_size=16, n_layer=2, n_head=4, n_embd=16, dropout=0.1))
    return RecurrentLM(RNNConfig(V, name, 8, 16, dropout=0.1))


def _weight_sum(model: torch.nn.Module) -> float:
    """Σ |w| over the state dict: a checksum of the weights that tolerates last-bit float differences."""
    return float(sum(v.double().abs().sum() for v in model.state_dict().values()))


def _train_lm(name: str, stop_early: bool):
    """600 pattern tokens (the recurrent rows wrap round many epochs); a random valid stream stops early."""
    train = torch.arange(3, 13).repeat(60)
    valid = torch.randint(3, V, (300,), generator=torch.Generator().manual_seed(5)) if stop_early \
        else torch.arange(3, 13).repeat(30)
    cfg = TrainConfig(batch_size=8, block=16, lr=1e-2, warmup=5, max_steps=40, eval_every=5, eval_tokens=200,
                      patience=1 if stop_early else 4, seed=7)
    model = _dropout_model(name)
    return train_model(model, train, valid, cfg, CPU, progress=False), model


def _train_dates(attention: str, seed: int = 3, steps: int = 30):
    """A tiny dates model, ``steps`` steps of 32 shuffled pairs out of 300, dropout on."""
    pairs = dates(n_train=300, n_valid=40, seed=0)
    torch.manual_seed(0)
    config = Seq2SeqConfig(len(pairs.src_tok), len(pairs.tgt_tok), attention, n_embd=16, n_hidden=16, dropout=0.1,
                           max_src_len=32, max_out_len=12)
    model = Seq2Seq(config, pairs.src_tok, pairs.tgt_tok)
    train = encode_pairs(pairs.train, pairs.src_tok, pairs.tgt_tok, 32)
    valid = encode_pairs(pairs.valid, pairs.src_tok, pairs.tgt_tok, 32)
    cfg = TrainConfig(batch_size=32, lr=3e-3, warmup=5, max_steps=steps, eval_every=5, eval_tokens=40, patience=2,
                      seed=seed)
    return train_seq2seq(model, train, valid, cfg, CPU, progress=False), model


# (steps, best step, best valid loss, Σ|w|) from dc55476's train_model / train_seq2seq on this machine.
RECORDED_LM = {
    ("ffnn", False): (40, 40, 0.0743100568652153, 728.813086725917),
    ("ffnn", True): (10, 5, 3.9545819759368896, 548.658581811469),
    ("rnn", False): (40, 40, 0.7180067300796509, 550.0704702322837),
    ("lstm", False): (40, 40, 1.437953233718872, 765.1773978791316),
    ("gru", False): (40, 40, 1.248707890510559, 680.8951816059416),
    ("gru", True): (10, 5, 3.9496114253997803, 570.9265732383355),
    ("transformer", False): (40, 40, 0.8367663621902466, 636.4071282464165),
}
RECORDED_DATES = {
    "additive": (30, 30, 1.9815906871448863, 2567.890538597494),
    "none": (30, 30, 2.0029980746182527, 2380.8280599790533),
}


@pytest.mark.parametrize(("name", "stop_early"), list(RECORDED_LM))
def test_lm_trainer_gives_the_recorded_weights(name, stop_early):
    result, model = _train_lm(name, stop_early)
    steps, best_step, loss, weights = RECORDED_LM[name, stop_early]
    assert (result.steps, result.best_step) == (steps, best_step)
    assert result.best_valid_loss == pytest.approx(loss, rel=1e-5)
    assert _weight_sum(model) == pytest.approx(weights, rel=1e-6)
    assert result.seen == 8 * 16 * steps and result.unit == "tokens"


@pytest.mark.parametrize("attention", list(RECORDED_DATES))
def test_seq2seq_trainer_gives_the_recorded_weights(attention):
    result, model = _train_dates(attention)
    steps, best_step, loss, weights = RECORDED_DATES[attention]
    assert (result.steps, result.best_step) == (steps, best_step)
    assert result.best_valid_loss == pytest.approx(loss, rel=1e-5)
    assert _weight_sum(model) == pytest.approx(weights, rel=1e-6)
    assert result.seen == 32 * steps and result.unit == "pairs"


def test_seq2seq_same_seed_same_weights_other_seed_others():
    a, b, c = (_train_dates("dot", seed, steps=12)[1].state_dict().values() for seed in (3, 3, 4))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(b, c, strict=True))


# ----- the loop itself, on a one-parameter model -------------------------------------------------------------

class _Scalar(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))


def _fit_scalar(valid_losses: list[float], max_minutes: float | None = None, max_steps: int = 100):
    """Fit w towards 1 under a scripted validation curve; returns (result, w after restoring, w at each eval)."""
    model, seen_w = _Scalar(), []
    losses = iter(valid_losses)

    def batches(gen: torch.Generator):
        assert isinstance(gen, torch.Generator)
        return lambda: ((model.w - 1) ** 2, 3)

    def validate() -> float:
        assert not model.training
        seen_w.append(model.w.item())
        return next(losses)

    cfg = TrainConfig(lr=0.05, warmup=1, max_steps=max_steps, weight_decay=0.0, eval_every=10, patience=2)
    result = fit(model, cfg, CPU, batches, validate, "items", max_minutes, progress=False)
    return result, model.w.item(), seen_w


def test_early_stopping_restores_the_best_weights():
    result, w, seen_w = _fit_scalar([3.0, 1.0, 2.0, 2.5, 0.1])
    assert result.steps == 40  # two evaluations without improvement after the best
    assert (result.best_step, result.best_valid_loss) == (20, 1.0)
    assert w == seen_w[1] != seen_w[-1]  # the weights of step 20, not the last ones
    assert result.seen == 3 * 40
    assert result.record(60, CPU, TrainConfig())["epochs"] == 2.0
    assert {"items_per_s", "steps", "best_step", "train", "threads"} <= set(result.record(60, CPU, TrainConfig()))


def test_time_cap_stops_after_the_step_that_passes_it():
    result, _, seen_w = _fit_scalar([], max_minutes=0.0)
    assert result.steps == 1 and seen_w == []


def test_last_step_is_always_evaluated():
    result, _, seen_w = _fit_scalar([2.0, 1.0], max_steps=15)
    assert result.steps == 15 and len(seen_w) == 2 and result.best_step == 15


# ----- one manifest writer for both trainers -----------------------------------------------------------------

SHARED_FIELDS = {"file", "sha256", "bytes", "params", "config", "data_sha256", "epochs", "steps", "best_step",
                 "wall_time_s", "device", "threads", "torch", "train"}


def test_both_trainers_ship_through_one_manifest_writer(tmp_path, monkeypatch):
    gen = torch.Generator().manual_seed(0)

    def text(n: int) -> str:
        return " ".join(tiny_word(i) for i in torch.randint(20, (n,), generator=gen).tolist())

    data, root = tmp_path / "data", tmp_path / "ck"
    data.mkdir()
    (data / "train.txt").write_text(text(2000))
    (data / "valid.txt").write_text(text(300))
    monkeypatch.setattr(seq2seq_train, "build_pairs", lambda spec, path: dates(n_train=200, n_valid=20, seed=0))
    monkeypatch.setattr(seq2seq_train, "dates_test_set", lambda train: train[:20])
    ngram = train_zoo_model("ngram", data, CPU, root, None)
    gru = train_zoo_model("gru", data, CPU, root, None, steps=2)
    pairs = seq2seq_train.train_seq2seq_model("dates-additive", None, CPU, root, None, steps=2)
    assert read_manifest(root) == {"ngram": ngram, "gru": gru, "dates-additive": pairs}
    for entry in (gru, pairs):
        assert SHARED_FIELDS <= set(entry)
        assert entry["steps"] == 2 and entry["train"]["max_steps"] == 2 and entry["device"] == "cpu"
    for entry in (ngram, gru, pairs):
        path = root / entry["file"]
        assert (entry["sha256"], entry["bytes"]) == (sha256_file(path), path.stat().st_size)
    assert gru["tokens_per_s"] > 0 and gru["vocab_size"] == 23 and gru["valid_ppl"] > 1
    assert pairs["pairs_per_s"] > 0 and pairs["metrics"]["pairs"] == 20 and pairs["task"] == "dates"
    assert ngram["steps"] == 0 and ngram["train"] is None
    for name in ("ngram", "gru", "dates-additive"):
        load(name, "cpu", root=root)  # each checkpoint matches its entry and loads
