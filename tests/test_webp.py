"""libwebp's decode through ctypes: the structures must match the library's, byte for byte."""

import ctypes.util
import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from edge import webp
from edge.image.model import webp_decoder
from edge.image.steps import decoded_image
from imaging import encoded, gradient

BLUE_GREY = (40, 90, 160)


@pytest.fixture(scope="module")
def decoder() -> webp.Decoder:
    found = webp_decoder()
    assert found is not None, "Pillow's libwebp was not found"
    return found


def test_the_library_found_is_the_one_pillow_vendors(decoder):
    assert Path(decoder.path).parent.name == "pillow.libs"


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize(("options", "bitstream"), [({"quality": 80}, webp.LOSSY), ({"lossless": True}, webp.LOSSLESS)])
def test_features_are_read_from_the_header(decoder, mode, options, bitstream):
    data = encoded(gradient((123, 45), mode), "WEBP", **options)
    assert decoder.features(data) == webp.Features((123, 45), False, bitstream)


def test_an_animation_is_reported_as_one(decoder):
    frames = [Image.new("RGB", (8, 6), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    assert decoder.features(data).is_animated


# Half-transparent colour is scaled premultiplied, at 8 bits: a level can go, as in Pillow's own resize.
@pytest.mark.parametrize(("mode", "colour", "seen"), [
    ("RGB", BLUE_GREY, BLUE_GREY), ("RGBA", (*BLUE_GREY, 255), (*BLUE_GREY, 255)),
    ("RGBA", (*BLUE_GREY, 128), (40, 90, 159, 128)),
])
@pytest.mark.parametrize("size", [(100, 50), (37, 11), (1, 1), (401, 200)])
def test_a_flat_picture_scales_to_its_colour(decoder, mode, colour, seen, size):
    data = encoded(Image.new(mode, (400, 200), colour), "WEBP", lossless=True, exact=True)
    decoded = decoder.decode(data, size, alpha=mode == "RGBA")
    assert (decoded.size, decoded.mode, len(decoded.pixels)) == (size, mode, size[0] * size[1] * len(mode))
    assert set(decoded_image(decoded).get_flattened_data()) == {seen}


def test_each_output_pixel_averages_the_area_it_covers(decoder):
    """Columns of 0 and 255 in turn: halved, every pixel covers one of each."""
    stripes = Image.new("L", (64, 8))
    stripes.putdata([255 * (x % 2) for _ in range(8) for x in range(64)])
    data = encoded(stripes.convert("RGB"), "WEBP", lossless=True)
    decoded = decoder.decode(data, (32, 8), alpha=False)
    assert set(bytes(decoded.pixels)) == {128}


@pytest.mark.parametrize("data", [b"", b"RIFF\x04\x00\x00\x00WEBP", b"not a webp at all"],
                         ids=["empty", "riff-header-only", "garbage"])
def test_what_is_not_a_webp_is_refused(decoder, data):
    with pytest.raises(webp.WebPError):
        decoder.features(data)
    with pytest.raises(webp.WebPError):
        decoder.decode(data, (4, 4), alpha=False)


def test_a_bitstream_running_on_past_its_chunk_is_cut_short_there(decoder):
    """20 bytes inserted mid-way, the sizes left as they were: Chromium 156 shows its first rows, the rest
    transparent, as of a file cut short (by hand); given the bytes past the RIFF's end, libwebp read on."""
    whole = encoded(gradient((32, 24)), "WEBP", lossless=True)
    middle = len(whole) // 2
    with pytest.raises(webp.WebPError, match="status 3 decoding"):
        decoder.decode(whole[:middle] + whole[middle - 40:middle - 20] + whole[middle:], (32, 24), alpha=False)


def test_bytes_past_the_riffs_end_are_not_read(decoder):
    whole = encoded(gradient((32, 24)), "WEBP", lossless=True)
    expected = bytes(decoder.decode(whole, (32, 24), alpha=False).pixels)
    assert bytes(decoder.decode(whole + b"JUNK" * 5, (32, 24), alpha=False).pixels) == expected


@pytest.fixture
def unusable_libraries(monkeypatch, tmp_path) -> list[Path]:
    """Missing, not a library, and a library without libwebp's API (libc); no system libwebp."""
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    not_a_library = tmp_path / "libwebp-0.so"
    not_a_library.write_bytes(b"\x7fELF but not really")
    return [tmp_path / "missing.so", not_a_library, Path("libc.so.6")]


def test_no_usable_library_means_no_decoder(unusable_libraries):
    assert webp.load(unusable_libraries) is None


def test_candidates_are_tried_until_one_loads(decoder, unusable_libraries):
    found = webp.load([*unusable_libraries, Path(decoder.path)])
    assert found is not None and found.path == decoder.path


def test_the_system_library_is_used_when_no_candidate_loads(decoder, monkeypatch):
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: decoder.path if name == "webp" else None)
    assert webp.load([]).path == decoder.path


def test_a_library_of_another_abi_is_refused(decoder, monkeypatch):
    """libwebp compares the ABI's major byte: a 3.x caller would read its structures wrong."""
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(webp, "_ABI_VERSION", 0x0309)
    assert webp.load([Path(decoder.path)]) is None


def test_the_system_library_is_looked_for_only_when_no_candidate_loads(decoder, monkeypatch):
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: pytest.fail("looked for the system's libwebp"))
    assert webp.load([Path(decoder.path)]).path == decoder.path


