"""Where a run executes: the device, the thread count, and its place among processes.

Single-process training is rank 0 of 1; :mod:`pixelcnn.training.distributed`
fills in the place of each process that ``torchrun`` starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pixelcnn.errors import ConfigError


def pick_device(name: "str | torch.device" = "auto") -> torch.device:
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
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {str(name)!r} was asked for but this machine has no CUDA device")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"device {str(name)!r} was asked for but this machine has {torch.cuda.device_count()} CUDA device(s)")
    mps = getattr(torch.backends, "mps", None)
    if device.type == "mps" and not (mps is not None and mps.is_available()):
        raise ConfigError(f"device {str(name)!r} was asked for but MPS is not available on this machine")
    return device


@dataclass(frozen=True)
class Processes:
    """This process's place: ``rank`` of ``world`` processes; ``local_rank`` on its node (its GPU)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

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


def compile_problem(device: torch.device) -> str | None:
    """Why ``torch.compile`` cannot run on ``device`` here, or None when it can."""
    import shutil

    import torch._dynamo

    if not torch._dynamo.is_dynamo_supported():
        return "torch.compile is not supported by this Python or PyTorch build"
    if device.type == "cpu" and not any(shutil.which(c) for c in ("g++", "c++", "clang++")):
        return "TorchInductor needs a C++ compiler (g++ or clang++) on the PATH to compile for CPUs"
    return None


def check_compile(device: torch.device) -> None:
    """One clear error, before training starts, when ``train.compile`` cannot work here."""
    problem = compile_problem(device)
    if problem is not None:
        raise ConfigError(f"train.compile = true cannot run here: {problem}; set train.compile=false")


def compiled(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``module`` through ``torch.compile`` (TorchInductor, default mode, static shapes first).

    The compiled wrapper shares the module's parameters; the caller keeps the plain module
    for evaluation, sampling, the EMA and checkpoints, whose state dict is unchanged. The
    first step compiles (seconds to minutes); a batch of a new size recompiles once. A
    compilation that fails (a broken C++ compiler, a backend error) is one ConfigError.
    """
    check_compile(device)
    return CompileGuard(torch.compile(module))


class CompileGuard(torch.nn.Module):
    """A compiled module whose compilation errors (raised by TorchDynamo or TorchInductor at its
    first call) become one :class:`ConfigError` line; other errors pass through."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, *args, **kwargs):
        try:
            return self.inner(*args, **kwargs)
        except Exception as e:
            if not _from_compiler(e):
                raise
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
            raise ConfigError(f"train.compile = true failed to compile the training step ({type(e).__name__}: "
                              f"{first}); check the C++ compiler (g++/clang++, or $CXX) or set "
                              f"train.compile=false") from None


def _from_compiler(error: BaseException) -> bool:
    """Whether ``error`` (or an error it wraps) comes from TorchDynamo or TorchInductor."""
    seen = 0
    while error is not None and seen < 10:
        if type(error).__module__.startswith(("torch._dynamo", "torch._inductor")):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived where work stops at once (``StopSignals(at_once=True)``).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it;
    files being written are left as they were (see :mod:`pixelcnn.atomic`)."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


class StopSignals:
    """SIGTERM and SIGINT ask the loop to stop after the current step, instead of killing it.

    Cluster schedulers send SIGTERM before they preempt a job; the trainer then
    finishes its step, writes a checkpoint and returns. A second signal of the
    same kind acts as usual (the previous handler is back), so a stuck run can
    still be stopped. With ``at_once`` the first signal raises :class:`Interrupted`
    where the program is (around work that can simply be redone, such as the final
    evaluation). Outside the main thread (where Python cannot install handlers)
    nothing is installed.
    """

    SIGNALS = ("SIGTERM", "SIGINT")

    def __init__(self, enabled: bool = True, *, at_once: bool = False):
        self.enabled = enabled
        self.at_once = at_once
        self.received: str | None = None
        self._previous: dict = {}

    def __enter__(self) -> "StopSignals":
        import signal
        import threading

        if self.enabled and threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                number = getattr(signal, name)
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, number, frame) -> None:
        import signal

        self.received = signal.Signals(number).name
        if self.at_once:
            raise Interrupted(self.received)
        signal.signal(number, self._previous.get(number, signal.SIG_DFL))  # a second one stops at once

    def __exit__(self, *exc) -> None:
        import signal

        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()


