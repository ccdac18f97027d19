"""The Teams app icons, drawn in code: a shield with a tick, as PNG bytes (the same bytes on every run).

Teams wants a 192x192 full-colour icon (the symbol in the middle 96x96, on a solid background) and a
32x32 outline icon: white on a transparent background. Drawing them here keeps binary files out of the
repository and the icons in step with the accent colour; a few dozen lines of zlib and struct avoid an
imaging library for two small pictures.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from functools import lru_cache

Rgb = tuple[int, int, int]
Shape = Callable[[float, float], bool]  # is the point (x, y), both in -1..1 with y downwards, inside?

ACCENT: Rgb = (0x1D, 0x4F, 0x6E)  # the Slack app's background colour too
WHITE: Rgb = (255, 255, 255)
COLOR_SIZE = 192
OUTLINE_SIZE = 32
SAMPLES = 4  # per pixel and axis: edges are anti-aliased by coverage

_TOP, _SHOULDER, _BOTTOM, _HALF_WIDTH = -0.86, 0.02, 0.94, 0.76
_TICK = ((-0.40, -0.02), (-0.10, 0.30), (0.42, -0.30))


def color_png() -> bytes:
    """The 192x192 colour icon: a white shield with an accent-coloured tick on the accent colour."""
    return _color_png()


def outline_png() -> bytes:
    """The 32x32 outline icon: the shield's outline and the tick in white, everything else transparent."""
    return _outline_png()


@lru_cache(maxsize=1)
def _color_png() -> bytes:
    symbol = 96 / COLOR_SIZE  # Teams' guidance: the symbol fits the middle 96x96 of the 192x192 icon
    shield = _scaled(_shield, symbol)
    tick = _scaled(_tick(0.12), symbol)
    rows = []
    for y in range(COLOR_SIZE):
        row = bytearray()
        for x in range(COLOR_SIZE):
            white = _coverage(lambda u, v: shield(u, v) and not tick(u, v), x, y, COLOR_SIZE)
            row += bytes(round(a * (1 - white) + b * white) for a, b in zip(ACCENT, WHITE)) + b"\xff"
        rows.append(bytes(row))
    return png(COLOR_SIZE, COLOR_SIZE, rows)


@lru_cache(maxsize=1)
def _outline_png() -> bytes:
    outer = _scaled(_shield, 0.94)
    inner = _scaled(_shield, 0.72)
    tick = _scaled(_tick(0.16), 0.60)  # smaller than the outline, so a gap shows between them

    def drawn(u: float, v: float) -> bool:
        return (outer(u, v) and not inner(u, v)) or tick(u, v)

    rows = [b"".join(bytes((*WHITE, round(255 * _coverage(drawn, x, y, OUTLINE_SIZE)))) for x in range(OUTLINE_SIZE))
            for y in range(OUTLINE_SIZE)]
    return png(OUTLINE_SIZE, OUTLINE_SIZE, rows)


def _shield(x: float, y: float) -> bool:
    """A shield: straight sides down to its shoulders, then curving in to a point."""
    if y < _TOP or y > _BOTTOM:
        return False
    if y <= _SHOULDER:
        return abs(x) <= _HALF_WIDTH
    return abs(x) <= _HALF_WIDTH * math.cos(math.pi / 2 * (y - _SHOULDER) / (_BOTTOM - _SHOULDER))


def _tick(half_thickness: float) -> Shape:
    """A tick: two strokes of the given half-thickness."""
    def inside(x: float, y: float) -> bool:
        return any(_distance_to_segment(x, y, a, b) <= half_thickness for a, b in zip(_TICK, _TICK[1:]))
    return inside


def _distance_to_segment(x: float, y: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - ax - t * dx, y - ay - t * dy)


def _scaled(shape: Shape, factor: float) -> Shape:
    """The shape drawn at `factor` of the icon's size, centred."""
    return lambda x, y: shape(x / factor, y / factor)


def _coverage(shape: Shape, x: int, y: int, size: int) -> float:
    """How much of pixel (x, y) the shape covers, 0..1, from SAMPLES x SAMPLES points inside it."""
    hits = 0
    for i in range(SAMPLES):
        for j in range(SAMPLES):
            u = (x + (i + 0.5) / SAMPLES) / size * 2 - 1
            v = (y + (j + 0.5) / SAMPLES) / size * 2 - 1
            hits += shape(u, v)
    return hits / (SAMPLES * SAMPLES)


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGBA PNG from rows of width * 4 bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA, deflate, no interlace
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 (none) on every row
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))
