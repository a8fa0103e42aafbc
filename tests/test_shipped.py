"""The shipped checkpoints: each loads, matches its manifest, and reproduces its recorded quality."""
from __future__ import annotations

import json

import pytest

from models.check_text import CHECK_TEXT
from models.checkpoint import CHECKPOINT_DIR, read_manifest
from models.evaluate import evaluate_text
from models.evaluate import main as evaluate_main
from models.registry import LM_NAMES, load

MB = 1_000_000


@pytest.fixture(scope="module")
def manifest() -> dict:
    return read_manifest()


@pytest.mark.parametrize("name", LM_NAMES)
def test_checkpoint_reproduces_recorded_perplexity(name, manifest):
    bundle = load(name, "cpu")  # checks the sha256 against the manifest
    out = evaluate_text(bundle.model, bundle.tokenizer, CHECK_TEXT)
    assert out["perplexity"] == pytest.approx(manifest[name]["check_ppl"], rel=0.01)
    assert bundle.model.num_parameters() == manifest[name]["params"]


def test_sizes(manifest):
    sizes = {name: (CHECKPOINT_DIR / manifest[name]["file"]).stat().st_size for name in LM_NAMES}
    assert sizes["ngram"] <= 10 * MB
    assert all(size <= 8 * MB for name, size in sizes.items() if name != "ngram")
    assert sum(sizes.values()) <= 40 * MB


def test_one_vocabulary_and_low_oov(manifest):
    vocabs = {load(name, "cpu").tokenizer.vocab.itos.__len__() for name in LM_NAMES}
    assert len(vocabs) == 1
    assert all(manifest[name]["valid_oov_rate"] < 0.02 for name in LM_NAMES)
    assert len({manifest[name]["valid_tokens"] for name in LM_NAMES}) == 1  # same tokens scored


def test_quality_ordering(manifest):
    ppl = {name: manifest[name]["valid_ppl"] for name in LM_NAMES}
    for name in ("ffnn", "rnn", "lstm", "gru", "transformer"):
        assert ppl[name] < ppl["ngram"], name
    assert ppl["lstm"] < ppl["rnn"] and ppl["gru"] < ppl["rnn"]
    assert ppl["transformer"] <= 1.05 * min(ppl.values())
    assert ppl["transformer"] <= 0.7 * ppl["ngram"]


def test_evaluate_cli_on_any_text(tmp_path, capsys):
    path = tmp_path / "any.txt"
    path.write_text("<script>alert(1)</script> The cat 🙂 sat on 日本 mat.\n", encoding="utf-8")
    assert evaluate_main(["ngram", "--text", str(path), "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tokens"] > 5 and out["oov_rate"] > 0 and out["perplexity"] > 1

