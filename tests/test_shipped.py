"""The shipped checkpoints: each loads, matches its manifest, and reproduces its recorded quality."""
from __future__ import annotations

import json

import pytest

from models.check_text import CHECK_TEXT
from models.checkpoint import CHECKPOINT_DIR, read_manifest
from models.cloze import cloze_report, masked_report
from models.evaluate import evaluate_text
from models.evaluate import main as evaluate_main
from models.registry import LM_NAMES, MASKED_SPECS, load

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



@pytest.mark.parametrize("name", MASKED_SPECS)
def test_masked_lm_reproduces_its_recorded_cloze_scores(name, manifest):
    bundle, causal = load(name, "cpu"), load("transformer", "cpu")
    entry = manifest[name]
    out = masked_report(bundle.model, bundle.tokenizer, CHECK_TEXT)
    assert out["top1"] == pytest.approx(entry["cloze"]["check"]["top1"], abs=1e-9)
    assert out["pseudo_perplexity"] == pytest.approx(entry["cloze"]["check"]["pseudo_perplexity"], rel=1e-3)
    left = cloze_report(causal.model, causal.tokenizer, CHECK_TEXT)
    assert left["top1"] == pytest.approx(entry["cloze"]["check"]["transformer_top1"], abs=1e-9)
    assert bundle.model.num_parameters() == entry["params"]
    assert abs(entry["params"] / causal.model.num_parameters() - 1) < 0.001  # the transformer's size (+ <mask>)
    assert bundle.tokenizer.vocab.itos[:-1] == causal.tokenizer.vocab.itos  # the shared vocabulary + <mask>
    assert (CHECKPOINT_DIR / entry["file"]).stat().st_size <= 8 * MB


def test_stacked_lstm_matches_the_one_layer_size(manifest):
    assert abs(manifest["lstm2"]["params"] / manifest["lstm"]["params"] - 1) < 0.01
    assert manifest["lstm2"]["config"]["n_layer"] == 2


def test_evaluate_cli_masked_and_cloze(tmp_path, capsys):
    path = tmp_path / "story.txt"
    path.write_text("Once upon a time, a little girl named Lily found a red ball in the park. She was very happy.\n",
                    encoding="utf-8")
    assert evaluate_main(["mlm", "--text", str(path), "--device", "cpu"]) == 0
    masked = json.loads(capsys.readouterr().out)
    assert masked["every"] == 7 and masked["tokens"] // 7 <= masked["positions"] <= masked["tokens"] // 7 + 1
    assert 0 <= masked["top1"] <= 1 and masked["pseudo_perplexity"] > 1
    assert evaluate_main(["transformer", "--text", str(path), "--cloze", "--device", "cpu"]) == 0
    left = json.loads(capsys.readouterr().out)
    assert left["positions"] == masked["positions"] and 0 <= left["top1"] <= 1
    with pytest.raises(SystemExit):
        evaluate_main(["mlm", "--text", str(path), "--cloze"])