@pytest.mark.parametrize(("options", "edge_pixel"), [({"quality": 90}, (127, 0, 127, 128)),
                                                      ({"lossless": True}, (255, 0, 0, 128))])
def test_only_lossless_alpha_is_weighted_when_scaling(decoder, options, edge_pixel):
    """Opaque red beside transparent blue, halved across the border. Lossless WebP weights
    colour by alpha, so the edge stays red; lossy scales colour and alpha apart, and the
    hidden blue shows. This is why edge.image leaves lossy WebPs with alpha to Pillow."""
    picture = Image.new("RGBA", (400, 200), (255, 0, 0, 255))
    picture.paste((0, 0, 255, 0), (200, 0, 400, 200))
    decoded = decoder.decode(encoded(picture, "WEBP", exact=True, **options), (101, 50), alpha=True)
    assert decoded_image(decoded).getpixel((50, 25)) == edge_pixel


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
@pytest.mark.parametrize("options", [{"quality": 80}, {"lossless": True}], ids=["lossy", "lossless"])
def test_at_its_own_size_the_decode_is_pillows_pixel_for_pixel(decoder, mode, options):
    picture = gradient((123, 45), mode)
    data = encoded(picture, "WEBP", **options)
    decoded = decoder.decode(data, picture.size, alpha=mode == "RGBA")
    with Image.open(io.BytesIO(data)) as pillows:
        assert pillows.mode == mode
        assert bytes(decoded.pixels) == pillows.tobytes()


OUT_OF_ADDRESS_SPACE = """
import resource, sys
from pathlib import Path
from edge.image.model import webp_decoder
decoder, data = webp_decoder(), Path(sys.argv[1]).read_bytes()
pages = int(Path("/proc/self/statm").read_text().split()[0])
resource.setrlimit(resource.RLIMIT_AS, (pages * resource.getpagesize() + (6 << 20), resource.RLIM_INFINITY))
try:
    decoder.decode(data, (200, 200), False)
except Exception as error:
    print(type(error).__name__)
"""


def test_libwebp_running_out_of_memory_is_a_memory_error_not_the_originals_fault(tmp_path):
    """A lossless picture is decoded whole inside libwebp (16 MB at 2000x2000), which 6 MB of address
    space cannot hold: its status 1 must be a server error, not a WebPError that becomes a cached 415."""
    original = tmp_path / "lossless.webp"
    original.write_bytes(encoded(gradient((2000, 2000)), "WEBP", lossless=True))
    run = subprocess.run([sys.executable, "-c", OUT_OF_ADDRESS_SPACE, str(original)], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent, timeout=60)
    assert run.stdout.strip() == "MemoryError", run.stderr


