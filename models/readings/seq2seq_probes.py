"""Pushing on a seq2seq decoder (Seq2Seq-Vis, Strobelt et al. 2018): force the attention at one step, fix the
first output words, and the beam search as a tree of the hypotheses it kept and pruned.

Each runs the model's own decoder (``Seq2Seq.translate`` with an ``AttentionEdit`` or a prefix) beside its own
choice; plain dataclasses and numpy, no Streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dates import parse
from ..inputs import model_input
from ..sampling import Hypothesis
from ..seq2seq import AttentionEdit, Seq2Seq
from ..tokenizer import EOS
from .seq2seq import Seq2SeqReading, read_translation


@dataclass(frozen=True)
class Forced:
    """The model's own output and the output with α forced at one step, the decoder continuing from there."""

    own: Seq2SeqReading
    forced: Seq2SeqReading
    edit: AttentionEdit

    @property
    def first_change(self) -> int | None:
        """The first step whose emitted token differs, or None if the output is the same."""
        for i, (a, b) in enumerate(zip(self.own.rows, self.forced.rows, strict=False)):
            if a != b:
                return i
        return None if len(self.own.rows) == len(self.forced.rows) else min(len(self.own.rows),
                                                                            len(self.forced.rows))


@dataclass(frozen=True)
class DateSweep:
    """For one output character of a date: the character written when α is forced onto each source character."""

    step: int  # the output character (0-based)
    src_tokens: list[str]  # (T_in,)
    written: list[str]  # (T_in,) the character step ``step`` writes with α one-hot at source j
    own: str  # the character the model writes there unforced
    gold: str  # the correct character of the ISO date ("" if the source does not parse as a date)
    span: tuple[int, int] | None  # the source characters [lo, hi) that character comes from, None for "-"

    def inside(self, j: int) -> bool:
        """Whether source j lies in the gold span."""
        return self.span is not None and self.span[0] <= j < self.span[1]


@dataclass(frozen=True)
class Prefixed:
    """The decoder continuing after output words the student fixed, beside its own choice."""

    own: Seq2SeqReading
    fixed: Seq2SeqReading
    prefix: list[str]  # the fixed tokens, as the target vocabulary has them

    @property
    def continuation_log_prob(self) -> float:
        """Σ log p of the tokens the decoder chose after the prefix (with <eos> if reached)."""
        return self.fixed.log_prob - self.fixed.prefix_log_prob


@dataclass(frozen=True)
class BeamTree:
    """The beam search as a tree: node 0 is the empty output; every other node is a hypothesis the search kept or
    pruned at its step, reached from its parent by one token."""

    labels: list[str]  # the token on the edge into the node ("" for the root)
    parents: list[int]  # index of the parent node (−1 for the root)
    depth: list[int]  # step at which the node was made (0 for the root)
    log_prob: np.ndarray  # (N,) Σ log p of the node's tokens
    edge_log_p: np.ndarray  # (N,) log p of its last token given the parent (0 for the root)
    status: list[str]  # "winner" (a prefix of the output), "kept" or "pruned"
    texts: list[str]  # the node's partial output, tokens joined by spaces


def check_edit(reading: Seq2SeqReading, edit: AttentionEdit) -> None:
    """A clear ValueError for an edit the translation cannot take."""
    if not reading.has_attention:
        raise ValueError("This model has no attention: there is no α to force. Fixing the prefix and the beam tree "
                         "still work.")
    if not 0 <= edit.step < len(reading.rows):
        raise ValueError(f"Step {edit.step + 1} is beyond the output: the decoder wrote {len(reading.rows)} tokens "
                         f"(steps 1–{len(reading.rows)}).")
    if not 0 <= edit.source < len(reading.src_tokens):
        raise ValueError(f"Source position {edit.source + 1} is beyond the source's {len(reading.src_tokens)} tokens.")
    if edit.scale is not None and edit.scale < 0:
        raise ValueError("The factor on a weight cannot be negative.")
    if edit.scale == 0 and len(reading.src_tokens) == 1:
        raise ValueError("Blocking the only source token leaves nothing to attend to.")


