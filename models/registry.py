"""The model zoo: one name per model, its config, its training recipe, and ``load(name)``."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .checkpoint import CHECKPOINT_DIR, CheckpointError, load_torch, rebuild_command, verified_path
from .ffnn import FFNNLM, FFNNConfig
from .lm import LanguageModel
from .mlm import MaskedLM
from .ngram import NGramConfig, NGramLM
from .rnn import RecurrentLM, RNNConfig
from .seq2seq import ATTENTIONS, Seq2Seq, Seq2SeqConfig
from .tokenizer import Tokenizer
from .transformer import TransformerConfig, TransformerLM
from .word2vec import Word2Vec, Word2VecConfig


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation recipe: AdamW, linear warm-up then cosine decay, gradient clipping, early stopping."""

    batch_size: int = 32
    block: int = 64  # window length (feed-forward, transformer) or BPTT length (recurrent)
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup: int = 200
    max_steps: int = 3000
    weight_decay: float = 0.1
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_every: int = 250
    patience: int = 4  # evaluations without improvement before stopping
    eval_tokens: int = 16384  # valid tokens used for early stopping
    seed: int = 1337


@dataclass(frozen=True)
class ModelSpec:
    """How to build one zoo model from a vocabulary size, and how to train it."""

    name: str
    family: str
    label: str  # how the app names it
    build: Callable[[dict], LanguageModel]
    default_config: Callable[[int], object]
    train: TrainConfig = field(default_factory=TrainConfig)
    extension: str = "pt"


SPECS: dict[str, ModelSpec] = {
    "ngram": ModelSpec(
        "ngram", "ngram", "n-gram (Kneser–Ney trigram)", lambda c: None, lambda v: NGramConfig(vocab_size=v),
        TrainConfig(max_steps=0), "npz",
    ),
    "ffnn": ModelSpec(
        "ffnn", "ffnn", "Feed-forward (Bengio, k = 4)", lambda c: FFNNLM(FFNNConfig(**c)),
        lambda v: FFNNConfig(vocab_size=v),
        TrainConfig(lr=2e-3, max_steps=2200, block=64, weight_decay=0.0),
    ),
    "rnn": ModelSpec(
        "rnn", "rnn", "Elman RNN", lambda c: RecurrentLM(RNNConfig(**c)),
        lambda v: RNNConfig(vocab_size=v, cell="rnn", dropout=0.1),
        TrainConfig(lr=2e-3, max_steps=2700, weight_decay=0.0, grad_clip=0.5),
    ),
    "lstm": ModelSpec(
        "lstm", "rnn", "LSTM", lambda c: RecurrentLM(RNNConfig(**c)), lambda v: RNNConfig(vocab_size=v, cell="lstm"),
        TrainConfig(lr=3e-3, max_steps=2900, weight_decay=0.0),
    ),
    # Two layers with about the one-layer LSTM's parameters (2.51 M): h = 210 instead of 256 (deck 003, stacked RNNs).
    "lstm2": ModelSpec(
        "lstm2", "rnn", "2-layer LSTM", lambda c: RecurrentLM(RNNConfig(**c)),
        lambda v: RNNConfig(vocab_size=v, cell="lstm", n_hidden=210, n_layer=2),
        TrainConfig(lr=3e-3, max_steps=1400, weight_decay=0.0),
    ),
    "gru": ModelSpec(
        "gru", "rnn", "GRU", lambda c: RecurrentLM(RNNConfig(**c)), lambda v: RNNConfig(vocab_size=v, cell="gru"),
        TrainConfig(lr=3e-3, max_steps=3000, weight_decay=0.0),
    ),
    "transformer": ModelSpec(
        "transformer", "transformer", "Transformer", lambda c: TransformerLM(TransformerConfig(**c)),
        lambda v: TransformerConfig(vocab_size=v),
        TrainConfig(lr=2e-3, max_steps=4000, warmup=300, weight_decay=0.1),
    ),
}
LM_NAMES = tuple(SPECS)

# Not left-to-right LMs: no perplexity, no sampling; scored by ``models.cloze`` instead.
MASKED_SPECS: dict[str, ModelSpec] = {
    "mlm": ModelSpec(
        "mlm", "mlm", "Masked LM (BERT-style encoder)", lambda c: MaskedLM(TransformerConfig(**c)),
        lambda v: TransformerConfig(vocab_size=v, causal=False),  # v counts <mask>
        TrainConfig(lr=1e-3, max_steps=1600, warmup=100, weight_decay=0.1, eval_every=200),
    ),
}


@dataclass(frozen=True)
class Seq2SeqSpec:
    """One seq2seq model: its task, attention variant, sizes and training recipe."""

    name: str
    task: str  # "dates" (character level, generated) or "fra" (English→French, word level)
    attention: str
    sizes: dict
    train: TrainConfig

    @property
    def label(self) -> str:
        """How the app names it."""
        return f"seq2seq {self.task} ({self.attention})"


