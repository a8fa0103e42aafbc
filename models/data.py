"""Corpus paths, hashing and batching of token streams for training and evaluation."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .inputs import model_input
from .tokenizer import WordTokenizer

# The training data lives beside the checkout and is never committed (see SOURCES.md).
SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
TINYSTORIES = SHARED_DATA / "tinystories"
SHAKESPEARE = SHARED_DATA / "tinyshakespeare" / "input.txt"


def read_text(path: Path | str) -> str:
    """Read a UTF-8 text file, replacing undecodable bytes rather than failing."""
    return Path(path).read_text(encoding="utf-8", errors="replace")


def sha256_file(path: Path | str) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Corpus:
    """Train and valid text plus the hash of what was read (stored in the manifest)."""

    train: str
    valid: str
    sha256: str

    @classmethod
    def tinystories(cls, root: Path | str = TINYSTORIES) -> Corpus:
        """TinyStories train.txt / valid.txt from ``root``."""
        root = Path(root)
        train, valid = root / "train.txt", root / "valid.txt"
        for p in (train, valid):
            if not p.exists():
                raise FileNotFoundError(f"training data not found: {p} (pass --data DIR)")
        digest = hashlib.sha256((sha256_file(train) + sha256_file(valid)).encode()).hexdigest()
        return cls(read_text(train), read_text(valid), digest)

    @classmethod
    def split_file(cls, path: Path | str, train_fraction: float = 0.9) -> Corpus:
        """One file split by characters: the first ``train_fraction`` trains (nanoGPT's split)."""
        return cls.split_text(read_text(path), train_fraction, sha256_file(path))

    @classmethod
    def split_text(cls, text: str, train_fraction: float = 0.9, sha256: str = "") -> Corpus:
        """A text split by characters: the first ``train_fraction`` trains, the rest validates."""
        n = int(len(text) * train_fraction)
        return cls(text[:n], text[n:], sha256 or hashlib.sha256(text.encode()).hexdigest())


def random_windows(
    stream: torch.Tensor, batch_size: int, block: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random (x, y) windows of length ``block`` from a 1-D id stream; y is x shifted by one."""
    starts = torch.randint(len(stream) - block - 1, (batch_size,), generator=gen)
    offs = torch.arange(block)
    x = stream[starts[:, None] + offs]  # (B, T)
    y = stream[starts[:, None] + offs + 1]  # (B, T)
    return x, y


def parallel_streams(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a 1-D stream into ``batch_size`` contiguous rows (truncated BPTT layout)."""
    n = len(stream) // batch_size
    return stream[: n * batch_size].view(batch_size, n)  # (B, N)


def encode_stream(tokenizer, text: str) -> torch.Tensor:
    """Encode ``text`` to a long tensor through ``model_input``: a leading ``<eos>`` gives the first token a context."""
    return torch.from_numpy(np.asarray(model_input(tokenizer, text).ids, dtype=np.int64))


def zoo_data(root: Path | str = TINYSTORIES) -> tuple[Corpus, WordTokenizer, torch.Tensor]:
    """What every zoo model trains on: the TinyStories corpus, its shared word vocabulary, the train ids."""
    corpus = Corpus.tinystories(root)
    tokenizer = WordTokenizer.build(corpus.train)
    return corpus, tokenizer, encode_stream(tokenizer, corpus.train)
