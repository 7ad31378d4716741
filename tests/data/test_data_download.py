"""Downloads from HTTP servers on 127.0.0.1: checksums, cache, fallback, clear failures, atomicity.

Every served file is generated here, tiny, with hashes computed here; the
registered sets' own hashes are swapped for them with monkeypatch.
"""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile

import numpy as np
import pytest
from data_helpers import write_idx_set

from pixelcnn.data import Remote, download_dataset, download_file, load_dataset
from pixelcnn.data import cifar, mnist
from pixelcnn.errors import DataError

CONTENT = b"pixelcnn test payload " * 100


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def served(tmp_path, files: dict[str, bytes], name: str = "served"):
    folder = tmp_path / name
    folder.mkdir()
    for filename, data in files.items():
        (folder / filename).write_bytes(data)
    return folder


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_download_verifies_caches_and_falls_back(tmp_path, serve, dead_url):
    mirror = serve(served(tmp_path, {"a.bin": CONTENT}))
    remote = Remote("a.bin", sha256(CONTENT))
    path = download_file(remote, tmp_path / "new" / "dir", [dead_url, mirror])
    assert path == tmp_path / "new" / "dir" / "a.bin" and path.read_bytes() == CONTENT
    assert listing(path.parent) == ["a.bin"]  # no temporary file left behind
    # cached: a second call needs no mirror that works
    assert download_file(remote, path.parent, [dead_url]) == path
    md5 = Remote("a.bin", "md5:" + hashlib.md5(CONTENT).hexdigest())
    assert download_file(md5, tmp_path / "md5", [mirror]).read_bytes() == CONTENT


def test_corrupt_download_is_one_line_and_leaves_nothing(tmp_path, serve):
    corrupt = bytearray(CONTENT)
    corrupt[100] ^= 1
    mirror = serve(served(tmp_path, {"a.bin": bytes(corrupt)}))
    dest = tmp_path / "dest"
    with pytest.raises(DataError) as error:
        download_file(Remote("a.bin", sha256(CONTENT)), dest, [mirror])
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"could not download a.bin to {dest}: {mirror}a.bin: wrong checksum: ")
    assert f"got {sha256(bytes(corrupt))}, expected {sha256(CONTENT)}" in message
    assert listing(dest) == []  # nothing under the final name, no temporary


def test_a_corrupt_cached_file_is_replaced(tmp_path, serve):
    mirror = serve(served(tmp_path, {"a.bin": CONTENT}))
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a.bin").write_bytes(b"truncated")
    assert download_file(Remote("a.bin", sha256(CONTENT)), dest, [mirror]).read_bytes() == CONTENT


