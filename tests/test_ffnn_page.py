"""The neural LM & embeddings page: Bengio's walk-through equals the forward pass, the window is fixed, embedding
neighbours and analogies are plain cosine rankings (inputs excluded), word2vec learns, unknown words get a message."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from models import embeddings as cli
from models.checkpoint import read_manifest
from models.inputs import model_input
from models.readings.embeddings import (
    ANALOGY_FILE,
    N_SPECIALS,
    UnknownWord,
    analogy,
    embedding_map,
    embedding_table,
    neighbours,
    pair_cosines,
    read_analogies,
    score_analogies,
)
from models.readings.ffnn import edit_far_word, walk, window_cost
from models.registry import EMBEDDING_SPECS, LM_NAMES, TrainConfig, label, load
from models.word2vec import Word2Vec, Word2VecConfig
from models.word2vec_train import train_word2vec

from .apptest import figure, open_page, values
from .conftest import V, tiny_models, tiny_tokenizer, tiny_word

PAGE = "pages/views/ffnn.py"
SENTENCE = "the little dog saw a big red ball in the park and he ran to get it ."


def _tiny_text(n: int) -> str:
    return " ".join(tiny_word(i % (V - 3)) for i in range(n))


# ----- 1. the walk-through --------------------------------------------------------------------------------------

@pytest.mark.parametrize("position", [1, 2, 4, 7, None])
def test_walk_logits_equal_the_forward(position):
    model, tok = tiny_models()["ffnn"].eval(), tiny_tokenizer()
    text = _tiny_text(8)
    w = walk(model, tok, text, position)
    ids = torch.tensor([model_input(tok, text).ids])
    with torch.no_grad():
        logits = model(ids)[0][0] if position is not None else model.last_logits(ids)[None]
    want = logits[w.position - 1] if position is not None else logits[0]
    assert np.abs(w.logits - want.numpy()).max() < 1e-5
    assert w.x.shape == (model.config.k * model.config.n_embd,)
    # the one-hot vectors pick exactly the rows of C of the window's ids
    assert np.array_equal(w.rows, model.embed.weight.detach().numpy()[w.one_hot])


def test_shipped_walk_equals_forward_and_pads_with_eos():
    bundle = load("ffnn", "cpu")
    ids = torch.tensor([model_input(bundle.tokenizer, SENTENCE).ids])
    with torch.no_grad():
        logits = bundle.model(ids)[0][0]  # (T, V)
    for t in (1, 3, 9, ids.shape[1] - 1):
        w = walk(bundle.model, bundle.tokenizer, SENTENCE, t)
        assert np.abs(w.logits - logits[t - 1].numpy()).max() < 1e-5, t
    first = walk(bundle.model, bundle.tokenizer, SENTENCE, 1)
    assert first.context == ["<eos>"] * 4 and first.target == "the"
    probs = torch.softmax(torch.from_numpy(first.logits), -1).numpy()
    assert first.vocab_size == 5502 and np.allclose(first.top_probs, np.sort(probs)[::-1][:10], atol=1e-6)


def test_window_cost_counts_k_d_h():
    model = tiny_models()["ffnn"]
    cost = window_cost(model, (1, 4, 8))
    cfg = model.config
    assert list(cost.first_layer) == [k * cfg.n_embd * cfg.n_hidden for k in (1, 4, 8)]
    assert list(cost.one_hot_layer) == [k * V * cfg.n_hidden for k in (1, 4, 8)]
    # the real model's parameters: the k = 4 entry plus the rest
    assert cost.first_layer[1] + cost.rest == model.num_parameters()


# ----- 2. the fixed window ---------------------------------------------------------------------------------------

def test_edits_outside_the_window_leave_the_ffnn_unchanged_exactly():
    models, tok = tiny_models(), tiny_tokenizer()
    text = _tiny_text(10)  # ids: <eos> + 10 words; the prediction after the last word
    k = models["ffnn"].config.k
    for index in range(1, 11):
        edit = edit_far_word({n: m.eval() for n, m in models.items()}, tok, text, index, tiny_word(40))
        ffnn = edit.max_change[edit.names.index("ffnn")]
        if edit.distance > k:
            assert ffnn == 0.0, index  # exactly: the window never sees it
            assert edit.max_change[edit.names.index("lstm")] > 0
            assert edit.max_change[edit.names.index("transformer")] > 0
        else:
            assert ffnn > 0, index


def test_shipped_models_far_edit():
    tok = load("ffnn", "cpu").tokenizer
    models = {n: load(n, "cpu").model for n in ("ffnn", "lstm", "transformer")}
    edit = edit_far_word(models, tok, SENTENCE, 3, "cat")  # "dog" → "cat", far from the end
    assert edit.distance >= 5 and edit.edited[3] == "cat"
    changes = dict(zip(edit.names, edit.max_change, strict=True))
    assert changes["ffnn"] == 0.0 and changes["lstm"] > 1e-3 and changes["transformer"] > 1e-3


# ----- 3–5. embeddings --------------------------------------------------------------------------------------------

def _table(seed: int = 0) -> tuple[np.ndarray, list[str], dict[str, int]]:
    rng = np.random.default_rng(seed)
    itos = ["<pad>", "<unk>", "<eos>"] + [tiny_word(i) for i in range(60)]
    return rng.normal(size=(len(itos), 6)).astype(np.float32), itos, {w: i for i, w in enumerate(itos)}


def test_neighbours_equal_brute_force_cosine():
    table, itos, stoi = _table()
    for word in (tiny_word(0), tiny_word(17)):
        got = neighbours(table, itos, stoi, word, k=8)
        i = stoi[word]
        cos = {j: float(table[i] @ table[j] / np.linalg.norm(table[i]) / np.linalg.norm(table[j]))
               for j in range(N_SPECIALS, len(itos)) if j != i}
        want = sorted(cos, key=lambda j: -cos[j])[:8]
        assert got.words == [itos[j] for j in want]
        assert np.allclose(got.cosines, [cos[j] for j in want], atol=1e-6)


def test_analogies_exclude_their_inputs():
    table, itos, stoi = _table()
    a, b, c = tiny_word(1), tiny_word(2), tiny_word(3)
    table[stoi[c]] = table[stoi[a]] * 5  # c is the best match of a − b + c without the exclusion
    r = analogy(table, itos, stoi, a, b, c, k=len(itos))
    assert not {a, b, c} & set(r.words) and r.excluded == [a, b, c]
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    q = unit[stoi[a]] - unit[stoi[b]] + unit[stoi[c]]
    best = max((w for w in itos[N_SPECIALS:] if w not in (a, b, c)), key=lambda w: unit[stoi[w]] @ q)
    assert r.words[0] == best
    # the expected word's rank is counted however far down it lands
    last = r.words[-1]
    assert analogy(table, itos, stoi, a, b, c, k=3, expected=last).expected_rank == len(itos) - N_SPECIALS - 3
    # the file scorer: "a b c d" looks for d at b − a + c, also without a, b, c
    lines = [(b, a, c, r.words[0]), (b, a, c, a), ("zzz", a, b, c)]
    score = score_analogies(table, stoi, lines)
    assert (score.n, score.skipped, score.top1) == (2, 1, 0.5)


def test_pair_cosines_one_hot_is_identity_and_map_marks_the_sentence():
    table, itos, stoi = _table()
    tokens = [tiny_word(0), "<eos>", tiny_word(5), tiny_word(0), "unknownword", tiny_word(59)]
    pairs = pair_cosines(table, stoi, tokens)
    assert pairs.words == [tiny_word(0), tiny_word(5), tiny_word(59)]
    assert np.array_equal(pairs.one_hot, np.eye(3)) and np.allclose(np.diag(pairs.embedded), 1, atol=1e-6)
    m = embedding_map(table, itos, tokens, (("first", (tiny_word(1), tiny_word(58))),), n_words=20)
    assert m.words[:20] == itos[N_SPECIALS : N_SPECIALS + 20]
    assert set(m.words[20:]) == {tiny_word(58), tiny_word(59)}  # listed or typed words beyond the 20 still shown
    assert {w for w, s in zip(m.words, m.in_sentence, strict=True) if s} == {tiny_word(0), tiny_word(5), tiny_word(59)}
    assert m.category[m.words.index(tiny_word(1))] == "first" and m.xy.shape == (22, 2)


def test_unknown_words_get_a_clear_message(capsys):
    table, itos, stoi = _table()
    with pytest.raises(UnknownWord, match="'Dragonfly' is not in the 63-word vocabulary"):
        neighbours(table, itos, stoi, "Dragonfly")
    with pytest.raises(UnknownWord, match="not in the"):
        analogy(table, itos, stoi, tiny_word(0), "<eos>", tiny_word(1))  # specials are not words to compare
    assert cli.main(["lstm", "--neighbours", "qwertyuiop"]) == 2
    assert "'qwertyuiop' is not in the 5,502-word vocabulary" in capsys.readouterr().err


# ----- word2vec ----------------------------------------------------------------------------------------------------

def test_word2vec_loss_decreases_on_a_tiny_corpus():
    config = Word2VecConfig(vocab_size=V, n_embd=8, window=2, negatives=3, subsample=1.0)
    stream = torch.arange(3, 13).repeat(200)  # a repeating sequence: each word has fixed neighbours
    torch.manual_seed(0)
    model = Word2Vec(config)
    cfg = TrainConfig(batch_size=64, lr=3e-2, warmup=5, max_steps=150, eval_every=50, eval_tokens=256,
                      weight_decay=0.0, grad_clip=0.0)
    initial = (1 + config.negatives) * math.log(2)  # zero context vectors: σ(0) = 1/2 for every pair
    result = train_word2vec(model, stream, stream[:400], cfg, torch.device("cpu"), progress=False)
    assert result.best_valid_loss < 0.6 * initial
    # words that share neighbours end up closer than words that do not
    unit = model.embed.weight.detach().numpy()
    unit = unit / np.linalg.norm(unit, axis=1, keepdims=True)
    assert unit[5] @ unit[6] > unit[5] @ unit[40]  # 40 never occurs: its vector stays at its small random start


def test_word2vec_is_not_a_language_model_but_has_a_label():
    assert "word2vec" in EMBEDDING_SPECS and "word2vec" not in LM_NAMES
    assert label("word2vec") != "word2vec"


def test_shipped_word2vec_reproduces_its_analogy_scores():
    entry = read_manifest()["word2vec"]
    assert entry["bytes"] <= 5_000_000
    bundle = load("word2vec", "cpu")
    table = embedding_table(bundle.model)
    score = score_analogies(table, bundle.tokenizer.vocab.stoi, read_analogies(ANALOGY_FILE))
    assert score.top1 == entry["analogies"]["top1"] and score.top5 == entry["analogies"]["top5"]
    assert bundle.tokenizer.vocab.itos == load("ffnn", "cpu").tokenizer.vocab.itos  # the shared vocabulary


def test_cli_analogies_prints_json(tmp_path, capsys):
    path = tmp_path / "a.txt"
    path.write_text("# comment\nman king woman queen\nboy girl zzzqqq xxyyzz\n\nhe she him her\n")
    assert cli.main(["ffnn", "--analogies", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"n", "skipped", "top1", "top5"} and (out["n"], out["skipped"]) == (2, 1)


# ----- the page ----------------------------------------------------------------------------------------------------

def test_page_position_slider_moves_the_walk():
    at = open_page(PAGE, SENTENCE)
    before = values(figure(at, "ffnn_walk")["data"][2]["y"])
    at.slider(key="ffnn_position").set_value(2).run()
    assert not at.exception
    after = values(figure(at, "ffnn_walk")["data"][2]["y"])
    assert not np.allclose(before, after)
    bundle = load("ffnn", "cpu")
    want = walk(bundle.model, bundle.tokenizer, SENTENCE, 3)  # after word 2 = token 3 of <eos> + the sentence
    assert np.allclose(after, want.top_probs, atol=1e-6)


def test_page_far_edit_and_unknown_words():
    at = open_page(PAGE, SENTENCE)
    edit = figure(at, "ffnn_edit")["data"][0]
    assert values(edit["y"])[0] == 0.0 and (values(edit["y"])[1:] > 0).all()  # ffnn 0, lstm and transformer move
    at.text_input(key="emb_word").set_value("Zqxv").run()
    assert not at.exception
    assert any("'Zqxv' is not in the 5,502-word vocabulary" in w.value for w in at.warning)
    at.text_input(key="emb_a").set_value("blorp").run()
    assert any("'blorp' is not in the" in w.value for w in at.warning)


def test_page_neighbours_follow_the_model():
    at = open_page(PAGE, SENTENCE)
    at.text_input(key="emb_word").set_value("happy").run()
    first = figure(at, "emb_neighbours")["data"][0]["y"]
    at.selectbox(key="emb_model").select("transformer").run()
    fig = figure(at, "emb_neighbours")["data"][0]
    bundle = load("transformer", "cpu")
    want = neighbours(embedding_table(bundle.model), bundle.tokenizer.vocab.itos, bundle.tokenizer.vocab.stoi,
                      "happy", 10)
    assert list(fig["y"]) == want.words and list(first) != want.words


def test_page_scores_every_model_on_the_analogy_list():
    at = open_page(PAGE, SENTENCE)
    table = next(d.value for d in at.dataframe if "top-5" in d.value.columns)
    row = table[table["model"] == label("word2vec")].iloc[0]
    entry = read_manifest()["word2vec"]["analogies"]
    assert (row["analogies"], row["top-1"], row["top-5"]) == (entry["n"], entry["top1"], entry["top5"])
    assert len(table) == 6  # word2vec and the five neural LMs
