"""Probe sentences the project wrote itself, token features, and which hidden units track them.

A unit "tracks" a feature when its activation correlates with it across every probe token
(Pearson r), in the spirit of Karpathy et al. 2015, "Visualizing and Understanding Recurrent Networks".
"""
from __future__ import annotations

import numpy as np

PROBE_SENTENCES = (
    'tom said, "i want to play with the big red ball." then he ran to the park.',
    'the little girl looked at the sky. "it is going to rain," she said to her mom.',
    'a cat sat on a mat. the dog saw the cat and barked. "go away!" said the cat.',
    'mom said, "eat your food." lily ate the soup and smiled. she was happy.',
    'the boy found a box in the garden. he opened the box. a small frog jumped out.',
    '"can we go to the beach?" asked ben. "yes, we can," said dad. they went to the beach.',
    'once there was a bird with a blue hat. the bird sang a song every day.',
    'sam had a toy car. the car was fast. "look at my car!" he said to his friend.',
)
DETERMINERS = {"the", "a", "an"}
SENTENCE_END = {".", "!", "?"}
FEATURES = ("inside quotes", "position in sentence", "after the/a", "end of sentence")


def token_features(tokens: list[str]) -> np.ndarray:
    """(T, 4) features per token: inside quotation marks, position since the last sentence end,
    previous token is a determiner, token ends a sentence."""
    feats = np.zeros((len(tokens), len(FEATURES)))
    inside, pos = False, 0
    for t, tok in enumerate(tokens):
        if tok == '"':
            inside = not inside
        feats[t, 0] = inside or tok == '"'
        feats[t, 1] = pos
        feats[t, 2] = t > 0 and tokens[t - 1] in DETERMINERS
        feats[t, 3] = tok in SENTENCE_END
        pos = 0 if tok in SENTENCE_END else pos + 1
    return feats


def unit_correlations(activations: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Pearson r between every unit (N, H) and every feature (N, F): (H, F); constant columns give 0."""
    a = activations - activations.mean(0)
    f = features - features.mean(0)
    denom = np.sqrt((a**2).sum(0))[:, None] * np.sqrt((f**2).sum(0))[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a.T @ f) / denom
    return np.nan_to_num(r)