@pytest.mark.parametrize(("status", "raised"), [(1, MemoryError), (2, RuntimeError), (3, webp.WebPError),
                                                (7, webp.WebPError)],
                         ids=["out-of-memory", "invalid-param", "bitstream-error", "not-enough-data"])
def test_only_what_the_bitstream_is_to_blame_for_is_a_webp_error(decoder, status, raised):
    """WebPError becomes a cached 415; the others reach the miss path as a 500, never cached."""
    answering = webp.Decoder(decoder.path)
    answering._decode = lambda *args: status
    with pytest.raises(raised, match="decoding"):
        answering.decode(encoded(gradient((8, 6)), "WEBP"), (8, 6), alpha=False)


RIFF_HEAD = b"RIFF\0\0\0\0WEBP"
ODD_CHUNK = b"JUNK\x03\0\0\0abc\0"  # three bytes, and the pad byte that evens them


def with_alpha_header(header: int | None, raw_alpha: int | None = None, before: bytes = b"") -> bytes:
    """A lossy 32x32 picture with alpha, its ALPH chunk's header byte replaced, or the whole chunk
    replaced by uncompressed alpha of `raw_alpha` bytes; `before`, chunks put ahead of all others."""
    data = bytearray(encoded(gradient((32, 32), "RGBA"), "WEBP", quality=80))
    data[12:12] = before
    chunk = data.index(b"ALPH")
    if raw_alpha is not None:
        size = int.from_bytes(data[chunk + 4:chunk + 8], "little")
        payload = bytes([0]) + bytes([255]) * raw_alpha
        replacement = b"ALPH" + len(payload).to_bytes(4, "little") + payload + bytes(len(payload) & 1)
        data[chunk:chunk + 8 + size + (size & 1)] = replacement
        data[4:8] = (len(data) - 8).to_bytes(4, "little")
    if header is not None:
        data[chunk + 8] = header
    return bytes(data)


# ALPH's header byte: compression in bits 0-1, filter 2-3, pre-processing 4-5, reserved 6-7.
@pytest.mark.parametrize(("data", "explains"), [
    (with_alpha_header(None), True),  # lossless-compressed alpha: its own header only libwebp parses
    (with_alpha_header(0b10), True),  # a compression that does not exist
    (with_alpha_header(0b10_0000, raw_alpha=32 * 32), True),  # pre-processing level 2
    (with_alpha_header(0b0100_0000, raw_alpha=32 * 32), True),  # a reserved bit set
    (with_alpha_header(None, raw_alpha=32 * 32), False),  # uncompressed, one byte a pixel: libwebp takes it
    (with_alpha_header(None, raw_alpha=32 * 32 - 1), True),  # uncompressed, a byte short
    (with_alpha_header(0b01, raw_alpha=32 * 32), True),  # lossless, of the length raw alpha would have
    (with_alpha_header(0b10, raw_alpha=32 * 32), True),
    (with_alpha_header(0b01_0000, raw_alpha=32 * 32), False),  # pre-processing level 1, the most there is
    (with_alpha_header(0b1100, raw_alpha=32 * 32), False),  # a filter: libwebp takes every one
    (with_alpha_header(None, raw_alpha=32 * 32 - 1, before=ODD_CHUNK), True),  # found past a padded chunk
    (RIFF_HEAD + b"JUNK" + (1 << 24).to_bytes(4, "little") + b"ALPH" + bytes(4), False),  # inside a chunk's 16 MB
    (RIFF_HEAD + b"ALPH" + bytes(4), True),  # empty, its header the file's last 8 bytes
    (encoded(gradient((32, 32)), "WEBP"), False),  # no alpha at all
], ids=["lossless", "compression-2", "preprocessing-2", "reserved-bit", "raw-whole", "raw-short",
        "lossless-full-length", "compression-2-full-length", "preprocessing-1", "filter", "after-odd-chunk",
        "inside-large-chunk", "empty-at-the-end", "no-alpha"])
