"""The compressed file: a fixed header, one checksum per image, the coded words, a file checksum.

Layout (little-endian), format version 2::

    offset  size  field
    0       8     magic b"PIXCNNZ\\n"
    8       2     format version (2)
    10      16    model identity: SHA-256 of the model's config and weights, truncated
    26      2     C, channels          28  2  H          30  2  W
    32      2     L, levels per sub-pixel
    34      4     N, images            38  4  batch: images coded together
    42      4     words: length of the coded stream in 32-bit words
    46      4*N   CRC-32 of each image (its levels as uint8, C*H*W bytes in C, H, W order)
    ..      4*words  the range coder's stream
    end-4   4     CRC-32 of every byte before it

Reading checks, in this order, each failure one clear line: the magic (a
foreign file), the version (a newer or an older one is named as such), the length (a
truncated or padded file), the file checksum (a damaged byte anywhere), and
only then the model identity and shapes against the model at hand. The
per-image checksums are verified after decoding: they catch a decoder whose
probabilities came out different from the encoder's.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from pixelcnn.errors import PixelCNNError

MAGIC = b"PIXCNNZ\n"
VERSION = 3  # earlier versions computed other coding distributions, so this one does not decode them
_FIXED = struct.Struct("<8sH16sHHHHIII")  # magic .. words: 46 bytes
HEADER_BYTES = _FIXED.size + 4  # with the file checksum: the bytes a file costs besides 4 per image and the stream


class CompressedFileError(PixelCNNError):
    """A compressed file that is damaged, truncated, foreign, from a newer version or another model."""


@dataclass(frozen=True)
class Header:
    model_id: bytes
    shape: tuple[int, int, int]  # (C, H, W)
    levels: int
    count: int
    batch: int
    checksums: tuple[int, ...]


def model_id(model) -> bytes:
    """16 bytes naming the model: SHA-256 of its config (JSON) and every weight and buffer."""
    import json

    from pixelcnn.models.config import config_to_dict

    h = hashlib.sha256(json.dumps(config_to_dict(model.config), sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(str(tensor.dtype).encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.digest()[:16]


def image_checksums(images: torch.Tensor) -> tuple[int, ...]:
    """CRC-32 of each image of long levels ``[N, C, H, W]`` (values < 256)."""
    arr = images.to(torch.uint8).cpu().numpy()
    return tuple(zlib.crc32(np.ascontiguousarray(a).tobytes()) for a in arr)


def pack(header: Header, words: np.ndarray) -> bytes:
    """The file's bytes: header, checksums, the coded stream (uint32 words), file checksum."""
    c, h, w = header.shape
    head = _FIXED.pack(MAGIC, VERSION, header.model_id, c, h, w, header.levels, header.count, header.batch,
                       len(words))
    body = head + struct.pack(f"<{header.count}I", *header.checksums) + words.astype("<u4").tobytes()
    return body + struct.pack("<I", zlib.crc32(body))


def unpack(data: bytes) -> tuple[Header, np.ndarray]:
    """The header and coded words of a file's bytes; CompressedFileError if they are not a sound file."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CompressedFileError(f"compressed data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise CompressedFileError("the file is empty")
    if not data.startswith(MAGIC[: len(data)]) or len(data) < len(MAGIC):
        raise CompressedFileError("not a pixelcnn compressed file (wrong magic number)")
    if len(data) < 10:
        raise CompressedFileError(f"truncated: {len(data)} bytes, shorter than the header")
    (version,) = struct.unpack_from("<H", data, 8)
    if version > VERSION:
        raise CompressedFileError(f"written in format version {version}, newer than this pixelcnn reads "
                                  f"(version {VERSION}); upgrade pixelcnn")
    if version < 1:
        raise CompressedFileError(f"damaged: format version {version} does not exist")
    if version < VERSION:
        raise CompressedFileError(f"written in format version {version}, whose coder computed other "
                                  f"probabilities than this pixelcnn's (version {VERSION}); decompress it with "
                                  f"the pixelcnn that wrote it")
    if len(data) < HEADER_BYTES:
        raise CompressedFileError(f"truncated: {len(data)} bytes, shorter than the {HEADER_BYTES}-byte header")
    _, _, ident, c, h, w, levels, count, batch, words = _FIXED.unpack_from(data)
    size = _FIXED.size + 4 * count + 4 * words + 4
    if len(data) < size:
        raise CompressedFileError(f"truncated or damaged: {len(data)} bytes of the {size} its header announces")
    if len(data) > size:
        raise CompressedFileError(f"damaged: {len(data)} bytes, {len(data) - size} more than its header announces")
    (crc,) = struct.unpack_from("<I", data, size - 4)
    if zlib.crc32(data[: size - 4]) != crc:
        raise CompressedFileError("damaged: the file's checksum does not match its content")
    if min(c, h, w, batch) < 1 or levels < 2 or levels > 256:
        raise CompressedFileError(f"damaged: impossible shape {c}x{h}x{w}, {levels} levels, batch {batch}")
    checksums = struct.unpack_from(f"<{count}I", data, _FIXED.size)
    stream = np.frombuffer(data, dtype="<u4", count=words, offset=_FIXED.size + 4 * count).astype(np.uint32)
    return Header(ident, (c, h, w), levels, count, batch, checksums), stream
