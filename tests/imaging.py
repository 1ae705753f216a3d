"""Images made in memory for the tests, the engine's renditions of them, and helpers to read the handler's answers."""

import base64
import copy
import io
import itertools
import json
import random
import struct
import zlib
from pathlib import Path

from PIL import ExifTags, Image, ImageChops

from bombs import PNG_SIGNATURE, png_chunk
from edge.config import DEFAULT_CACHE_CONTROL as IMMUTABLE  # test_template pins its value to the template's
from edge.image import Limits, render
from edge.png import ADAM7
from edge.rendition import parse_rendition
from local.runtime import TIMEOUT_MS as LAMBDA_TIMEOUT_MS

EVENTS = Path(__file__).resolve().parent.parent / "events"
ORIGINALS = "image-cdn-originals"
DERIVATIVES = "image-cdn-derivatives"


class Context:
    """A Lambda context whose remaining time is given, or a list consumed one call at a time."""

    def __init__(self, remaining_ms: int | list[int] = LAMBDA_TIMEOUT_MS):
        self.remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        if isinstance(self.remaining, list):
            return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]
        return self.remaining


def answering_with(monkeypatch, operation: str, edit) -> None:
    """S3's answer to each `operation` call of the function (get_object, put_object), as edit(answer) makes it."""
    from edge import storage  # imported when used: most tests never load boto3

    client = storage.s3_client("us-east-1")
    real = getattr(client, operation)
    monkeypatch.setattr(client, operation, lambda **kwargs: edit(real(**kwargs)))


def without_field(name: str):
    """An edit for answering_with: the answer without one of its fields, as an S3-like store may send it."""
    return lambda answer: {field: value for field, value in answer.items() if field != name}


def noise_image(size: tuple[int, int]) -> Image.Image:
    """Incompressible RGB, the same on every run: the surest way past the 1 MB inline cap."""
    generator = random.Random(7)
    return Image.frombytes("RGB", size, generator.randbytes(size[0] * size[1] * 3))


