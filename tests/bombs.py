"""Hostile originals made by hand, byte by byte: small files that declare huge work.

Each is a few bytes to a few kilobytes, and valid enough that Pillow opens it
from its header. None is ever decoded by a correct function.
"""

import io
import struct
import zlib

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose IHDR (with a correct CRC) declares width x height RGB pixels, followed by one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, deflate, no filter, no interlace
    idat = zlib.compress(b"\0" * 4)
    return PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def grey_png(size: tuple[int, int], zlib_stream: bytes, behind: tuple[int, int] | None = None) -> bytes:
    """An 8-bit grey PNG by hand, its IDAT stream as given; with `behind`, its IHDR follows another
    declaring that size (Pillow reads the second)."""
    first = png_chunk(b"IHDR", struct.pack(">IIBBBBB", *behind, 8, 0, 0, 0, 0)) if behind else b""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", *size, 8, 0, 0, 0, 0))
    return PNG_SIGNATURE + first + ihdr + png_chunk(b"IDAT", zlib_stream) + png_chunk(b"IEND", b"")


def png_ending_after_one_row(width: int, height: int, first_declared: tuple[int, int] | None = None) -> bytes:
    """An 8-bit grey PNG whose zlib stream ends, properly, after the first of its `height` rows;
    with `first_declared`, behind an IHDR of that size (Pillow reads the second)."""
    row = b"\0" + bytes(range(256)) * (width // 256) + bytes(width % 256)
    return grey_png((width, height), zlib.compress(row), behind=first_declared)


def apng_with_frames(count: int) -> bytes:
    """A 1x1 grey APNG that holds the `count` frames its acTL declares, about 64 bytes each: the frames present
    are what count, as browsers play no more than those."""
    pixel = zlib.compress(b"\0\0")  # filter byte, one sample
    chunks = [png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)),
              png_chunk(b"acTL", struct.pack(">II", count, 0))]
    for index in range(count):  # fcTL and fdAT share one sequence; IDAT, frame 0's data, takes no number
        chunks.append(png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", max(0, 2 * index - 1), 1, 1, 0, 0, 1, 100, 0, 0)))
        chunks.append(png_chunk(b"fdAT", struct.pack(">I", 2 * index) + pixel) if index else png_chunk(b"IDAT", pixel))
    return PNG_SIGNATURE + b"".join(chunks) + png_chunk(b"IEND", b"")


# One 1x1 frame: graphic control (100 ms), descriptor, LZW code size 2, data [clear, 0, end], terminator.
_GIF_ONE_PIXEL_DATA = b"\x02\x02\x44\x01\x00"
GIF_RESTORE_BACKGROUND = 2


def gif_frames(screen: tuple[int, int], extents: list[tuple[int, int, int, int]], disposal: int = 0) -> bytes:
    """A GIF with a 2-colour global palette and one frame per (left, top, width, height), each with this disposal.

    Every frame carries the same three LZW codes, so that a frame declared larger
    than one pixel is short of data: it is never meant to be decoded.
    """
    control = b"!\xf9\x04" + bytes([disposal << 2]) + b"\x0a\x00\x00\x00"
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff")
    out += b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for left, top, width, height in extents:
        out += control + b"," + struct.pack("<HHHHB", left, top, width, height, 0) + _GIF_ONE_PIXEL_DATA
    return bytes(out + b";")


def gif_first_frame_growing(first: tuple[int, int]) -> bytes:
    """A 1x1 screen whose first frame reaches `first`, restored to the background after it: Pillow fills that
    frame's whole extent as it opens the file (a reviewer's 65535x65535 took 4.1 GB before its 413)."""
    return gif_frames((1, 1), [(0, 0, *first)], disposal=GIF_RESTORE_BACKGROUND)


def gif_with_frames(count: int, screen: tuple[int, int] = (1, 1)) -> bytes:
    """`count` 1x1 frames, about 23 bytes each: 5000 frames in 115 KB."""
    return gif_frames(screen, [(index % screen[0], 0, 1, 1) for index in range(count)])


def gif_growing(screen: tuple[int, int], later: tuple[int, int]) -> bytes:
    """A 1x1 first frame on a small screen, then a frame that reaches `later`: Pillow grows the canvas to it."""
    return gif_frames(screen, [(0, 0, 1, 1), (0, 0, *later)])


def gif_hiding_a_frame(hidden: tuple[int, int]) -> bytes:
    """A 10x10 GIF of two 1x1 frames, as a walk by the format's rules reads it; Pillow reads a
    plain-text extension with an empty first sub-block one chain too far, and so finds its second
    frame, of `hidden` pixels with real LZW data, inside what that walk takes for frame data."""
    lzw_source = io.BytesIO()
    Image.new("P", hidden).save(lzw_source, "GIF", palette=bytes([0, 0, 0, 255, 255, 255]))
    encoded = lzw_source.getvalue()
    hidden_descriptor = b"," + struct.pack("<HHHHB", 0, 0, *hidden, 0)
    at = encoded.index(hidden_descriptor[:-1]) + len(hidden_descriptor)  # Pillow's flags: no local palette
    lzw = encoded[at:-1]  # the code size, then its sub-blocks
    screen = b"GIF89a" + struct.pack("<HHBBB", 10, 10, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    first = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + _GIF_ONE_PIXEL_DATA
    decoy = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02"  # Pillow: a 44-byte sub-block from its ","
    # The decoy's first sub-block, 45 bytes: at its 34th, Pillow's chain ends, then its own frame begins.
    sub_block = bytearray(45)
    sub_block[34 : 34 + len(hidden_descriptor) + 1] = hidden_descriptor + lzw[:1]
    return screen + first + b"!\x01\x00" + decoy + bytes([45]) + bytes(sub_block) + lzw[1:] + b";"


def gif_tiny_sub_blocks(megabytes: int) -> bytes:
    """A one-pixel GIF whose frame data is cut into 1-byte sub-blocks: a Python step per 2 bytes to walk."""
    head = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    blocks = b"\x01\x44" + b"\x01\x01" * (megabytes * 500_000) + b"\x00"
    return head + b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02" + blocks + b";"


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose SOF marker then declares width x height."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 150)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_scan_cut_short(size: tuple[int, int], kept: int, image_format: str = "JPEG") -> bytes:
    """A real JPEG whose scan is cut after `kept` bytes and closed there with an end-of-image marker.
    As an MPO, the pictures after the first are cut away with it; its header still declares them."""
    buffer = io.BytesIO()
    picture = Image.radial_gradient("L").resize(size).convert("RGB")
    more = {"save_all": True, "append_images": [picture]} if image_format == "MPO" else {}
    picture.save(buffer, image_format, quality=90, **more)
    data = buffer.getvalue()
    sos = data.index(b"\xff\xda")
    scan_start = sos + 2 + struct.unpack_from(">H", data, sos + 2)[0]
    return data[: scan_start + kept] + b"\xff\xd9"


def webp_declaring(width: int, height: int) -> bytes:
    """A real 4x4 lossless WebP whose VP8L header then declares width x height (at most 16384 each)."""
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (9, 9, 9)).save(buffer, "WEBP", lossless=True)
    data = bytearray(buffer.getvalue())
    header = data.index(b"VP8L") + 9  # chunk tag, chunk size, then the 0x2f signature byte
    bits = struct.unpack("<I", data[header : header + 4])[0]
    bits = (bits & ~((1 << 28) - 1)) | (width - 1) | ((height - 1) << 14)
    data[header : header + 4] = struct.pack("<I", bits)
    return bytes(data)


def lossy_webp_declaring(width: int, height: int) -> bytes:
    """A real 64x48 lossy WebP whose VP8 frame header then declares width x height (at most 16383 each):
    its body runs out in the first rows."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (9, 9, 9)).save(buffer, "WEBP", quality=50)
    data = bytearray(buffer.getvalue())
    start_code = data.index(b"\x9d\x01\x2a")  # then 14-bit width and height, each with 2 scaling bits
    data[start_code + 3 : start_code + 7] = struct.pack("<HH", width, height)
    return bytes(data)


def webp_with_frames(count: int) -> bytes:
    images = [Image.new("RGB", (1, 1), (index % 256, 0, 0)) for index in range(count)]
    buffer = io.BytesIO()
    images[0].save(buffer, "WEBP", save_all=True, append_images=images[1:], duration=10, lossless=True)
    return buffer.getvalue()


def tiff_with_pages(count: int) -> bytes:
    """A little-endian TIFF of `count` 1x1 grey pages, one IFD each: Pillow's n_frames walks them all."""
    ifd_size = 2 + 9 * 12 + 4
    strip = 8 + count * ifd_size
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for index in range(count):
        entries = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
                   (273, 4, 1, strip), (277, 3, 1, 1), (278, 3, 1, 1), (279, 4, 1, 1)]
        out += struct.pack("<H", len(entries))
        for tag, kind, number, value in entries:
            out += struct.pack("<HHII", tag, kind, number, value)
        out += struct.pack("<I", 8 + (index + 1) * ifd_size if index + 1 < count else 0)
    return bytes(out + b"\x80")


def bmp_declaring(width: int, height: int) -> bytes:
    """A 24-bit BMP header declaring width x height, with one row of pixel data."""
    pixels = b"\0" * 4
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    header = b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return header + info + pixels
