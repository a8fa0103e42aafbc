"""n-gram readings and held-out curves: hand computations on a tiny corpus, the model's own distributions,
the evaluator's perplexity; the shipped manifest's curves; ``python -m models.evaluate ngram --smoothing``."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from models.check_text import CHECK_TEXT
from models.data import encode_stream
from models.evaluate import evaluate_text, token_nll
from models.evaluate import main as evaluate_main
from models.ngram import NGramConfig, NGramLM
from models.ngram_heldout import (
    ALPHA_GRID,
    add_alpha,
    counted_table,
    curves,
    interpolated,
    lecture_to_model,
    mle,
    perplexity,
    probabilities,
    simplex_grid,
    token_counts,
)
from models.readings.ngram import generate_by_order, longest_seen_run, read_continuation, unseen_mass
from models.registry import load
from models.tokenizer import WordTokenizer

EOS_ID, A, B = 2, 3, 4
# <eos> a b a b a a <eos>, over a vocabulary of 5 (<pad>, <unk>, <eos>, a, b)
STREAM = np.array([EOS_ID, A, B, A, B, A, A, EOS_ID])


def _model(**kw) -> NGramLM:
    return NGramLM.from_ids(STREAM, NGramConfig(vocab_size=5, **kw))


def _tokenizer() -> WordTokenizer:
    return WordTokenizer.build("a b a b a a b", min_count=1)  # ids: a = 3, b = 4


def test_add_alpha_by_hand():
    """c(a) as a context = 4 (a b, a b, a a, a <eos>), c(a b) = 2, V = 5: (2 + α)/(4 + 5α)."""
    c = token_counts(_model(), np.array([EOS_ID, A, B, A]))
    assert c.c_h[1].tolist() == [1, 4, 2] and c.c_hw[1].tolist() == [1, 2, 2]  # bigrams <eos>a, ab, ba
    assert c.c_h[2].tolist() == [0, 1, 2] and c.c_hw[2].tolist() == [0, 1, 2]  # (<eos> <eos>) never occurs
    for alpha in (1e-4, 0.5, 1.0, 10.0):
        p = add_alpha(c, 2, alpha)
        assert p[1] == pytest.approx((2 + alpha) / (4 + 5 * alpha), abs=1e-15)
        assert add_alpha(c, 3, alpha)[0] == pytest.approx(1 / 5)  # (0 + α)/(0 + αV)
    assert mle(c, 3).tolist() == pytest.approx([1 / 5, 1.0, 1.0])  # 0/0 read as uniform, as the model does
    assert mle(c, 2).tolist() == pytest.approx([1.0, 0.5, 1.0])


@pytest.mark.parametrize("estimator", ["mle", "add", "interp"])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_per_token_formulas_are_the_models_distributions(estimator, order):
    rng = np.random.default_rng(0)
    stream = rng.integers(2, 30, 3000)
    m = NGramLM.from_ids(stream, NGramConfig(vocab_size=30))
    ids = np.concatenate([[2], rng.integers(0, 30, 200)])
    c = token_counts(m, ids)
    for alpha, lambdas in ((0.3, (0.2, 0.3, 0.5)), (2.0, (0.0, 0.5, 0.5)), (1e-3, (0.0, 0.0, 1.0))):
        view = m.configured(estimator=estimator, order=order, alpha=alpha, lambdas=lambdas)
        if estimator == "interp" and sum(lambdas[:order]) == 0:
            continue
        logits, _ = view(torch.from_numpy(ids[None, :-1]))
        expect = logits[0].exp().numpy()[np.arange(len(ids) - 1), ids[1:]]
        got = probabilities(c, estimator, order, alpha, lambdas)
        assert np.allclose(got, expect, rtol=1e-5, atol=1e-9)


def test_interpolation_without_any_seen_weight_is_uniform_not_nan():
    m = _model(estimator="interp", lambdas=(0.0, 0.5, 0.5))  # λ₃ = 0, and <pad> is never a context
    probs = m.distributions(np.array([[B, 0], [A, B]]))
    assert np.all(np.isfinite(probs)) and np.allclose(probs.sum(1), 1)
    assert np.allclose(probs[0], 1 / 5)
    c = token_counts(m, np.array([EOS_ID, B, 0, A]))
    assert np.all(np.isfinite(interpolated(c, (0.0, 0.5, 0.5))))


def test_interpolated_and_kneser_ney_sum_to_one_on_the_shipped_counts():
    m = load("ngram", "cpu").model
    ctx = np.array([[2, 2], [5, 9], [9, 5], [100, 200], [4000, 5000]])
    for view in (m, m.configured(estimator="interp", lambdas=(0.05, 0.15, 0.8)),
                 m.configured(estimator="interp", lambdas=(0.0, 0.2, 0.8))):
        assert np.allclose(view.distributions(ctx).sum(1), 1.0)


def test_perplexity_is_infinite_with_a_zero_never_nan():
    assert perplexity(np.array([0.5, 0.0, 0.25])).value == math.inf
    assert perplexity(np.array([0.5, 0.0, 0.25])).as_dict() == {"ppl": None, "zero_tokens": 1, "zero_share": 0.333333}
    assert perplexity(np.array([0.5, 0.5])).value == pytest.approx(2.0)


def test_simplex_grid_and_lambda_order():
    grid = simplex_grid(0.05)
    assert len(grid) == 231 and np.allclose(grid.sum(1), 1) and grid.min() >= 0
    assert lecture_to_model((0.6, 0.3, 0.1)) == (0.1, 0.3, 0.6)  # the lecture's λ₁ weighs the trigram


def test_curves_are_what_the_evaluator_computes():
    rng = np.random.default_rng(2)
    m = NGramLM.from_ids(rng.integers(2, 25, 4000), NGramConfig(vocab_size=25))
    ids = np.concatenate([[2], rng.integers(2, 25, 1500)])  # longer than one evaluator chunk
    found = curves(m, ids)

    def evaluator(**changes) -> float:
        return math.exp(float(token_nll(m.configured(**changes), torch.from_numpy(ids)).double().mean()))

    for n in (1, 2, 3):
        for i in (0, ALPHA_GRID.index(1.0), len(ALPHA_GRID) - 1):
            assert found["add_alpha"][str(n)]["ppl"][i] == pytest.approx(
                evaluator(estimator="add", order=n, alpha=ALPHA_GRID[i]), rel=1e-5)
    tri = found["interpolation"]["3"]
    for i in (0, 50, 200):
        expect = evaluator(estimator="interp", order=3, lambdas=lecture_to_model(tuple(tri["lambdas"][i])))
        assert tri["ppl"][i] is None and math.isinf(expect) or tri["ppl"][i] == pytest.approx(expect, rel=1e-5)
    best = tri["best_lambdas"]
    assert tri["best_ppl"] == pytest.approx(evaluator(estimator="interp", lambdas=lecture_to_model(tuple(best))),
                                            rel=1e-5)
    assert tri["best_ppl"] <= min(v for v in tri["ppl"] if v is not None)
    table = counted_table(m, ids, found)  # the manifest's table: the curves' best points, and MLE's zeros
    for n in ("1", "2", "3"):
        alpha = found["add_alpha"][n]["best_alpha"]
        assert table[n]["add_alpha"]["ppl"] == pytest.approx(evaluator(estimator="add", order=int(n), alpha=alpha),
                                                             rel=1e-5)
        nll = token_nll(m.configured(estimator="mle", order=int(n)), torch.from_numpy(ids))
        assert table[n]["mle"]["zero_tokens"] == int(torch.isinf(nll).sum())
        assert (table[n]["mle"]["ppl"] is None) == bool(torch.isinf(nll).any())
    assert table["3"]["mle"]["zero_tokens"] > 0


def test_shipped_manifest_holds_the_curves_of_the_shipped_counts():
    """The stored check-text curves are the curve function's on the shipped model, and equal the evaluator's."""
    bundle = load("ngram", "cpu")
    stored = bundle.meta["heldout"]
    check = stored["check"]
    found = curves(bundle.model, encode_stream(bundle.tokenizer, CHECK_TEXT).numpy())
    assert {k: v for k, v in check.items() if k != "table"} == found
    alpha = check["add_alpha"]["3"]["best_alpha"]
    ev = evaluate_text(bundle.model.configured(estimator="add", alpha=alpha), bundle.tokenizer, CHECK_TEXT)
    assert check["add_alpha"]["3"]["best_ppl"] == pytest.approx(ev["perplexity"], rel=1e-4)
    assert check["table"]["3"]["kneser_ney"]["ppl"] == pytest.approx(bundle.meta["check_ppl"], rel=1e-4)
    mle3 = check["table"]["3"]["mle"]
    assert mle3["ppl"] is None and mle3["zero_tokens"] > 0
    valid = stored["valid"]
    assert valid["table"]["3"]["kneser_ney"]["ppl"] == pytest.approx(bundle.meta["valid_ppl"], rel=1e-4)
    assert valid["tokens"] == bundle.meta["valid_tokens"]
    assert len(valid["interpolation"]["3"]["lambdas"]) == 231 and len(valid["alpha_grid"]) == len(ALPHA_GRID)
    for n in ("1", "2", "3"):  # the table's add-α and interpolation are the curves' best points
        assert valid["table"][n]["add_alpha"]["ppl"] == pytest.approx(valid["add_alpha"][n]["best_ppl"], rel=1e-4)
    assert valid["table"]["3"]["interpolation"]["ppl"] == pytest.approx(valid["interpolation"]["3"]["best_ppl"],
                                                                          rel=1e-4)


def test_unseen_mass_by_hand():
    """After a: 3 distinct words seen (b, a, <eos>) in 4, V = 5: add-1 moves (5 − 3)·1/(4 + 5) = 2/9 to the rest."""
    mass = unseen_mass(_model(), _tokenizer(), "a", np.array([1.0, 0.01]))
    assert (mass.c_h, mass.types) == (4, 3)
    assert mass.mass[0] == pytest.approx(2 / 9) and mass.mass[1] == pytest.approx(2 * 0.01 / (4 + 0.05))


def test_continuation_counts_by_hand():
    """Bigram types: <eos>a, ab, ba, aa, a<eos>: a follows 3 distinct words (<eos>, b, a), b one (a)."""
    k = read_continuation(_model(), _tokenizer(), ["a", "b"])
    row = dict(zip(k.words, zip(k.counts.tolist(), k.followers.tolist(), strict=True), strict=True))
    assert row["a"] == (4, 3) and row["b"] == (2, 1)
    assert k.p_continuation[k.words.index("a")] == pytest.approx(3 / 5)
    assert k.words[0] == "b"  # the frequent word with the fewest distinct predecessors per occurrence


def test_longest_run():
    assert longest_seen_run(np.array([True, False, True, True, True, False, True])) == (2, 5)
    assert longest_seen_run(np.array([False, False])) == (0, 0)
    assert longest_seen_run(np.array([True, True])) == (0, 2)


def test_generation_is_seeded_and_marks_seen_trigrams():
    bundle = load("ngram", "cpu")
    first = generate_by_order(bundle.model, bundle.tokenizer, "once upon a time", "mle", 3, 20)
    again = generate_by_order(bundle.model, bundle.tokenizer, "once upon a time", "mle", 3, 20)
    assert [g.words for g in first] == [g.words for g in again] and [g.order for g in first] == [1, 2, 3]
    other = generate_by_order(bundle.model, bundle.tokenizer, "once upon a time", "mle", 4, 20)
    assert [g.words for g in first] != [g.words for g in other]
    tri = first[2]
    stoi = bundle.tokenizer.vocab.stoi
    full = ["a", "time"] + tri.words
    for t, seen in enumerate(tri.trigram_seen):
        assert seen == (bundle.model.count(tuple(stoi[w] for w in full[t : t + 3])) > 0)
    assert tri.trigram_seen.all()  # MLE trigram samples only seen continuations after a seen context
    assert tri.longest == longest_seen_run(tri.trigram_seen) == (0, len(tri.words))


def _cli(tmp_path, capsys, *flags) -> tuple[int, dict]:
    path = tmp_path / "story.txt"
    path.write_text("the purple elephant sang opera to the moon . once upon a time there was a dog .")
    rc = evaluate_main(["ngram", "--text", str(path), "--device", "cpu", *flags])
    return rc, json.loads(capsys.readouterr().out)


def test_cli_smoothing_flags(tmp_path, capsys):
    meta = load("ngram", "cpu").meta["heldout"]["valid"]
    rc, out = _cli(tmp_path, capsys)
    assert rc == 0 and out["smoothing"] == "kneser-ney" and out["order"] == 3 and out["zero_prob_tokens"] == 0
    rc, out = _cli(tmp_path, capsys, "--smoothing", "mle")
    assert rc == 0 and out["perplexity"] == math.inf and out["zero_prob_tokens"] >= 1
    rc, out = _cli(tmp_path, capsys, "--smoothing", "add-alpha", "--order", "2")
    assert rc == 0 and out["alpha"] == meta["add_alpha"]["2"]["best_alpha"] and out["order"] == 2
    rc, out = _cli(tmp_path, capsys, "--smoothing", "add-alpha", "--alpha", "0.5")
    assert out["alpha"] == 0.5 and "alpha_from" not in out
    rc, out = _cli(tmp_path, capsys, "--smoothing", "interpolation")
    assert out["lambdas"] == pytest.approx(meta["interpolation"]["3"]["best_lambdas"])
    rc, out = _cli(tmp_path, capsys, "--smoothing", "interpolation", "--lambdas", "0.6", "0.3", "0.1")
    bundle = load("ngram", "cpu")
    view = bundle.model.configured(estimator="interp", lambdas=(0.1, 0.3, 0.6))
    path = tmp_path / "story.txt"
    assert out["perplexity"] == pytest.approx(evaluate_text(view, bundle.tokenizer, path.read_text())["perplexity"])
    rc, out = _cli(tmp_path, capsys, "--smoothing", "interpolation", "--lambdas", "0.6", "0.6", "0.1")
    assert rc == 1 and "sum to 1" in out["error"]
    rc, out = _cli(tmp_path, capsys, "--smoothing", "mle", "--order", "4")
    assert rc == 1 and "--order" in out["error"]
    with pytest.raises(SystemExit):
        evaluate_main(["lstm", "--text", str(path), "--smoothing", "mle"])
