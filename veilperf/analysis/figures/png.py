"""A minimal PNG writer for rendered figures: RGB, 8 bits, rows unfiltered, one zlib stream.

Pillow's encoder tries its adaptive row filters on every row, which cost 0.77 s of CPU for the 35
megapixels of the shipped figures even at compression level 0; these flat-colour images compress as
well without filtering, and the whole encoding here takes 0.25 s (``benchmarks/README.md``). The
output is a plain PNG any reader opens; the same pixels and text always give the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COMPRESS_LEVEL = 3
"""zlib level: 3 is as fast as 1 on these images and its files are 5% smaller; 6 takes twice as long."""
_METRES_PER_INCH = 0.0254


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(rgba: np.ndarray, dpi: float, text: dict[str, str] | None = None) -> bytes:
    """PNG bytes of an opaque ``(height, width, 4)`` uint8 image (alpha dropped), with its
    resolution and Latin-1 ``text`` entries (keyword -> value) as uncompressed text chunks."""
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected a (height, width, 4) uint8 image, got {rgba.shape} {rgba.dtype}")
    height, width = rgba.shape[:2]
    rows = np.zeros((height, 1 + 3 * width), np.uint8)  # first byte of each row: filter type 0 (none)
    rows[:, 1:].reshape(height, width, 3)[:] = rgba[:, :, :3]
    per_metre = round(dpi / _METRES_PER_INCH)
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),  # 8-bit RGB
              _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))]  # unit 1: metre
    chunks += [_chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))
               for key, value in (text or {}).items()]
    chunks += [_chunk(b"IDAT", zlib.compress(rows.tobytes(), COMPRESS_LEVEL)), _chunk(b"IEND", b"")]
    return SIGNATURE + b"".join(chunks)


def write_png(path: Path, rgba: np.ndarray, dpi: float, text: dict[str, str] | None = None) -> None:
    """Write :func:`encode_png` of ``rgba`` to ``path``."""
    Path(path).write_bytes(encode_png(rgba, dpi, text))