def test_refused_missing_and_silent_mirrors_each_say_why(tmp_path, serve, dead_url):
    remote = Remote("a.bin", sha256(CONTENT))
    empty = serve(served(tmp_path, {}))
    with pytest.raises(DataError) as error:
        download_file(remote, tmp_path / "d", [dead_url, empty])
    assert f"{dead_url}a.bin: unreachable (Connection refused); {empty}a.bin: HTTP 404" in str(error.value)
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        with pytest.raises(DataError, match=r"a.bin: timed out after 0.3 s$"):
            download_file(remote, tmp_path / "d", [url], timeout=0.3)
    assert listing(tmp_path / "d") == []


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A 3-image MNIST test split served as .gz, registered hashes swapped for its own."""
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    return write_idx_set(tmp_path / "mnist-mirror", monkeypatch, {"test": (images, np.array([7, 2, 1]))})


def test_mnist_downloads_through_the_env_mirror_then_loads_offline(tmp_path, serve, tiny_mnist, monkeypatch):
    monkeypatch.setenv("PIXELCNN_MIRROR", serve(tiny_mnist))
    data = load_dataset("mnist", "test", data_dir=tmp_path / "data", valid_fraction=0)
    assert data.labels.tolist() == [7, 2, 1]
    assert listing(tmp_path / "data") == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    monkeypatch.setenv("PIXELCNN_MIRROR", "http://127.0.0.1:9/")
    again = load_dataset("mnist", "test", data_dir=tmp_path / "data", download=False)
    assert np.array_equal(again.images.numpy(), data.images.numpy())


def test_failed_download_during_load_is_one_line(tmp_path, dead_url, monkeypatch):
    monkeypatch.setenv("PIXELCNN_MIRROR", dead_url)
    with pytest.raises(
        DataError,
        match=r"^mnist: t10k-images-idx3-ubyte\[.gz\] not found locally "
        r"and could not download .*Connection refused\)$",
    ):
        load_dataset("mnist", "test", data_dir=tmp_path)


def test_offline_missing_file_says_where_and_how(tmp_path):
    with pytest.raises(DataError) as error:
        load_dataset("binarized-mnist", "test", data_dir=tmp_path, download=False)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("binarized-mnist: binarized_mnist_test.amat[.gz] not found; looked in ")
    assert f"{tmp_path / 'binarized-mnist'} (no such folder)" in message
    assert "download=True" in message and "PIXELCNN_DATA_DIR" in message


def test_binarized_mnist_downloads_verified(tmp_path, serve, monkeypatch):
    amat = b"".join(b" ".join(b"01"[(i + j) % 2 : (i + j) % 2 + 1] for j in range(784)) + b"\n" for i in range(2))
    monkeypatch.setitem(mnist.AMAT_SHA256, "test", hashlib.sha256(amat).hexdigest())
    monkeypatch.setitem(mnist.AMAT_SPLITS, "test", 2)
    monkeypatch.setenv("PIXELCNN_MIRROR", serve(served(tmp_path, {"binarized_mnist_test.amat": amat})))
    data = load_dataset("binarized-mnist", "test", data_dir=tmp_path / "data")
    assert data.images.shape == (2, 1, 28, 28) and int(data.images[0, 0, 0, 1]) == 255


def cifar_archive(batch: bytes, members=cifar.ARCHIVE_MEMBERS, extra: dict | None = None) -> bytes:
    """A cifar-10-binary.tar.gz whose every batch is ``batch``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        files = {f"{cifar.ARCHIVE_FOLDER}/{m}": (b"airplane\n" if m.endswith(".txt") else batch) for m in members}
        for name, data in {**files, **(extra or {})}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_cifar10_downloads_unpacks_and_deletes_the_archive(tmp_path, serve, monkeypatch):
    records = np.zeros((2, cifar.RECORD_BYTES), np.uint8)
    records[:, 0] = [3, 8]  # labels
    archive = cifar_archive(records.tobytes(), extra={"../escape.bin": b"x"})
    monkeypatch.setattr(cifar, "ARCHIVE", Remote(cifar.ARCHIVE.filename, sha256(archive)))
    monkeypatch.setattr(cifar, "BATCH_SIZE", 2)
    monkeypatch.setenv("PIXELCNN_MIRROR", serve(served(tmp_path, {cifar.ARCHIVE.filename: archive})))
    data = load_dataset("cifar10", "test", data_dir=tmp_path / "data")
    assert data.labels.tolist() == [3, 8] and data.images.shape == (2, 3, 32, 32)
    assert listing(tmp_path / "data") == [cifar.ARCHIVE_FOLDER]  # archive deleted, nothing escaped
    assert listing(tmp_path / "data" / cifar.ARCHIVE_FOLDER) == sorted(cifar.ARCHIVE_MEMBERS)
    assert not (tmp_path / "escape.bin").exists()
    assert len(download_dataset("cifar10", tmp_path / "data", mirrors=["http://127.0.0.1:9/"])) == 6


def test_cifar10_archive_without_a_batch_is_refused(tmp_path, serve):
    archive = cifar_archive(b"\0" * cifar.RECORD_BYTES, members=cifar.ARCHIVE_MEMBERS[1:])
    mirror = serve(served(tmp_path, {cifar.ARCHIVE.filename: archive}))
    remote = Remote(cifar.ARCHIVE.filename, sha256(archive))
    path = download_file(remote, tmp_path / "data", [mirror])
    with pytest.raises(DataError, match=r"no cifar-10-batches-bin/data_batch_1.bin in the archive"):
        cifar.unpack_batches(path, tmp_path / "data" / cifar.ARCHIVE_FOLDER)
    assert listing(tmp_path / "data" / cifar.ARCHIVE_FOLDER) == []  # no partial batch, no staging


def test_every_registered_set_is_embedded_or_downloadable():
    from pixelcnn.data import dataset_names, dataset_spec

    assert [n for n in dataset_names() if dataset_spec(n).download is None] == ["mnist5k"]
    for name, source in mnist.IDX_SETS.items():
        assert set(source.gz_md5) == set(source.sha256), name
