"""Evaluate any zoo model: ``python -m models.evaluate NAME --text FILE [--cloze]`` or ``--pairs FILE``.

Language models, on any UTF-8 text: PPL = exp(−(1/N) Σ_t log p(x_t | x_<t)). Each model gets the
context it has in use: recurrent models carry their state through the whole text, the transformer
slides its window, and the n-gram and feed-forward models see their fixed window. Every model
scores the same N tokens. Seq2seq models, on any source<TAB>target file: exact match, corpus BLEU
(Papineni et al. 2002, via sacrebleu), and for dates the alignment accuracy; the trainers validate
with the same scorers (``token_nll``, ``teacher_forced_loss``). The masked LM, on any text: top-1 accuracy with
every 7th token masked alone and pseudo-perplexity (``cloze``); ``--cloze`` scores a causal LM's top-1 at the same
positions from the left context only.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import sacrebleu
import torch
import torch.nn.functional as F

from .cloze import cloze_report, masked_report
from .data import encode_stream, read_text
from .dates import gold_spans
from .inputs import model_input
from .lm import LanguageModel, RecurrentLanguageModel
from .pairs import batch, encode_pairs, read_pairs
from .registry import LM_NAMES, MASKED_SPECS, SEQ2SEQ_SPECS, load
from .seq2seq import Seq2Seq
from .tokenizer import EOS_ID, PAD_ID

RECURRENT_CHUNK = 512
WINDOW_CHUNK = 1024


def _recurrent_nll(model: RecurrentLanguageModel, ids: torch.Tensor) -> torch.Tensor:
    """NLL of ids[1:] carrying the recurrent state from chunk to chunk."""
    out, state = [], None
    for a in range(0, len(ids) - 1, RECURRENT_CHUNK):
        x = ids[a : a + RECURRENT_CHUNK].unsqueeze(0)  # (1, T)
        y = ids[a + 1 : a + 1 + RECURRENT_CHUNK]
        logits, state = model.run(x, state)
        out.append(F.cross_entropy(logits[0, : len(y)], y, reduction="none"))
    return torch.cat(out)


def _window_nll(model, ids: torch.Tensor, stride: int, batch: int) -> torch.Tensor:
    """NLL of ids[1:] where target j is predicted from up to ``context_size`` tokens before it.

    Segments of ``stride`` targets are scored from windows that end just before their last target;
    the window's earlier tokens are context only.
    """
    n = len(ids)
    if model.max_len is None:
        length, stride = model.context_size + WINDOW_CHUNK, WINDOW_CHUNK
    else:
        length, stride = model.max_len, max(1, min(stride, model.max_len))
    segments = [(a, min(a + stride, n)) for a in range(1, n, stride)]  # targets ids[a:b]
    nll = torch.empty(n - 1)
    full = []
    for a, b in segments:
        lo = max(0, b - 1 - length)
        if lo == 0:
            logits, _ = model(ids[: b - 1].unsqueeze(0))  # (1, b-1, V)
            nll[a - 1 : b - 1] = F.cross_entropy(logits[0, a - 1 :], ids[a:b], reduction="none")
        else:
            full.append((a, b, lo))
    for i in range(0, len(full), batch):
        group = full[i : i + batch]
        x = torch.stack([ids[lo : b - 1] for a, b, lo in group])  # (G, length)
        logits, _ = model(x)
        for row, (a, b, lo) in enumerate(group):
            nll[a - 1 : b - 1] = F.cross_entropy(logits[row, a - 1 - lo :], ids[a:b], reduction="none")
    return nll


@torch.no_grad()
def token_nll(model: LanguageModel, ids: torch.Tensor, stride: int = 16, batch: int = 32) -> torch.Tensor:
    """−log p(ids[t] | its context) for t = 1..N−1 (ids[0] is the leading ``<eos>``), shape (N−1,)."""
    ids = ids.to(model.device)
    if isinstance(model, RecurrentLanguageModel):
        return _recurrent_nll(model, ids).cpu()
    return _window_nll(model, ids, stride, batch).cpu()


@dataclass
class ChainRule:
    """P(w₁..w_T) = ∏_t p(w_t | w_<t) for one text, token by token (natural logs)."""

    tokens: list[str]  # as the model sees them (unknown words as <unk>)
    words: list[str]  # as typed (before the vocabulary lookup)
    unknown: np.ndarray  # (T,) bool: the word is not in the vocabulary
    logp: np.ndarray  # (T,) log p(w_t | w_<t)
    cumulative: np.ndarray  # (T,) log ∏_{s≤t} p(w_s | w_<s)

    @property
    def total(self) -> float:
        """log P(w₁..w_T)."""
        return float(self.cumulative[-1]) if len(self.cumulative) else 0.0

    @property
    def perplexity(self) -> float:
        """exp(−(1/T) log P(w₁..w_T))."""
        return math.exp(-self.total / len(self.logp)) if len(self.logp) else float("nan")


def chain_rule(model: LanguageModel, tokenizer, text: str, append_eos: bool = False) -> ChainRule:
    """Score every token of ``text`` with its conditional probability (the first after ``<eos>``)."""
    inp = model_input(tokenizer, text, append_eos=append_eos)
    if len(inp.ids) < 2:
        raise ValueError("the text has no tokens to score")
    logp = -token_nll(model, torch.tensor(inp.ids)).double().numpy()
    return ChainRule(
        tokens=inp.tokens,
        words=inp.words,
        unknown=np.array(inp.unknown),
        logp=logp,
        cumulative=np.cumsum(logp),
    )


def evaluate_text(model: LanguageModel, tokenizer, text: str, stride: int = 16) -> dict:
    """Token count, OOV rate, cross-entropy (nats/token) and perplexity of ``text``."""
    ids = encode_stream(tokenizer, text)
    if len(ids) < 2:
        raise ValueError("the text has no tokens to score")
    nll = token_nll(model, ids, stride=stride)
    ce = float(nll.double().mean())
    return {
        "tokens": len(nll),
        "zero_prob_tokens": int(torch.isinf(nll).sum()),  # p = 0 (an MLE n-gram): the perplexity is then ∞
        "oov_rate": round(tokenizer.oov_rate(text), 6),
        "cross_entropy": ce,
        "perplexity": math.exp(ce),
    }


@torch.no_grad()
def teacher_forced_loss(model: Seq2Seq, encoded, batch_size: int = 256) -> float:
    """Mean cross-entropy per target token, −(1/N) Σ log p(y_t | y_<t, x), each y_<t the reference's."""
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for i in range(0, len(encoded), batch_size):
        src, tgt_in, tgt_out = (t.to(device) for t in batch(encoded[i : i + batch_size]))
        logits, _ = model(src, tgt_in)
        nll = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=PAD_ID,
                              reduction="sum")
        total += float(nll)
        count += int((tgt_out != PAD_ID).sum())
    return total / max(count, 1)


