"""Run-config overrides for tiny, fast training runs."""


def tiny_overrides(npz, *extra):
    return [
        f"data.name={npz}",
        "data.levels=4",
        "model.name=pixelcnn-seed",
        "model.hidden=8",
        "model.layers=1",
        "train.batch_size=16",
        "train.epochs=0",
        "train.sample_count=4",
        "train.progress=false",
        "train.log_every=2",
        "train.eval_batch_size=64",
        "train.threads=1",
        *extra,
    ]
