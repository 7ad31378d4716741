"""Finding and reading data files: folder lookup, gzip-aware reads, checksums.

A registered data set ``<name>`` is looked for in these folders:

1. ``data_dir`` and ``data_dir/<name>``, when ``data_dir`` is given;
2. else ``$PIXELCNN_DATA_DIR/<name>``, when that variable is set;
3. else the cache ``$XDG_CACHE_HOME/pixelcnn/<name>`` (by default
   ``~/.cache/pixelcnn/<name>``), then ``/usr/share/datasets/<name>`` (where
   Debian's ``dataset-*`` packages, e.g. ``dataset-fashion-mnist``, put files).

Downloads go to the first folder of that list. A file ``foo`` may be stored
as ``foo`` or gzip-compressed as ``foo.gz``; the plain one is preferred.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

from pixelcnn.errors import DataError

ENV_DATA_DIR = "PIXELCNN_DATA_DIR"
SYSTEM_DIR = Path("/usr/share/datasets")


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/pixelcnn``, or ``~/.cache/pixelcnn``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pixelcnn"


def search_dirs(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """Folders where the files of data set ``name`` are looked for, in order."""
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        return [root, root / name]
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return [Path(env).expanduser() / name]
    return [cache_root() / name, SYSTEM_DIR / name]


def find_file(filename: str, dirs: list[Path]) -> Path | None:
    """First existing ``dir/filename`` or ``dir/filename.gz``, else None."""
    for folder in dirs:
        for candidate in (folder / filename, folder / f"{filename}.gz"):
            if candidate.is_file():
                return candidate
    return None


def describe_dirs(dirs: list[Path]) -> str:
    """The folders as one comma-separated string, flagging missing ones."""
    return ", ".join(str(d) if d.is_dir() else f"{d} (no such folder)" for d in dirs)


def missing_file_error(name: str, filename: str, dirs: list[Path], hint: str) -> DataError:
    """One line: which file is missing, where it was looked for, what to do."""
    return DataError(f"{name}: {filename}[.gz] not found; looked in {describe_dirs(dirs)}; {hint} "
                     f"(docs/data.md says where each set is looked for)")


def read_bytes(path: str | Path) -> bytes:
    """Whole content of ``path``, decompressed when the name ends in ``.gz``."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except gzip.BadGzipFile:
        raise DataError(f"{path}: not a gzip file, although its name ends in .gz") from None
    except EOFError:
        raise DataError(
            f"{path}: truncated gzip file (ends before the end of the stream)"
        ) from None
    except zlib.error as e:
        raise DataError(f"{path}: corrupt gzip data ({e})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def check_sha256(data: bytes, expected: str, path: str | Path) -> None:
    """Raise DataError unless the SHA-256 of ``data`` (the content of ``path``) is ``expected``."""
    got = sha256_hex(data)
    if got != expected:
        raise DataError(
            f"{path}: wrong checksum: SHA-256 of the content is {got}, expected {expected} "
            "(corrupt or not the official file; delete it to download it again)"
        )
