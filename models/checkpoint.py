"""Checkpoints: a plain dict saved with torch (or .npz for the n-gram), a manifest with hashes.

The manifest entry of every shipped model, whatever trained it, is written by ``write_entry``.
"""
from __future__ import annotations

import fcntl
import json
from pathlib import Path

import torch

from .data import sha256_file

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "assets" / "checkpoints"
MANIFEST = "manifest.json"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt or does not match its manifest; the message says how to rebuild it."""


def rebuild_command(name: str) -> str:
    """The shell command that retrains and rewrites one checkpoint."""
    return f"python -m models.train {name}"


def read_manifest(root: Path = CHECKPOINT_DIR) -> dict:
    """The manifest as a dict (empty when there is none yet)."""
    path = Path(root) / MANIFEST
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def update_manifest(name: str, entry: dict, root: Path = CHECKPOINT_DIR) -> None:
    """Write one model's entry, keeping the others (locked: several trainings may finish at once)."""
    with open(Path(root) / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = read_manifest(root)
        manifest[name] = entry
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        (Path(root) / MANIFEST).write_text(text, encoding="utf-8")


def verified_path(name: str, root: Path = CHECKPOINT_DIR) -> tuple[Path, dict]:
    """Path of a checkpoint whose sha256 matches the manifest, and its manifest entry."""
    entry = read_manifest(root).get(name)
    if entry is None:
        raise CheckpointError(f"no manifest entry for model '{name}'; rebuild it with: {rebuild_command(name)}")
    path = Path(root) / entry["file"]
    if not path.exists():
        raise CheckpointError(f"checkpoint {path.name} is missing; rebuild it with: {rebuild_command(name)}")
    if sha256_file(path) != entry["sha256"]:
        raise CheckpointError(
            f"checkpoint {path.name} does not match its manifest hash (corrupt or changed); "
            f"rebuild it with: {rebuild_command(name)}"
        )
    return path, entry


def half_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """State dict in float16, keeping tied tensors shared so they are stored once."""
    seen: dict[int, torch.Tensor] = {}
    out = {}
    for k, v in model.state_dict().items():
        key = v.data_ptr()
        if key not in seen:
            seen[key] = v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
        out[k] = seen[key]
    return out


def save_torch(path: Path, name: str, model: torch.nn.Module, config: dict, tokenizer_dict: dict) -> None:
    """Save a plain dict: name, config, float16 weights and vocabulary."""
    payload = {"name": name, "config": config, "state_dict": half_state_dict(model), "tokenizer": tokenizer_dict}
    torch.save(payload, path)


def load_torch(path: Path, name: str) -> dict:
    """Load a plain-dict checkpoint with ``weights_only=True``; a bad file names the rebuild command."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for truncated or foreign files
        raise CheckpointError(
            f"checkpoint {Path(path).name} cannot be read ({type(err).__name__}); "
            f"rebuild it with: {rebuild_command(name)}"
        ) from err


def ship(path: Path, name: str, model: torch.nn.Module, config: dict, tokenizer_dict: dict) -> None:
    """Save ``model`` (float16) and load the saved weights back, so what is scored next is what ships."""
    model.cpu()
    save_torch(path, name, model, config, tokenizer_dict)
    model.load_state_dict({k: v.float() for k, v in load_torch(path, name)["state_dict"].items()})


def write_entry(name: str, path: Path, model, config: dict, data_sha256: str, root: Path, **fields) -> dict:
    """Record a shipped checkpoint: file hash and size, parameters, config, data hash, torch version, ``fields``.

    ``fields`` are the trainer's own: its training record (``FitResult.record``) and its metrics.
    """
    entry = {
        "file": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "params": model.num_parameters(),
        "config": config,
        "data_sha256": data_sha256,
        "torch": torch.__version__,
        **fields,
    }
    update_manifest(name, entry, root)
    return entry
