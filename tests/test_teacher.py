"""For the teacher, without a browser (Streamlit AppTest): lesson links, presenter mode, exports, class mode."""
from __future__ import annotations

import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from models.evaluate import chain_rule
from models.registry import label, load
from pages.components import classroom, links, palette, presenter
from pages.components.catalog import ROOT, built_pages
from pages.components.loaders import class_store
from pages.components.plotting import figure_table
from pages.components.text import MAX_CHARS
from serve.store import SQLiteClassStore

from .apptest import _router, figure
from .apptest import values as plot_values

VIEWS = sorted((ROOT / "pages" / "views").glob("*.py"))


def open_link(page_path: str, **params: str) -> AppTest:
    """The whole app on ``page_path``, opened from a link with these query parameters."""
    at = AppTest.from_function(_router, args=(page_path,), default_timeout=180)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def widget(at: AppTest, key: str):
    return next(w for kind in ("selectbox", "slider", "radio", "toggle") for w in at.get(kind) if w.key == key)


@pytest.mark.parametrize("path", VIEWS, ids=[p.name for p in VIEWS])
def test_pages_draw_figures_only_through_the_chart_wrapper(path):
    """``widgets.chart`` adds the PNG name and the CSV; a bare plotly_chart would skip both."""
    assert not re.search(r"\.plotly_chart\(", path.read_text()), f"{path.name}: use widgets.chart(fig, key=...)"


# Lesson links ----------------------------------------------------------------------------------------------------

def test_a_link_sets_every_linked_control_before_the_page_draws():
    at = open_link("pages/views/transformer.py", tf_layer="layer 3", tf_head="head 2 (orange)", s="the dog ran .")
    assert widget(at, "tf_layer").value == 2 and widget(at, "tf_head").value == 1
    assert at.text_area(key="sentence").value == "the dog ran ."
    assert all("This link asked" not in i.value for i in at.info)


def test_stale_parameters_are_ignored_with_one_notice():
    at = open_link("pages/views/sampling.py", smp_temp="abc", smp_k="100000", smp_cut="top-z", ghost="1",
                   smp_mode="beam search")
    notices = [i.value for i in at.info if "This link asked" in i.value]
    assert len(notices) == 1
    for name in ("smp_temp", "smp_k", "smp_cut", "ghost"):
        assert name in notices[0]
    assert "smp_mode" not in notices[0]  # a valid value is simply used
    assert widget(at, "smp_mode").value == "beam"
    assert widget(at, "smp_temp").value == 1.0 and widget(at, "smp_cut").value == "top_k"
    assert "ghost" not in at.query_params


def test_defaults_stay_out_of_the_address():
    """A link that spells out a default is not stale: the value is used and the address drops it."""
    at = open_link("pages/views/home.py", home_model=label("lstm"), home_eos="true")
    assert widget(at, "home_model").value == "lstm"
    assert "home_model" not in at.query_params and "home_eos" not in at.query_params
    assert all("This link asked" not in i.value for i in at.info)


def test_file_stem_keeps_only_safe_characters():
    assert links.file_stem("transformer", "tf_head_map", "tf_layer-2", "s-<b>x</b>/..") == \
        "transformer_tf_head_map_tf_layer-2_s--b-x-b-.."
    assert links.file_stem("", "") == "figure"


# Exports and presenter mode --------------------------------------------------------------------------------------

def test_every_chart_names_its_png_after_page_chart_and_settings():
    at = open_link("pages/views/home.py", home_model="GRU")
    chart = next(c for c in at.get("plotly_chart") if "home_chart" in c.proto.id)
    name = json.loads(chart.proto.config)["toImageButtonOptions"]["filename"]
    assert name.startswith("home_home_chart_") and "home_model-gru" in name
    assert any("csv_home_chart" in b.proto.id for b in at.get("download_button"))


def test_the_csv_holds_the_figures_own_numbers():
    heat = go.Figure(go.Heatmap(z=np.array([[0.1, 0.9], [0.4, 0.6]], dtype=np.float32), x=["a", "b"], y=["r1", "r2"]))
    table = figure_table(heat)
    assert len(table) == 4 and table.loc[(table.row == "r2") & (table.column == "a"), "value"].item() == \
        pytest.approx(0.4)
    bars = go.Figure([go.Bar(x=["the", "cat"], y=[0.5, 0.25], name="lstm"), go.Scatter(y=[1.0, 2.0, 3.0])])
    table = figure_table(bars)
    assert table[table.trace == "lstm"].y.tolist() == [0.5, 0.25] and len(table) == 5


def test_the_home_csv_holds_the_models_probabilities():
    at = open_link("pages/views/home.py", s="the cat sat .")
    spec = figure(at, "home_chart")
    bars = next(t for t in spec["data"] if t["type"] == "bar")
    bundle = load("lstm")
    expected = np.exp(chain_rule(bundle.model, bundle.tokenizer, "the cat sat .", True).logp)
    shown = go.Figure({"data": [{**bars, "y": plot_values(bars["y"]).tolist()}]})
    assert np.allclose(figure_table(shown).y.astype(float), expected, atol=1e-4)


