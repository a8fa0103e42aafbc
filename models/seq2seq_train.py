"""Training and scoring of the seq2seq models: teacher forcing, exact match, BLEU, alignment accuracy."""
from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import sacrebleu
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .checkpoint import load_torch, save_torch, update_manifest
from .data import sha256_file
from .dates import generate as generate_dates
from .dates import gold_spans
from .optim import EarlyStopping, lr_at, make_optimizer, seed_everything
from .pairs import ENG_FRA, PairSet, batch, encode_pairs, eng_fra
from .pairs import dates as dates_pairs
from .registry import SEQ2SEQ_SPECS, TrainConfig, checkpoint_file
from .seq2seq import Seq2Seq, Seq2SeqConfig
from .tokenizer import EOS_ID, PAD_ID


@dataclass
class Seq2SeqResult:
    """What a training run reports (the best model by valid loss is kept)."""

    steps: int
    best_step: int
    best_valid_loss: float
    pairs_seen: int
    wall_time_s: float


@torch.no_grad()
def valid_loss(model: Seq2Seq, encoded, batch_size: int = 256) -> float:
    """Mean teacher-forced cross-entropy per target token."""
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


def train_seq2seq(model: Seq2Seq, train, valid, cfg: TrainConfig, device: torch.device,
                  max_minutes: float | None = None, progress: bool = True) -> Seq2SeqResult:
    """Teacher forcing on shuffled mini-batches; AdamW, warm-up + cosine; early stopping on valid loss."""
    seed_everything(cfg.seed)
    rng = random.Random(cfg.seed)
    model.to(device).train()
    opt = make_optimizer(model, cfg)
    order: list[int] = []
    stopper = EarlyStopping(cfg.patience)
    seen, step = 0, 0
    start = time.perf_counter()
    bar = tqdm(range(cfg.max_steps), disable=not progress, mininterval=2.0)
    for step in bar:
        if len(order) < cfg.batch_size:
            order = list(range(len(train)))
            rng.shuffle(order)
        chunk, order = order[: cfg.batch_size], order[cfg.batch_size :]
        src, tgt_in, tgt_out = (t.to(device) for t in batch([train[i] for i in chunk]))
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        _, loss = model(src, tgt_in, tgt_out)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        seen += len(chunk)
        bar.set_postfix(loss=f"{loss.item():.3f}", pairs_s=f"{seen / (time.perf_counter() - start):.0f}")
        if (step + 1) % cfg.eval_every == 0 or step == cfg.max_steps - 1:
            model.eval()
            vl = valid_loss(model, valid[: cfg.eval_tokens])
            model.train()
            bar.write(f"step {step + 1}: valid loss {vl:.4f}")
            if stopper.update(vl, step + 1, model):
                bar.write("early stop: valid loss stopped improving")
                break
        if max_minutes is not None and time.perf_counter() - start > 60 * max_minutes:
            bar.write(f"stopping at the {max_minutes}-minute limit")
            break
    bar.close()
    stopper.restore(model)
    model.eval()
    return Seq2SeqResult(step + 1, stopper.best_step, stopper.best_loss, seen, time.perf_counter() - start)


@torch.no_grad()
def greedy_batch(model: Seq2Seq, sources: list[list[int]], max_len: int | None = None):
    """Greedy decoding of many sources at once: (token lists without <eos>, attention (B, T_out, S))."""
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
    return cut, torch.stack(alphas, 1).cpu()  # (B, T, S)


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
    """
    encoded = encode_pairs(pairs, model.src_tok, model.tgt_tok, model.config.max_src_len)
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
            spans = spans_of(source, target) if spans_of else None
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
    if spans_of is not None:
        result["alignment_accuracy"] = aligned / alignable if alignable else math.nan
    return result


# Inputs the project wrote itself: their greedy outputs are recorded in the manifest and the tests
# check that the shipped checkpoints still produce them.
CHECK_INPUTS = {
    "dates": ["21 November 2026", "November 21, 2026", "the 3rd of march, 1999", "2026/11/21", "31.12.1900",
              "saturday 21 nov 2026", "Jul. 4 1976", "02/29/2000"],
    "fra": ["i am happy .", "she is my friend .", "we are going home .", "he is not here .", "you are very tall ."],
}
DATES_TEST_SIZE = 2000
DATES_LENGTH_EDGES = (1, 11, 15, 19, 23, 27, 36)
FRA_LENGTH_EDGES = (1, 4, 6, 8, 11)


def build_pairs(spec, data: Path | None) -> PairSet:
    """The pairs and tokenizers of a task."""
    if spec.task == "dates":
        return dates_pairs(n_train=40_000, n_valid=2_000, seed=0)
    return eng_fra(data or ENG_FRA)


def dates_test_set(train: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """2,000 freshly generated dates whose sources never occur in training."""
    seen = {s for s, _ in train}
    fresh = [(e.source, e.target) for e in generate_dates(3 * DATES_TEST_SIZE, seed=99) if e.source not in seen]
    return fresh[:DATES_TEST_SIZE]


def check_outputs(model: Seq2Seq, task: str) -> dict[str, str]:
    """Greedy outputs for the project's own check inputs."""
    return {text: model.translate(text).text for text in CHECK_INPUTS[task]}


def train_seq2seq_model(name: str, data: Path | None, device: torch.device, root: Path,
                        max_minutes: float | None, steps: int | None = None) -> dict:
    """Build data and model, train, write the checkpoint and its manifest entry with the metrics."""
    spec = SEQ2SEQ_SPECS[name]
    pairs = build_pairs(spec, data)
    cfg = spec.train if steps is None else replace(spec.train, max_steps=steps)
    seed_everything(cfg.seed)
    config = Seq2SeqConfig(len(pairs.src_tok), len(pairs.tgt_tok), spec.attention, **spec.sizes)
    model = Seq2Seq(config, pairs.src_tok, pairs.tgt_tok)
    train_ids = encode_pairs(pairs.train, pairs.src_tok, pairs.tgt_tok, config.max_src_len)
    valid_ids = encode_pairs(pairs.valid, pairs.src_tok, pairs.tgt_tok, config.max_src_len)
    result = train_seq2seq(model, train_ids, valid_ids, cfg, device, max_minutes)
    model.cpu()
    root.mkdir(parents=True, exist_ok=True)
    path = root / checkpoint_file(name)
    save_torch(path, name, model, asdict(config), {"src": pairs.src_tok.to_dict(), "tgt": pairs.tgt_tok.to_dict()})
    # Score what was shipped (float16 weights).
    model.load_state_dict({k: v.float() for k, v in load_torch(path, name)["state_dict"].items()})
    if spec.task == "dates":
        metrics = score_pairs(model, dates_test_set(pairs.train), gold_spans, DATES_LENGTH_EDGES)
    else:
        metrics = score_pairs(model, pairs.valid, None, FRA_LENGTH_EDGES)
    entry = {
        "file": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "params": model.num_parameters(),
        "config": asdict(config),
        "task": spec.task,
        "data_sha256": pairs.data_sha256,
        "train_pairs": len(pairs.train),
        "valid_pairs": len(pairs.valid),
        "epochs": round(result.pairs_seen / len(pairs.train), 2),
        "steps": result.steps,
        "best_step": result.best_step,
        "wall_time_s": round(result.wall_time_s, 1),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "pairs_per_s": round(result.pairs_seen / result.wall_time_s),
        "valid_loss": round(result.best_valid_loss, 4),
        "metrics": metrics,
        "check": check_outputs(model, spec.task),
        "torch": torch.__version__,
        "train": asdict(cfg),
    }
    update_manifest(name, entry, root)
    return entry
