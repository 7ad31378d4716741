"""Verified, cached downloads of data files with ``pooch``, tried mirror by mirror.

Each file a registered set can download is a :class:`Remote`: its name on
the server (also its name in the cache) and the hash of the file *as served*,
``"md5:<hex>"`` where the authors publish only an MD5 (MNIST, Fashion-MNIST,
CIFAR-10), else ``"sha256:<hex>"``. ``pooch.retrieve`` streams the file to a
temporary file beside the target, checks the hash and only then moves it into
place, so a corrupt, truncated or interrupted download never leaves a file
under the final name; a file already there with the right hash is kept.

Mirrors, by precedence: the ``mirrors`` argument, then ``$PIXELCNN_MIRROR``
(one base URL, or several separated by commas or spaces), then the set's
defaults. A mirror must serve the official bytes (the hash is of them).

Why pooch rather than ``urllib``: it is the scientific-Python standard for
exactly this (hash-checked atomic downloads, a cache), about 6 MB installed
with its dependencies (``requests``), and imported only when a download
starts, so ``import pixelcnn`` does not pay for it. Not implemented: resuming a
partial download, FTP or DOI mirrors (pooch has them; no set needs them).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pixelcnn.data.files import ENV_DATA_DIR, find_file, missing_file_error
from pixelcnn.errors import DataError

ENV_MIRROR = "PIXELCNN_MIRROR"
DEFAULT_TIMEOUT = 30.0  # seconds, per network operation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Remote:
    """A file to download: ``filename`` on the server and in the cache, and
    ``known_hash`` (``"md5:<hex>"`` or ``"sha256:<hex>"``) of its bytes as served."""

    filename: str
    known_hash: str


class _MirrorFailure(Exception):
    """One mirror failed; the message says why, in a few words."""


def resolve_mirrors(defaults: Sequence[str], mirrors: Sequence[str] | None = None) -> list[str]:
    """Mirror base URLs to try: ``mirrors``, else ``$PIXELCNN_MIRROR``, else ``defaults``."""
    if mirrors is None:
        env = os.environ.get(ENV_MIRROR, "").replace(",", " ").split()
        mirrors = env or defaults
    if isinstance(mirrors, str):
        mirrors = [mirrors]
    if not mirrors:
        raise DataError("no download mirror given")
    return list(mirrors)


def download_file(
    remote: Remote,
    dest_dir: str | Path,
    mirrors: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download ``<mirror>/<remote.filename>`` to ``dest_dir``, verified, trying mirrors in turn.

    Returns:
        the path of the verified file, ``dest_dir/<remote.filename>``.
    """
    dest_dir = Path(dest_dir)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create download folder {dest_dir} ({e.strerror or e})") from None
    failures = []
    for base in mirrors:
        url = f"{base.rstrip('/')}/{remote.filename}"
        try:
            path = _retrieve(url, remote, dest_dir, timeout)
            log.info("downloaded %s to %s", url, path)
            return path
        except _MirrorFailure as e:
            failures.append(f"{url}: {e}")
    raise DataError(f"could not download {remote.filename} to {dest_dir}: " + "; ".join(failures))


def _retrieve(url: str, remote: Remote, dest_dir: Path, timeout: float) -> Path:
    """One mirror through ``pooch.retrieve``; its failures become a :class:`_MirrorFailure`."""
    import pooch  # noqa: PLC0415 - only a download needs pooch and requests
    import requests

    try:
        with _quiet(pooch.get_logger()):
            path = pooch.retrieve(
                url,
                known_hash=remote.known_hash,
                fname=remote.filename,
                path=dest_dir,
                downloader=pooch.HTTPDownloader(progressbar=False, timeout=timeout),
            )
    except ValueError as e:  # pooch's hash mismatch; the temporary file is already deleted
        got = re.search(r"but got ([0-9a-fA-F]+)", str(e))
        found = f"{remote.known_hash.split(':')[0]}:{got.group(1)}" if got else "another hash"
        raise _MirrorFailure(f"wrong checksum: got {found}, expected {remote.known_hash}") from None
    except requests.exceptions.HTTPError as e:
        response = e.response
        raise _MirrorFailure(f"HTTP {response.status_code} {response.reason}") from None
    except requests.exceptions.Timeout:
        raise _MirrorFailure(f"timed out after {timeout:g} s") from None
    except requests.exceptions.ConnectionError as e:
        if "timed out" in str(e):  # a stalled body read surfaces as a ConnectionError
            raise _MirrorFailure(f"timed out after {timeout:g} s") from None
        reason = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(e))
        raise _MirrorFailure(f"unreachable ({reason.group(1) if reason else 'no connection'})") from None
    except (requests.exceptions.RequestException, OSError) as e:
        raise _MirrorFailure(f"download failed ({type(e).__name__}: {e})") from None
    return Path(path)


@contextlib.contextmanager
def _quiet(logger: logging.Logger):
    """pooch logs every download through its own stderr handler; the CLI logs ours instead."""
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def find_or_download(
    name: str,
    filename: str,
    dirs: list[Path],
    remote: Remote,
    defaults: Sequence[str],
    *,
    download: bool,
) -> Path:
    """``dir/filename`` or ``dir/filename.gz`` in the first folder holding it, else
    ``remote`` downloaded into ``dirs[0]`` when ``download`` is true.

    Raises:
        DataError: one line naming the file, where it was looked for and what to do.
    """
    path = find_file(filename, dirs)
    if path is not None:
        return path
    if not download:
        raise missing_file_error(
            name,
            filename,
            dirs,
            f"copy the files there, set {ENV_DATA_DIR} to a folder holding {name}/, "
            "or pass download=True",
        )
    try:
        return download_file(remote, dirs[0], resolve_mirrors(defaults))
    except DataError as e:
        raise DataError(f"{name}: {filename}[.gz] not found locally and {e}") from None
