"""The masked LM: BERT's 80/10/10 corruption, pseudo-perplexity by hand, and the leak test (both sides vs the left)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.cloze import cloze_positions, cloze_report, masked_report, masked_scores, window_start
from models.lm import IGNORE
from models.masking import mask_tokens
from models.mlm import MASK, MaskedLM, with_mask
from models.transformer import TransformerConfig, TransformerLM

from .conftest import V, tiny_tokenizer, tiny_word

BLOCK = 16


def tiny_pair() -> tuple[MaskedLM, TransformerLM]:
    """A tiny masked LM (V + 1 ids: <mask> last) and a causal transformer with the very same weights."""
    torch.manual_seed(3)
    cfg = TransformerConfig(V + 1, block_size=BLOCK, n_layer=2, n_head=2, n_embd=16, dropout=0.0, causal=False)
    mlm = MaskedLM(cfg).eval()
    causal = TransformerLM(TransformerConfig(**{**cfg.__dict__, "causal": True})).eval()
    causal.load_state_dict(mlm.state_dict())
    return mlm, causal


def test_masking_follows_80_10_10_on_a_seeded_batch():
    ids = torch.randint(3, 5000, (200, 500), generator=torch.Generator().manual_seed(0))  # 100,000 tokens
    mask_id = 5000
    inputs, targets = mask_tokens(ids, mask_id, (3, mask_id), torch.Generator().manual_seed(1))
    chosen = targets != IGNORE
    assert chosen.float().mean() == pytest.approx(0.15, abs=0.005)
    assert torch.equal(targets[chosen], ids[chosen])  # the loss asks for the original token
    assert torch.equal(inputs[~chosen], ids[~chosen])  # the other 85 % are untouched
    n = int(chosen.sum())
    masked = (inputs == mask_id) & chosen
    replaced = (inputs != mask_id) & (inputs != ids) & chosen
    kept = (inputs == ids) & chosen
    assert int(masked.sum()) / n == pytest.approx(0.8, abs=0.015)
    assert int(replaced.sum()) / n == pytest.approx(0.1, abs=0.01)
    assert int(kept.sum()) / n == pytest.approx(0.1, abs=0.01)
    assert int((inputs[replaced] < 3).sum()) == 0 and int((inputs == mask_id).sum()) == int(masked.sum())
    again = mask_tokens(ids, mask_id, (3, mask_id), torch.Generator().manual_seed(1))
    assert torch.equal(again[0], inputs) and torch.equal(again[1], targets)  # a seed gives one batch


def test_pseudo_perplexity_by_hand():
    mlm, _ = tiny_pair()
    tok = with_mask(tiny_tokenizer())
    assert tok.vocab.itos[-1] == MASK and len(tok) == V + 1
    text = " ".join(tiny_word(i) for i in (4, 9, 2, 30, 11, 7))
    ids = [tok.vocab.eos_id] + tok.encode(text)
    logps = []
    for i in range(1, len(ids)):  # mask each token in turn, the whole (short) text as context
        x = torch.tensor([ids])
        x[0, i] = mlm.mask_id
        with torch.no_grad():
            logits, _ = mlm(x)
        logps.append(float(torch.log_softmax(logits[0, i], -1)[ids[i]]))
    by_hand = math.exp(-sum(logps) / len(logps))
    out = masked_report(mlm, tok, text, every=2, seed=0)
    assert out["tokens"] == 6 and out["pseudo_perplexity"] == pytest.approx(by_hand, rel=1e-5)
    top1, logp = masked_scores(mlm, torch.tensor(ids), np.arange(1, len(ids)))
    assert np.allclose(logp, logps, atol=1e-5)
    pos = cloze_positions(len(ids), 2, 0)
    assert out["top1"] == pytest.approx(float(np.mean(top1[pos - 1] == np.array(ids)[pos])))


def test_cloze_positions_and_windows():
    pos = cloze_positions(100, 7, 0)
    assert np.all(np.diff(pos) == 7) and 1 <= pos[0] <= 7 and pos[-1] < 100
    assert np.array_equal(pos, cloze_positions(100, 7, 0))  # fixed seed
    assert window_start(100, 16, 50) == 42  # centred
    assert window_start(100, 16, 3) == 0 and window_start(100, 16, 98) == 84  # clipped to the text
    assert window_start(10, 16, 5) == 0


def test_leak_mlm_sees_later_tokens_causal_does_not():
    """The MLM's output at i depends on token j > i; the causal model's (same weights, with the mask) does not."""
    mlm, causal = tiny_pair()
    x = torch.randint(3, V, (1, 12), generator=torch.Generator().manual_seed(4))
    i, j = 4, 9
    y = x.clone()
    y[0, j] = 3 + (int(x[0, j]) - 2) % (V - 3)  # another word at j only
    assert int(y[0, j]) != int(x[0, j])
    with torch.no_grad():
        assert (mlm(x)[0][0, i] - mlm(y)[0][0, i]).abs().max() > 1e-4
        assert torch.allclose(causal(x)[0][0, : j], causal(y)[0][0, : j], atol=1e-6)  # every position before j
        tr = mlm.trace(x)
    assert float(tr.attention[0, :, :, i, j].min()) > 0  # full squares: every head attends forward too
    assert torch.allclose(tr.logits, mlm(x)[0], atol=1e-5)  # the traced pass is the forward pass


def test_mlm_cannot_continue_left_to_right():
    mlm, _ = tiny_pair()
    with pytest.raises(TypeError, match="cannot generate left to right"):
        mlm.begin(torch.tensor([[2, 5, 6]]))
    with pytest.raises(ValueError, match="causal=False"):
        MaskedLM(TransformerConfig(V + 1, block_size=BLOCK, n_layer=1, n_head=2, n_embd=16))


def test_cloze_report_uses_the_left_context_only():
    """The causal top-1 at position i is the argmax of the forward pass's logits at i − 1, across window edges."""
    _, causal = tiny_pair()
    tok = tiny_tokenizer()
    words = [tiny_word(int(i)) for i in np.random.default_rng(0).integers(0, V - 4, 40)]  # longer than the window
    ids = torch.tensor([tok.vocab.eos_id] + tok.encode(" ".join(words)))
    out = cloze_report(causal, tok, " ".join(words), every=3, seed=1)
    pos = cloze_positions(len(ids), 3, 1)
    hits = []
    with torch.no_grad():
        for i in pos:
            window = ids[max(0, i - BLOCK) : i][None]
            hits.append(int(causal(window)[0][0, -1].argmax()) == int(ids[i]))
    assert out["positions"] == len(pos) and out["top1"] == pytest.approx(float(np.mean(hits)))


def test_masked_loss_scores_the_chosen_positions_only():
    """The training loss (output layer at the chosen positions only) is the full logits' cross-entropy there."""
    mlm, _ = tiny_pair()
    ids = torch.randint(3, V, (4, BLOCK), generator=torch.Generator().manual_seed(6))
    inputs, targets = mask_tokens(ids, mlm.mask_id, (3, mlm.mask_id), torch.Generator().manual_seed(7))
    with torch.no_grad():
        logits, loss = mlm(inputs, targets)
        full, _ = mlm(inputs)
    chosen = targets != IGNORE
    assert logits.shape == (int(chosen.sum()), V + 1)
    expected = torch.nn.functional.cross_entropy(full.reshape(-1, V + 1), targets.reshape(-1), ignore_index=IGNORE)
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
