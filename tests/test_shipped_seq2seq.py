"""The shipped seq2seq checkpoints: each loads, matches its hash, reproduces its check and meets its targets;
beam width 1 through the shared beam search is greedy decoding."""
from __future__ import annotations

import pytest

from models.checkpoint import CHECKPOINT_DIR, read_manifest
from models.registry import SEQ2SEQ_SPECS, load
from models.seq2seq import ATTENTIONS
from models.tokenizer import EOS_ID

from .test_seq2seq import greedy

MB = 1_000_000
SEQ2SEQ_NAMES = tuple(SEQ2SEQ_SPECS)


@pytest.fixture(scope="module")
def manifest() -> dict:
    return read_manifest()


@pytest.mark.parametrize("name", SEQ2SEQ_NAMES)
def test_seq2seq_checkpoint_reproduces_its_check(name, manifest):
    bundle = load(name, "cpu")
    assert {text: bundle.model.translate(text).text for text in manifest[name]["check"]} == manifest[name]["check"]
    assert (CHECKPOINT_DIR / manifest[name]["file"]).stat().st_size <= 12 * MB


def test_seq2seq_targets(manifest):
    dates = {a: manifest[f"dates-{a}"]["metrics"] for a in ATTENTIONS}
    for attention in ("dot", "bilinear", "additive"):
        assert dates[attention]["exact_match"] >= 0.99, attention
    assert dates["additive"]["alignment_accuracy"] >= 0.90
    assert manifest["fra-additive"]["metrics"]["bleu"] > manifest["fra-none"]["metrics"]["bleu"]


@pytest.mark.parametrize("name", ["dates-additive", "dates-none", "fra-additive", "fra-none"])
def test_beam_one_is_greedy_on_shipped_models(name, manifest):
    model = load(name, "cpu").model
    for text in [*manifest[name]["check"], "the 31st of december 1999, a friday", "we are not going home today ."]:
        ids, log_p = greedy(model, text)
        tr = model.translate(text, beam=1)
        assert tr.out_tokens == [model.tgt_tok.vocab.itos[k] for k in ids if k != EOS_ID], (name, text)
        assert tr.log_prob == pytest.approx(log_p, abs=1e-4)
