"""The recurrent cells' equations as our models compute them (torch's conventions), beside the lectures' forms.

One place for the notation of the RNN and gates pages, so the two never disagree.
"""
from __future__ import annotations

import streamlit as st

ELMAN = r"h_t=\tanh(W x_t+U h_{t-1}+b)"
OUTPUT = r"\hat y_t=\operatorname{softmax}(W_{\text{out}}\,h_t+b_{\text{out}})"
LSTM = (r"f_t,\,i_t,\,o_t=\sigma(W_\ast x_t+U_\ast h_{t-1}+b_\ast),\quad g_t=\tanh(W_g x_t+U_g h_{t-1}+b_g),"
        r"\quad c_t=f_t\odot c_{t-1}+i_t\odot g_t,\quad h_t=o_t\odot\tanh(c_t)")
GRU_GATES = r"z_t=\sigma(W_z x_t+U_z h_{t-1}+b_z),\quad r_t=\sigma(W_r x_t+U_r h_{t-1}+b_r)"
GRU_TORCH = (r"\text{ours (torch)}:\quad h_t=(1-z_t)\odot n_t+z_t\odot h_{t-1},\quad "
             r"n_t=\tanh\big(W_n x_t+b_n+r_t\odot(U_n h_{t-1}+b'_n)\big)")
GRU_LECTURE = (r"\text{lecture}:\quad h_t=(1-z_t)\odot h_{t-1}+z_t\odot\hat h_t,\quad "
               r"\hat h_t=\tanh\big(W_h x_t+U_h(r_t\odot h_{t-1})+b_h\big)")
GRU_NOTE = (
    "Torch's nn.GRU, and so our GRU, computes the first line; the lectures (decks 002 and 003) write the second. "
    "Our z_t is the lecture's 1 − z_t: here z_t is the share of h_{t−1} kept, there the share replaced by the "
    "candidate (our n_t, the lecture's ĥ_t). The reset gate also sits elsewhere: after U here, "
    "r_t ⊙ (U_n h_{t−1} + b′ₙ), before it in the lecture, U_h(r_t ⊙ h_{t−1}). b_z and b_r are torch's "
    "b_ih + b_hh; b_n and b′ₙ stay apart because r_t multiplies only b′ₙ (the two-bias caveat of deck 000)."
)
LSTM_NOTE = (
    "As in the lecture (deck 002), with ∗ ∈ {f, i, o}; g_t is the lecture's σ_c(W_c x_t + U_c h_{t−1} + b_c) "
    "(torch calls it g), and σ_c = σ_h = tanh. Each b is torch's b_ih + b_hh (it keeps two biases)."
)
NAMES_NOTE = (
    "Names: x_t is the word's embedding (deck 001's e_t = E x_t, where x_t is the one-hot word); W and U are "
    "deck 001's, deck 003's W_ih and W_hh (torch's weight_ih_l0 and weight_hh_l0); b is torch's b_ih + b_hh; "
    "W_out and b_out are deck 001's V or deck 003's W_ho and b_o; |V| is the number of words in the vocabulary. "
    "The lectures write σ for the non-linearity of h_t; ours is tanh."
)


def cell_equations(cell: str) -> None:
    """The cell's equations as our model computes them; for the GRU, the lecture's form beside it."""
    if cell == "rnn":
        st.latex(ELMAN)
    elif cell == "lstm":
        st.latex(LSTM)
        st.caption(LSTM_NOTE)
    else:
        st.latex(GRU_GATES)
        st.latex(GRU_TORCH)
        st.latex(GRU_LECTURE)
        st.caption(GRU_NOTE)