@torch.no_grad()
def greedy_batch(model: Seq2Seq, sources: list[list[int]], max_len: int | None = None):
    """Greedy decoding of many sources at once: (token lists without <eos>, attention (B, T_out, S)).

    The attention is None for a model without attention: it has no α to return.
    """
    device = next(model.parameters()).device
    src = batch([(s, []) for s in sources])[0].to(device)
    h, mask, thought, s = model.encode(src)
    keys = model.keys(h)
    y = torch.full((len(sources),), EOS_ID, device=device)
    outs, alphas = [], []
    for _ in range(max_len or model.config.max_out_len):
        logits, s, alpha, _ = model.decode_step(y, s, h, keys, mask, thought)
        y = logits.argmax(-1)
        outs.append(y)
        alphas.append(alpha)
    tokens = torch.stack(outs, 1).tolist()  # (B, T)
    cut = [t[: t.index(EOS_ID)] if EOS_ID in t else t for t in tokens]
    return cut, None if alphas[0] is None else torch.stack(alphas, 1).cpu()  # (B, T, S)


def length_bucket(n: int, edges: tuple[int, ...]) -> str:
    """Label of the bucket [edges[i], edges[i+1]) that holds n."""
    for lo, hi in zip(edges, edges[1:], strict=False):
        if lo <= n < hi:
            return f"{lo}-{hi - 1}"
    return f"{edges[-1]}+"