def gradient(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A smooth, photo-like image: horizontal red, vertical green, diagonal blue."""
    width, height = size
    red = Image.linear_gradient("L").rotate(90).resize(size)
    green = Image.linear_gradient("L").resize(size)
    blue = Image.radial_gradient("L").resize(size)
    image = Image.merge("RGB", (red, green, blue))
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize(size))
    elif mode != "RGB":
        image = image.convert(mode)
    return image


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


LIMITS = Limits(max_pixels=50_000_000, max_frames=300)
LOSSY_EPSILON = {"jpeg": 12, "webp": 14, "avif": 14, "png": 0, "gif": 0}
RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def rendered(data: bytes, spec: str, limits: Limits = LIMITS):
    result = render(data, parse_rendition(f"/{spec}/key"), limits)
    image = Image.open(io.BytesIO(result.body))
    assert image.format.lower() == result.format
    assert image.size == result.size
    return result, image


def half_transparent(mode: str) -> Image.Image:
    """Left half opaque red (or grey), right half fully transparent."""
    if mode == "P":
        image = Image.new("P", (64, 32), 0)
        image.putpalette([255, 0, 0, 0, 0, 0])
        image.paste(1, (32, 0, 64, 32))
        image.info["transparency"] = 1
        return image
    image = Image.new(mode, (64, 32), (255, 0, 0, 255) if mode == "RGBA" else (128, 255))
    image.paste((0, 0, 0, 0) if mode == "RGBA" else (0, 0), (32, 0, 64, 32))
    return image


def quadrants(size=(40, 20)) -> Image.Image:
    """Each corner a distinct colour, so that any flip or rotation shows."""
    width, height = size
    image = Image.new("RGB", size)
    for box, colour in [
        ((0, 0, width // 2, height // 2), RED), ((width // 2, 0, width, height // 2), GREEN),
        ((0, height // 2, width // 2, height), BLUE), ((width // 2, height // 2, width, height), YELLOW),
    ]:
        image.paste(colour, box)
    return image


# What a camera stores for each orientation, given the upright picture (the inverse of exif_transpose).
STORED_FOR_ORIENTATION = {
    1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def stored_as(upright: Image.Image, orientation: int) -> tuple[Image.Image, bytes]:
    """The picture as a camera stores it with this EXIF orientation, and the EXIF block that says so."""
    method = STORED_FOR_ORIENTATION[orientation]
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return (upright if method is None else upright.transpose(method)), exif.tobytes()


FRAME_COLOURS = [RED, GREEN, BLUE, YELLOW, (255, 0, 255)]
DURATIONS = [100, 200, 300, 400, 500]


def animation(source_format: str, frame_count: int = len(FRAME_COLOURS), **options) -> bytes:
    frames = [Image.new("RGB", (64, 48), colour) for colour in FRAME_COLOURS[:frame_count]]
    return encoded(frames[0], source_format, save_all=True, append_images=frames[1:],
                   duration=DURATIONS[:frame_count], **options)


def png_from_rows(size: tuple[int, int], depth: int, colour_type: int, filtered_rows: bytes,
                  chunks: bytes = b"") -> bytes:
    """A PNG by hand, at any depth and colour type (Pillow writes few): its IHDR, `chunks` (PLTE, tRNS, ...),
    then the rows, each with its filter byte, in one IDAT."""
    header = struct.pack(">IIBBBBB", *size, depth, colour_type, 0, 0, 0)
    return (PNG_SIGNATURE + png_chunk(b"IHDR", header) + chunks + png_chunk(b"IDAT", zlib.compress(filtered_rows))
            + png_chunk(b"IEND", b""))


def gif_by_hand(screen: tuple[int, int], palette: list[tuple[int, int, int]], frames: list) -> bytes:
    """A GIF by hand, its indices exactly as given (Pillow's writer renumbers a palette): a global colour table
    of `palette` (a power of 2 long), then frames ((width, height), (left, top), indices, disposal,
    transparent index or None), each behind its graphic control."""
    table = b"".join(bytes(colour) for colour in palette)
    out = [b"GIF89a", struct.pack("<HHBBB", *screen, 0x80 | (len(palette).bit_length() - 2), 0, 0), table]
    for size, place, indices, disposal, transparency in frames:
        flags = disposal << 2 | (transparency is not None)
        control = bytes([0x21, 0xF9, 4, flags, 10, 0, transparency or 0, 0])  # 100 ms
        out += [control, b",", struct.pack("<HHHHB", *place, *size, 0), gif_lzw(indices)]
    return b"".join(out) + b";"


def gif_lzw(indices: list[int], code_size: int = 8) -> bytes:
    """LZW data that codes each index on its own (a clear code before the table would widen the codes), in
    sub-blocks: what any GIF decoder reads, and simple enough to write here."""
    clear = 1 << code_size
    codes = []
    for count, index in enumerate(indices):
        if count % (clear - 2) == 0:
            codes.append(clear)
        codes.append(index)
    codes.append(clear + 1)  # end of information
    bits = sum(code << (place * (code_size + 1)) for place, code in enumerate(codes))
    packed = bits.to_bytes((len(codes) * (code_size + 1) + 7) // 8, "little")
    blocks = b"".join(bytes([len(packed[at:at + 255])]) + packed[at:at + 255] for at in range(0, len(packed), 255))
    return bytes([code_size]) + blocks + b"\0"


def png_stream(image: Image.Image, interlaced: bool = False) -> bytes:
    """The zlib stream of an 8-bit image's rows, each unfiltered; interlaced, in Adam7's seven passes."""
    pixels = image.load()
    passes = ADAM7 if interlaced else [(0, 0, 1, 1)]
    rows = [b"\0" + b"".join(bytes(pixels[x, y]) if isinstance(pixels[x, y], tuple) else bytes([pixels[x, y]])
                             for x in range(left, image.width, across))
            for left, top, across, down in passes if left < image.width
            for y in range(top, image.height, down)]
    return zlib.compress(b"".join(rows))


def apng_from_streams(header: tuple[int, int, int, int], frames: list, before_frames: bytes = b"",
                      fallback: bytes | None = None, interlaced: bool = False) -> bytes:
    """An APNG by hand: IHDR's (width, height, depth, colour type), chunks before the frames (PLTE, tRNS), the
    zlib stream of a fallback (an IDAT image outside the animation), if any, then frames (zlib stream, size,
    (left, top), dispose op, blend op): the first in IDAT unless there is a fallback, the others in fdAT, each
    numbered in sequence with its frame control."""
    chunks = [png_chunk(b"IHDR", struct.pack(">IIBBBBB", *header, 0, 0, int(interlaced))),
              png_chunk(b"acTL", struct.pack(">II", len(frames), 0)), before_frames]
    if fallback is not None:
        chunks.append(png_chunk(b"IDAT", fallback))
    sequence = 0
    for index, (stream, size, place, dispose, blend) in enumerate(frames):
        chunks.append(png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", sequence, *size, *place, 1, 10, dispose, blend)))
        sequence += 1
        if index == 0 and fallback is None:
            chunks.append(png_chunk(b"IDAT", stream))
        else:
            chunks.append(png_chunk(b"fdAT", struct.pack(">I", sequence) + stream))
            sequence += 1
    return PNG_SIGNATURE + b"".join(chunks) + png_chunk(b"IEND", b"")


def png_with_corrupt_data() -> bytes:
    """A real PNG whose compressed pixels are overwritten mid-stream, the chunk's CRC made right
    again: only the inflater can tell."""
    data = encoded(gradient((300, 200)), "PNG")
    start = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[start : start + 4])
    payload = bytearray(data[start + 8 : start + 8 + length])
    payload[length // 2 : length // 2 + 50] = bytes(50)
    return data[:start] + png_chunk(b"IDAT", bytes(payload)) + data[start + 12 + length :]


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def miss_event(uri: str, *, status: str = "404", method: str = "GET", **custom_headers: str) -> dict:
    """The shipped 404 event for another URI, method or configuration."""
    event = copy.deepcopy(load_event("miss-404-resize.json"))
    cf = event["Records"][0]["cf"]
    cf["request"]["uri"] = uri
    cf["request"]["method"] = method
    cf["response"]["status"] = status
    headers = cf["request"]["origin"]["s3"]["customHeaders"]
    for name, value in custom_headers.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = [{"key": name, "value": value}]
    return event


def origin_response(event: dict) -> dict:
    return event["Records"][0]["cf"]["response"]


def body_bytes(response: dict) -> bytes:
    assert response["bodyEncoding"] == "base64"
    return base64.b64decode(response["body"], validate=True)


def body_image(response: dict) -> Image.Image:
    image = Image.open(io.BytesIO(body_bytes(response)))
    image.load()
    return image


def header(response: dict, name: str) -> str | None:
    entries = response.get("headers", {}).get(name.lower())
    return entries[0]["value"] if entries else None


def icc_profile_rgb(description: str, red, green, blue, gamma: float = 2.2) -> bytes:
    """A minimal ICC v2 RGB matrix/TRC display profile (colorants are D50-adapted XYZ)."""
    colorants = [(name, _xyz(values)) for name, values in (("rXYZ", red), ("gXYZ", green), ("bXYZ", blue))]
    curves = [(name, _curve(gamma)) for name in ("rTRC", "gTRC", "bTRC")]
    return _icc_profile(b"mntr", b"RGB ", description, colorants + curves)


def icc_profile_gray(description: str, gamma: float = 2.2, private_tags: int = 0) -> bytes:
    """A minimal ICC v2 grey display profile: a single tone curve, then `private_tags` tags no reader knows."""
    private = [(f"p{index:03d}", b"zzzz" + bytes(4)) for index in range(private_tags)]
    return _icc_profile(b"mntr", b"GRAY", description, [("kTRC", _curve(gamma)), *private])


# Linear sRGB to D50-adapted XYZ (Bradford), as ICC profiles hold it.
LINEAR_SRGB_TO_XYZ_D50 = ((0.4360747, 0.3850649, 0.1430804), (0.2225045, 0.7168786, 0.0606169),
                          (0.0139322, 0.0971045, 0.7141733))


def icc_profile_cmyk(description: str, corner_colour) -> bytes:
    """A minimal ICC v2 CMYK printer profile: an A2B0 table of 2 points per ink, so each corner of the
    ink cube (inks 0 or 1) shows corner_colour(c, m, y, k), a linear sRGB colour, exactly."""
    corners = b""
    for inks in itertools.product((0, 1), repeat=4):  # the first ink varies slowest, as ICC orders its grid
        rgb = corner_colour(*inks)
        xyz = [sum(weight * level for weight, level in zip(row, rgb)) for row in LINEAR_SRGB_TO_XYZ_D50]
        corners += struct.pack(">3H", *(round(value * 0x8000) for value in xyz))  # lut16's XYZ: 1.0 is 0x8000
    identity = b"".join(struct.pack(">i", 65536 if row == column else 0) for row in range(3) for column in range(3))
    linear = struct.pack(">2H", 0, 0xFFFF)
    a2b0 = (b"mft2" + b"\0" * 4 + bytes((4, 3, 2, 0)) + identity + struct.pack(">2H", 2, 2)
            + linear * 4 + corners + linear * 3)
    return _icc_profile(b"prtr", b"CMYK", description, [("A2B0", a2b0)])


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(values) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(_s15(v) for v in values)


def _curve(gamma: float) -> bytes:
    return b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _icc_profile(device_class: bytes, colour_space: bytes, description: str, tags: list) -> bytes:
    ascii_text = description.encode("ascii") + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_text)) + ascii_text + b"\0" * (4 + 4 + 2 + 1 + 67)
    tags = [
        ("desc", desc), ("wtpt", _xyz((0.9642, 1.0, 0.8249))), ("cprt", b"text" + b"\0" * 4 + b"No copyright\0"),
        *tags,
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += signature.encode() + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + device_class + colour_space + b"XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)
        + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


DISPLAY_P3 = icc_profile_rgb(
    "Display P3 (test)",
    red=(0.515102, 0.241196, -0.001053),
    green=(0.291965, 0.692245, 0.041885),
    blue=(0.157153, 0.066574, 0.784073),
)


def with_colour_codes(data: bytes, primaries: int, transfer: int, which: slice = slice(None)) -> bytes:
    """An AVIF whose nclx colour boxes (`which` of them, in file order: a sequence's primary item's,
    then its track's) state other primaries and transfer: the same coded numbers, read as other colours."""
    marker = b"colrnclx"
    found, at = [], data.find(marker)
    while at != -1:
        found.append(at + len(marker))
        at = data.find(marker, at + 1)
    patched = bytearray(data)
    for codes_at in found[which]:
        patched[codes_at:codes_at + 4] = struct.pack(">HH", primaries, transfer)
    return bytes(patched)


def max_difference(first, second) -> int:
    """The largest per-channel difference between two pixels (tuples or ints)."""
    if isinstance(first, int):
        first, second = (first,), (second,)
    return max(abs(a - b) for a, b in zip(first, second, strict=True))


def alpha_weighted(image: Image.Image) -> Image.Image:
    """The image premultiplied where it has alpha: how two renders are compared when the colour of
    a (nearly) transparent pixel is anyone's."""
    return image.convert({"RGBA": "RGBa", "LA": "La"}.get(image.mode, image.mode))


def largest_difference(first: Image.Image, second: Image.Image) -> int:
    """The largest difference between two images of one size and mode, over every pixel and band."""
    return max(band.getextrema()[1] for band in ImageChops.difference(first, second).split())


def tiled_tiff(image: Image.Image, tile: int, streams: list[bytes] | None = None, lengths: int | None = None,
               compression: int = 8, shared: bool = False) -> bytes:
    """A little-endian TIFF of an L image in tile x tile Deflate tiles (Pillow writes strips only), each tile's
    pixels padded with zeros to a whole tile, as TIFF 6.0 lays them out. `streams` replaces the tiles' compressed
    data, `lengths` the count of TileByteCounts written; `compression` is Deflate's code, 8 or 32946 (which
    Pillow never writes); `shared`, every tile pointing at one copy of the first stream."""
    across, down = -(-image.width // tile), -(-image.height // tile)
    if streams is None:
        padded = Image.new("L", (across * tile, down * tile))
        padded.paste(image)
        streams = [zlib.compress(padded.crop((x * tile, y * tile, (x + 1) * tile, (y + 1) * tile)).tobytes())
                   for y in range(down) for x in range(across)]
    counts = [len(stream) for stream in streams][:lengths]
    return little_endian_tiff([(256, "I", [image.width]), (257, "I", [image.height]), (258, "H", [8]),
                               (259, "H", [compression]), (262, "H", [1]), (277, "H", [1]), (322, "H", [tile]),
                               (323, "H", [tile]), (324, "I", None), (325, "I", counts)], streams, 324, shared)


def little_endian_tiff(entries: list[tuple[int, str, list[int] | None]], pieces: list[bytes], offsets_tag: int,
                       shared: bool = False) -> bytes:
    """A little-endian TIFF of one directory holding these (tag, "H" SHORT, "I" LONG or "b" SBYTE, values) entries,
    then the pieces (strips or tiles), whose offsets are the values of the entry of `offsets_tag`; values of more
    than 4 bytes are laid after the directory. `shared`: every piece points at one copy of the first."""
    arrays_at = 8 + 2 + 12 * len(entries) + 4

    def laid_out(offsets: list[int]) -> tuple[bytes, bytes]:
        directory, arrays = struct.pack("<H", len(entries)), b""
        for tag, kind, values in entries:
            values = offsets if tag == offsets_tag else values
            packed = struct.pack(f"<{len(values)}{kind}", *values)
            field = struct.pack("<I", arrays_at + len(arrays)) if len(packed) > 4 else packed.ljust(4, b"\0")
            arrays += packed if len(packed) > 4 else b""
            directory += struct.pack("<HHI", tag, {"H": 3, "I": 4, "b": 6}[kind], len(values)) + field
        return directory, arrays

    data_at = arrays_at + len(laid_out([0] * len(pieces))[1])
    offsets = [data_at + (0 if shared else sum(map(len, pieces[:index]))) for index in range(len(pieces))]
    directory, arrays = laid_out(offsets)
    body = pieces[0] if shared else b"".join(pieces)
    return b"II*\0" + struct.pack("<I", 8) + directory + struct.pack("<I", 0) + arrays + body


def template_with_origins(*origins: dict[str, str]) -> str:
    """A template's text whose distribution has these origins, each with these custom headers (name: value, as
    YAML reads the value: `!Ref Bucket` is a tag)."""
    lines = ["Resources:", "  Distribution:", "    Properties:", "      DistributionConfig:", "        Origins:"]
    for headers in origins:
        lines.append("          - OriginCustomHeaders:")
        lines += [f"              - {{HeaderName: {name}, HeaderValue: {value}}}" for name, value in headers.items()]
    return "\n".join(lines) + "\n"


def app1(payload: bytes) -> bytes:
    """A JPEG's APP1 segment (Exif's, XMP's) holding `payload`."""
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def chunks_before_idat(data: bytes, *chunks: tuple[bytes, bytes] | bytes) -> bytes:
    """A PNG with these chunks just before its first IDAT: each a (type, payload), or a whole chunk's bytes."""
    at = data.index(b"IDAT") - 4
    inserted = b"".join(chunk if isinstance(chunk, bytes) else png_chunk(*chunk) for chunk in chunks)
    return data[:at] + inserted + data[at:]


def chunks_before_iend(data: bytes, *chunks: tuple[bytes, bytes]) -> bytes:
    """A PNG with these chunks (type, payload) after its pixels, just before its IEND."""
    return data[:-12] + b"".join(png_chunk(*chunk) for chunk in chunks) + data[-12:]


def gama_chunk(value: int) -> tuple[bytes, bytes]:
    """A PNG's gAMA chunk (type, payload): the file's gamma, in 1/100,000."""
    return b"gAMA", struct.pack(">I", value)


# A PNG's cHRM payload of sRGB's white, red, green and blue (x then y, in 1/100,000).
SRGB_CHRM = struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)


# XMP that says Orientation 6, which Pillow's getexif() reads where no Exif says one.
XMP_ORIENTATION_6 = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
                     b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                     b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF>'
                     b'</x:xmpmeta>')


def exif_of(orientation: int) -> bytes:
    """Exif's TIFF structure (as a PNG's eXIf chunk holds it, with no header) of one Orientation entry."""
    return exif_directories([(0x0112, 3, 1, orientation)])


class DirectoryAt(int):
    """In exif_directories' entries: the value that points to the directory of this index."""


EXIF_POINTER = DirectoryAt(1)  # the second directory, where a first directory's Exif entry points


def exif_directories(*directories: list[tuple[int, int, int, int]] | None, order: str = ">", magic: int = 42,
                     first_at: int = 8) -> bytes:
    """Exif's TIFF structure, as a PNG's eXIf chunk holds it: these directories of (tag, type, count, value)
    entries (None for none) one after another from byte 8, the first pointed to by the header at `first_at`. A
    DirectoryAt value points to its directory; a SHORT's value stands in the first two of its field's four bytes,
    another's in all four."""
    present = [entries for entries in directories if entries is not None]
    offsets = list(itertools.accumulate((2 + 12 * len(entries) + 4 for entries in present[:-1]), initial=8))

    def field(field_type: int, value: int) -> bytes:
        if isinstance(value, DirectoryAt):
            return struct.pack(order + "I", offsets[value])
        return struct.pack(order + "HH", value, 0) if field_type == 3 else struct.pack(order + "I", value)

    def directory(entries: list[tuple[int, int, int, int]]) -> bytes:
        return (struct.pack(order + "H", len(entries))
                + b"".join(struct.pack(order + "HHI", tag, field_type, count) + field(field_type, value)
                           for tag, field_type, count, value in entries) + bytes(4))

    head = (b"II" if order == "<" else b"MM") + struct.pack(order + "HI", magic, first_at)
    return head + b"".join(directory(entries) for entries in present)


def png_with_chunks_after_ihdr(data: bytes, *chunks: tuple[bytes, bytes]) -> bytes:
    """A PNG with these chunks (type, payload) just after its IHDR, where colour chunks stand."""
    after_ihdr = 8 + 12 + 13
    return data[:after_ihdr] + b"".join(png_chunk(kind, payload) for kind, payload in chunks) + data[after_ihdr:]


def avif_with_item_property(data: bytes, prop: bytes, essential: bool = False) -> bytes:
    """A still AVIF as Pillow (libavif) writes it, with `prop` (a whole box) as one more property of its
    one item: added to the end of its ipco and to its ipma entry (marked essential, as libavif requires of a
    transform such as clap, if asked), the boxes around grown to hold them, and the pixels' offset in iloc
    moved on as far as the meta box grew."""
    def children(payload: bytes) -> list[tuple[bytes, bytes]]:
        found, at = [], 0
        while at < len(payload):
            size, kind = struct.unpack_from(">I4s", payload, at)
            found.append((kind, payload[at + 8:at + size]))
            at += size
        return found

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    (_, ftyp), (_, meta), (mdat_kind, mdat) = children(data)
    version_and_flags, meta_children = meta[:4], children(meta[4:])
    grown = len(prop) + 1  # the property, and its index in the item's ipma entry
    rebuilt = []
    for kind, payload in meta_children:
        if kind == b"iprp":
            (_, ipco), (_, ipma) = children(payload)
            index = len(children(ipco)) + 1
            header, item, count, indices = ipma[:8], ipma[8:10], ipma[10], ipma[11:]
            assert ipma[:4] == bytes(4) and int.from_bytes(ipma[4:8]) == 1  # version 0, one entry
            payload = box(b"ipco", ipco + prop) + box(b"ipma", header + item + bytes([count + 1]) + indices
                                                       + bytes([index | essential << 7]))
        elif kind == b"iloc":
            assert payload[:6] == bytes(4) + b"\x44\x00" and int.from_bytes(payload[6:8]) == 1  # 32-bit, one item
            offset = int.from_bytes(payload[14:18]) + grown
            payload = payload[:14] + offset.to_bytes(4) + payload[18:]
        rebuilt.append(box(kind, payload))
    return box(b"ftyp", ftyp) + box(b"meta", version_and_flags + b"".join(rebuilt)) + box(mdat_kind, mdat)


def exif_with(field_type: int, count: int) -> bytes:
    """Exif whose first directory holds one tag (XResolution) of `count` values of `field_type`, all there."""
    values = bytes(count * {5: 8, 3: 2, 7: 1}[field_type])
    return b"Exif\x00\x00MM\x00*" + struct.pack(">IHHHII", 8, 1, 0x011A, field_type, count, 26) + bytes(4) + values


def icc_profile_of_matrices(*elements: int) -> bytes:
    """An RGB display profile whose D2B0 tag, which LittleCMS reads before any other (then D2B1...), is a
    multiProcessElements one of `elements` identity matrices: one stored, its place in the position table
    repeated, as a hostile profile may."""
    identity = struct.pack(">12f", 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0)
    matrix = b"matf" + b"\0" * 4 + struct.pack(">HH", 3, 3) + identity

    def mpet(count: int) -> bytes:
        positions = 16 + 8 * count
        return (b"mpet" + b"\0" * 4 + struct.pack(">HHI", 3, 3, count)
                + struct.pack(">II", positions, len(matrix)) * count + matrix)

    tags = [(f"D2B{index}", mpet(count)) for index, count in enumerate(elements)]
    # Colorants and curves after them, which browsers read (edge.icc.usable) and LittleCMS reads only without D2B.
    colorants = [(name, _xyz(values)) for name, values in zip(("rXYZ", "gXYZ", "bXYZ"), zip(*LINEAR_SRGB_TO_XYZ_D50))]
    curves = [(name, _curve(1.0)) for name in ("rTRC", "gTRC", "bTRC")]
    return _icc_profile(b"mntr", b"RGB ", "Matrices (test)", tags + colorants + curves)


def tiff_pointing(first: list, exif: list | None = None, gps: list | None = None, interop: list | None = None,
             order: str = "<", big: bool = False, pointer_type: int = 4) -> bytes:
    """A TIFF whose first directory holds `first` (tag, type, count) entries, their values left out, and an
    entry of `pointer_type` pointing to each of the Exif and GPS directories given; the Exif one to Interop."""
    entry, count_format = (struct.Struct(order + "HHQ8s"), "Q") if big else (struct.Struct(order + "HHI4s"), "H")
    value_format = {3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 13: "I", 16: "Q", 18: "Q", 5: "I"}[pointer_type]
    head = (struct.pack(order + "2sHHHQ", b"II" if order == "<" else b"MM", 43, 8, 0, 16) if big
            else struct.pack(order + "2sHI", b"II" if order == "<" else b"MM", 42, 8))

    def size(entries: list, pointers: int) -> int:
        return struct.calcsize(count_format) + entry.size * (len(entries) + pointers)

    exif_entries = (exif or []) if interop is None else [*(exif or []), "interop"]
    at = len(head) + size(first, (exif is not None or interop is not None) + (gps is not None))
    places = {}
    for name, entries in (("exif", exif_entries if exif is not None or interop is not None else None), ("gps", gps),
                          ("interop", interop)):
        if entries is not None:
            places[name] = at
            at += size([e for e in entries if e != "interop"], entries.count("interop"))

    def laid(entries: list) -> bytes:
        out = struct.pack(order + count_format, len(entries))
        for item in entries:
            if isinstance(item, tuple):
                out += entry.pack(*item, b"")
            else:
                tag = {"exif": 34665, "gps": 34853, "interop": 40965}[item]
                value = struct.pack(order + value_format, places[item]).ljust(8 if big else 4, b"\0")
                out += entry.pack(tag, pointer_type, 1, value)
        return out

    pointers = [name for name in ("exif", "gps") if name in places]
    body = laid([*first, *pointers])
    for name, entries in (("exif", exif_entries), ("gps", gps), ("interop", interop)):
        if name in places:
            body += laid(entries)
    return head + body


def lossless_jpeg(image: Image.Image) -> bytes:
    """A lossless JPEG (SOF3) of an 8-bit L or RGB image, which Pillow reads and does not write: predictor 1 (the
    sample to the left; for a row's first, the one above), one Huffman table giving each category a 4-bit code."""
    width, height = image.size
    planes = [plane.tobytes() for plane in image.split()]
    bits = []  # the scan's bits, in order
    for at in range(width * height):
        for plane in planes:
            row_start = at % width == 0
            predicted = (128 if at == 0 else plane[at - width]) if row_start else plane[at - 1]
            difference = plane[at] - predicted
            category = abs(difference).bit_length()
            extra = difference if difference >= 0 else difference + (1 << category) - 1
            bits += [int(bit) for bit in f"{category:04b}"]
            bits += [extra >> shift & 1 for shift in reversed(range(category))]
    bits += [1] * (-len(bits) % 8)  # padded with ones, as JPEG pads
    scan = bytes(int("".join(map(str, bits[at:at + 8])), 2) for at in range(0, len(bits), 8))
    scan = scan.replace(b"\xff", b"\xff\x00")  # stuffed
    count = len(planes)

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload

    table = bytes([0, 0, 0, 9] + [0] * 12) + bytes(range(9))  # nine 4-bit codes, for categories 0 to 8
    components = range(1, count + 1)
    frame = struct.pack(">BHHB", 8, height, width, count) + b"".join(bytes((index, 0x11, 0)) for index in components)
    header = bytes([count]) + b"".join(bytes((index, 0x00)) for index in components) + bytes((1, 0, 0))
    return (b"\xff\xd8" + segment(0xC3, frame) + segment(0xC4, b"\x00" + table) + segment(0xDA, header) + scan
            + b"\xff\xd9")
