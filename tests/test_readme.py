"""The README stays true: its tables are the ones the code generates, its commands exist."""
from __future__ import annotations

from pathlib import Path

from models.report import masked_table, model_table, seq2seq_table
from pages.components.catalog import markdown_table

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_model_tables_match_manifest():
    assert model_table() in README, "regenerate with: python -m models.report"
    assert seq2seq_table() in README, "regenerate with: python -m models.report"
    assert masked_table() in README, "regenerate with: python -m models.report"


def test_pages_table_matches_catalog():
    assert markdown_table() in README


def test_two_commands_and_their_targets():
    makefile = (ROOT / "Makefile").read_text()
    assert "make run" in README and "make test" in README
    assert "\nrun:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_attributions():
    assert "CDLA-Sharing-1.0" in README and "CC-BY 2.0 FR" in README


def test_layout_lists_every_module():
    layout = README[README.index("## Layout"):]
    for folder in ("models", "models/readings", "pages/components", "pages/views"):
        for path in sorted((ROOT / folder).glob("*.py")):
            if path.name != "__init__.py":
                assert path.name in layout, f"README's layout does not list {folder}/{path.name}"
