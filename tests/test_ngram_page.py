"""N-gram page: its numbers are the model's counts and probabilities for the student's sentence."""
from __future__ import annotations

import numpy as np
import pytest

from models.inputs import model_input
from models.ngram_heldout import ALPHA_GRID
from models.registry import load

from .apptest import figure, open_page, values
from .test_captions import check_scale, check_tokens

PAGE = "pages/views/ngram.py"
SENTENCE = "the dog saw the big dog and the cat ran ."


@pytest.fixture(scope="module")
def bundle():
    return load("ngram", "cpu")


def _ids(bundle, text: str) -> list[int]:
    return model_input(bundle.tokenizer, text).ids


def _text(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [str(x.proto) for x in at.get("html")]
    return " ".join(parts)


def test_count_table_is_the_models_bigram_counts(bundle):
    at = open_page(PAGE, SENTENCE)
    fig = figure(at, "ng_table")
    words = fig["data"][0]["x"]
    assert words == ["the", "dog", "saw", "big", "and", "cat", "ran", "."]
    stoi = bundle.tokenizer.vocab.stoi
    shown = np.asarray(fig["data"][0]["customdata"], dtype=np.int64)
    assert fig["data"][0]["y"][0] == f"the ({bundle.model.count((stoi['the'],)):,})"  # unigram count per row
    for i, prev in enumerate(words):
        for j, nxt in enumerate(words):
            assert shown[i][j] == bundle.model.count((stoi[prev], stoi[nxt]))
    zero_share = np.mean(shown == 0)
    assert any(m.value == f"{zero_share:.0%}" for m in at.metric)
    counts = next(df.value for df in at.dataframe if "c(w₋₂ w₋₁ w)" in df.value.columns)
    ids = _ids(bundle, SENTENCE)
    padded = [ids[0]] * 2 + ids
    assert counts["c(w₋₂ w₋₁ w)"].tolist() == [bundle.model.count(tuple(padded[t + 1 : t + 4]))
                                             for t in range(len(ids) - 1)]
    assert f"{len(bundle.model.tables[2].counts):,}" in _text(at)  # distinct trigrams, against V³


def test_alpha_slider_moves_the_add_alpha_bars(bundle):
    at = open_page(PAGE, SENTENCE)
    ids = _ids(bundle, SENTENCE)
    for alpha in (ALPHA_GRID[0], 1.0, ALPHA_GRID[-1]):
        at.select_slider(key="ng_alpha").set_value(alpha).run()
        bars = figure(at, "ng_alpha_tokens")["data"]
        add = values(next(b for b in bars if b["name"].startswith("add-α"))["y"])
        view = bundle.model.configured(estimator="add", alpha=alpha)
        expect = [view.prob(ids[: t + 1], ids[t + 1]) for t in range(len(ids) - 1)]
        assert np.allclose(add, expect, rtol=1e-5)
        curve = figure(at, "ng_alpha_curve")
        assert curve["layout"]["shapes"][0]["x0"] == pytest.approx(alpha)
    stored = bundle.meta["heldout"]["valid"]["add_alpha"]["3"]["ppl"]
    trigram = next(t for t in figure(at, "ng_alpha_curve")["data"] if t.get("name", "").startswith("trigram"))
    assert np.allclose(values(trigram["y"]), stored, rtol=1e-6)


def test_mle_zero_gives_infinity_never_nan(bundle):
    at = open_page(PAGE, SENTENCE)
    text = _text(at)
    assert "elephant" in text and "∞" in text and "nan" not in text.lower().replace("nandú", "")
    mle = next(df.value for df in at.dataframe if "p_ML" in df.value.columns and "note" in df.value.columns)
    ids = _ids(bundle, SENTENCE)
    view = bundle.model.configured(estimator="mle")
    assert np.allclose(mle["p_ML"], [view.prob(ids[: t + 1], ids[t + 1]) for t in range(len(ids) - 1)])
    itos = bundle.tokenizer.vocab.itos
    assert mle["context"].tolist()[:3] == ["<eos> <eos>", "<eos> the", "the dog"]
    assert mle["context"].tolist()[3:] == [f"{itos[ids[t - 1]]} {itos[ids[t]]}" for t in range(3, len(ids) - 1)]
    kn = next(df.value for df in at.dataframe if "p_KN(w | w₋₂ w₋₁)" in df.value.columns)
    assert np.allclose(kn["p_KN(w | w₋₂ w₋₁)"], [bundle.model.prob(ids[: t + 1], ids[t + 1])
                                                 for t in range(len(ids) - 1)], rtol=1e-6)
    table = next(df.value for df in at.dataframe if "Kneser–Ney" in df.value.columns)
    assert table["MLE"].iloc[2].startswith("∞") and "p = 0" in table["MLE"].iloc[2]
    assert float(table["Kneser–Ney"].iloc[2]) == pytest.approx(bundle.meta["valid_ppl"], abs=0.01)


def test_lambda_sliders_stay_on_the_simplex_and_mix_the_orders(bundle):
    at = open_page(PAGE, SENTENCE)
    at.slider(key="ng_l1").set_value(0.8).run()
    at.slider(key="ng_l2").set_value(0.5).run()
    assert any(m.label.startswith("λ₃") and m.value == "0.00" for m in at.metric)  # λ₂ cut back to 0.2
    at.slider(key="ng_l2").set_value(0.15).run()
    bars = figure(at, "ng_mixture")["data"]
    total = sum(values(b["y"]).astype(np.float64) for b in bars)
    ids = _ids(bundle, SENTENCE)
    view = bundle.model.configured(estimator="interp", lambdas=(0.05, 0.15, 0.8))
    assert np.allclose(total, [view.prob(ids[: t + 1], ids[t + 1]) for t in range(len(ids) - 1)], rtol=1e-5)
    simplex = figure(at, "ng_simplex")["data"]
    tuned = bundle.meta["heldout"]["valid"]["interpolation"]["3"]["best_lambdas"]
    assert simplex[1]["x"] == [tuned[0]] and simplex[2]["x"] == [0.8] and simplex[2]["y"] == [0.15]


def test_kneser_ney_continuation_and_generation(bundle):
    at = open_page(PAGE, SENTENCE)
    kn = next(df.value for df in at.dataframe if "P_cont(w)" in df.value.columns)
    counts, followers = bundle.model.continuation_counts()
    stoi = bundle.tokenizer.vocab.stoi
    for word, n, f in zip(kn["word"], kn["c(w)"], kn["N1+(• w)"], strict=True):
        assert (n, f) == (counts[stoi[word]], followers[stoi[word]])
    assert kn["N1+(• w)"].iloc[0] < 0.01 * kn["c(w)"].iloc[0]  # frequent, but after few distinct words
    before = _text(at)
    at.number_input(key="ng_seed").set_value(5).run()
    assert not at.exception and _text(at) != before


@pytest.mark.parametrize(("text", "message"), [
    ("", "Type a sentence"),
    ("zzqx qqzv", "Not in the vocabulary"),
    ("the dog ran . " * 400, "only the first"),
])
def test_bad_input_gets_a_message(text, message):
    at = open_page(PAGE, text)
    assert not at.exception
    assert message in " ".join([i.value for i in at.info] + [str(h.proto) for h in at.get("html")])


def test_add_one_mass_after_the_rarest_context(bundle):
    at = open_page(PAGE, SENTENCE)
    stoi = bundle.tokenizer.vocab.stoi
    context = at.selectbox(key="ng_context").value
    assert context == min(["the", "dog", "saw", "big", "and", "cat", "ran", "."],
                          key=lambda w: bundle.model.count((stoi[w],)))
    followers, counts = bundle.model.counts((stoi[context],))
    V = bundle.model.config.vocab_size
    assert f"{(V - len(followers)) / (counts.sum() + V):.1%}</b> of the probability under add-1" in _text(at)


def test_captions_name_the_colours_drawn():
    at = open_page(PAGE, SENTENCE)
    charts = {key: next(c for c in at.get("plotly_chart") if key in c.proto.id) for key in ("ng_table", "ng_simplex")}
    captions = [c.value for c in at.caption if c.value.startswith("Colour:")]
    check_scale(next(c for c in captions if "log₁₀ of the count" in c), charts["ng_table"])
    check_scale(next(c for c in captions if "valid split" in c), charts["ng_simplex"])
    samples = [h for h in at.get("html") if "<span title=" in h.proto.body and "trigram" in h.proto.body]
    check_tokens(next(c for c in captions if "trigram ending" in c), samples[2])
