"""Probe any zoo model's word embeddings: ``python -m models.embeddings NAME --analogies FILE | --neighbours WORD``.

``--analogies FILE``: lines ``a b c d`` ("a is to b as c is to d"); d is looked for at the top of b − a + c, the
three input words excluded. Prints JSON ``{"n", "skipped", "top1", "top5"}``; lines with a word outside the
vocabulary are skipped and counted. ``--neighbours WORD [--k 10]`` prints the nearest words by cosine.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from .checkpoint import CheckpointError
from .readings.embeddings import UnknownWord, embedding_table, neighbours, read_analogies, score_analogies
from .registry import EMBEDDING_NAMES, LM_NAMES, load

TABLE_NAMES = (*EMBEDDING_NAMES, *(n for n in LM_NAMES if n != "ngram"))  # every model with an embedding table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=TABLE_NAMES)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--analogies", type=Path, metavar="FILE", help="lines 'a b c d': a is to b as c is to d")
    what.add_argument("--neighbours", metavar="WORD", help="print the nearest words by cosine")
    parser.add_argument("--k", type=int, default=10, help="how many neighbours")
    args = parser.parse_args(argv)
    try:
        bundle = load(args.name, "cpu")
        table, vocab = embedding_table(bundle.model), bundle.tokenizer.vocab
        if args.analogies:
            print(json.dumps(asdict(score_analogies(table, vocab.stoi, read_analogies(args.analogies)))))
        else:
            ranked = neighbours(table, vocab.itos, vocab.stoi, args.neighbours, max(1, args.k))
            print(json.dumps([{"word": w, "cosine": round(float(c), 4)}
                              for w, c in zip(ranked.words, ranked.cosines, strict=True)], ensure_ascii=False))
    except (UnknownWord, CheckpointError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
