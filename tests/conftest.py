import socket
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(autouse=True)
def no_internet_downloads(monkeypatch):
    """Every download a test starts by accident goes to a closed port on 127.0.0.1 and fails
    at once, instead of fetching a data set from the Internet (tests that download set their own mirror)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("PIXELCNN_MIRROR", f"http://127.0.0.1:{port}/")


@pytest.fixture(autouse=True, scope="session")
def checkout_stays_clean():
    """No test leaves files in the checkout's top folder (outputs belong in tmp_path); the
    test tools' own hidden caches (.pytest_cache, .hypothesis) are theirs."""
    root = Path(__file__).parent.parent

    def names():
        return {p.name for p in root.iterdir() if not p.name.startswith(".")}

    before = names()
    yield
    added = sorted(names() - before)
    assert not added, f"tests wrote {added} into {root}"
