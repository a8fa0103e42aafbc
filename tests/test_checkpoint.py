"""Checkpoints: save/load round trip through the registry, hash checks, clear rebuild messages, the manifest entry."""
from __future__ import annotations

import pytest
import torch

from models.checkpoint import CheckpointError, read_manifest, save_torch, ship, update_manifest, write_entry
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


def test_ship_keeps_the_float16_weights_it_saved_and_write_entry_records_them(tmp_path):
    model = tiny_models()["gru"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    path = tmp_path / "gru.pt"
    ship(path, "gru", model, config_dict(model.config), tiny_tokenizer().to_dict())
    for k, v in model.state_dict().items():  # what is scored after shipping is what was saved
        assert torch.equal(v, before[k].half().float())
    entry = write_entry("gru", path, model, config_dict(model.config), "data-hash", tmp_path, steps=3, metric=1.5)
    assert read_manifest(tmp_path) == {"gru": entry}
    assert entry["sha256"] == sha256_file(path) and entry["bytes"] == path.stat().st_size
    assert (entry["params"], entry["data_sha256"], entry["steps"], entry["metric"]) == (
        model.num_parameters(), "data-hash", 3, 1.5)
    assert entry["torch"] == torch.__version__ and entry["config"]["cell"] == "gru"
    bundle = load("gru", "cpu", root=tmp_path)
    assert all(torch.equal(v, bundle.model.state_dict()[k]) for k, v in model.state_dict().items())
