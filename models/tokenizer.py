"""Word- and character-level tokenizers behind one interface (encode, decode, tokens)."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

PAD, UNK, EOS = "<pad>", "<unk>", "<eos>"
SPECIALS = (PAD, UNK, EOS)
PAD_ID, UNK_ID, EOS_ID = 0, 1, 2  # fixed positions of SPECIALS in every vocabulary
END_OF_TEXT = "<|endoftext|>"

# Typographic quotes fold to ASCII so "didn’t" and "didn't" are one word.
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "«": '"', "»": '"'})
# A word is letters with inner apostrophes ("didn't", "lily's"); a number is digits;
# anything else that is not a space is one punctuation token.
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[^\w\s]|_")
_NO_SPACE_BEFORE = {".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "'"}
_NO_SPACE_AFTER = {"(", "[", "{", "$"}


@dataclass
class Vocab:
    """A list of token strings; the index of a string is its id."""

    itos: list[str]
    stoi: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.stoi = {s: i for i, s in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def pad_id(self) -> int:
        return self.stoi[PAD]

    @property
    def unk_id(self) -> int:
        return self.stoi[UNK]

    @property
    def eos_id(self) -> int:
        return self.stoi[EOS]


class Tokenizer:
    """Shared interface: ``tokens`` splits text, ``encode`` maps to ids, ``decode`` joins back."""

    kind = "base"

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    def __len__(self) -> int:
        return len(self.vocab)

    def tokens(self, text: str) -> list[str]:
        """Split text into token strings (before the vocabulary lookup)."""
        raise NotImplementedError

    def detokenize(self, tokens: list[str]) -> str:
        """Join token strings back into readable text."""
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        """Text -> ids; tokens outside the vocabulary become ``<unk>``."""
        stoi, unk = self.vocab.stoi, self.vocab.unk_id
        return [stoi.get(t, unk) for t in self.tokens(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> readable text."""
        return self.detokenize([self.vocab.itos[int(i)] for i in ids])

    def oov_rate(self, text: str) -> float:
        """Share of tokens in ``text`` that are not in the vocabulary."""
        toks = self.tokens(text)
        if not toks:
            return 0.0
        return sum(t not in self.vocab.stoi for t in toks) / len(toks)

    def to_dict(self) -> dict:
        """Plain data for a checkpoint (loadable with ``weights_only=True``)."""
        return {"kind": self.kind, "itos": list(self.vocab.itos)}

    @staticmethod
    def from_dict(d: dict) -> Tokenizer:
        """Inverse of ``to_dict``."""
        cls = {"word": WordTokenizer, "char": CharTokenizer}[d["kind"]]
        return cls(Vocab(list(d["itos"])))


def _split_documents(text: str) -> list[str]:
    return text.split(END_OF_TEXT)


class WordTokenizer(Tokenizer):
    """Lowercased words (inner apostrophes kept), numbers and single punctuation marks."""

    kind = "word"

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        docs = _split_documents(text)
        for i, doc in enumerate(docs):
            out.extend(_WORD_RE.findall(doc.lower().translate(_FOLD)))
            if i < len(docs) - 1:
                out.append(EOS)
        return out

    def detokenize(self, tokens: list[str]) -> str:
        parts: list[str] = []
        quote_open = False
        glue_next = False
        for tok in tokens:
            if tok == '"':
                # Alternate opening/closing quotes: space before an opening one, none after it.
                if quote_open:
                    parts.append(tok)
                    glue_next = False
                else:
                    parts.append(tok if not parts else " " + tok)
                    glue_next = True
                quote_open = not quote_open
                continue
            if not parts or glue_next or tok in _NO_SPACE_BEFORE:
                parts.append(tok)
            else:
                parts.append(" " + tok)
            glue_next = tok in _NO_SPACE_AFTER
        return "".join(parts)

    @classmethod
    def build(cls, text: str, min_count: int = 3, max_size: int = 8192) -> WordTokenizer:
        """Vocabulary by frequency: types seen at least ``min_count`` times, at most ``max_size`` in all."""
        counts = Counter(t for t in cls(Vocab(list(SPECIALS))).tokens(text) if t not in SPECIALS)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        keep = [w for w, c in ranked if c >= min_count][: max_size - len(SPECIALS)]
        return cls(Vocab(list(SPECIALS) + keep))


class CharTokenizer(Tokenizer):
    """One token per character (case kept); ``<|endoftext|>`` becomes ``<eos>``."""

    kind = "char"

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        docs = _split_documents(text)
        for i, doc in enumerate(docs):
            out.extend(doc)
            if i < len(docs) - 1:
                out.append(EOS)
        return out

    def detokenize(self, tokens: list[str]) -> str:
        return "".join(END_OF_TEXT if t == EOS else t for t in tokens)

    @classmethod
    def build(cls, text: str) -> CharTokenizer:
        """Vocabulary of every character in ``text``, sorted."""
        return cls(Vocab(list(SPECIALS) + sorted(set(text.replace(END_OF_TEXT, "")))))