def test_what_libwebp_may_call_out_of_memory_is_read_from_the_alpha_chunk(data, explains):
    assert webp.alpha_explains_out_of_memory(data, 32 * 32) is explains


@pytest.mark.parametrize(("chunks_before", "explains"), [(999, False), (1_000, True)])
def test_a_file_of_more_chunks_before_its_alpha_than_the_limit_is_taken_for_the_originals_fault(
        chunks_before, explains):
    """Raw alpha of full length, which libwebp takes, behind empty chunks and the VP8X: as the 1,001st chunk it
    is past the limit of 1,000 docs/SECURITY.md states, and not read."""
    empty = b"JUNK" + bytes(4)
    assert webp.alpha_explains_out_of_memory(
        with_alpha_header(None, raw_alpha=32 * 32, before=empty * (chunks_before - 1)), 32 * 32) is explains


@pytest.mark.parametrize(("raw_alpha", "explains"), [(0, True), (1, False)], ids=["header-only", "one-byte"])
def test_raw_alpha_for_a_single_pixel(raw_alpha, explains):
    assert webp.alpha_explains_out_of_memory(with_alpha_header(None, raw_alpha=raw_alpha), 1) is explains


@pytest.mark.parametrize("cut", [0, 2, 8, 18], ids=lambda cut: f"{cut}-bytes-kept")
def test_libwebp_calling_a_broken_alpha_chunk_out_of_memory_is_the_originals_fault(decoder, cut):
    """libwebp's status for it is 1, out of memory, as for a real shortage: the alpha chunk tells them apart."""
    data = bytearray(with_alpha_header(None))
    start = data.index(b"ALPH")
    size = int.from_bytes(data[start + 4:start + 8], "little")
    del data[start + 8 + cut:start + 8 + size + (size & 1)]  # the lossless alpha cut short (to an even length)
    data[start + 4:start + 8] = cut.to_bytes(4, "little")
    data[4:8] = (len(data) - 8).to_bytes(4, "little")
    assert webp.alpha_explains_out_of_memory(bytes(data), 32 * 32)
    with pytest.raises(webp.WebPError, match="alpha chunk"):
        decoder.decode(bytes(data), (32, 32), alpha=True)


def test_libwebp_out_of_memory_with_nothing_in_the_alpha_to_blame_is_a_memory_error(decoder):
    answering = webp.Decoder(decoder.path)
    answering._decode = lambda *args: 1
    with pytest.raises(MemoryError):
        answering.decode(with_alpha_header(None, raw_alpha=32 * 32), (32, 32), alpha=True)


def test_libwebps_encoder_leaves_an_animations_alpha_flag_unset_and_pillow_then_reads_rgb():
    """What webp.hides_animation_alpha() is for: a red square, then a blue one, on transparency. libwebp crops
    the first frame to its opaque square, the rest being the empty canvas, so no frame holds alpha of its own."""
    frames = [Image.new("RGBA", (8, 8), (0, 0, 0, 0)) for _ in range(2)]
    frames[0].paste((255, 0, 0), (0, 0, 4, 4))
    frames[1].paste((0, 0, 255), (4, 4, 8, 8))
    data = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    assert webp.hides_animation_alpha(data) and Image.open(io.BytesIO(data)).mode == "RGB"
    declared = webp.with_alpha_declared(data)
    assert not webp.hides_animation_alpha(declared) and Image.open(io.BytesIO(declared)).mode == "RGBA"
    assert len(declared) == len(data) and sum(a != b for a, b in zip(declared, data)) == 1


