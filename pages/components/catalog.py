"""The course map: every page in lecture order, with its topic, models and test file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class PageInfo:
    """One page of the app (it appears in the navigation once its file exists)."""

    path: str  # relative to the repository root
    title: str
    icon: str
    topic: str  # the lecture topic it teaches
    models: str  # which zoo models it runs
    test: str  # where it is tested beyond the shared AppTest and browser tests
    main_control: str = ""  # widget key the shared AppTest changes to check the figure follows it

    @property
    def built(self) -> bool:
        return (ROOT / self.path).exists()


CATALOG: tuple[PageInfo, ...] = (
    PageInfo("pages/views/home.py", "Home: the chain rule", ":material/link:",
             "P(w₁..w_T) = ∏ p(w_t | w_<t), <eos>, perplexity", "all seven LMs", "tests/test_home.py", "home_model"),
    PageInfo("pages/views/ngram.py", "N-gram counts", ":material/table:",
             "counts, sparsity, add-α, interpolation, Kneser–Ney", "ngram", "tests/test_ngram_page.py",
             "ng_l1"),
    PageInfo("pages/views/ffnn.py", "Neural LM & embeddings", ":material/hub:",
             "Bengio 2003 fixed window, embeddings, word2vec", "ffnn, word2vec, all embedding tables",
             "tests/test_ffnn_page.py", "emb_model"),
    PageInfo("pages/views/rnn.py", "RNN hidden states", ":material/repeat:",
             "h_t = tanh(W x_t + U h_{t−1} + b), teacher forcing", "rnn, lstm, gru", "tests/test_rnn_page.py",
             "rnn_model"),
    PageInfo("pages/views/rnn_gates.py", "LSTM & GRU gates", ":material/tune:",
             "gates, cell state as a highway", "lstm, gru", "tests/test_rnn_gates_page.py", "lstm_gate"),
    PageInfo("pages/views/rnn_gradients.py", "Vanishing gradients", ":material/trending_down:",
             "∂h_t/∂h_k = ∏ ∂h_j/∂h_{j−1}, clipping", "rnn, lstm, gru", "tests/test_rnn_gradients_page.py",
             "grad_w"),
    PageInfo("pages/views/seq2seq.py", "Seq2seq & attention", ":material/translate:",
             "encoder–decoder, α = softmax(e), c = Σ α h", "seq2seq dates, eng→fra", "tests/test_seq2seq_page.py",
             "s2s_model"),
    PageInfo("pages/views/transformer.py", "Transformer", ":material/view_comfy:",
             "softmax(QKᵀ/√d_k) V, heads, causal mask, positions", "transformer", "tests/test_transformer_page.py",
             "tf_head"),
    PageInfo("pages/views/masked.py", "Masked LM & bidirectional models", ":material/swap_horiz:",
             "p(x_i | x̂) vs p(x_t | x_<t), BERT's 80/10/10, cloze probes, bidirectional and stacked RNNs",
             "mlm, transformer, lstm, lstm2, seq2seq eng→fra", "tests/test_masked_page.py", "mlm_word"),
    PageInfo("pages/views/sampling.py", "Sampling", ":material/casino:",
             "greedy, temperature, top-k, top-p, beam", "all seven LMs", "tests/test_sampling_page.py", "smp_k"),
    PageInfo("pages/views/compare.py", "Compare models", ":material/leaderboard:",
             "perplexity ladder, surprisal per token, loss by position", "all seven LMs", "tests/test_compare_page.py",
             "cmp_model"),
    PageInfo("pages/views/train.py", "Train a model", ":material/model_training:",
             "Φ ← Φ − η∇L: loss falling, attention forming, overfitting, early stopping",
             "fresh tiny seq2seq, RNN, LSTM, transformer (stories by transformer)", "tests/test_train_page.py",
             "trn_seed"),
)


def built_pages() -> list[PageInfo]:
    """The pages that exist, in lecture order (the navigation lists exactly these)."""
    return [p for p in CATALOG if p.built]


def markdown_table() -> str:
    """The README's table: page, lecture topic, models, tests (built pages only)."""
    rows = ["| page | lecture topic | models | tests |", "| --- | --- | --- | --- |"]
    for p in built_pages():
        topic = p.topic.replace("|", "\\|").replace("<", "&lt;")
        rows.append(f"| {p.title} (`{p.path}`) | {topic} | {p.models} | `{p.test}`, `tests/test_app.py`, "
                    f"`tests/e2e/test_browser.py` |")
    return "\n".join(rows)
