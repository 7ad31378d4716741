import os
import socket
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
torch.set_num_threads(min(2, torch.get_num_threads()))

CHECKOUT = Path(__file__).resolve().parents[1]
# what running the tests may leave in the checkout: the environment, caches, build metadata
NOT_OUTPUTS = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "site",
               "build", "dist"}


def checkout_files() -> set[Path]:
    """Every file of the checkout (paths relative to it), without :data:`NOT_OUTPUTS` and ``*.egg-info``."""
    found = set()
    for folder, dirs, files in os.walk(CHECKOUT):
        dirs[:] = [d for d in dirs if d not in NOT_OUTPUTS and not d.endswith(".egg-info")]
        found.update(Path(folder, f).relative_to(CHECKOUT) for f in files)
    return found


@pytest.fixture(scope="session", autouse=True)
def checkout_stays_clean():
    """Tests write under their tmp_path, never into the checkout: a file that appears in it
    during the session (a PNG, a CSV, a cache written to the working directory) fails the run."""
    before = checkout_files()
    yield
    new = sorted(map(str, checkout_files() - before))
    assert not new, f"the tests wrote {len(new)} file(s) into the checkout {CHECKOUT}: {new[:10]}"


@pytest.fixture(autouse=True)
def no_internet_downloads(monkeypatch):
    """Every download a test starts by accident goes to a closed port on 127.0.0.1 and fails
    at once, instead of fetching a data set from the Internet (tests that download set their own mirror)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("PIXELCNN_MIRROR", f"http://127.0.0.1:{port}/")
