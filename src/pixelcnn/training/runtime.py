"""Where a run executes: the device, the thread count, and its place among processes.

Single-process training is rank 0 of 1. The data stream, the metrics and the
checkpoint writer already ask ``rank`` / ``world`` / ``is_main``, so that
multi-process data-parallel training (``torchrun``) only has to fill them in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pixelcnn.errors import ConfigError



def pick_device(name: str = "auto") -> torch.device:
    """"auto" -> cuda if available, else mps, else cpu; otherwise the named device."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} was asked for but this machine has no CUDA device")
    return device


@dataclass(frozen=True)
class Processes:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for training, or None for plain fp32 (see ``train.precision``)."""
    if name == "fp32":
        return None
    if name == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu":
        native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        return torch.bfloat16 if native else None
    return None