def force_attention(model: Seq2Seq, text: str, edit: AttentionEdit, own: Seq2SeqReading | None = None) -> Forced:
    """Greedy decoding with and without ``edit``; steps before the edit are the same, so the change starts there.

    ``own``: the greedy reading of ``text`` if the caller has it already (it is decoded here otherwise)."""
    own = own or read_translation(model, text)
    check_edit(own, edit)
    return Forced(own, read_translation(model, text, edit=edit), edit)


def date_sweep(model: Seq2Seq, text: str, step: int) -> DateSweep:
    """Force α one-hot onto every source character in turn at ``step`` and record the character written there
    (decoding stops at that step: the characters after it do not matter here)."""
    own = read_translation(model, text)
    check_edit(own, AttentionEdit(step, 0))
    written = []
    for j in range(len(own.src_tokens)):
        tr = model.translate(text, max_len=step + 1, edit=AttentionEdit(step, j))
        written.append(tr.out_tokens[step] if step < len(tr.out_tokens) else EOS)
    gold, span = gold_char(text, step) or ("", None)
    return DateSweep(step, own.src_tokens, written, own.rows[step], gold, span)


def gold_char(text: str, step: int) -> tuple[str, tuple[int, int] | None] | None:
    """The correct ISO character at output ``step`` of a date source and its gold source span [lo, hi) (None for a
    "-"); None when the source is not a date the generator writes."""
    parsed = parse(text.strip())
    if parsed is None or step >= len(parsed[0]):
        return None
    return parsed[0][step], parsed[1][step]


def prefix_ids(model: Seq2Seq, prefix_text: str) -> tuple[list[int], list[str]]:
    """The target ids of the typed prefix and its tokens; a ValueError naming unknown words or a prefix too long."""
    inp = model_input(model.tgt_tok, prefix_text.strip())
    if not inp.words:
        raise ValueError("The prefix is empty: type the first word(s) of the output.")
    unknown = [w for w, u in zip(inp.words, inp.unknown, strict=True) if u]
    if unknown:
        raise ValueError(f"Not in the output vocabulary, so the decoder cannot be made to write them: "
                         f"{', '.join(repr(w) for w in unknown)}.")
    if EOS in inp.words:
        raise ValueError("The prefix may not contain the end token <eos>.")
    if len(inp.words) >= model.config.max_out_len:
        raise ValueError(f"The prefix has {len(inp.words)} tokens; the decoder writes at most "
                         f"{model.config.max_out_len}, so nothing would be left to continue.")
    return inp.ids[1:], inp.words


def fix_prefix(model: Seq2Seq, text: str, prefix_text: str, own: Seq2SeqReading | None = None) -> Prefixed:
    """Greedy decoding that must start with the typed words, beside the model's own greedy output (``own``, if the
    caller has it already)."""
    ids, words = prefix_ids(model, prefix_text)
    return Prefixed(own or read_translation(model, text), read_translation(model, text, prefix=ids), words)


def beam_tree(reading: Seq2SeqReading) -> BeamTree:
    """Every hypothesis of ``reading.beam_steps`` (kept) and ``reading.beam_pruned`` (pruned) as a node, in the
    order the search made them; a finished hypothesis carried to later steps stays one node."""
    winner = reading.beam_steps[-1][0].tokens if reading.beam_steps else ()
    index: dict[tuple[int, ...], int] = {(): 0}
    labels, parents, depth, log_prob, edge, status, texts = [""], [-1], [0], [0.0], [0.0], ["winner"], [""]

    def add(h: Hypothesis, kept: bool) -> None:
        if h.tokens in index:
            return
        parent = index[h.tokens[:-1]]
        index[h.tokens] = len(labels)
        labels.append(reading.words[h.tokens[-1]])
        parents.append(parent)
        depth.append(len(h.tokens))
        log_prob.append(h.log_prob)
        edge.append(h.log_prob - log_prob[parent])
        status.append("winner" if winner[: len(h.tokens)] == h.tokens else "kept" if kept else "pruned")
        texts.append(" ".join(reading.tokens_of(h)))

    for kept, pruned in zip(reading.beam_steps, reading.beam_pruned or [()] * len(reading.beam_steps), strict=True):
        for h in kept:
            add(h, True)
        for h in pruned:
            add(h, False)
    return BeamTree(labels, parents, depth, np.asarray(log_prob), np.asarray(edge), status, texts)
