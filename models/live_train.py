"""Live training runs for the Train page: tiny models from scratch, through the one ``fit`` loop, recorded as they go.

A job is called on a scheduler thread with its ``Run`` (``models.scheduler``) and trains one model after another
for a budget of seconds each, stopping early when the run is asked to. Everything the page draws goes into a
``Recorder`` (``models.live_record``) and is read back as an immutable ``LiveView``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import torch

from .dates import generate
from .evaluate import teacher_forced_loss
from .fit import StepReport
from .inputs import model_input
from .live_record import Frame, LiveView, Recorder, Sample
from .live_text import LMData
from .lm import LanguageModel
from .optim import seed_everything
from .pairs import PairSet, dates, encode_pairs
from .readings.training import alignment, exact_match, sentence_loss
from .registry import TrainConfig
from .rnn import RecurrentLM, RNNConfig
from .sampling import SamplingConfig, sample_batch
from .scheduler import Run
from .seq2seq import Seq2Seq, Seq2SeqConfig
from .seq2seq_train import train_seq2seq
from .train import train_model
from .transformer import TransformerConfig, TransformerLM

CPU = torch.device("cpu")  # a class server's runs share its cores; a GPU is the teacher's machine's business
ARCHITECTURES = ("rnn", "lstm", "transformer")
FIXED_DATE = ("Saturday, November 21st 2026", "2026-11-21")  # the input whose alignment is redrawn
# Model construction draws from torch's global generator: one thread at a time, so a seed gives the same weights.
_INIT_LOCK = threading.Lock()
NEVER = 10**9  # no early stop inside a live run: the page marks where early stopping would have stopped


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


@dataclass(frozen=True)
class DatesData:
    """Generated dates encoded once (a server shares them read-only): train, valid, fresh ids; the fixed input."""

    pairs: PairSet  # the raw pairs and the character tokenizers
    train: list[tuple[list[int], list[int]]]
    valid: list[tuple[list[int], list[int]]]  # for the valid loss
    fresh: list[tuple[list[int], list[int]]]  # sources never trained on, for exact match
    source_tokens: tuple[str, ...]  # FIXED_DATE's source as the encoder reads it


def dates_data(n_train: int = 8000, n_valid: int = 100, n_fresh: int = 100, seed: int = 0) -> DatesData:
    """Dates from ``models.dates``; the fresh ones come from another seed and never occur in training."""
    pairs = dates(n_train=n_train, n_valid=n_valid, seed=seed)
    seen = {s for s, _ in pairs.train}
    fresh = [(e.source, e.target) for e in generate(3 * n_fresh, seed=seed + 99) if e.source not in seen][:n_fresh]
    src, tgt, cut = pairs.src_tok, pairs.tgt_tok, DATES_SIZES["max_src_len"]
    return DatesData(pairs, encode_pairs(pairs.train, src, tgt, cut), encode_pairs(pairs.valid, src, tgt, cut),
                     encode_pairs(fresh, src, tgt, cut), tuple(model_input(src, FIXED_DATE[0]).tokens))


class DatesJob:
    """Train a dates → ISO seq2seq from scratch per attention variant; record loss, exact match and α."""

    kind = "dates"

    def __init__(self, setup: DatesSetup, data: DatesData) -> None:
        self.setup, self.data, self.record = setup, data, Recorder()

    def view(self) -> LiveView:
        """A snapshot of everything recorded so far."""
        return self.record.view()

    def _frame(self, model: Seq2Seq, name: str, step: int, valid_loss: float) -> None:
        """α of the fixed date and exact match on the fresh dates, at ``step``."""
        model.eval()
        self.record.frame(Frame(name, step, alignment(model, *FIXED_DATE), exact_match(model, self.data.fresh),
                                valid_loss))
        model.train()

    def __call__(self, run: Run) -> None:
        """Each attention variant from scratch for ``seconds_each`` (or until the run stops), a frame every ``every``
        steps."""
        s, d = self.setup, self.data
        self.record.tokens(d.source_tokens, (*FIXED_DATE[1], "<eos>"))
        cfg = TrainConfig(batch_size=s.batch_size, lr=s.lr, warmup=20, max_steps=s.max_steps, weight_decay=0.0,
                          eval_every=s.every, patience=NEVER, eval_tokens=len(d.valid), seed=s.seed)
        for name in s.attentions:
            model = tiny_seq2seq(d.pairs, name, s.seed)
            loss = teacher_forced_loss(model, d.valid)
            self.record.valid(name, 0, loss)
            self._frame(model, name, 0, loss)

            def on_step(report: StepReport, model=model, name=name) -> bool:
                if report.valid_loss is not None:
                    self._frame(model, name, report.step, report.valid_loss)
                self.record.step(name, report)
                return run.should_stop() or report.elapsed_s >= s.seconds_each

            train_seq2seq(model, d.train, d.valid, cfg, CPU, progress=False, on_step=on_step)
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


def write_sample(model: LanguageModel, data: LMData, tokens: int, seed: int) -> str:
    """A sample from a new text (after ``<eos>``), at temperature 1, the same random draws at every step."""
    ids = sample_batch(model, [], 1, tokens, SamplingConfig(), torch.Generator().manual_seed(seed))
    return data.tokenizer.decode(ids[0].tolist())


class LMJob:
    """Train tiny LMs on one text, one architecture after another; record losses, samples, the sentence's losses."""

    def __init__(self, setup: LMSetup, data: LMData, kind: str = "lm") -> None:
        self.setup, self.data, self.record, self.kind = setup, data, Recorder(), kind

    def view(self) -> LiveView:
        """A snapshot of everything recorded so far."""
        return self.record.view()

    def _snapshot(self, model: LanguageModel, name: str, step: int) -> None:
        """A sample and the sentence's losses at ``step``."""
        s, d = self.setup, self.data
        self.record.sample(Sample(name, step, write_sample(model, d, s.sample_tokens, s.seed)),
                           sentence_loss(model, d.tokenizer, s.sentence, name, step) if s.sentence else None)

    def __call__(self, run: Run) -> None:
        """Each architecture from scratch for ``seconds_each`` (or until the run stops), a sample every ``every``
        steps."""
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
