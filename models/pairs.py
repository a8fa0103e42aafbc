"""Source–target pairs for the seq2seq models: generated dates, English→French, padding into batches."""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch

from .data import SHARED_DATA, read_text, sha256_file
from .dates import generate
from .tokenizer import EOS_ID, PAD_ID, CharTokenizer, Tokenizer, WordTokenizer

ENG_FRA = SHARED_DATA / "eng-fra" / "eng-fra.txt"
MAX_FRA_TOKENS = 10  # both sides of an English→French pair, as in the PyTorch tutorial


@dataclass
class PairSet:
    """Train/valid pairs of raw text with the tokenizers built from the training side."""

    train: list[tuple[str, str]]
    valid: list[tuple[str, str]]
    src_tok: Tokenizer
    tgt_tok: Tokenizer
    data_sha256: str


def read_pairs(path: Path | str) -> list[tuple[str, str]]:
    """Tab-separated ``source<TAB>target`` lines (extra columns ignored, malformed lines skipped)."""
    pairs = []
    for line in read_text(path).splitlines():
        cols = line.split("\t")
        if len(cols) >= 2 and cols[0].strip() and cols[1].strip():
            pairs.append((cols[0].strip(), cols[1].strip()))
    return pairs


def split_by_source(pairs: list[tuple[str, str]], valid_fraction: float, seed: int):
    """Seeded split by source sentence: all translations of one sentence fall on the same side."""
    sources = sorted({s for s, _ in pairs})
    random.Random(seed).shuffle(sources)
    held = set(sources[: int(len(sources) * valid_fraction)])
    return [p for p in pairs if p[0] not in held], [p for p in pairs if p[0] in held]


def eng_fra(path: Path | str = ENG_FRA, valid_fraction: float = 0.05, seed: int = 1234,
            src_vocab: int = 6000, tgt_vocab: int = 8000) -> PairSet:
    """English→French pairs with at most MAX_FRA_TOKENS tokens a side, split by English sentence."""
    word = WordTokenizer.build("", min_count=1)
    kept = [(s, t) for s, t in read_pairs(path)
            if len(word.tokens(s)) <= MAX_FRA_TOKENS and len(word.tokens(t)) <= MAX_FRA_TOKENS]
    train, valid = split_by_source(kept, valid_fraction, seed)
    src_tok = WordTokenizer.build("\n".join(s for s, _ in train), min_count=2, max_size=src_vocab)
    tgt_tok = WordTokenizer.build("\n".join(t for _, t in train), min_count=2, max_size=tgt_vocab)
    return PairSet(train, valid, src_tok, tgt_tok, sha256_file(path))


def dates(n_train: int, n_valid: int, seed: int = 0) -> PairSet:
    """Generated dates → ISO; valid sources never occur in train."""
    train = [(e.source, e.target) for e in generate(n_train, seed)]
    seen = {s for s, _ in train}
    valid = [(e.source, e.target) for e in generate(n_valid * 2, seed + 1) if e.source not in seen][:n_valid]
    chars = "".join(s for s, _ in train)
    src_tok, tgt_tok = CharTokenizer.build(chars), CharTokenizer.build("0123456789-")
    return PairSet(train, valid, src_tok, tgt_tok, f"generated:seed={seed}")


def encode_pairs(pairs: list[tuple[str, str]], src_tok: Tokenizer, tgt_tok: Tokenizer, max_src: int):
    """Pairs -> (source ids, target ids) lists; sources cut to ``max_src`` tokens."""
    return [(src_tok.encode(s)[:max_src], tgt_tok.encode(t)) for s, t in pairs]


def pad(seqs: list[list[int]]) -> torch.Tensor:
    """Right-pad id lists with <pad> into (B, T_max)."""
    width = max(1, max(len(s) for s in seqs))
    return torch.tensor([s + [PAD_ID] * (width - len(s)) for s in seqs], dtype=torch.long)


def batch(encoded: list[tuple[list[int], list[int]]]):
    """(src (B, S), decoder input (B, T) = <eos> y, decoder target (B, T) = y <eos>)."""
    src = pad([s for s, _ in encoded])
    tgt_in = pad([[EOS_ID] + t for _, t in encoded])
    tgt_out = pad([t + [EOS_ID] for _, t in encoded])
    return src, tgt_in, tgt_out
