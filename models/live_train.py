"""Live training runs for the Train page: tiny models from scratch, through the one ``fit`` loop, recorded as they go.

A job is called on a scheduler thread with its ``Run`` (``models.scheduler``) and trains one model after another
for a budget of seconds each, stopping early when the run is asked to. Everything the page draws is recorded in
a ``Recorder`` under a lock and read back as an immutable ``LiveView`` of numpy arrays (never tensors), so a
page rerun never waits for a training step and never sees half a step.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import torch

from .evaluate import greedy_batch, teacher_forced_loss, token_nll
from .fit import StepReport
from .inputs import model_input
from .live_text import LMData
from .lm import LanguageModel
from .optim import seed_everything
from .pairs import PairSet, encode_pairs
from .registry import TrainConfig
from .rnn import RecurrentLM, RNNConfig
from .sampling import SamplingConfig, sample_batch
from .scheduler import Run
from .seq2seq import Seq2Seq, Seq2SeqConfig, SourceDecoder
from .seq2seq_train import train_seq2seq
from .tokenizer import EOS_ID, Tokenizer
from .train import train_model
from .transformer import TransformerConfig, TransformerLM

CPU = torch.device("cpu")  # a class server's runs share its cores; a GPU is the teacher's machine's business
ARCHITECTURES = ("rnn", "lstm", "transformer")
FIXED_DATE = ("Saturday, November 21st 2026", "2026-11-21")  # the input whose alignment is redrawn
# Model construction draws from torch's global generator: one thread at a time, so a seed gives the same weights.
_INIT_LOCK = threading.Lock()
NEVER = 10**9  # no early stop inside a live run: the page marks where early stopping would have stopped


@dataclass(frozen=True)
class Curve:
    """One model's losses so far: every step's training loss, and the validation loss every few steps."""

    steps: np.ndarray  # (N,) 1-based step numbers
    seconds: np.ndarray  # (N,) wall time since this model started
    train: np.ndarray  # (N,) training loss of the batch at that step
    valid_steps: np.ndarray  # (M,) steps that validated (0 = before training)
    valid: np.ndarray  # (M,) validation loss there

    def early_stop(self, patience: int) -> tuple[int | None, int | None]:
        """(best step, the step where early stopping with ``patience`` evaluations would have stopped, or None)."""
        if not len(self.valid):
            return None, None
        best, bad = 0, 0
        for i in range(1, len(self.valid)):
            if self.valid[i] < self.valid[best]:
                best, bad = i, 0
            else:
                bad += 1
                if bad >= patience:
                    return int(self.valid_steps[best]), int(self.valid_steps[i])
        return int(self.valid_steps[best]), None


@dataclass(frozen=True)
class Frame:
    """What a seq2seq model did at one step: α of the fixed input (None without attention), exact match, loss."""

    model: str
    step: int
    alpha: np.ndarray | None  # (T_out + 1, T_in) teacher-forced on the gold output, the last row for <eos>
    exact_match: float  # share of fresh dates translated exactly (greedy)
    valid_loss: float


@dataclass(frozen=True)
class Sample:
    """Text a language model wrote at one step."""

    model: str
    step: int
    text: str


@dataclass(frozen=True)
class SentenceLoss:
    """−log p of each token of one sentence under a model at one step (the student's sentence becoming familiar)."""

    model: str
    step: int
    tokens: tuple[str, ...]  # as the model reads them (unknown ones as <unk>)
    nll: np.ndarray  # (T,) nats per token


@dataclass(frozen=True)
class LiveView:
    """A snapshot of a run's record: safe to keep and draw while the run goes on."""

    curves: dict[str, Curve]
    frames: tuple[Frame, ...] = ()
    samples: tuple[Sample, ...] = ()
    sentence: tuple[SentenceLoss, ...] = ()
    source_tokens: tuple[str, ...] = ()  # the fixed date as the encoder reads it
    target_tokens: tuple[str, ...] = ()  # its gold output, then <eos>

    @property
    def first_loss(self) -> bool:
        """At least one training step has been recorded."""
        return any(len(c.steps) for c in self.curves.values())


@dataclass
class Recorder:
    """Append-only record of a run, written by the training thread, read by page reruns (under one lock)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _curves: dict[str, dict[str, list]] = field(default_factory=dict)
    _frames: list[Frame] = field(default_factory=list)
    _samples: list[Sample] = field(default_factory=list)
    _sentence: list[SentenceLoss] = field(default_factory=list)
    _tokens: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())

    def _curve(self, name: str) -> dict[str, list]:
        return self._curves.setdefault(name, {k: [] for k in ("steps", "seconds", "train", "valid_steps", "valid")})

    def step(self, name: str, report: StepReport) -> None:
        with self._lock:
            c = self._curve(name)
            c["steps"].append(report.step)
            c["seconds"].append(report.elapsed_s)
            c["train"].append(report.loss)
            if report.valid_loss is not None:
                c["valid_steps"].append(report.step)
                c["valid"].append(report.valid_loss)

    def valid(self, name: str, step: int, loss: float) -> None:
        with self._lock:
            c = self._curve(name)
            c["valid_steps"].append(step)
            c["valid"].append(loss)

    def frame(self, frame: Frame) -> None:
        with self._lock:
            self._frames.append(frame)

    def sample(self, sample: Sample, sentence: SentenceLoss | None = None) -> None:
        with self._lock:
            self._samples.append(sample)
            if sentence is not None:
                self._sentence.append(sentence)

    def tokens(self, source: tuple[str, ...], target: tuple[str, ...]) -> None:
        with self._lock:
            self._tokens = (source, target)

    def view(self) -> LiveView:
        """Copies of everything so far, as numpy arrays."""
        with self._lock:
            curves = {name: Curve(*(np.asarray(c[k], dtype=np.float64 if k in ("seconds", "train", "valid")
                                                else np.int64)
                                    for k in ("steps", "seconds", "train", "valid_steps", "valid")))
                      for name, c in self._curves.items()}
            return LiveView(curves, tuple(self._frames), tuple(self._samples), tuple(self._sentence), *self._tokens)


# ----- attention being learned: dates -> ISO ---------------------------------------------------------------


@dataclass(frozen=True)
class DatesSetup:
    """A dates run: the attention variants trained one after the other, each for the same seconds."""

    attentions: tuple[str, ...] = ("additive", "none")
    seed: int = 0
    seconds_each: float = 20.0
    every: int = 25  # steps between frames (alignment, exact match, valid loss)
    batch_size: int = 32
    lr: float = 1e-2
    max_steps: int = 100_000  # the learning rate stays near lr within a live run's budget


DATES_SIZES = {"n_embd": 16, "n_hidden": 32, "dropout": 0.0, "max_src_len": 40, "max_out_len": 12}


def tiny_seq2seq(pairs: PairSet, attention: str, seed: int) -> Seq2Seq:
    """A small dates encoder–decoder with fresh weights drawn from ``seed``."""
    with _INIT_LOCK:
        seed_everything(seed)
        config = Seq2SeqConfig(len(pairs.src_tok), len(pairs.tgt_tok), attention, **DATES_SIZES)
        return Seq2Seq(config, pairs.src_tok, pairs.tgt_tok)


@torch.no_grad()
def alignment(model: Seq2Seq, source: str, target: str) -> np.ndarray | None:
    """α of ``source`` with the decoder fed the gold ``target`` (teacher forcing): (T_out + 1, T_in), or None."""
    ids, _ = model.source_ids(source)
    h, mask, thought, s0 = model.encode(torch.tensor([ids]))
    _, alpha, _ = SourceDecoder(model, h, mask, thought, s0).teacher_forced([EOS_ID, *model.tgt_tok.encode(target)])
    return None if alpha is None else alpha.numpy().astype(np.float32)


@torch.no_grad()
def exact_match(model: Seq2Seq, fresh: list[tuple[list[int], list[int]]]) -> float:
    """Share of fresh (source ids, target ids) pairs whose greedy output is exactly right."""
    outs, _ = greedy_batch(model, [s for s, _ in fresh])
    return float(np.mean([out == tgt for out, (_, tgt) in zip(outs, fresh, strict=True)]))


class DatesJob:
    """Train a dates → ISO seq2seq from scratch per attention variant; record loss, exact match and α."""

    kind = "dates"

    def __init__(self, setup: DatesSetup, pairs: PairSet, fresh: list[tuple[str, str]]) -> None:
        self.setup, self.pairs, self.record = setup, pairs, Recorder()
        self.fresh = fresh

    def view(self) -> LiveView:
        return self.record.view()

    def _frame(self, model: Seq2Seq, name: str, step: int, valid: list, fresh: list) -> float:
        model.eval()
        loss = teacher_forced_loss(model, valid)
        self.record.frame(Frame(name, step, alignment(model, *FIXED_DATE), exact_match(model, fresh), loss))
        model.train()
        return loss

    def __call__(self, run: Run) -> None:
        s = self.setup
        p = self.pairs
        train = encode_pairs(p.train, p.src_tok, p.tgt_tok, DATES_SIZES["max_src_len"])
        valid = encode_pairs(p.valid, p.src_tok, p.tgt_tok, DATES_SIZES["max_src_len"])
        fresh = encode_pairs(self.fresh, p.src_tok, p.tgt_tok, DATES_SIZES["max_src_len"])
        src, _ = tiny_seq2seq(p, "none", s.seed).source_ids(FIXED_DATE[0])
        self.record.tokens(tuple(p.src_tok.vocab.itos[i] for i in src), (*FIXED_DATE[1], "<eos>"))
        cfg = TrainConfig(batch_size=s.batch_size, lr=s.lr, warmup=20, max_steps=s.max_steps, weight_decay=0.0,
                          eval_every=s.every, patience=NEVER, eval_tokens=len(valid), seed=s.seed)
        for name in s.attentions:
            model = tiny_seq2seq(p, name, s.seed)
            self.record.valid(name, 0, self._frame(model, name, 0, valid, fresh))

            def on_step(report: StepReport, model=model, name=name) -> bool:
                if report.valid_loss is not None:
                    self.record.frame(Frame(name, report.step, alignment(model, *FIXED_DATE),
                                            exact_match(model, fresh), report.valid_loss))
                self.record.step(name, report)
                return run.should_stop() or report.elapsed_s >= s.seconds_each

            train_seq2seq(model, train, valid, cfg, CPU, progress=False, on_step=on_step)
            if run.stop_requested:
                return


# ----- a language model learns the student's text ---------------------------------------------------------


@dataclass(frozen=True)
class LMSetup:
    """An LM run: the architectures trained one after the other on the same text, each for the same seconds."""

    architectures: tuple[str, ...] = ("lstm",)
    sentence: str = ""  # the student's sentence, scored at every validation
    seed: int = 0
    seconds_each: float = 30.0
    every: int = 25  # steps between validations and samples
    sample_tokens: int = 160  # characters (char level) or words per sample
    batch_size: int = 16
    block: int = 64
    lr: float = 3e-3
    max_steps: int = 100_000


def tiny_lm(architecture: str, vocab_size: int, seed: int) -> LanguageModel:
    """A small RNN, LSTM or transformer with fresh weights drawn from ``seed`` (no dropout: overfitting shows)."""
    with _INIT_LOCK:
        seed_everything(seed)
        if architecture == "transformer":
            return TransformerLM(TransformerConfig(vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64,
                                                   dropout=0.0))
        if architecture in ("rnn", "lstm", "gru"):
            return RecurrentLM(RNNConfig(vocab_size, cell=architecture, n_embd=32, n_hidden=128, dropout=0.0))
    raise ValueError(f"architecture must be one of {ARCHITECTURES}")


@torch.no_grad()
def sentence_loss(model: LanguageModel, tokenizer: Tokenizer, text: str, name: str = "", step: int = 0) -> SentenceLoss:
    """Each token's −log p(w_t | w_<t) in ``text`` (at most 64 tokens), read after ``<eos>`` like a new text."""
    inp = model_input(tokenizer, text, max_len=65)
    nll = token_nll(model, torch.tensor(inp.ids)).numpy() if len(inp.ids) > 1 else np.zeros(0)
    return SentenceLoss(name, step, tuple(inp.tokens), nll.astype(np.float32))


def write_sample(model: LanguageModel, data: LMData, tokens: int, seed: int) -> str:
    """A sample from a new text (after ``<eos>``), at temperature 1, the same random draws at every step."""
    ids = sample_batch(model, [], 1, tokens, SamplingConfig(), torch.Generator().manual_seed(seed))
    return data.tokenizer.decode(ids[0].tolist())


class LMJob:
    """Train tiny LMs on one text, one architecture after another; record losses, samples, the sentence's losses."""

    def __init__(self, setup: LMSetup, data: LMData, kind: str = "lm") -> None:
        self.setup, self.data, self.record, self.kind = setup, data, Recorder(), kind

    def view(self) -> LiveView:
        return self.record.view()

    def _snapshot(self, model: LanguageModel, name: str, step: int) -> None:
        """A sample and the sentence's losses at ``step``."""
        s, d = self.setup, self.data
        self.record.sample(Sample(name, step, write_sample(model, d, s.sample_tokens, s.seed)),
                           sentence_loss(model, d.tokenizer, s.sentence, name, step) if s.sentence else None)

    def __call__(self, run: Run) -> None:
        s, d = self.setup, self.data
        cfg = TrainConfig(batch_size=s.batch_size, block=s.block, lr=s.lr, warmup=20, max_steps=s.max_steps,
                          weight_decay=0.0, eval_every=s.every, patience=NEVER, eval_tokens=4096, seed=s.seed)
        for name in s.architectures:
            model = tiny_lm(name, len(d.tokenizer), s.seed)
            self._snapshot(model, name, 0)

            def on_step(report: StepReport, model=model, name=name) -> bool:
                self.record.step(name, report)
                if report.valid_loss is not None:
                    self._snapshot(model, name, report.step)
                return run.should_stop() or report.elapsed_s >= s.seconds_each

            train_model(model, d.train, d.valid, cfg, CPU, progress=False, on_step=on_step)
            if run.stop_requested:
                return


def warm_up() -> None:
    """One tiny optimiser step: a process's first backward pass costs seconds (autograd's start), so a server pays
    it at start-up instead of a student's first run."""
    model = torch.nn.Linear(2, 1)
    model(torch.ones(1, 2)).sum().backward()
    torch.optim.AdamW(model.parameters()).step()
