"""Train a model: gradient descent live — attention forming on dates, an LM learning the student's text, a race."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from models.fit import fit
from models.live_record import LiveView
from models.live_text import LEVELS, LMData, check_upload, prepare, sample_stories
from models.live_train import (
    ARCHITECTURES,
    FIXED_DATE,
    DatesData,
    DatesJob,
    DatesSetup,
    LMJob,
    LMSetup,
    dates_data,
    tiny_lm,
    tiny_seq2seq,
)
from models.readings.training import SentenceLoss, alignment, sentence_loss
from models.scheduler import Run, Scheduler
from pages.components.loaders import figure_cache, get_model, reading_cache, shared_data
from pages.components.seq2seq_charts import alignment_figure
from pages.components.train_charts import loss_figure, metric_figure, replay_figure, sentence_figure
from pages.components.training import POLL_S, my_run, server_status, show_status, start, stop
from pages.components.widgets import chart, say, shared_sentence, show_source, table_with_csv, try_this

PATIENCE = 3  # evaluations without a lower valid loss before early stopping would stop
STORIES, PASTE, UPLOAD = "stories our transformer writes", "paste a text", "upload a .txt file"

TRY_THIS = (
    "Before starting section 1: at step 0, is the alignment of the fixed date near-uniform or already diagonal? "
    "After how many steps do the year's four digits look at the year?",
    "Without attention (`none`) the model trains for the same seconds. Does it reach the same exact match? Why not: "
    "what must its one vector c carry?",
    "In section 2, train an LSTM on the default stories for 45 s at character level. When does the valid loss start "
    "to rise while the train loss keeps falling? What do the samples look like at that point?",
    "Switch to word level: the vocabulary is larger and each word is seen fewer times. Does overfitting come sooner "
    "or later?",
    "In section 3, which architecture is ahead after 5 s? After 15 s? Is the one with the lowest train loss also the "
    "one with the lowest valid loss?",
)


@shared_data
def shared_dates() -> DatesData:
    """8,000 generated training dates, 100 for the valid loss, 100 fresh ones for exact match (once per server)."""
    return dates_data()


@reading_cache
def default_stories() -> str:
    """Sixteen short stories written by our shipped transformer (once per server; never the training data)."""
    bundle = get_model("transformer").bundle
    return sample_stories(bundle.model, bundle.tokenizer, stories=16, tokens=200, seed=0) if bundle else ""


@shared_data
def lm_data(text: str, level: str) -> tuple[LMData | None, str]:
    """The text tokenized and split, or why it cannot be used."""
    try:
        return prepare(text, level), ""
    except ValueError as err:
        return None, str(err)


@reading_cache
def fresh_alignment(seed: int) -> np.ndarray:
    """α of the fixed date under an untrained additive-attention model drawn from ``seed``."""
    return alignment(tiny_seq2seq(shared_dates().pairs, "additive", seed), *FIXED_DATE)


@reading_cache
def fresh_sentence(text: str, level: str, architecture: str, seed: int, sentence: str) -> SentenceLoss:
    """The student's sentence under the untrained model that a run would start from."""
    data, _ = lm_data(text, level)
    return sentence_loss(tiny_lm(architecture, len(data.tokenizer), seed), data.tokenizer, sentence, "untrained")


@figure_cache
def fresh_alignment_figure(seed: int):
    return alignment_figure(fresh_alignment(seed), shared_dates().source_tokens, [*FIXED_DATE[1], "<eos>"],
                            f"α before training (seed {seed})")


def introduction() -> None:
    st.title("Train a model")
    st.latex(r"\Phi^{*}=\arg\min_{\Phi}\;\mathbb{E}_{y}\big[-\ln P_{\Phi}(y)\big],\qquad "
             r"\Phi \leftarrow \Phi-\eta\,\nabla_{\Phi}\Big(-\tfrac{1}{|B|}\textstyle\sum_{y\in B}\ln P_{\Phi}(y)\Big)")
    st.write("Every other page shows a model that is already trained. Here you watch the training itself: models with "
             "random weights take one gradient step per mini-batch B of examples, and their loss (the average "
             "−ln P of the right answer, in nats) falls. Our loop (the same `fit` that trained every model of the "
             "app) uses AdamW, which scales each weight's step by a running estimate of its gradient's size, rather "
             "than the plain step −η∇ written above; it also clips the gradient's norm at 1.")
    st.caption(server_status() + " One run per student: starting a new run stops your previous one, and closing "
                                 "the tab stops it too.")


