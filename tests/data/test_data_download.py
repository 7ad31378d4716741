"""Downloads from a local HTTP mirror: checksums, fallback, clear failures, atomicity."""

from __future__ import annotations

import gzip
import shutil
import socket

import pytest
from data_helpers import shared

from pixelcnn.data import download_dataset, download_file, load_dataset
from pixelcnn.data.mnist import IDX_SETS
from pixelcnn.errors import DataError

LABELS = "t10k-labels-idx1-ubyte"
LABELS_SHA256 = IDX_SETS["mnist"].sha256[LABELS]


@pytest.fixture
def mirror(serve):
    """Base URL of a mirror serving the real MNIST .gz files."""
    return serve(shared("mnist"))


def only_file(folder):
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 1, files  # no temporary file left behind
    return files[0]


def test_download_verifies_and_saves(tmp_path, mirror):
    path = download_file(LABELS, tmp_path / "new" / "dir", LABELS_SHA256, [mirror])
    assert path == tmp_path / "new" / "dir" / f"{LABELS}.gz"
    assert gzip.decompress(path.read_bytes()) == gzip.decompress(
        (shared("mnist") / f"{LABELS}.gz").read_bytes()
    )
    assert only_file(path.parent) == f"{LABELS}.gz"


def test_download_dataset_then_load_offline(tmp_path, mirror):
    paths = download_dataset("mnist", tmp_path, mirrors=[mirror])
    assert sorted(p.name for p in paths) == sorted(f"{n}.gz" for n in IDX_SETS["mnist"].sha256)
    data = load_dataset("mnist", "test", data_dir=tmp_path, download=False)
    assert len(data) == 10000 and data.labels[0] == 7


def test_env_mirror_used_by_load_dataset(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv("PIXELCNN_MIRROR", mirror)
    data = load_dataset("mnist", "test", data_dir=tmp_path)
    assert data.images.shape == (10000, 1, 28, 28)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        f"{LABELS}.gz",
    ]


def test_corrupt_file_gives_checksum_line(tmp_path, serve):
    served = tmp_path / "served"
    served.mkdir()
    content = bytearray(gzip.decompress((shared("mnist") / f"{LABELS}.gz").read_bytes()))
    content[100] ^= 1
    (served / f"{LABELS}.gz").write_bytes(gzip.compress(bytes(content)))
    dest = tmp_path / "dest"
    with pytest.raises(DataError) as error:
        download_file(LABELS, dest, LABELS_SHA256, [serve(served)])
    message = str(error.value)
    assert "\n" not in message
    assert f"could not download {LABELS}.gz" in message
    assert "wrong checksum: SHA-256 of the uncompressed content is " in message
    assert f"expected {LABELS_SHA256}" in message
    assert list(dest.iterdir()) == []  # nothing kept under the final name or as a temporary


def test_unreachable_mirror_and_fallback(tmp_path, dead_url, mirror):
    with pytest.raises(
        DataError, match=rf"{dead_url}{LABELS}.gz: unreachable \(Connection refused\)"
    ):
        download_file(LABELS, tmp_path, LABELS_SHA256, [dead_url])
    path = download_file(LABELS, tmp_path, LABELS_SHA256, [dead_url, mirror])
    assert path.is_file() and only_file(tmp_path) == f"{LABELS}.gz"


def test_http_error_and_error_page(tmp_path, serve):
    served = tmp_path / "served"
    served.mkdir()
    (served / f"{LABELS}.gz").write_text("<html>rate limited</html>")
    with pytest.raises(
        DataError, match=r"HTTP 404 .*; .*not a valid gzip file, truncated or an error page"
    ):
        download_file(LABELS, tmp_path / "d", LABELS_SHA256, [serve(tmp_path / "d"), serve(served)])


def test_offline_missing_file_says_where_and_how(tmp_path):
    with pytest.raises(DataError) as error:
        load_dataset("mnist", "test", data_dir=tmp_path, download=False)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("mnist: t10k-images-idx3-ubyte[.gz] not found; looked in ")
    assert str(tmp_path) in message and f"{tmp_path / 'mnist'} (no such folder)" in message
    assert "download=True" in message and "PIXELCNN_DATA_DIR" in message


def test_failed_download_during_load_is_one_line(tmp_path, dead_url, monkeypatch):
    monkeypatch.setenv("PIXELCNN_MIRROR", dead_url)
    with pytest.raises(
        DataError,
        match=r"^mnist: t10k-images-idx3-ubyte\[.gz\] not found locally "
        r"and could not download .*Connection refused\)$",
    ):
        load_dataset("mnist", "test", data_dir=tmp_path)


def test_downloaded_file_is_not_replaced(tmp_path, mirror, dead_url):
    shutil.copy(shared("mnist") / f"{LABELS}.gz", tmp_path)
    before = (tmp_path / f"{LABELS}.gz").stat().st_mtime_ns
    paths = download_dataset("mnist", tmp_path, mirrors=[mirror])
    assert tmp_path / f"{LABELS}.gz" in paths
    assert (tmp_path / f"{LABELS}.gz").stat().st_mtime_ns == before
    with pytest.raises(DataError, match="cifar10 has no built-in download"):
        download_dataset("cifar10", tmp_path, mirrors=[dead_url])


def test_silent_mirror_times_out(tmp_path):
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: timed out after 0.3 s"):
            download_file(LABELS, tmp_path, LABELS_SHA256, [url], timeout=0.3)
    assert list(tmp_path.iterdir()) == []
