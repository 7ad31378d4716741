"""Helpers of the bad-input tables."""

import hashlib
from pathlib import Path


def tiny_args(npz, *extra):
    """A training run of a few hundred weights on 8x8 images: about a second."""
    return [f"data.name={npz}", "data.levels=4", "model.name=pixelcnn-seed", "model.hidden=8", "model.layers=1",
            "train.batch_size=16", "train.epochs=0", "train.max_steps=2", "train.sample_count=0",
            "train.progress=false", "train.log_every=1", "train.eval_batch_size=64", "train.threads=1", *extra]


def tree_hash(path: Path) -> str:
    """One hash of every file name and byte under ``path`` (what 'nothing saved changed' means)."""
    h = hashlib.sha256()
    for f in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()
