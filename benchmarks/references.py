"""Plain eager reference networks, written here so that benchmarks compare the library
against what people write by hand, in the same run.

``TutorialPixelCNN`` is the classic tutorial network: eight 7x7 masked
convolutions of 64 channels (mask A, then B), each followed by BatchNorm and
ReLU, and a 1x1 convolution to 256 logits per pixel (grayscale only). The
masks are applied the tutorial's way, by multiplying them into ``weight.data``
before every convolution. BatchNorm in training mode mixes statistics over
every position and image of a batch, so its training loss sees future pixels
(a leak the library refuses); in eval mode it uses running statistics and the
test score is an honest likelihood of the eval-mode network.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn


class TutorialMaskedConv2d(nn.Conv2d):
    def __init__(self, kind: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kh, kw = self.kernel_size
        mask = torch.ones_like(self.weight)
        mask[:, :, kh // 2, kw // 2 + (kind == "B"):] = 0
        mask[:, :, kh // 2 + 1:] = 0
        self.register_buffer("mask", mask)

    def forward(self, x):
        self.weight.data *= self.mask  # the tutorial's in-place masking
        return super().forward(x)


class TutorialPixelCNN(nn.Module):
    """Levels ``[B, 1, H, W]`` in [0, 256) -> logits ``[B, 256, H, W]``."""

    def __init__(self, channels: int = 64, layers: int = 8, levels: int = 256):
        super().__init__()
        self.levels = levels
        body = []
        for k in range(layers):
            body += [TutorialMaskedConv2d("A" if k == 0 else "B", 1 if k == 0 else channels, channels, 7, 1, 3, bias=False),
                     nn.BatchNorm2d(channels), nn.ReLU(True)]
        self.net = nn.Sequential(*body, nn.Conv2d(channels, levels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.float() / (self.levels - 1))

    def nats(self, x: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each image, nats ``[B]``."""
        logits = self(x)
        return F.cross_entropy(logits, x[:, 0].long(), reduction="none").flatten(1).sum(1)


