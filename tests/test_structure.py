"""The layout rules of DESIGN §3, checked on the source: pages never import torch, one text-to-ids path,
caching only through the loaders, every model named by its spec."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from models.registry import EMBEDDING_NAMES, LM_NAMES, SEQ2SEQ_SPECS, label

ROOT = Path(__file__).resolve().parent.parent
PAGE_MODULES = sorted((ROOT / "pages").rglob("*.py"))
SOURCE_MODULES = sorted([*(ROOT / "models").rglob("*.py"), *PAGE_MODULES])


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, top level or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_scan_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    import torch.nn as nn\n    from torch import tensor\n")
    assert {"torch.nn", "torch"} <= imported_modules(probe)


@pytest.mark.parametrize("path", PAGE_MODULES, ids=[str(p.relative_to(ROOT)) for p in PAGE_MODULES])
def test_pages_never_import_torch(path):
    torch_imports = {m for m in imported_modules(path) if m == "torch" or m.startswith("torch.")}
    assert not torch_imports, f"{path.relative_to(ROOT)} imports {torch_imports}: put that work in a reading"


@pytest.mark.parametrize("path", SOURCE_MODULES, ids=[str(p.relative_to(ROOT)) for p in SOURCE_MODULES])
def test_one_path_from_text_to_ids(path):
    """``<eos>`` + encode is written once, in models/inputs.py; everything else calls ``model_input``."""
    if path == ROOT / "models" / "inputs.py":
        return
    assert "eos_id] +" not in path.read_text(), f"{path.relative_to(ROOT)} builds ids itself: use model_input"


@pytest.mark.parametrize("path", PAGE_MODULES, ids=[str(p.relative_to(ROOT)) for p in PAGE_MODULES])
def test_only_the_loaders_cache(path):
    if path.name == "loaders.py":
        return
    text = path.read_text()
    assert "st.cache_data" not in text and "st.cache_resource" not in text, (
        f"{path.relative_to(ROOT)} caches by itself: use loaders.reading_cache or loaders.figure_cache")


def test_every_model_is_named_by_its_spec():
    for name in (*LM_NAMES, *EMBEDDING_NAMES, *SEQ2SEQ_SPECS):
        assert label(name) != name, f"{name} has no display label on its spec"


ALLOWED_TAGS = {"b", "i", "small", "br", "code"}


def say_templates(path: Path) -> list[str]:
    """The fixed wording of every ``say(...)`` call: it is HTML, so a literal <eos> there would vanish as a tag."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "say" and node.args
                and isinstance(node.args[0], ast.Constant)):
            out.append(node.args[0].value)
    return out


def test_say_templates_use_only_simple_tags():
    tags = set()
    for path in PAGE_MODULES:
        for template in say_templates(path):
            tags |= {t.strip("/").split()[0] for t in re.findall(r"<([^<>]+)>", template)}
    assert tags <= ALLOWED_TAGS, f"write &lt;…&gt; for a literal token: {tags - ALLOWED_TAGS}"