def available_memory(device: torch.device) -> int | None:
    """Bytes that can still be allocated on ``device`` (None when unknown)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
    return None


def check_memory(needed: int, what: str, device: torch.device, advice: str) -> None:
    """Refuse up front, with one line, work that would not fit in memory (instead of the OOM killer)."""
    from pixelcnn.errors import PixelCNNError

    free = available_memory(device)
    if free is not None and needed > free:
        raise PixelCNNError(f"{what} needs about {_gib(needed)} of memory but {device.type} has "
                            f"{_gib(free)} available; {advice}")


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def activation_bytes(config, batch: int, size: tuple[int, int], bytes_per_number: int = 4,
                     training: bool = True) -> int:
    """A rough upper estimate of the memory of one forward and backward pass of a model with
    ``config`` on ``batch`` images of ``size``: every layer's activations and their gradients,
    attention included (:func:`attention_bytes`).

    It is meant to refuse, before starting, work that is far too large (an image of 2000 x
    2000), not to predict memory closely."""
    c = getattr(config, "in_channels", 1)
    per_position = (getattr(config, "hidden", 64) * (_depth(config) + 2) * 4
                    + getattr(config, "head", 0) + 2 * c * getattr(config, "levels", 256))
    convs = 2 * batch * size[0] * size[1] * per_position * bytes_per_number  # activations and their gradients
    return convs + attention_bytes(config, batch, size, bytes_per_number, training)


def attention_bytes(config, batch: int, size: tuple[int, int], bytes_per_number: int = 4,
                    training: bool = True) -> int:
    """The part of :func:`activation_bytes` that attention layers add (``blocks`` of them, with
    ``attention_width`` channels and ``heads`` heads; none for a config without them).

    Every layer keeps queries, keys, values and outputs of each of its M elements (H*W times
    the likelihood's groups), with gradients. The ``[B, heads, M, M]`` map of attention
    weights is counted where ``scaled_dot_product_attention`` makes one: in training with
    attention dropout (the fused CPU kernels take no dropout), the weights and the dropout
    mask, with gradients. Otherwise the fused kernels work in tiles, and memory grows with
    M, not M^2."""
    blocks, width = getattr(config, "blocks", 0), getattr(config, "attention_width", 0)
    if not (blocks and width):
        return 0
    from pixelcnn.models.config import likelihood_of

    elements = size[0] * size[1] * likelihood_of(config).groups
    numbers = 2 * 8 * elements * width  # queries, keys, values, their shifted copies, outputs; and gradients
    if training and getattr(config, "attention_dropout", 0.0) > 0:
        numbers += 2 * 2 * getattr(config, "heads", 1) * elements * elements
    return blocks * batch * numbers * bytes_per_number


def check_forward_memory(model, batch: int, what: str, advice: str, extra_bytes: int = 0) -> None:
    """Refuse up front (one line naming the estimate and what is available) a forward pass of
    ``model`` on ``batch`` images, plus ``extra_bytes`` of results, that cannot fit."""
    cfg = model.config
    need = activation_bytes(cfg, batch, cfg.image_size, training=False) // 2 + extra_bytes  # no gradients: half
    check_memory(need, what, next(model.parameters()).device, advice)


def weight_count_estimate(config) -> int:
    """A rough upper estimate of a model's number of weights, from its config alone (nothing is
    allocated): every layer as two full ``hidden x hidden`` convolutions of its kernel, and the
    output (``hidden`` -> ``head`` -> C x L, or ``hidden`` -> C x L without a head) as if both
    steps were ``max(head, hidden)`` wide: linear in L, so 65,536 levels are not refused."""
    hidden = getattr(config, "hidden", 64)
    kernels = getattr(config, "kernel", 3) ** 2 * _depth(config) + getattr(config, "kernel_in", 7) ** 2
    head = getattr(config, "head", 0)
    out = getattr(config, "in_channels", 1) * getattr(config, "levels", 256)
    return 2 * hidden * hidden * kernels + (hidden + out) * max(head, hidden)


def _depth(config) -> int:
    """Layers of a config: ``layers``, times ``blocks`` where layers come in blocks (PixelSNAIL)."""
    return getattr(config, "layers", 1) * getattr(config, "blocks", 1)
