"""Word embeddings as a space: cosine similarity, nearest neighbours, analogies a − b + c (Mikolov et al. 2013).

Every zoo model that reads words has an embedding table, one row per vocabulary word: word2vec's word vectors,
the feed-forward model's C (Bengio et al. 2003), the recurrent models' input embeddings and the transformer's
token embeddings. All comparisons are cosines, cos(x, y) = x·y / (‖x‖ ‖y‖), so a row's length does not count.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..projection import pca_axes
from ..tokenizer import SPECIALS
from ..vectors import unit_rows

ANALOGY_FILE = Path(__file__).resolve().parent.parent.parent / "assets" / "analogies.txt"
N_SPECIALS = len(SPECIALS)  # <pad>, <unk>, <eos>: never offered as a neighbour or an answer


class UnknownWord(KeyError):
    """A word the vocabulary does not have; the message says which and what to do."""

    def __str__(self) -> str:
        return str(self.args[0])


def embedding_table(model: torch.nn.Module) -> np.ndarray:
    """The (V, E) input embedding table of any zoo model that reads words, as float32."""
    layer = getattr(model, "embed", None) or getattr(model, "tok", None)
    if not isinstance(layer, torch.nn.Embedding):
        raise TypeError(f"{type(model).__name__} has no word embedding table")
    return layer.weight.detach().float().cpu().numpy()


def word_id(stoi: dict[str, int], word: str) -> int:
    """The id of a word (lowercased, as the tokenizer reads it); UnknownWord when it is not in the vocabulary."""
    w = word.strip().lower()
    if not w:
        raise UnknownWord("type a word first")
    if w not in stoi or stoi[w] < N_SPECIALS:
        raise UnknownWord(f"'{word.strip()}' is not in the {len(stoi):,}-word vocabulary; try a more common word")
    return stoi[w]


@dataclass(frozen=True)
class Ranked:
    """The best candidates for a query vector: words, their cosines, and where one expected word landed."""

    words: list[str]  # (k,) best first
    cosines: np.ndarray  # (k,)
    excluded: list[str]  # words left out of the ranking (the query words themselves)
    expected: str | None = None
    expected_rank: int | None = None  # 1 = top; counted among every candidate word, however far down


def rank_by_cosine(unit: np.ndarray, itos: list[str], query: np.ndarray, exclude: list[int], k: int,
                   expected: int | None = None) -> Ranked:
    """Top ``k`` words by cosine with ``query`` (E,), leaving out specials and ``exclude``; the rank of ``expected``."""
    scores = unit @ (query / max(float(np.linalg.norm(query)), 1e-12))  # (V,)
    scores[:N_SPECIALS] = -np.inf
    scores[exclude] = -np.inf
    top = np.argsort(-scores, kind="stable")[:k]
    top = top[np.isfinite(scores[top])]  # never the excluded words, even when k asks for every word
    rank = None if expected is None else int(1 + (scores > scores[expected]).sum())
    return Ranked([itos[i] for i in top], scores[top].astype(np.float32), [itos[i] for i in exclude],
                  None if expected is None else itos[expected], rank)


def neighbours(table: np.ndarray, itos: list[str], stoi: dict[str, int], word: str, k: int = 10) -> Ranked:
    """The ``k`` words whose embeddings have the highest cosine with ``word``'s (the word itself left out)."""
    i = word_id(stoi, word)
    unit = unit_rows(table)
    return rank_by_cosine(unit, itos, unit[i], [i], k)


def analogy(table: np.ndarray, itos: list[str], stoi: dict[str, int], a: str, b: str, c: str, k: int = 10,
            expected: str | None = None) -> Ranked:
    """a − b + c (king − man + woman): the top ``k`` by cosine, the three input words excluded (3CosAdd)."""
    ids = [word_id(stoi, w) for w in (a, b, c)]
    unit = unit_rows(table)
    target = unit[ids[0]] - unit[ids[1]] + unit[ids[2]]  # (E,)
    want = None if expected is None else word_id(stoi, expected)
    return rank_by_cosine(unit, itos, target, ids, k, want)


