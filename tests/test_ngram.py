"""n-gram estimators: normalisation, Kneser–Ney by hand, counts, storage, the shared contract."""
from __future__ import annotations

from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
import torch

from models.ngram import ESTIMATORS, NGramConfig, NGramLM

EOS, A, B = 2, 3, 4
# <eos> a b a b a a <eos>, over a vocabulary of 5 (<pad>, <unk>, <eos>, a, b)
STREAM = np.array([EOS, A, B, A, B, A, A, EOS])


def _model(**kw) -> NGramLM:
    return NGramLM.from_ids(STREAM, NGramConfig(vocab_size=5, **kw))


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("order", [1, 2, 3])
def test_distributions_sum_to_one(estimator, order):
    rng = np.random.default_rng(0)
    stream = rng.integers(2, 40, 2000)
    m = NGramLM.from_ids(stream, NGramConfig(vocab_size=40)).configured(estimator=estimator, order=order, alpha=0.3)
    ctx = rng.integers(0, 40, (50, order - 1))
    probs = m.distributions(ctx)
    assert probs.shape == (50, 40)
    assert np.allclose(probs.sum(1), 1.0)
    assert np.all(probs >= 0)


def test_kneser_ney_bigram_by_hand():
    """Worked by hand for the stream above (see the docstring numbers).

    Raw bigram counts: (eos a)=1, (a b)=2, (b a)=2, (a a)=1, (a eos)=1 -> n1=3, n2=2, D2 = 3/7.
    Continuation counts N1+(• w): a=3 (after eos, b, a), b=1, eos=1; 5 bigram types; D1 = 2/(2+0) = 1.
    P1(a) = (3−1)/5 + 1·3/5·1/5 = 13/25;  P1(b) = P1(eos) = P1(pad) = P1(unk) = 3/25.
    P(b | a) = (2 − 3/7)/4 + (3/7)·3/4·P1(b) = 151/350.
    P(a | b) = (2 − 3/7)/2 + (3/7)·1/2·P1(a) = 157/175.
    As the top order, the unigram uses raw counts (a=4 of 8, no singletons so D = 0): P(a) = 1/2.
    """
    m = _model().configured(order=2)
    assert m.prob([A], B) == pytest.approx(float(Fraction(151, 350)), abs=1e-12)
    assert m.prob([B], A) == pytest.approx(float(Fraction(157, 175)), abs=1e-12)
    assert m.configured(order=1).prob([], A) == pytest.approx(1 / 2, abs=1e-12)


def _kn_reference(stream: np.ndarray, V: int, ctx: tuple[int, int], w: int) -> float:
    """Textbook interpolated Kneser–Ney trigram, written with dictionaries, for cross-checking."""
    tri = Counter(zip(stream, stream[1:], stream[2:], strict=False))
    bi_types = Counter(zip(stream, stream[1:], strict=False))
    cont_bi = Counter((v, x) for (_, v, x) in tri)  # N1+(• v w)
    cont_uni = Counter(x for (_, x) in bi_types)  # N1+(• w)

    def disc(counts):
        n1 = sum(1 for c in counts if c == 1)
        n2 = sum(1 for c in counts if c == 2)
        return n1 / (n1 + 2 * n2)

    d3, d2, d1 = disc(tri.values()), disc(cont_bi.values()), disc(cont_uni.values())
    tot1 = sum(cont_uni.values())
    p1 = max(cont_uni[w] - d1, 0) / tot1 + d1 * len(cont_uni) / tot1 / V
    u, v = ctx
    den2 = sum(c for (a, _), c in cont_bi.items() if a == v)
    if den2:
        types2 = sum(1 for (a, _) in cont_bi if a == v)
        p2 = max(cont_bi[(v, w)] - d2, 0) / den2 + d2 * types2 / den2 * p1
    else:
        p2 = p1
    den3 = sum(c for (a, b, _), c in tri.items() if (a, b) == (u, v))
    if not den3:
        return p2
    types3 = sum(1 for (a, b, _) in tri if (a, b) == (u, v))
    return max(tri[(u, v, w)] - d3, 0) / den3 + d3 * types3 / den3 * p2


def test_kneser_ney_trigram_against_reference():
    rng = np.random.default_rng(1)
    zipf = 1 / np.arange(1, 39)
    stream = rng.choice(np.arange(2, 40), 300, p=zipf / zipf.sum())  # rare words give singletons
    m = NGramLM.from_ids(stream, NGramConfig(vocab_size=40))
    for ctx in [(2, 2), (2, 3), (5, 5), (7, 2), (39, 38)]:
        probs = m.distributions(np.array([ctx]))[0]
        for w in range(40):
            assert probs[w] == pytest.approx(_kn_reference(stream, 40, ctx, w), abs=1e-12)


def test_counts_and_mle_zero():
    m = _model()
    words, counts = m.counts((A,))
    assert dict(zip(words.tolist(), counts.tolist(), strict=True)) == {B: 2, A: 1, EOS: 1}
    assert m.count((B, A, B)) == 1 and m.count((B, B)) == 0
    mle = m.configured(estimator="mle", order=2)
    assert mle.prob([A], B) == 0.5
    _, loss = mle(torch.tensor([[B, B]]), torch.tensor([[B, A]]))  # b -> b never seen
    assert torch.isinf(loss)


def test_add_alpha_and_interpolation():
    m = _model(estimator="add", order=2, alpha=1.0)
    assert m.prob([A], B) == pytest.approx((2 + 1) / (4 + 5))
    lin = _model(estimator="interp", order=2, lambdas=(0.25, 0.75))
    assert lin.prob([A], B) == pytest.approx(0.25 * 2 / 8 + 0.75 * 2 / 4)


def test_configured_is_a_view():
    m = _model()
    view = m.configured(estimator="add", alpha=0.5)
    assert m.config.estimator == "kn" and view.config.estimator == "add"
    assert view.tables is m.tables
    with pytest.raises(ValueError):
        m.configured(order=4)


def test_forward_contract_and_causality():
    m = _model()
    idx = torch.tensor([[EOS, A, B, A, A]])
    logits, loss = m(idx, torch.tensor([[A, B, A, A, EOS]]))
    assert logits.shape == (1, 5, 5) and torch.isfinite(loss)
    assert torch.allclose(logits.exp().sum(-1), torch.ones(1, 5), atol=1e-5)
    changed = idx.clone()
    changed[0, 3] = B
    assert torch.allclose(m(changed)[0][:, :3], logits[:, :3])
    tr = m.trace(idx)
    assert tr.contexts[2] == (A, B) and tr.context_counts[2] == 2 and tr.next_counts[2] == 2


def test_save_load_roundtrip(tmp_path):
    m = _model()
    m.save(tmp_path / "ng.npz", {"tokenizer": {"kind": "word", "itos": ["x"]}})
    back, header = NGramLM.load(tmp_path / "ng.npz")
    assert header["tokenizer"]["itos"] == ["x"]
    ctx = np.array([[EOS, A], [A, B], [B, B]])
    assert np.array_equal(back.distributions(ctx), m.distributions(ctx))
