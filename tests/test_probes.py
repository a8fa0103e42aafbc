"""Unit finder: features of probe tokens, and correlations against numpy's reference."""
from __future__ import annotations

import numpy as np

from models.probes import FEATURES, PROBE_SENTENCES, token_features, unit_correlations
from models.tokenizer import WordTokenizer


def test_token_features():
    toks = WordTokenizer.build("x").tokens('the cat said, "hi there." a dog ran.')
    f = token_features(toks)
    assert f.shape == (len(toks), len(FEATURES))
    quote = [t for t, tok in enumerate(toks) if f[t, 0]]
    assert [toks[t] for t in quote] == ['"', "hi", "there", ".", '"']
    assert f[toks.index("cat"), 2] == 1 and f[toks.index("dog"), 2] == 1 and f[toks.index("said"), 2] == 0
    assert f[toks.index("the"), 1] == 0 and f[toks.index("said"), 1] == 2
    assert f[:, 3].sum() == 2 and f[toks.index("a"), 1] == 1  # the closing quote comes first


def test_correlations_match_numpy():
    rng = np.random.default_rng(0)
    acts, feats = rng.normal(size=(50, 6)), rng.normal(size=(50, 3))
    r = unit_correlations(acts, feats)
    for h in range(6):
        for j in range(3):
            assert np.isclose(r[h, j], np.corrcoef(acts[:, h], feats[:, j])[0, 1])
    assert np.all(unit_correlations(np.ones((5, 2)), feats[:5]) == 0)


def test_probes_are_the_projects_own_and_cover_every_feature():
    toks = [t for s in PROBE_SENTENCES for t in WordTokenizer.build("x").tokens(s)]
    f = token_features(toks)
    assert all(f[:, j].std() > 0 for j in range(len(FEATURES)))
