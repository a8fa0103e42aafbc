"""Checkpoints: save/load round trip through the registry, hash checks, clear rebuild messages."""
from __future__ import annotations

import pytest
import torch

from models.checkpoint import CheckpointError, save_torch, update_manifest
from models.data import sha256_file
from models.registry import config_dict, load

from .conftest import V, tiny_models, tiny_tokenizer


def _ship(tmp_path, name: str = "transformer"):
    model = tiny_models()[name].eval()
    tok = tiny_tokenizer()
    path = tmp_path / f"{name}.pt"
    save_torch(path, name, model, config_dict(model.config), tok.to_dict())
    update_manifest(name, {"file": path.name, "sha256": sha256_file(path)}, tmp_path)
    return model, path


@pytest.mark.parametrize("name", ["ffnn", "lstm", "transformer"])
def test_round_trip(tmp_path, name):
    model, _ = _ship(tmp_path, name)
    bundle = load(name, "cpu", root=tmp_path)
    idx = torch.randint(3, V, (1, 10))
    assert torch.allclose(bundle.model(idx)[0], model(idx)[0], atol=2e-2)  # float16 storage
    assert not bundle.model.training
    assert not any(p.requires_grad for p in bundle.model.parameters())
    assert len(bundle.tokenizer) == V


def test_corrupt_checkpoint_names_rebuild_command(tmp_path):
    _, path = _ship(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="python -m models.train transformer"):
        load("transformer", root=tmp_path)
    # A file that matches its (updated) hash but is not a checkpoint is still reported clearly.
    update_manifest("transformer", {"file": path.name, "sha256": sha256_file(path)}, tmp_path)
    with pytest.raises(CheckpointError, match="python -m models.train transformer"):
        load("transformer", root=tmp_path)


def test_missing_checkpoint(tmp_path):
    _, path = _ship(tmp_path)
    path.unlink()
    with pytest.raises(CheckpointError, match="missing.*python -m models.train transformer"):
        load("transformer", root=tmp_path)
    with pytest.raises(CheckpointError, match="python -m models.train gru"):
        load("gru", root=tmp_path)
