"""The model table for the README, from the manifest: ``python -m models.report``."""
from __future__ import annotations

from .checkpoint import read_manifest
from .registry import LM_NAMES

HEADER = "| model | parameters | checkpoint | train time | epochs | tokens/s | valid perplexity |\n" \
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"


def model_table(manifest: dict | None = None) -> str:
    """Markdown table of the language models: size, training cost and valid perplexity."""
    manifest = read_manifest() if manifest is None else manifest
    rows = [HEADER]
    for name in LM_NAMES:
        e = manifest.get(name)
        if e is None:
            continue
        minutes = e["wall_time_s"] / 60
        rows.append(
            f"| `{name}` | {e['params']:,} | {e['bytes'] / 1e6:.1f} MB | {minutes:.1f} min | {e['epochs']} "
            f"| {e['tokens_per_s']:,} | {e['valid_ppl']:.2f} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(model_table())