def controls(kind: str, make_job, budget_s: float, live: bool, ready: bool = True) -> Run | None:
    """Start and stop buttons, the progress bar, and the switch between polling and still drawing."""
    left, right, _ = st.columns([1, 1, 4])
    if left.button("▶ Start", key=f"trn_{kind}_start", type="primary", disabled=not ready):
        start(make_job(), budget_s)
        st.rerun()
    run = my_run(kind)
    if right.button("■ Stop", key=f"trn_{kind}_stop", disabled=run is None or not run.active) and run is not None:
        stop(run)
    if run is None:
        return None
    show_status(run)
    if live != run.active:
        st.rerun()  # start polling, or stop polling once the run has ended
    return run


def _curves(view: LiveView, x: str = "steps"):
    """(train, valid) series per model, against steps or seconds."""
    train, valid = {}, {}
    for name, c in view.curves.items():
        train[name] = (c.seconds if x == "seconds" else c.steps, c.train)
        vx = c.valid_steps if x == "steps" else np.interp(c.valid_steps, c.steps, c.seconds) if len(c.steps) else []
        valid[name] = (vx, c.valid)
    return train, valid


def dates_body(live: bool) -> None:
    """Section 1: a dates → ISO seq2seq with additive attention learns from scratch; then `none`, same seconds."""
    st.subheader("1. Watch attention being learned")
    st.latex(r"e_{ij}=\mathrm{NN}_{W_a}(h^D_{i-1},h^E_j)=v^{\top}\tanh(W h^D_{i-1}+U h^E_j),\qquad "
             r"\alpha_{ij}=\frac{\exp e_{ij}}{\sum_k \exp e_{ik}},\qquad c_i=\sum_j \alpha_{ij} h^E_j")
    st.write(f"A small encoder–decoder (bidirectional GRU, 32 units a direction) learns to turn written dates into ISO "
             f"dates, from random weights, on dates our code generates. Every few steps it is tested on 100 fresh "
             f"dates (exact match), and the alignment α of one fixed input, “{FIXED_DATE[0]}”, is drawn with the "
             f"decoder fed the correct output (teacher forcing, as in training): each row is one output character, "
             f"each column a source character, brighter = more attention (0 black, 1 white, as in Bahdanau et al.'s "
             f"Fig. 3).")
    seed = st.session_state.get("trn_seed", 0)
    c1, c2, c3 = st.columns(3)
    seconds = c1.slider("seconds per model", 5, 30, 15, key="trn_dates_s")
    every = c2.select_slider("redraw every N steps", [10, 25, 50], value=25, key="trn_dates_every")
    compare = c3.toggle("then `none` with the same seconds", value=True, key="trn_dates_none")
    attentions = ("additive", "none") if compare else ("additive",)
    run = controls("dates", lambda: DatesJob(DatesSetup(attentions, seed, float(seconds), every), shared_dates()),
                   seconds * len(attentions), live)
    if run is None:
        chart(fresh_alignment_figure(seed), key="trn_align")
        st.caption("Untrained: every source character gets about the same weight. Press Start.")
        alignment_numbers(fresh_alignment(seed), shared_dates().source_tokens, [*FIXED_DATE[1], "<eos>"], 0)
        return
    draw_dates(run.work.view(), live)


def draw_dates(view: LiveView, live: bool) -> None:
    """Loss, exact match, and the alignment (the latest while training; any stored step afterwards)."""
    if not view.frames:
        st.info("Preparing the first step…")
        return
    train, valid = _curves(view)
    left, right = st.columns(2)
    chart(loss_figure(train, valid, "training loss (line) and valid loss (dashed)", "step"),
          key="trn_dates_loss", where=left)
    by_model: dict[str, tuple[list, list]] = {}
    for f in view.frames:
        by_model.setdefault(f.model, ([], []))
        by_model[f.model][0].append(f.step)
        by_model[f.model][1].append(f.exact_match)
    chart(metric_figure({k: (np.array(a), np.array(b)) for k, (a, b) in by_model.items()},
          "exact match on 100 fresh dates (greedy)", "share exactly right"),
          key="trn_dates_exact", where=right)
    frames = [f for f in view.frames if f.alpha is not None]
    if not frames:
        return
    shown = frames[-1]
    title = f"α of “{FIXED_DATE[0]}” at step {{step}}"
    if live or len(frames) == 1:
        fig = alignment_figure(shown.alpha, view.source_tokens, view.target_tokens, title.format(step=shown.step))
    else:
        fig = replay_figure([f.alpha for f in frames], [f.step for f in frames], view.source_tokens,
                            view.target_tokens, title)
        st.caption("Replay: press ▶ or drag the step slider under the heatmap (it plays in your browser).")
    chart(fig, key="trn_align")
    say("Step <b>{step}</b>: exact match {em} on fresh dates, valid loss {loss} nats. The brightest cell of each row "
        "is where that output character looks.", step=shown.step, em=f"{shown.exact_match:.0%}",
        loss=f"{shown.valid_loss:.3f}")
    alignment_numbers(shown.alpha, view.source_tokens, view.target_tokens, shown.step, frames)


