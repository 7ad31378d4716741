"""What a benchmark ran on, for its JSON: the CPU (model and the instruction sets that
decide its speed), threads, torch and python versions, and a GPU when one is used.

Speeds are only comparable as ratios measured in one run; this says which machine a
run's absolute figures belong to.
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch

FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "fma")


def describe() -> dict:
    info = {"cpu": platform.processor() or platform.machine(), "cpu_flags": [],
            "cpu_threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version()}
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        text = cpuinfo.read_text()
        for line in text.splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
        info["cpu_flags"] = [f for f in FLAGS if f in flags]
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
