"""A small PNG reader for tests: size, colour type and RGBA pixels of 8-bit, non-interlaced images."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel (grey, RGB, grey+alpha, RGBA)


@dataclass(frozen=True)
class Image:
    """A decoded image: width, height, colour type and one (r, g, b, a) tuple per pixel, row by row."""

    width: int
    height: int
    colour_type: int
    pixels: tuple[tuple[int, int, int, int], ...]

    def at(self, x: int, y: int) -> tuple[int, int, int, int]:
        """The pixel at column x, row y."""
        return self.pixels[y * self.width + x]


def read_png(data: bytes) -> Image:
    """Decode a PNG (8 bits per sample, no palette, no interlace); ValueError for anything else."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG")
    position, chunks = len(SIGNATURE), []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind, body = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        chunks.append((kind, body))
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or colour_type not in CHANNELS or interlace:
        raise ValueError("only 8-bit, non-palette, non-interlaced PNGs are read here")
    channels = CHANNELS[colour_type]
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    rows = _unfilter(raw, width * channels, height, channels)
    pixels = []
    for row in rows:
        for x in range(width):
            sample = row[x * channels:(x + 1) * channels]
            pixels.append(_rgba(sample, colour_type))
    return Image(width=width, height=height, colour_type=colour_type, pixels=tuple(pixels))


def _rgba(sample: bytes, colour_type: int) -> tuple[int, int, int, int]:
    if colour_type == 0:
        return (sample[0], sample[0], sample[0], 255)
    if colour_type == 4:
        return (sample[0], sample[0], sample[0], sample[1])
    if colour_type == 2:
        return (sample[0], sample[1], sample[2], 255)
    return (sample[0], sample[1], sample[2], sample[3])


def _unfilter(raw: bytes, stride: int, height: int, bpp: int) -> list[bytes]:
    """Undo PNG's per-row filters (none, sub, up, average, Paeth)."""
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
            elif kind != 0:
                raise ValueError(f"unknown filter {kind}")
        rows.append(bytes(line))
        previous = bytes(line)
    return rows


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c
