"""The model tables for the README, from the manifest: ``python -m models.report``."""
from __future__ import annotations

from .checkpoint import read_manifest
from .registry import LM_NAMES, MASKED_SPECS, SEQ2SEQ_SPECS

HEADER = "| model | parameters | checkpoint | train time | epochs | tokens/s | valid perplexity |\n" \
         "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"


def _cost(name: str, e: dict) -> str:
    """The first cells of an LM's row: name, parameters, checkpoint size, train time, epochs, tokens/s."""
    return (f"| `{name}` | {e['params']:,} | {e['bytes'] / 1e6:.1f} MB | {e['wall_time_s'] / 60:.1f} min "
            f"| {e['epochs']} | {e['tokens_per_s']:,} |")


def _shipped(manifest: dict | None, names) -> list[tuple[str, dict]]:
    """(name, manifest entry) of each of ``names`` that the manifest (read if None) holds, in order."""
    manifest = read_manifest() if manifest is None else manifest
    return [(name, manifest[name]) for name in names if name in manifest]


def model_table(manifest: dict | None = None) -> str:
    """Markdown table of the language models: size, training cost and valid perplexity."""
    rows = [f"{_cost(name, e)} {e['valid_ppl']:.2f} |" for name, e in _shipped(manifest, LM_NAMES)]
    return "\n".join([HEADER, *rows])


MASKED_HEADER = (
    "| model | parameters | checkpoint | train time | epochs | tokens/s | masked top-1 | pseudo-perplexity "
    "| transformer top-1, left only |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def masked_table(manifest: dict | None = None) -> str:
    """Markdown table of the masked LM: size, training cost, and on the valid split top-1 with every 7th token
    masked alone, pseudo-perplexity, and the causal transformer's top-1 at the same positions."""
    rows = [MASKED_HEADER]
    for name, e in _shipped(manifest, MASKED_SPECS):
        v = e["cloze"]["valid"]
        causal = f"{v['transformer_top1']:.1%}" if "transformer_top1" in v else "—"
        rows.append(f"{_cost(name, e)} {v['top1']:.1%} | {v['pseudo_perplexity']:.2f} | {causal} |")
    return "\n".join(rows)


SEQ2SEQ_HEADER = (
    "| model | task | attention | parameters | checkpoint | train time | epochs | exact match | BLEU | alignment |\n"
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def seq2seq_table(manifest: dict | None = None) -> str:
    """Markdown table of the seq2seq models: size, training cost, exact match, BLEU, alignment accuracy."""
    manifest = read_manifest() if manifest is None else manifest
    rows = [SEQ2SEQ_HEADER]
    for name, spec in SEQ2SEQ_SPECS.items():
        e = manifest.get(name)
        if e is None:
            continue
        m = e["metrics"]
        # A model without attention has no α, so no alignment (older manifests scored zeros' argmax).
        align = f"{m['alignment_accuracy']:.1%}" if "alignment_accuracy" in m and spec.attention != "none" else "—"
        task = "dates → ISO (char)" if spec.task == "dates" else "English → French (word)"
        rows.append(
            f"| `{name}` | {task} | {spec.attention} | {e['params']:,} | {e['bytes'] / 1e6:.1f} MB "
            f"| {e['wall_time_s'] / 60:.1f} min | {e['epochs']} | {m['exact_match']:.1%} | {m['bleu']:.1f} | {align} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(model_table())
    print()
    print(masked_table())
    print()
    print(seq2seq_table())
