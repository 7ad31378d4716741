"""Lossless compression of images with a model: files of about ``-log2 p(x)`` bits.

>>> data = pixelcnn.compress(model, images)        # long levels [N, C, H, W] -> bytes  # doctest: +SKIP
>>> pixelcnn.decompress(model, data)                # -> the same images               # doctest: +SKIP

See :mod:`pixelcnn.compression.coder` (the coding loop, exactness) and
:mod:`pixelcnn.compression.container` (the file format).
"""

from pixelcnn.compression.coder import compress, decompress, ideal_bits
from pixelcnn.compression.container import HEADER_BYTES, CompressedFileError

__all__ = ["HEADER_BYTES", "CompressedFileError", "compress", "decompress", "ideal_bits"]