def read_analogies(path: Path | str) -> list[tuple[str, str, str, str]]:
    """Lines ``a b c d`` ("a is to b as c is to d"); blank lines and ``#`` comments skipped."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        words = line.split("#", 1)[0].lower().split()
        if not words:
            continue
        if len(words) != 4:
            raise ValueError(f"{path}:{n}: expected 4 words 'a b c d', got {len(words)}")
        out.append(tuple(words))
    return out


@dataclass(frozen=True)
class AnalogyScore:
    """Accuracy on an analogy list: d must be the best (top1) or among the 5 best (top5) of b − a + c."""

    n: int  # analogies scored
    skipped: int  # lines with a word outside the vocabulary
    top1: float
    top5: float


def score_analogies(table: np.ndarray, stoi: dict[str, int], lines: list[tuple[str, str, str, str]]) -> AnalogyScore:
    """For each ``a b c d``: rank of d for b − a + c among all words but a, b, c and the specials."""
    usable = [q for q in lines if all(w in stoi and stoi[w] >= N_SPECIALS for w in q)]
    if not usable:
        return AnalogyScore(0, len(lines), 0.0, 0.0)
    ids = np.array([[stoi[w] for w in q] for q in usable])  # (Q, 4)
    unit = unit_rows(table)
    target = unit[ids[:, 1]] - unit[ids[:, 0]] + unit[ids[:, 2]]  # (Q, E)
    scores = target @ unit.T  # (Q, V); each row's norm does not change its ranking
    scores[:, :N_SPECIALS] = -np.inf
    rows = np.arange(len(ids))
    for col in range(3):
        scores[rows, ids[:, col]] = -np.inf
    rank = 1 + (scores > scores[rows, ids[:, 3]][:, None]).sum(1)  # (Q,)
    return AnalogyScore(len(usable), len(lines) - len(usable), round(float((rank == 1).mean()), 4),
                        round(float((rank <= 5).mean()), 4))


@dataclass(frozen=True)
class PairCosines:
    """Cosines between the sentence's distinct words: one-hot vectors (always 0 between two words) vs embeddings."""

    words: list[str]  # (n,) distinct in-vocabulary words of the sentence, in order of appearance
    one_hot: np.ndarray  # (n, n) identity: a one-hot vector has a single 1, never at another word's place
    embedded: np.ndarray  # (n, n) cosines of the embedding rows


def pair_cosines(table: np.ndarray, stoi: dict[str, int], tokens: list[str], limit: int = 10) -> PairCosines:
    """The first ``limit`` distinct vocabulary words of ``tokens`` and their two cosine matrices."""
    words = list(dict.fromkeys(t for t in tokens if stoi.get(t, 0) >= N_SPECIALS))[:limit]
    unit = unit_rows(table[[stoi[w] for w in words]]) if words else np.zeros((0, table.shape[1]))
    return PairCosines(words, np.eye(len(words), dtype=np.float32), (unit @ unit.T).astype(np.float32))


@dataclass(frozen=True)
class EmbeddingMap:
    """The most frequent words (and the sentence's) on the first two principal axes of their unit embeddings."""

    words: list[str]  # (N,) the most frequent words, then sentence words beyond them
    xy: np.ndarray  # (N, 2)
    category: list[str]  # (N,) the page's category of each word, "" for none
    in_sentence: np.ndarray  # (N,) bool
    explained: np.ndarray  # (2,) share of the variance each axis keeps


Categories = tuple[tuple[str, tuple[str, ...]], ...]  # (name, words) pairs


def embedding_map(table: np.ndarray, itos: list[str], tokens: list[str], categories: Categories,
                  n_words: int = 500) -> EmbeddingMap:
    """PCA axes fitted on the ``n_words`` most frequent words (the vocabulary is sorted by count), then every word
    of the sentence and of the categories projected on them, so the map does not move as the sentence changes."""
    stoi = {w: i for i, w in enumerate(itos)}
    unit = unit_rows(table)
    frequent = list(range(N_SPECIALS, min(len(itos), N_SPECIALS + n_words)))
    mean, axes, ratios = pca_axes(unit[frequent])
    listed = {w: name for name, ws in categories for w in ws if w in stoi}
    extra = [stoi[w] for w in dict.fromkeys([*listed, *tokens]) if stoi.get(w, 0) >= N_SPECIALS + n_words]
    ids = frequent + extra
    sentence = {stoi[t] for t in tokens if t in stoi}
    return EmbeddingMap([itos[i] for i in ids], ((unit[ids] - mean) @ axes.T).astype(np.float32),
                        [listed.get(itos[i], "") for i in ids], np.array([i in sentence for i in ids]), ratios)