_DATES_SIZES = {"n_embd": 32, "n_hidden": 64, "dropout": 0.0, "max_src_len": 64, "max_out_len": 12}
_FRA_SIZES = {"n_embd": 128, "n_hidden": 128, "dropout": 0.2, "max_src_len": 24, "max_out_len": 16}
_DATES_TRAIN = TrainConfig(batch_size=128, lr=3e-3, warmup=100, max_steps=2500, weight_decay=0.0,
                           eval_every=250, patience=4, eval_tokens=2000)
_FRA_TRAIN = TrainConfig(batch_size=64, lr=2e-3, warmup=200, max_steps=4500, weight_decay=0.0,
                         eval_every=750, patience=3, eval_tokens=3000)
SEQ2SEQ_SPECS: dict[str, Seq2SeqSpec] = {
    **{f"dates-{a}": Seq2SeqSpec(f"dates-{a}", "dates", a, _DATES_SIZES, _DATES_TRAIN) for a in ATTENTIONS},
    **{f"fra-{a}": Seq2SeqSpec(f"fra-{a}", "fra", a, _FRA_SIZES, _FRA_TRAIN) for a in ("additive", "none")},
}


@dataclass(frozen=True)
class EmbeddingSpec:
    """A model that learns word vectors only (not a language model: no page samples from it)."""

    name: str
    label: str
    train: TrainConfig


EMBEDDING_SPECS: dict[str, EmbeddingSpec] = {
    # batch_size counts centre words; eval_tokens the valid centre words of the validation loss. No early stop
    # (patience > max_steps / eval_every): the analogies kept improving after the valid loss had flattened.
    "word2vec": EmbeddingSpec(
        "word2vec", "word2vec (skip-gram)",
        TrainConfig(batch_size=1024, lr=1e-2, warmup=100, max_steps=12000, weight_decay=0.0, grad_clip=0.0,
                    eval_every=500, patience=100, eval_tokens=8192),
    ),
}
EMBEDDING_NAMES = tuple(EMBEDDING_SPECS)


def label(name: str) -> str:
    """The display name of any zoo model (its spec carries it, so a new model needs no UI table)."""
    spec = SPECS.get(name) or MASKED_SPECS.get(name) or SEQ2SEQ_SPECS.get(name) or EMBEDDING_SPECS.get(name)
    return spec.label if spec else name


@dataclass
class Bundle:
    """A loaded model with its tokenizer and manifest entry."""

    name: str
    model: LanguageModel | Seq2Seq | Word2Vec
    tokenizer: Tokenizer
    meta: dict


def best_device(requested: str | None = None) -> torch.device:
    """``cuda`` when present (or asked for), else ``cpu``."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def checkpoint_file(name: str) -> str:
    """File name of a model's checkpoint in ``assets/checkpoints``."""
    return f"{name}.{SPECS[name].extension}" if name in SPECS else f"{name}.pt"


def load(name: str, device: str | None = None, root: Path = CHECKPOINT_DIR) -> Bundle:
    """Load a verified checkpoint in eval mode; raises CheckpointError naming the rebuild command."""
    known = (*SPECS, *MASKED_SPECS, *SEQ2SEQ_SPECS, *EMBEDDING_SPECS)
    if name not in known:
        raise KeyError(f"unknown model '{name}'; known: {', '.join(known)}")
    path, entry = verified_path(name, root)
    if name in EMBEDDING_SPECS:
        payload = load_torch(path, name)
        model = Word2Vec(Word2VecConfig(**payload["config"]))
        model.load_state_dict({k: v.float() for k, v in payload["state_dict"].items()})
        model = model.to(best_device(device)).eval().requires_grad_(False)
        return Bundle(name, model, Tokenizer.from_dict(payload["tokenizer"]), entry)
    if name in SEQ2SEQ_SPECS:
        payload = load_torch(path, name)
        toks = payload["tokenizer"]
        model = Seq2Seq(Seq2SeqConfig(**payload["config"]), Tokenizer.from_dict(toks["src"]),
                        Tokenizer.from_dict(toks["tgt"]))
        model.load_state_dict({k: v.float() for k, v in payload["state_dict"].items()})
        model = model.to(best_device(device)).eval().requires_grad_(False)
        return Bundle(name, model, model.src_tok, entry)
    if name in SPECS and SPECS[name].family == "ngram":
        try:
            model, header = NGramLM.load(path)
        except Exception as err:
            raise CheckpointError(
                f"checkpoint {path.name} cannot be read; rebuild it with: {rebuild_command(name)}"
            ) from err
        tokenizer = Tokenizer.from_dict(header["tokenizer"])
        return Bundle(name, model.eval(), tokenizer, entry)
    payload = load_torch(path, name)
    model = (SPECS.get(name) or MASKED_SPECS[name]).build(payload["config"])
    model.load_state_dict({k: v.float() for k, v in payload["state_dict"].items()})
    # Shared by every session: eval mode, and no parameter ever collects a gradient.
    model = model.to(best_device(device)).eval().requires_grad_(False)
    return Bundle(name, model, Tokenizer.from_dict(payload["tokenizer"]), entry)


def config_dict(config) -> dict:
    """A config dataclass as a plain dict (checkpoints must hold only plain data)."""
    d = asdict(config)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
