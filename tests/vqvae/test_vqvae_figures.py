"""Reconstruction PSNR and codebook usage on known cases, and the reconstruction grid."""

import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from pixelcnn.nn.layers import scale_levels
from pixelcnn.vqvae import evaluate, psnr, usage, vqvae_config
from pixelcnn.vqvae.figures import describe, write_reconstructions


class TwoBrighter(nn.Module):
    """A stand-in VQ-VAE of 1x2x2 images whose reconstruction is each level + 2 and whose one
    code (of 4) is the image's first level mod 4."""

    config = vqvae_config("vqvae", maps=1, image_size=(2, 2), in_channels=1, bottom_codes=4)
    dims = 4

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return scale_levels(x + 2, 256, torch.float32), {"bottom": x[:, 0, :1, :1] % 4}, torch.zeros(len(x))


def constant_images(*levels):
    return torch.tensor(levels).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).contiguous()


def test_psnr_of_known_errors():
    assert psnr(255.0**2 / 100) == pytest.approx(20.0)
    assert psnr(255.0**2) == pytest.approx(0.0)
    assert psnr(0.0) == math.inf


@pytest.mark.parametrize("counts,perplexity,used", [
    ([1, 1, 1, 1], 4.0, 1.0),
    ([2, 2, 0, 0], 2.0, 0.5),
    ([5, 0, 0], 1.0, 1 / 3),
    ([3, 1], math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))), 1.0),
])
def test_usage_of_known_counts(counts, perplexity, used):
    assert usage(torch.tensor(counts)) == pytest.approx((perplexity, used))


@pytest.mark.parametrize("batch_size", [1, 2, 256])
def test_the_figures_of_a_split_on_a_known_case(batch_size):
    """Every level 2 too bright: MSE 4; codes 10 % 4, 11 % 4, 13 % 4 = 2, 3, 1: three of four
    codes used, equally often."""
    figures = evaluate(TwoBrighter(), constant_images(10, 11, 13), batch_size=batch_size)
    assert figures == pytest.approx({"images": 3, "dims": 4, "mse": 4.0, "psnr": 10 * math.log10(255**2 / 4),
                                     "bottom_perplexity": 3.0, "bottom_used": 0.75})
    assert describe(figures) == "PSNR 42.11 dB (MSE 4.00), bottom codes used 75.0% (perplexity 3.0)"


def test_the_reconstruction_grid_puts_each_row_of_originals_above_its_reconstructions(tmp_path):
    path = write_reconstructions(TwoBrighter(), constant_images(10, 11, 13), tmp_path / "r.png", per_row=2)
    grid = np.asarray(Image.open(path))  # rows of 2 images of 2x2 with 2 pixels of padding
    assert grid.shape == (4 * 4 + 2, 2 * 4 + 2)
    assert [grid[2, 2], grid[2, 6], grid[6, 2], grid[6, 6]] == [10, 11, 12, 13]  # originals, reconstructions
    assert [grid[10, 2], grid[14, 2], grid[10, 6]] == [13, 15, 255]  # the last row: one image, then white