def test_presenter_mode_hides_the_code_and_enlarges_figure_fonts():
    normal = open_link("pages/views/home.py")
    assert any(e.label == "Show the code that computed this" for e in normal.expander)
    at = open_link("pages/views/home.py", present="1")
    assert at.toggle(key=presenter.KEY).value is True
    assert not any(e.label == "Show the code that computed this" for e in at.expander)
    assert figure(at, "home_chart")["layout"]["font"]["size"] == presenter.FIGURE_FONT >= 1.3 * 12


@pytest.mark.parametrize("page", built_pages(), ids=[p.path for p in built_pages()])
def test_every_page_renders_in_presenter_mode(page):
    """Figures are copied with the larger font (a figure without traces included)."""
    at = open_link(page.path, present="1")
    assert at.get("plotly_chart") and not at.exception
    assert all(json.loads(c.proto.spec)["layout"]["font"]["size"] == presenter.FIGURE_FONT
               for c in at.get("plotly_chart"))


# Class mode ------------------------------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("LML_CLASS_DB", str(tmp_path / "classes.sqlite3"))
    class_store.clear()
    yield class_store()
    class_store.clear()


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def test_a_teacher_leads_and_a_student_follows(store):
    teacher = open_link("pages/views/home.py")
    button(teacher, "class_open").click().run()
    code = teacher.session_state[classroom.CODE]
    teacher.text_area(key="sentence").set_value("the dog ran .").run()
    assert store.view(code).sentence == "the dog ran ." and store.view(code).page == "home"

    student = open_link("pages/views/home.py")
    student.text_input(key="class_code").set_value(code.lower()).run()
    button(student, "class_join").click().run()
    assert student.text_area(key="sentence").value == "the dog ran ."
    student.selectbox(key="home_guess").select_index(2).run()
    button(student, "class_send_home_surprise").click().run()
    assert any("Sent (anonymously)" in s.value for s in student.success)
    (counts,) = [store.counts(code, q) for (q,) in _questions(store, code)]
    assert sum(counts.values()) == 1


def _questions(store: SQLiteClassStore, code: str) -> list[tuple[str]]:
    with store._db() as db:
        return db.execute("SELECT DISTINCT question FROM answers WHERE code = ?", (code,)).fetchall()


def test_bad_class_input_gets_a_message(store):
    student = open_link("pages/views/home.py", s="my sentence .")
    student.text_input(key="class_code").set_value("NOPE9").run()
    button(student, "class_join").click().run()
    assert any("No class has the code NOPE9" in i.value for i in student.info)
    assert classroom.CODE not in student.session_state
    assert student.text_area(key="sentence").value == "my sentence ."

    teacher = open_link("pages/views/home.py")
    button(teacher, "class_open").click().run()
    code = teacher.session_state[classroom.CODE]
    huge = "a dog ran . " * 500
    teacher.text_area(key="sentence").set_value(huge).run()
    assert not teacher.exception
    assert any(f"the class receives the first {MAX_CHARS}" in w.value for w in teacher.sidebar.warning)
    assert store.view(code).sentence == huge[:MAX_CHARS]
    assert teacher.text_area(key="sentence").value == huge


def test_a_student_who_joins_before_the_teacher_showed_anything_keeps_the_sentence(store):
    code = store.open_class("a teacher who has not pushed yet")
    student = open_link("pages/views/home.py", s="my sentence .")
    student.text_input(key="class_code").set_value(code).run()
    button(student, "class_join").click().run()
    assert student.session_state[classroom.CODE] == code
    assert student.text_area(key="sentence").value == "my sentence ."


def test_a_join_link_puts_the_student_in_the_class_on_the_teachers_view(store):
    code = store.open_class("t")
    store.push(code, "t", "home", "the teacher's sentence .")
    assert classroom.join_link("http://10.0.0.5:8501/transformer", code) == f"http://10.0.0.5:8501/?class={code}"
    student = open_link("pages/views/home.py", s="mine .", **{classroom.LINK_KEY: code.lower()})
    assert student.session_state[classroom.CODE] == code
    assert student.text_area(key="sentence").value == "the teacher's sentence ."
    assert classroom.LINK_KEY not in student.query_params
    stale = open_link("pages/views/home.py", s="mine .", **{classroom.LINK_KEY: "NOPE9"})
    assert any("No class has the code NOPE9" in i.value for i in stale.info)
    assert stale.text_area(key="sentence").value == "mine ."


def test_token_text_always_reaches_wcag_aa_contrast():
    """Black or white text on every colour of the viridis strip: at least 4.5:1 (axe-core's colour-contrast rule)."""
    def ratio(a: float, b: float) -> float:
        return (max(a, b) + 0.05) / (min(a, b) + 0.05)

    for v in np.linspace(0, 1, 201):
        bg = palette.viridis_rgb(v)
        fg = palette.relative_luminance((0, 0, 0) if palette.text_colour(bg) == "#000000" else (255, 255, 255))
        assert ratio(fg, palette.relative_luminance(bg)) >= 4.5, (v, bg)
