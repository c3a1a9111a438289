"""Poster frames of videos: the one transformation the sandbox applies, and its images.

Cloudinary makes an image of a video's frame when its delivery URL asks for an image format
(`.jpg`, `.png`), at the start offset `so_<seconds>` if the URL has that transformation.
The sandbox has no real video to take a frame from: every frame is the same small grey
picture, a valid JPEG or PNG built here with the standard library.
"""

import re
import struct
import zlib

SIDE = 8  # pixels: one 8x8 block, the smallest whole JPEG picture
GREY = 128


def _segment(marker, body):
    """A JPEG marker segment: FF, the marker, then a length that counts itself."""
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def _jpeg():
    """A baseline greyscale JPEG of one 8x8 block at grey 128 (a DC and every AC of 0)."""
    one_code = bytes([1] + [0] * 15) + b"\x00"  # a Huffman table: one 1-bit code, for symbol 0
    return b"".join(
        [
            b"\xff\xd8",  # SOI
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),  # APP0 JFIF
            _segment(0xDB, b"\x00" + b"\x01" * 64),  # DQT: table 0, every quantizer 1
            _segment(0xC0, struct.pack(">BHHB", 8, SIDE, SIDE, 1) + b"\x01\x11\x00"),  # SOF0
            _segment(0xC4, b"\x00" + one_code),  # DHT: DC table 0; symbol 0 is "no change"
            _segment(0xC4, b"\x10" + one_code),  # DHT: AC table 0; symbol 0 is end of block
            _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),  # SOS: component 1, tables 0
            b"\x3f",  # the scan: DC code 0, EOB code 0, then 1-bits to the byte's end
            b"\xff\xd9",  # EOI
        ]
    )


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png():
    """An 8-bit greyscale PNG of 8x8 pixels at grey 128."""
    rows = (b"\x00" + bytes([GREY]) * SIDE) * SIDE  # each row: filter type 0, then pixels
    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 0, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows)),
            _chunk(b"IEND", b""),
        ]
    )


# Extension -> (Content-Type, bytes) of the frame an image delivery URL of a video answers.
FRAMES = {"jpg": ("image/jpeg", _jpeg()), "png": ("image/png", _png())}
START_OFFSET = re.compile(r"^so_\d+(?:\.\d+)?\Z")  # as the SDK writes `start_offset=2.5`


def frame_problem(resource_type, transformation, extension):
    """Why the sandbox cannot deliver this transformation in this format, or None. The
    sandbox makes poster frames of videos only: `so_<seconds>` (or nothing) to .jpg or .png."""
    frame = extension.lower() in FRAMES
    if not transformation and not frame:
        return None  # the stored file itself
    if resource_type != "video":
        return f"The sandbox transforms only videos, not {resource_type} assets"
    if transformation and not START_OFFSET.match(transformation):
        return (
            f"The sandbox supports only the so_<seconds> transformation (a poster frame), "
            f"not {transformation}"
        )
    if not frame:
        return f"The sandbox makes poster frames only as {' or '.join(FRAMES)}, not {extension}"
    return None
