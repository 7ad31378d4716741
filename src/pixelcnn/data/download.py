"""Downloading gzip-compressed data files from mirrors, verified and atomic.

A file ``<filename>.gz`` is fetched from ``<mirror>/<filename>.gz`` for each
mirror in turn until one succeeds. The SHA-256 of the *uncompressed* content
is checked (mirrors recompress files, so the ``.gz`` bytes differ between
them). The download is written to a temporary file in the destination folder
and moved into place with ``os.replace`` only once verified, so an
interrupted or corrupt download never leaves a file under the final name.

Mirrors, by precedence: the ``mirrors`` argument, then ``$PIXELCNN_MIRROR``
(one base URL, or several separated by commas or spaces), then the defaults
of the data set. Only ``urllib`` is used.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Sequence

from pixelcnn.errors import DataError

ENV_MIRROR = "PIXELCNN_MIRROR"
DEFAULT_TIMEOUT = 30.0  # seconds, per network operation
_CHUNK = 1 << 20

log = logging.getLogger(__name__)


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
    filename: str,
    dest_dir: str | Path,
    sha256: str,
    mirrors: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download ``<mirror>/<filename>.gz`` to ``dest_dir/<filename>.gz``, trying mirrors in turn.

    Args:
        filename: the uncompressed file name, e.g. ``"t10k-labels-idx1-ubyte"``.
        dest_dir: destination folder, created if needed.
        sha256: expected SHA-256 (hex) of the uncompressed content.
        mirrors: base URLs.
        timeout: seconds allowed for each network operation.

    Returns:
        the path of the verified ``.gz`` file.
    """
    dest_dir = Path(dest_dir)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create download folder {dest_dir} ({e.strerror or e})") from None
    target = dest_dir / f"{filename}.gz"
    failures = []
    for base in mirrors:
        url = f"{base.rstrip('/')}/{filename}.gz"
        try:
            _fetch_verified(url, target, sha256, timeout)
            log.info("downloaded %s to %s", url, target)
            return target
        except _MirrorFailure as e:
            failures.append(f"{url}: {e}")
    raise DataError(f"could not download {filename}.gz to {dest_dir}: " + "; ".join(failures))


def _fetch_verified(url: str, target: Path, sha256: str, timeout: float) -> None:
    """Fetch ``url`` to a temporary file beside ``target``, verify, then move it into place."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as e:
        raise DataError(f"cannot write to {target.parent} ({e.strerror or e})") from None
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch(url, out, timeout)
        got = _gunzip_sha256(Path(tmp))
        if got != sha256:
            raise _MirrorFailure(
                f"wrong checksum: SHA-256 of the uncompressed content is {got}, expected {sha256}"
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fetch(url: str, out, timeout: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            shutil.copyfileobj(response, out, _CHUNK)
    except urllib.error.HTTPError as e:
        raise _MirrorFailure(f"HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise _MirrorFailure(f"unreachable ({_reason(e.reason)})") from None
    except (socket.timeout, TimeoutError):
        raise _MirrorFailure(f"timed out after {timeout:g} s") from None
    except (http.client.HTTPException, OSError, ValueError) as e:
        raise _MirrorFailure(f"download failed ({type(e).__name__}: {e})") from None


def _gunzip_sha256(path: Path) -> str:
    """SHA-256 (hex) of the uncompressed content of gzip file ``path``."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                digest.update(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise _MirrorFailure(
            f"not a valid gzip file, truncated or an error page ({type(e).__name__})"
        ) from None
    return digest.hexdigest()


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)