@pytest.mark.parametrize("data", [
    encoded(gradient((8, 8)), "WEBP"),  # a still one, simple format
    encoded(gradient((8, 8), "RGBA"), "WEBP"),  # a still one with alpha: VP8X, no animation flag
    b"RIFF\x00\x00\x00\x00WEBPVP8X",  # cut short before its flags
    encoded(gradient((8, 8)), "PNG"),
], ids=["still", "still-with-alpha", "cut-short", "png"])
def test_only_an_animation_can_hide_its_alpha(data):
    assert not webp.hides_animation_alpha(data)


def test_the_decoder_config_is_laid_out_as_libwebps_decode_h_on_64_bit_linux():
    """libwebp zeroes and fills a WebPDecoderConfig of its own size: one declared smaller here is written past its end
    (decode.h, ABI 2.x: features 5 ints and 5 of padding; the buffer, its union of the YUVA pointers, 4 of padding
    and a pointer; the options 14 ints and 5 of padding)."""
    sizes = ctypes.sizeof(webp._Features), ctypes.sizeof(webp._DecBuffer), ctypes.sizeof(webp._Options)
    assert sizes == (40, 120, 76)
    assert ctypes.sizeof(webp._Config) == 240 and webp._Config.options.offset == 160


def chunk(kind: bytes, size: int) -> bytes:
    return kind + size.to_bytes(4, "little") + bytes(size + (size & 1))


@pytest.mark.parametrize(("data", "size"), [
    (RIFF_HEAD + chunk(b"VP8L", 5), 5),  # the simple format: the picture alone
    (RIFF_HEAD + chunk(b"VP8X", 10) + chunk(b"ICCP", 3145) + chunk(b"VP8L", 7) + chunk(b"EXIF", 99), 7),
    (RIFF_HEAD + chunk(b"VP8X", 10) + chunk(b"ALPH", 33) + chunk(b"VP8 ", 40), 40),  # lossy, its alpha apart
    (RIFF_HEAD + chunk(b"VP8L", 5) + chunk(b"VP8L", 9), 5),  # the first, as libwebp reads it
    (RIFF_HEAD + b"VP8L" + (1 << 20).to_bytes(4, "little") + bytes(3), 1 << 20),  # as declared, if cut short
    (RIFF_HEAD + chunk(b"VP8X", 10) + chunk(b"ICCP", 8), None),  # no picture
    (RIFF_HEAD + b"JUNK" + (1 << 24).to_bytes(4, "little") + chunk(b"VP8L", 5), None),  # inside a chunk's 16 MB
    (b"", None),
], ids=["simple", "profile-and-exif", "lossy-with-alpha", "two", "cut-short", "none", "inside-large-chunk", "empty"])
def test_a_pictures_size_leaves_out_the_metadata_beside_it(data, size):
    assert webp.picture_size(data) == size


@pytest.mark.parametrize(("chunks_before", "size"), [(999, 5), (1_000, None)])
def test_a_picture_past_the_chunk_limit_is_not_looked_for(chunks_before, size):
    assert webp.picture_size(RIFF_HEAD + chunk(b"JUNK", 0) * chunks_before + chunk(b"VP8L", 5)) == size



@pytest.mark.parametrize(("data", "declares"), [
    (RIFF_HEAD[:12] + b"VP8X" + bytes([10, 0, 0, 0, webp.VP8X_ANIMATION]), True),
    (RIFF_HEAD[:12] + b"VP8X" + bytes([10, 0, 0, 0, webp.VP8X_ANIMATION | webp.VP8X_ALPHA]), True),
    (RIFF_HEAD[:12] + b"VP8X" + bytes([10, 0, 0, 0, webp.VP8X_ALPHA]), False),
    (RIFF_HEAD[:12] + b"VP8X" + bytes(4), False),  # cut short before its flags
    (RIFF_HEAD + chunk(b"VP8L", 5), False),
], ids=["animation", "animation-with-alpha", "alpha", "cut-short", "simple"])
def test_an_animation_is_told_by_its_header_flag(data, declares):
    assert webp.declares_animation(data) is declares
