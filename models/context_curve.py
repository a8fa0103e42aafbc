"""What context buys: the loss at each position of a text read from scratch, for any language model.

``python -m models.context_curve [NAME ...] [--data DIR]`` measures it on the TinyStories valid split and records it
in each model's manifest entry (with the same curve on the project's check text, which the tests reproduce);
``--text FILE`` prints it for any text instead. The stream of ids is cut into blocks of ``positions + 1`` tokens and
every model reads each block from an empty context, so position t predicts a token from the t tokens before it:
an n-gram stops improving after t = 2, the feed-forward model after t = k, recurrent models and the transformer go on.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .check_text import CHECK_TEXT
from .checkpoint import CHECKPOINT_DIR, read_manifest, update_manifest
from .data import TINYSTORIES, Corpus, encode_stream, read_text
from .lm import LanguageModel
from .registry import LM_NAMES, load

POSITIONS = 64  # the transformer's context: every model can read a whole block


def blocks(ids: torch.Tensor, positions: int = POSITIONS) -> torch.Tensor:
    """(N,) ids -> (n, positions + 1) consecutive blocks; the tail that does not fill a block is dropped."""
    n = len(ids) // (positions + 1)
    return ids[: n * (positions + 1)].view(n, positions + 1)


@torch.no_grad()
def loss_by_position(model: LanguageModel, ids: torch.Tensor, positions: int = POSITIONS,
                     batch: int = 64) -> np.ndarray:
    """(positions,) mean −log p(x_{t+1} | x_1..x_t) over the blocks, for t = 1..positions (nats)."""
    cut = blocks(ids, positions).to(model.device)  # (n, P+1)
    if not len(cut):
        raise ValueError(f"the text has fewer than {positions + 1} tokens: no whole block to score")
    total = torch.zeros(positions, dtype=torch.float64)
    for a in range(0, len(cut), batch):
        x, y = cut[a : a + batch, :-1], cut[a : a + batch, 1:]  # (b, P)
        logits, _ = model(x)  # (b, P, V): each row read from scratch
        nll = F.cross_entropy(logits.float().transpose(1, 2), y, reduction="none")  # (b, P)
        total += nll.double().sum(0).cpu()
    return (total / len(cut)).cpu().numpy()


def curve_entry(model: LanguageModel, tokenizer, text: str) -> dict:
    """The curve and how many blocks it averages, as stored in the manifest (4 decimals)."""
    ids = encode_stream(tokenizer, text)
    return {"nats": [round(float(v), 4) for v in loss_by_position(model, ids)], "blocks": len(blocks(ids))}


def position_curves(model: LanguageModel, tokenizer, valid_text: str) -> dict:
    """The manifest's "loss_by_position": on the valid text, and on the check text that the tests reproduce."""
    return {"valid": curve_entry(model, tokenizer, valid_text), "check": curve_entry(model, tokenizer, CHECK_TEXT)}


def record(name: str, valid_text: str, root: Path = CHECKPOINT_DIR) -> dict:
    """Measure a shipped model's curves and write them into its manifest entry (training does this for new ones)."""
    bundle = load(name, "cpu", root)
    entry = dict(read_manifest(root)[name])
    entry["loss_by_position"] = position_curves(bundle.model, bundle.tokenizer, valid_text)
    update_manifest(name, entry, root)
    return entry["loss_by_position"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(LM_NAMES), help=f"any of {' '.join(LM_NAMES)} (default: all)")
    parser.add_argument("--data", type=Path, default=TINYSTORIES, help="TinyStories folder (its valid split)")
    parser.add_argument("--text", help="print the curve on this UTF-8 file instead of recording the valid split")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(LM_NAMES)
    if unknown:
        parser.error(f"not a language model: {', '.join(sorted(unknown))}")
    torch.set_num_threads(1)
    if args.text:
        text = read_text(args.text)
        out = {}
        for name in args.names:
            bundle = load(name, "cpu")
            out[name] = curve_entry(bundle.model, bundle.tokenizer, text)
        print(json.dumps(out, indent=2))
        return 0
    valid = Corpus.tinystories(args.data).valid
    for name in args.names:
        curve = record(name, valid)["valid"]
        print(f"{name}: {curve['blocks']} blocks, position 1 {curve['nats'][0]:.3f} → position {POSITIONS} "
              f"{curve['nats'][-1]:.3f} nats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