def score_pairs(model: Seq2Seq, pairs: list[tuple[str, str]], spans_of=None,
                edges: tuple[int, ...] = (1, 4, 6, 8, 11), batch_size: int = 256) -> dict:
    """Exact match, corpus BLEU (sacrebleu on space-joined tokens), by source-length bucket.

    ``spans_of(source, target)`` gives the gold source span of each target token (or None); with it,
    alignment accuracy is the share of target tokens with a span whose attention argmax lies in it.
    A model without attention has no α, so it gets no alignment accuracy.
    """
    encoded = encode_pairs(pairs, model.src_tok, model.tgt_tok, model.config.max_src_len)
    attends = model.config.attention != "none"
    hyps, refs, exact, aligned, alignable = [], [], [], 0, 0
    by_len_hyp, by_len_ref, by_len_exact = defaultdict(list), defaultdict(list), defaultdict(list)
    for i in range(0, len(encoded), batch_size):
        chunk = encoded[i : i + batch_size]
        outs, att = greedy_batch(model, [s for s, _ in chunk])
        for j, (out, (src_ids, tgt_ids)) in enumerate(zip(outs, chunk, strict=True)):
            source, target = pairs[i + j]
            hyp = " ".join(model.tgt_tok.vocab.itos[k] for k in out)
            ref = " ".join(model.tgt_tok.tokens(target))
            hyps.append(hyp)
            refs.append(ref)
            exact.append(out == tgt_ids)
            bucket = length_bucket(len(src_ids), edges)
            by_len_hyp[bucket].append(hyp)
            by_len_ref[bucket].append(ref)
            by_len_exact[bucket].append(out == tgt_ids)
            spans = spans_of(source, target) if spans_of and attends else None
            if spans:
                for k, span in enumerate(spans):
                    if span is None or k >= att.size(1):
                        continue
                    alignable += 1
                    aligned += span[0] <= int(att[j, k, : len(src_ids)].argmax()) < span[1]
    result = {
        "pairs": len(pairs),
        "exact_match": float(np.mean(exact)) if exact else 0.0,
        "bleu": sacrebleu.corpus_bleu(hyps, [refs]).score if hyps else 0.0,
        "by_length": {
            b: {"pairs": len(by_len_ref[b]), "exact_match": float(np.mean(by_len_exact[b])),
                "bleu": sacrebleu.corpus_bleu(by_len_hyp[b], [by_len_ref[b]]).score}
            for b in sorted(by_len_ref, key=lambda b: int(b.split("-")[0].rstrip("+")))
        },
    }
    if spans_of is not None and attends:
        result["alignment_accuracy"] = aligned / alignable if alignable else math.nan
    return result


SMOOTHING = {"mle": "mle", "add-alpha": "add", "interpolation": "interp", "kneser-ney": "kn"}