def train_tutorial(train: torch.Tensor, test: torch.Tensor, *, minutes: float, batch_size: int = 64,
                   lr: float = 1e-3, seed: int = 0) -> dict:
    """Train the tutorial network on levels ``train`` ``[N, 1, H, W]`` for ``minutes`` (Adam, shuffled
    epochs), then score ``test`` in eval mode: bits/dim, steps, images/s."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = TutorialPixelCNN()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps, start = 0, time.monotonic()
    while time.monotonic() - start < 60 * minutes:
        for index in torch.randperm(len(train), generator=g).split(batch_size):
            x = train[index].long()
            loss = net.nats(x).mean() / x[0].numel()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
            if time.monotonic() - start >= 60 * minutes:
                break
    seconds = time.monotonic() - start
    net.eval()
    with torch.no_grad():
        total = sum(float(net.nats(test[i : i + 256].long()).double().sum()) for i in range(0, len(test), 256))
    dims = test[0].numel()
    return {"steps": steps, "train_seconds": round(seconds, 1), "images_per_s": round(steps * batch_size / seconds, 1),
            "parameters": sum(p.numel() for p in net.parameters()),
            "test_bits_per_dim": round(total / (len(test) * dims * math.log(2)), 4),
            "test_nats_per_image": round(total / len(test), 2), "test_images": len(test)}


# ---------------------------------------------------------------------------------------------
# Plain references of the library's architectures, for benchmarks/throughput.py.
#
# Each mirrors one library network layer for layer (same widths, depths, order of operations,
# normalisation and output), written the straightforward way: every convolution keeps its full
# k x k kernel, the causal mask is multiplied into the weight on every call, and padding is
# symmetric. They are timed, never trained for a score; their initialisation is plain.


def channel_group(channels: int, colours: int) -> torch.Tensor:
    """Colour of each channel: contiguous blocks, ``[channels]``."""
    return torch.arange(channels) * colours // channels


def causal_mask(c_in: int, c_out: int, kh: int, kw: int, kind: str, colours: int = 1) -> torch.Tensor:
    """``[c_out, c_in, kh, kw]`` float mask of a full kernel: "A"/"B" (rows above, the left of the
    centre row, the centre by colour), "V" (every row up to the centre row), "full"."""
    m = torch.zeros(c_out, c_in, kh, kw)
    if kind == "full":
        return m + 1
    m[:, :, : kh // 2] = 1
    if kind == "V":
        m[:, :, kh // 2] = 1
        return m
    m[:, :, kh // 2, : kw // 2] = 1
    g_out, g_in = channel_group(c_out, colours), channel_group(c_in, colours)
    centre = g_out[:, None] > g_in[None, :] if kind == "A" else g_out[:, None] >= g_in[None, :]
    m[:, :, kh // 2, kw // 2] = centre.float()
    return m


class PlainMaskedConv(nn.Module):
    """``conv2d(x, weight * mask)`` with the full kernel and symmetric padding; optionally
    weight-normalised (``g * w / ||w||`` per output channel)."""

    def __init__(self, c_in, c_out, kernel, kind="B", colours=1, weight_norm=False, mask=None):
        super().__init__()
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kh, kw) / math.sqrt(c_in * kh * kw))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.register_buffer("mask", causal_mask(c_in, c_out, kh, kw, kind, colours) if mask is None else mask)
        self.g = nn.Parameter(torch.ones(c_out)) if weight_norm else None
        self.padding = (kh // 2, kw // 2)

    def masked(self) -> torch.Tensor:
        w = self.weight * self.mask
        if self.g is not None:
            w = self.g[:, None, None, None] * w / w.flatten(1).norm(dim=1)[:, None, None, None]
        return w

    def forward(self, x, stride=1):
        return F.conv2d(x, self.masked(), self.bias, stride=stride, padding=self.padding)


def plain_layer_norm(x, weight, bias, colours):
    """LayerNorm over each colour group's channels at every position, ``[B, C, H, W]``."""
    b, c, h, w = x.shape
    y = x.permute(0, 2, 3, 1).reshape(b, h, w, colours, c // colours)
    y = F.layer_norm(y, (c // colours,)).reshape(b, h, w, c) * weight + bias
    return y.permute(0, 3, 1, 2)


def plain_gate(x, colours):
    """``tanh(a) * sigmoid(b)`` with ``a``, ``b`` the halves of each colour group."""
    b, c, h, w = x.shape
    pairs = x.view(b, colours, 2, c // (2 * colours), h, w)
    return (torch.tanh(pairs[:, :, 0]) * torch.sigmoid(pairs[:, :, 1])).reshape(b, c // 2, h, w)


def categorical_nats(logits, x, colours, levels):
    """Cross-entropy of levels ``x`` ``[B, C, H, W]`` under logits ``[B, C*L, H, W]``: nats ``[B]``."""
    b, _, h, w = logits.shape
    per = F.cross_entropy(logits.view(b, colours, levels, h, w).transpose(1, 2), x, reduction="none")
    return per.flatten(1).sum(1)


class PlainPixelCNN(nn.Module):
    """The library's ``pixelcnn`` network (plain layers with LayerNorm, or residual blocks) with
    full kernels; ``cfg`` a :class:`pixelcnn.models.pixelcnn.PixelCNNConfig` (categorical output)."""

    def __init__(self, cfg):
        super().__init__()
        c, n, self.cfg = cfg.in_channels, cfg.hidden, cfg
        self.conv_in = PlainMaskedConv(c, n, cfg.kernel_in, "A", c)
        if cfg.block == "plain":
            self.convs = nn.ModuleList(PlainMaskedConv(n, n, cfg.kernel, "B", c) for _ in range(cfg.layers))
            self.ln = nn.ParameterList(nn.Parameter(torch.ones(2, n)) for _ in range(cfg.layers + 1))
        else:
            half = n // 2
            self.convs = nn.ModuleList(nn.ModuleList([PlainMaskedConv(n, half, 1, "B", c),
                                                      PlainMaskedConv(half, half, cfg.kernel, "B", c),
                                                      PlainMaskedConv(half, n, 1, "B", c)]) for _ in range(cfg.layers))
        widths = [n, cfg.head] if cfg.head else [n]
        self.head = nn.ModuleList(PlainMaskedConv(a, b, 1, "B", c)
                                  for a, b in zip(widths, widths[1:] + [c * cfg.levels]))

    def norm(self, x, k):
        if self.cfg.norm != "layer":
            return x
        return plain_layer_norm(x, self.ln[k][0], self.ln[k][1], self.cfg.in_channels)

    def forward(self, x):
        h = self.conv_in(x.float() * (2.0 / (self.cfg.levels - 1)) - 1.0)
        if self.cfg.block == "plain":
            h = torch.relu(self.norm(h, 0))
            for k, conv in enumerate(self.convs):
                h = torch.relu(self.norm(conv(h), k + 1))
        else:
            for block in self.convs:
                r = h
                for conv in block:
                    r = conv(torch.relu(r))
                h = h + r
        for conv in self.head:
            h = conv(torch.relu(h))
        return h

    def nats(self, x):
        return categorical_nats(self(x), x, self.cfg.in_channels, self.cfg.levels)


class PlainGatedPixelCNN(nn.Module):
    """The library's ``gated`` network with full kernels: the vertical stack a k x k kernel
    masked to the rows up to the centre, the horizontal stack a 1 x k kernel masked A/B."""

    def __init__(self, cfg):
        super().__init__()
        c, p, self.cfg = cfg.in_channels, cfg.hidden, cfg
        self.layers = nn.ModuleList()
        for k in range(cfg.layers + 1):
            width, ks = (c, cfg.kernel_in) if k == 0 else (p, cfg.kernel)
            self.layers.append(nn.ModuleDict({
                "v": PlainMaskedConv(width, 2 * p, ks, "V"),
                "h": PlainMaskedConv(width, 2 * p, (1, ks), "A" if k == 0 else "B", c),
                "link": PlainMaskedConv(2 * p, 2 * p, 1, "full"),
                "skip": PlainMaskedConv(p, p, 1, "B", c),
                **({"res": PlainMaskedConv(p, p, 1, "B", c)} if k else {}),
            }))
        self.head = nn.ModuleList([PlainMaskedConv(p, cfg.head, 1, "B", c),
                                   PlainMaskedConv(cfg.head, c * cfg.levels, 1, "B", c)])

    def forward(self, x):
        c = self.cfg.in_channels
        image = x.float() * (2.0 / (self.cfg.levels - 1)) - 1.0
        v = h = skip = None
        for k, layer in enumerate(self.layers):
            v_pre = layer["v"](image if k == 0 else plain_gate(v, 1))
            link = layer["link"](F.pad(v_pre, (0, 0, 1, 0))[:, :, :-1])  # shifted down one row
            g = plain_gate(layer["h"](image if k == 0 else h) + link, c)
            skip = layer["skip"](g) if skip is None else skip + layer["skip"](g)
            h = g if k == 0 else h + layer["res"](g)
            v = v_pre
        return self.head[1](torch.relu(self.head[0](torch.relu(skip))))

    def nats(self, x):
        return categorical_nats(self(x), x, self.cfg.in_channels, self.cfg.levels)


def window_mask(c_in: int, c_out: int, rows, cols) -> torch.Tensor:
    """A 3x3 kernel's mask open on ``rows`` x ``cols`` (slices), ``[c_out, c_in, 3, 3]``."""
    m = torch.zeros(c_out, c_in, 3, 3)
    m[:, :, rows, cols] = 1
    return m


# The windows of PixelCNN++'s shifted kernels inside a centred 3x3 kernel (the centre is (1, 1)).
DOWN = (slice(0, 2), slice(0, 3))        # 2x3 "down": this row and the one above
DOWN_RIGHT = (slice(0, 2), slice(0, 2))  # 2x2 "down-right": ending at this position
ROW = (slice(1, 2), slice(0, 3))         # 1x3 (then shifted down)
COLUMN = (slice(0, 2), slice(1, 2))      # 2x1 (then shifted right)


def shift_down(x):
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def shift_right(x):
    return F.pad(x, (1, 0, 0, 0))[..., :-1]


def concat_elu(x):
    return F.elu(torch.cat([x, -x], dim=1))


class PlainConvTranspose(nn.Module):
    """Stride-2 transposed convolution cropped to ``size`` (columns from ``left``), weight-normalised."""

    def __init__(self, n: int, kernel, left: int, weight_norm: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n, n, *kernel) / math.sqrt(n * kernel[0] * kernel[1]))
        self.bias = nn.Parameter(torch.zeros(n))
        self.g = nn.Parameter(torch.ones(n)) if weight_norm else None
        self.left = left

    def forward(self, x, size):
        w = self.weight
        if self.g is not None:
            w = self.g[None, :, None, None] * w / w.transpose(0, 1).flatten(1).norm(dim=1)[None, :, None, None]
        y = F.conv_transpose2d(x, w, self.bias, stride=2)
        return y[..., : size[0], self.left : self.left + size[1]]


class PlainGatedResnet(nn.Module):
    def __init__(self, n: int, window, aux: int, dropout: float, wn: bool):
        super().__init__()
        self.conv1 = PlainMaskedConv(2 * n, n, 3, mask=window_mask(2 * n, n, *window), weight_norm=wn)
        self.nin = PlainMaskedConv(2 * aux, n, 1, "full", weight_norm=wn) if aux else None
        self.dropout = nn.Dropout(dropout)
        self.conv2 = PlainMaskedConv(2 * n, 2 * n, 3, mask=window_mask(2 * n, 2 * n, *window), weight_norm=wn)

    def forward(self, x, aux):
        h = self.conv1(concat_elu(x))
        if self.nin is not None:
            h = h + self.nin(concat_elu(aux))
        a, b = self.conv2(self.dropout(concat_elu(h))).chunk(2, dim=1)
        return x + a * torch.sigmoid(b)


class PlainPixelCNNPP(nn.Module):
    """The library's ``pixelcnn-pp`` network (logistic-mixture output, one likelihood group)
    with every shifted kernel written as a centred 3x3 kernel and a mask (the windows above);
    the likelihood object is the library's own (the same code for both rows)."""

    def __init__(self, cfg, likelihood):
        super().__init__()
        c, n, wn, top = cfg.in_channels, cfg.hidden, cfg.norm == "weight", cfg.resolutions - 1
        if likelihood.groups != 1:
            raise ValueError("the plain PixelCNN++ reference has the logistic-mixture head only")
        self.cfg, self.likelihood, self.top = cfg, likelihood, top

        def conv(a, b, window):
            return PlainMaskedConv(a, b, 3, mask=window_mask(a, b, *window), weight_norm=wn)

        def stage(blocks, up):
            return nn.ModuleDict({
                "u": nn.ModuleList(PlainGatedResnet(n, DOWN, n if up else 0, cfg.dropout, wn) for _ in range(blocks)),
                "ul": nn.ModuleList(PlainGatedResnet(n, DOWN_RIGHT, 2 * n if up else n, cfg.dropout, wn)
                                    for _ in range(blocks))})

        self.u_in, self.ul_in_up, self.ul_in_left = conv(c + 1, n, DOWN), conv(c + 1, n, ROW), conv(c + 1, n, COLUMN)
        self.down = nn.ModuleList(stage(cfg.layers, False) for _ in range(top + 1))
        self.up = nn.ModuleList(stage(cfg.layers + (k < top), True) for k in range(top + 1))
        self.down_u = nn.ModuleList(conv(n, n, DOWN) for _ in range(top))
        self.down_ul = nn.ModuleList(conv(n, n, DOWN_RIGHT) for _ in range(top))
        self.up_u = nn.ModuleList(PlainConvTranspose(n, (2, 3), 1, wn) for _ in range(top))
        self.up_ul = nn.ModuleList(PlainConvTranspose(n, (2, 2), 0, wn) for _ in range(top))
        self.out = PlainMaskedConv(n, likelihood.channels, 1, "full", weight_norm=wn)

    def forward(self, x):
        pixels = x.float() * (2.0 / (self.cfg.levels - 1)) - 1.0
        image = torch.cat([pixels, torch.ones_like(pixels[:, :1])], dim=1)
        u = shift_down(self.u_in(image))
        ul = shift_down(self.ul_in_up(image)) + shift_right(self.ul_in_left(image))
        sizes, u_push, ul_push = [], [], []
        for k in range(self.top + 1):
            if k:
                u, ul = self.down_u[k - 1](u, stride=2), self.down_ul[k - 1](ul, stride=2)
            sizes.append(tuple(u.shape[-2:]))
            us, uls = [u], [ul]
            for bu, bul in zip(self.down[k]["u"], self.down[k]["ul"]):
                u = bu(u, None)
                ul = bul(ul, u)
                us.append(u)
                uls.append(ul)
            u_push.append(us)
            ul_push.append(uls)
        for k in reversed(range(self.top + 1)):
            if k == self.top:
                u, ul = u_push[k].pop(), ul_push[k].pop()
            else:
                u, ul = self.up_u[k](u, sizes[k]), self.up_ul[k](ul, sizes[k])
            for bu, bul in zip(self.up[k]["u"], self.up[k]["ul"]):
                u = bu(u, u_push[k].pop())
                ul = bul(ul, torch.cat([u, ul_push[k].pop()], dim=1))
        return self.out(F.elu(ul))

    def nats(self, x):
        return -self.likelihood.log_prob_map(x, self(x)).flatten(1).sum(1)