def alignment_numbers(alpha: np.ndarray, source, target, step: int, frames=()) -> None:
    """The α table behind the heatmap, with a CSV download (and one of every stored step)."""
    columns = [f"{j + 1}. {t}" for j, t in enumerate(source)]
    rows = [f"{i + 1}. {t}" for i, t in enumerate(target)]
    with st.expander("The numbers behind the heatmap"):
        table = pd.DataFrame(alpha, columns=columns)
        table.insert(0, "output", rows)
        table_with_csv(table, f"alignment_step_{step}.csv", key="trn_align_csv")
        if len(frames) > 1:
            every = pd.concat([pd.DataFrame(f.alpha, columns=columns).assign(step=f.step, output=rows)
                               for f in frames])
            st.download_button("Download every stored step (CSV)", every.to_csv(index=False).encode(),
                               file_name="alignment_every_step.csv", mime="text/csv", key="trn_align_all_csv")


dates_live = st.fragment(run_every=POLL_S)(dates_body)
dates_still = st.fragment(dates_body)


def choose_text() -> tuple[LMData | None, str]:
    """The text of sections 2 and 3 (our stories, a pasted text or an upload) at the chosen level, and the text."""
    st.subheader("The text for sections 2 and 3")
    source = st.radio("Text", [STORIES, PASTE, UPLOAD], horizontal=True, key="trn_source")
    level = st.radio("Tokens", LEVELS, horizontal=True, key="trn_level",
                     format_func=lambda v: {"char": "characters", "word": "words"}[v])
    if source == STORIES:
        with st.spinner("Our transformer is writing the stories (once per server)…"):
            text = default_stories()
        if not text:
            st.warning("The transformer's checkpoint is missing, so there are no stories: paste or upload a text.")
            return None, ""
        with st.expander("Read the stories (written by our transformer, not taken from its training data)"):
            st.text(text[:5000])
    elif source == PASTE:
        text = st.text_area("Your text (a few paragraphs at least)", key="trn_paste", height=150)
        if not text.strip():
            st.info("Paste a text into the box: a few thousand characters at least.")
            return None, ""
    else:
        upload = st.file_uploader("A .txt file, up to 1 MB", type=["txt"], key="trn_upload")
        if upload is None:
            st.info("Choose a .txt file (UTF-8 plain text, up to 1 MB).")
            return None, ""
        checked = check_upload(upload.getvalue())
        if checked.message:
            st.warning(checked.message)
            return None, ""
        text = checked.text
    data, message = lm_data(text, level)
    if message:
        st.warning(message)
        return None, ""
    st.caption(f"{data.chars:,} characters: {len(data.train):,} training and {len(data.valid):,} validation tokens "
               f"(the last 10%), a vocabulary of {len(data.tokenizer):,} {level} types.")
    return data, text


def lm_body(live: bool, data: LMData | None, text: str, sentence: str) -> None:
    """Section 2: one tiny LM learns the text; train and valid loss, samples, the student's sentence."""
    st.subheader("2. A language model learns your text")
    st.write("Train loss is measured on the batch the model just learned from; valid loss on the last 10% of the "
             "text, which it never trains on. When the model starts to memorise the training part, the train loss "
             "keeps falling while the valid loss turns up: that is overfitting. Early stopping keeps the weights "
             f"with the lowest valid loss and stops after {PATIENCE} validations without a new low; both points are "
             "marked (the run goes on, so you can see what it would have prevented). Samples are drawn from a new "
             "text at temperature 1 with the same random numbers every time, so only the model changes.")
    seed = st.session_state.get("trn_seed", 0)
    c1, c2, c3 = st.columns(3)
    arch = c1.selectbox("model", ARCHITECTURES, index=1, key="trn_arch",
                        format_func=lambda a: {"rnn": "Elman RNN", "lstm": "LSTM", "transformer": "transformer"}[a])
    seconds = c2.slider("seconds", 5, 60, 45, key="trn_lm_s")
    every = c3.select_slider("validate and sample every N steps", [25, 50, 100], value=50, key="trn_lm_every")
    run = controls("lm", lambda: LMJob(LMSetup((arch,), sentence, seed, float(seconds), every), data),
                   seconds, live, ready=data is not None)
    if run is None:
        if data is not None and sentence:
            before = fresh_sentence(text, data.level, arch, seed, sentence)
            chart(sentence_figure(before.tokens, {"untrained": before.nll},
                  "your sentence (sidebar) under the untrained model"),
                  key="trn_sentence")
            st.caption(f"Untrained, every token costs about ln V = ln {len(data.tokenizer)} = "
                       f"{np.log(len(data.tokenizer)):.2f} nats. Press Start and watch the bars fall.")
        return
    draw_lm(run.work.view(), live)


