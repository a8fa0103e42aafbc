"""Recurrent LMs: Elman RNN, LSTM and GRU (one layer, or a stack), with hand-written cells for tracing.

``forward`` runs torch's fused ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``; ``trace`` replays the same
weights through the cells below, written out equation by equation, so every gate can be shown.
In a stack, layer l + 1 reads layer l's hidden states h_t^(l) as its input x_t (deck 003, stacked RNNs).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .lm import Cache, RecurrentLanguageModel, lm_loss

CELLS = ("rnn", "lstm", "gru")
GATES = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


@dataclass(frozen=True)
class RNNConfig:
    """Sizes of a recurrent LM (``n_layer`` > 1: a stacked RNN)."""

    vocab_size: int
    cell: str = "lstm"  # one of CELLS
    n_embd: int = 128
    n_hidden: int = 256
    dropout: float = 0.2
    n_layer: int = 1


@dataclass
class RNNTrace:
    """Every hidden state and gate of one pass (LSTM: i, f, g, o and c; GRU: r, z, n); h, c, gates of the top layer."""

    embeddings: torch.Tensor  # (B, T, E)
    h: torch.Tensor  # (B, T, H)
    c: torch.Tensor | None  # (B, T, H) LSTM cell state, else None
    gates: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> (B, T, H)
    logits: torch.Tensor | None = None  # (B, T, V)
    layers: torch.Tensor | None = None  # (B, L, T, H) every layer's h, bottom first
    cells: torch.Tensor | None = None  # (B, L, T, H) every layer's c (LSTM), else None


def elman_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """h_t = tanh(W x_t + U h_{t−1} + b) (Elman 1990)."""
    h_new = torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
    return h_new, {}


def lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh):
    """i, f, o = σ(·), g = tanh(·); c_t = f ⊙ c_{t−1} + i ⊙ g; h_t = o ⊙ tanh(c_t) (Hochreiter & Schmidhuber 1997)."""
    h, c = state
    pre = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # (B, 4H) in torch's order i, f, g, o
    i, f, g, o = pre.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_new = f * c + i * g
    h_new = o * torch.tanh(c_new)
    return (h_new, c_new), {"i": i, "f": f, "g": g, "o": o}


def gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """r, z = σ(·); n = tanh(W_n x + r ⊙ (U_n h + b)); h_t = (1 − z) ⊙ n + z ⊙ h_{t−1} (Cho et al. 2014)."""
    gx = x @ w_ih.T + b_ih  # (B, 3H) in torch's order r, z, n
    gh = h @ w_hh.T + b_hh
    xr, xz, xn = gx.chunk(3, dim=-1)
    hr, hz, hn = gh.chunk(3, dim=-1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    h_new = (1 - z) * n + z * h
    return h_new, {"r": r, "z": z, "n": n}


_CELL_FN = {"rnn": elman_cell, "lstm": lstm_cell, "gru": gru_cell}
_TORCH_RNN = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentLM(RecurrentLanguageModel):
    """Embedding -> ``n_layer`` recurrent layers -> linear head; the state carries the whole past."""

    def __init__(self, config: RNNConfig) -> None:
        super().__init__()
        if config.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}")
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.n_embd)
        # torch applies this dropout between stacked layers only (none after the last).
        between = config.dropout if config.n_layer > 1 else 0.0
        self.rnn = _TORCH_RNN[config.cell](config.n_embd, config.n_hidden, num_layers=config.n_layer,
                                           batch_first=True, dropout=between)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.n_hidden, config.vocab_size)

    def initial_state(self, batch: int, device=None):
        """Zero state: h (and c for the LSTM), shaped as torch's modules expect (L, B, H)."""
        z = torch.zeros(self.config.n_layer, batch, self.config.n_hidden, device=device)
        return (z, z.clone()) if self.config.cell == "lstm" else z

    def _states(self, idx: torch.Tensor, state):
        """Hidden states (B, T, H) for idx (B, T) starting from ``state``, and the final state."""
        return self.rnn(self.drop(self.embed(idx)), state)

    def run(self, idx: torch.Tensor, state=None):
        """Logits for idx (B, T) starting from ``state``; returns (logits, final state) for carrying on."""
        out, state = self._states(idx, state)  # (B, T, H)
        return self.head(self.drop(out)), state

    def _last(self, idx: torch.Tensor, state) -> tuple[torch.Tensor, Cache]:
        """Logits (B, V) of the token after idx (B, T) read from ``state``, and the state after it."""
        out, state = self._states(idx, state)  # (B, T, H)
        return self.head(self.drop(out[:, -1])), state

    @torch.no_grad()
    def begin(self, ids: torch.Tensor) -> tuple[torch.Tensor, Cache]:
        """Read the whole prompt ids (B, T): the state summarises it, so the cache is the state alone."""
        return self._last(ids, None)

    @torch.no_grad()
    def extend(self, cache: Cache, nxt: torch.Tensor) -> tuple[torch.Tensor, Cache]:
        """One step of the recurrence from the carried state, for nxt (B,)."""
        return self._last(nxt[:, None], cache)

    def reorder(self, cache: Cache, rows: torch.Tensor) -> Cache:
        """The state of rows ``rows`` (K,); torch's states are (L, B, H), batch second."""
        return tuple(s[:, rows] for s in cache) if self.config.cell == "lstm" else cache[:, rows]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits, _ = self.run(idx)
        return logits, lm_loss(logits, targets)

    def _weights(self, layer: int = 0):
        r = self.rnn
        return tuple(getattr(r, f"{w}_l{layer}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def cell_step(self, x: torch.Tensor, state, layer: int = 0):
        """One step of the hand-written cell of ``layer``: (x_t (B, E or H), state) -> (state_t, gates)."""
        return _CELL_FN[self.config.cell](x, state, *self._weights(layer))

    def _zero(self, batch: int, device):
        z = torch.zeros(batch, self.config.n_hidden, device=device)
        return (z, z.clone()) if self.config.cell == "lstm" else z

    @torch.no_grad()
    def trace_layer(self, x: torch.Tensor, layer: int = 0):
        """Step ``layer``'s hand-written cell through its inputs x (B, T, E or H): h, c (LSTM, else None), gates."""
        state = self._zero(x.size(0), x.device)
        hs, cs, gates = [], [], {g: [] for g in GATES[self.config.cell]}
        for t in range(x.size(1)):
            state, g = self.cell_step(x[:, t], state, layer)
            hs.append(state[0] if self.config.cell == "lstm" else state)
            if self.config.cell == "lstm":
                cs.append(state[1])
            for name, val in g.items():
                gates[name].append(val)
        c = torch.stack(cs, 1) if cs else None  # (B, T, H)
        return torch.stack(hs, 1), c, {k: torch.stack(v, 1) for k, v in gates.items()}

    @torch.no_grad()
    def trace(self, idx: torch.Tensor) -> RNNTrace:
        """Every h_t, c_t and gate, stepping the hand-written cells through idx (B, T), layer by layer."""
        emb = self.embed(idx)  # (B, T, E)
        x, hs, cs = emb, [], []
        for layer in range(self.config.n_layer):
            # Layer l + 1's input is layer l's output (eval mode: no dropout between them).
            x, c, gates = self.trace_layer(x, layer)
            hs.append(x)
            cs.append(c)
        return RNNTrace(
            embeddings=emb,
            h=x,
            c=cs[-1],
            gates=gates,
            logits=self.head(x),
            layers=torch.stack(hs, 1),  # (B, L, T, H)
            cells=torch.stack(cs, 1) if cs[-1] is not None else None,
        )

    def step_jacobians(self, idx: torch.Tensor) -> torch.Tensor:
        """∂s_t/∂s_{t−1} for every step of one sequence idx (T,) or (1, T): (T, S, S).

        s is the full recurrent state: h for the RNN and GRU, [h; c] (S = 2H) for the LSTM.
        Autograd on the state only (``torch.func.jacrev``), so the shared model is never mutated.
        """
        if self.config.n_layer != 1:
            raise ValueError("step Jacobians are defined here for a one-layer RNN")
        idx = idx.reshape(1, -1)
        H = self.config.n_hidden
        lstm = self.config.cell == "lstm"
        with torch.no_grad():
            emb = self.embed(idx)[0]  # (T, E)
            tr = self.trace(idx)
        states = torch.cat([tr.h[0], tr.c[0]], -1) if lstm else tr.h[0]  # (T, S)
        prev = torch.cat([torch.zeros_like(states[:1]), states[:-1]], 0)  # s_{t-1}, (T, S)

        def step(s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            st = (s[:H].unsqueeze(0), s[H:].unsqueeze(0)) if lstm else s.unsqueeze(0)
            new, _ = self.cell_step(x.unsqueeze(0), st)
            return torch.cat([new[0], new[1]], -1)[0] if lstm else new[0]

        jac = torch.func.vmap(torch.func.jacrev(step), in_dims=(0, 0))
        return jac(prev, emb).detach()  # (T, S, S)