def ngram_settings(smoothing: str | None, order: int | None, alpha: float | None, lambdas: list[float] | None,
                   meta: dict, max_order: int) -> tuple[dict, dict]:
    """``NGramLM.configured`` changes for the command line's smoothing, and the settings to print.

    Unset values come from the manifest's held-out tuning (the best α, the tuned λ) or, without one, the shipped
    config. ``lambdas`` are in the lecture's order: λ₁ weighs the highest order, the last one the unigram.
    """
    config = meta.get("config", {})
    smoothing = smoothing or {v: k for k, v in SMOOTHING.items()}[config.get("estimator", "kn")]
    order = order or config.get("order", max_order)
    if not 1 <= order <= max_order:
        raise ValueError(f"--order must be between 1 and {max_order}")
    tuned = meta.get("heldout", {}).get("valid", {})
    changes = {"estimator": SMOOTHING[smoothing], "order": order}
    settings = {"smoothing": smoothing, "order": order}
    if smoothing == "add-alpha":
        if alpha is None:
            alpha = tuned["add_alpha"][str(order)]["best_alpha"] if tuned else config.get("alpha", 1.0)
            settings["alpha_from"] = "best alpha on the valid split (manifest)" if tuned else "shipped config"
        if not alpha > 0:
            raise ValueError("--alpha must be positive")
        changes["alpha"] = settings["alpha"] = float(alpha)
    if smoothing == "interpolation":
        if lambdas is None:
            if order == 1:
                lambdas = [1.0]
            elif tuned:
                lambdas = tuned["interpolation"][str(order)]["best_lambdas"]
            else:
                lambdas = list(reversed(config.get("lambdas", [0.1, 0.3, 0.6])[:order]))
            settings["lambdas_from"] = "tuned on the valid split (manifest)" if tuned else "shipped config"
        if len(lambdas) != order or min(lambdas) < 0 or abs(sum(lambdas) - 1) > 1e-3:
            raise ValueError(f"--lambdas needs {order} non-negative weights (highest order first) that sum to 1")
        total = sum(lambdas)
        settings["lambdas"] = [round(float(x) / total, 6) for x in lambdas]
        changes["lambdas"] = tuple(reversed(settings["lambdas"])) + (0.0,) * (max_order - order)  # unigram first
    return changes, settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=(*LM_NAMES, *MASKED_SPECS, *SEQ2SEQ_SPECS))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="any UTF-8 text file (language models)")
    source.add_argument("--pairs", help="tab-separated source<TAB>target file (seq2seq models)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--stride", type=int, default=16, help="transformer window stride")
    cloze = parser.add_argument_group("cloze (the masked LM always; a language model with --cloze)")
    cloze.add_argument("--cloze", action="store_true", help="top-1 at the masked LM's positions, left context only")
    cloze.add_argument("--every", type=int, default=7, help="score every N-th token (default 7)")
    cloze.add_argument("--seed", type=int, default=0, help="seed of the first scored position")
    cloze.add_argument("--max-tokens", type=int, default=None, help="score only the first N tokens")
    ngram = parser.add_argument_group("n-gram estimator (default: the shipped Kneser–Ney trigram)")
    ngram.add_argument("--smoothing", choices=tuple(SMOOTHING), default=None)
    ngram.add_argument("--order", type=int, default=None, help="1 (unigram) to 3 (trigram)")
    ngram.add_argument("--alpha", type=float, default=None, help="add-α pseudo-count (default: the best α)")
    ngram.add_argument("--lambdas", type=float, nargs="+", default=None, metavar="L",
                       help="interpolation weights, highest order first as in the lecture (λ₁ trigram, λ₂ bigram, "
                            "λ₃ unigram), summing to 1 (default: the tuned λ)")
    args = parser.parse_args(argv)
    seq2seq = args.name in SEQ2SEQ_SPECS
    if seq2seq != (args.pairs is not None):
        parser.error("language models take --text, seq2seq models take --pairs")
    estimator_flags = (args.smoothing, args.order, args.alpha, args.lambdas)
    if args.name != "ngram" and any(f is not None for f in estimator_flags):
        parser.error("--smoothing, --order, --alpha and --lambdas apply to the ngram model only")
    if args.cloze and (seq2seq or args.name in MASKED_SPECS):
        parser.error("--cloze applies to a left-to-right language model (the masked LM is always scored by cloze)")
    if args.every < 1:
        parser.error("--every must be at least 1")
    bundle = load(args.name, args.device)
    settings = {}
    try:
        if args.name == "ngram":
            changes, settings = ngram_settings(*estimator_flags, bundle.meta, bundle.model.config.max_order)
            bundle.model = bundle.model.configured(**changes)
        if seq2seq:
            pairs = read_pairs(args.pairs)
            if not pairs:
                raise ValueError("no source<TAB>target lines in the file")
            spans = gold_spans if SEQ2SEQ_SPECS[args.name].task == "dates" else None
            result = score_pairs(bundle.model, pairs, spans)
            result.pop("by_length")
        elif args.name in MASKED_SPECS or args.cloze:
            scorer = masked_report if args.name in MASKED_SPECS else cloze_report
            text = read_text(args.text)
            result = scorer(bundle.model, bundle.tokenizer, text, args.every, args.seed, args.max_tokens)
        else:
            result = evaluate_text(bundle.model, bundle.tokenizer, read_text(args.text), args.stride)
    except (OSError, ValueError) as err:
        print(json.dumps({"error": str(err)}))
        return 1
    print(json.dumps({"model": args.name, "file": args.pairs or args.text, **result, **settings}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