def draw_lm(view: LiveView, live: bool) -> None:
    """Loss curves with the early-stopping marks, the sentence's losses, and the samples."""
    if not view.first_loss:
        st.info("Preparing the first step…")
        return
    train, valid = _curves(view)
    marks = {name: c.early_stop(PATIENCE) for name, c in view.curves.items()}
    chart(loss_figure(train, valid, "training loss (line) and valid loss (dashed)", "step", marks),
          key="trn_lm_loss")
    for name, (best, stopped) in marks.items():
        if stopped is not None:
            say("{name}: the valid loss was lowest at step <b>{best}</b>; early stopping would have stopped at step "
                "<b>{stop}</b> and kept the weights of step {best}.", name=name, best=best, stop=stopped)
    if view.sentence:
        first, last = view.sentence[0], view.sentence[-1]
        chart(sentence_figure(last.tokens, {"untrained": first.nll, f"step {last.step}": last.nll},
              "your sentence (sidebar): −log p of each token"),
              key="trn_sentence")
    latest = view.samples[-1]
    say("<b>Sample at step {step}</b>:", step=latest.step)
    st.text(latest.text)
    if live:
        return  # the table of every sample comes once the run has ended: polling redraws stay light
    with st.expander("Every sample, step by step"):
        table_with_csv(pd.DataFrame({"model": [s.model for s in view.samples], "step": [s.step for s in view.samples],
                                     "sample": [s.text for s in view.samples]}), "samples.csv", key="trn_samples_csv")


lm_live = st.fragment(run_every=POLL_S)(lm_body)
lm_still = st.fragment(lm_body)


def race_body(live: bool, data: LMData | None) -> None:
    """Section 3: RNN, LSTM and transformer, the same seconds each on the same text, curves on one chart."""
    st.subheader("3. Same budget, different architectures")
    st.write("The Elman RNN, the LSTM and the transformer each train for the same number of seconds on the same text "
             "(one after the other, so they never compete for the processor). The x-axis is time, not steps: a step "
             "of one costs more than a step of another, and the budget is what a student has.")
    seed = st.session_state.get("trn_seed", 0)
    seconds = st.slider("seconds per architecture", 5, 20, 15, key="trn_race_s")
    run = controls("race", lambda: LMJob(LMSetup(ARCHITECTURES, "", seed, float(seconds), 50), data, kind="race"),
                   seconds * len(ARCHITECTURES), live, ready=data is not None)
    if run is None:
        return
    view = run.work.view()
    if not view.first_loss:
        return
    train, valid = _curves(view, "seconds")
    chart(loss_figure(train, valid, "training loss (line) and valid loss (dashed) against time",
          "seconds since that model started"), key="trn_race")
    rows = [{"model": name, "steps": len(c.steps),
             "last train loss (mean of 10)": round(float(c.train[-10:].mean()), 3),
             "best valid loss": round(float(c.valid.min()), 3) if len(c.valid) else None}
            for name, c in view.curves.items()]
    table_with_csv(pd.DataFrame(rows), "race.csv", key="trn_race_csv")


race_live = st.fragment(run_every=POLL_S)(race_body)
race_still = st.fragment(race_body)


def active(kind: str) -> bool:
    run = my_run(kind)
    return run is not None and run.active


introduction()
st.slider("seed (initial weights and the order of the examples, for every run below)", 0, 9, 0, key="trn_seed")
(dates_live if active("dates") else dates_still)(active("dates"))
data, text = choose_text()
(lm_live if active("lm") else lm_still)(active("lm"), data, text, shared_sentence().text)
(race_live if active("race") else race_still)(active("race"), data)
try_this(*TRY_THIS)
show_source(fit, DatesJob.__call__, LMJob.__call__, alignment, sentence_loss, Scheduler.submit, Run.should_stop)
