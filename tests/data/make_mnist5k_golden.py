"""Regenerate ``mnist5k_golden.json``: fingerprints of the mnist5k splits.

The splits must be identical on every machine and every library version; the
test compares against this file. Run from the repository root:

    PYTHONPATH=src python tests/data/make_mnist5k_golden.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pixelcnn.data import load_dataset

GOLDEN = Path(__file__).with_name("mnist5k_golden.json")
SPLITS = ("train", "valid", "test")


def fingerprint(split: str) -> dict:
    """SHA-256 of the images and labels bytes of one split, and its first labels."""
    data = load_dataset("mnist5k", split)
    return {
        "images_sha256": hashlib.sha256(data.images.numpy().tobytes()).hexdigest(),
        "labels_sha256": hashlib.sha256(data.labels.numpy().astype("<i8").tobytes()).hexdigest(),
        "first_labels": data.labels[:10].tolist(),
    }


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({s: fingerprint(s) for s in SPLITS}, indent=2) + "\n")
    print(f"wrote {GOLDEN}")
