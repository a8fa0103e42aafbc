"""Where the models run: the device, and one torch thread per request on a shared server."""
from __future__ import annotations

import torch


def one_thread_per_request() -> None:
    """Many sessions share the cores instead of fighting over them (DESIGN §5)."""
    torch.set_num_threads(1)


def device_label() -> str:
    """What the models run on, for the sidebar."""
    if torch.cuda.is_available():
        return f"GPU ({torch.cuda.get_device_name(0)})"
    return "CPU"
