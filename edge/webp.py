"""libwebp's own decode of a still WebP, which Pillow does not expose, called through ctypes.

Pillow decodes a WebP only at full size, through libwebp's animation decoder
(whose canvases it then copies): a 4 MP photo costs some 60 MB even when 320 px
come out. libwebp can instead convert and scale a lossy picture's rows as they are
decoded, straight into a buffer of the size wanted: libvips' shrink-on-load. A
lossless picture it decodes whole first (4 bytes a pixel, inside libwebp), then
scales into that buffer. At full size either still saves Pillow's canvases. This
is the library Pillow itself loads (the wheel vendors it, and the artifact ships
it), so nothing is added.

The structures mirror libwebp's decode.h (ABI 2.x, stable through libwebp 1.x);
libwebp checks that ABI when the configuration is initialised, and an
incompatible or missing library makes `load` return None, so that the caller
falls back to Pillow's own decode.
"""

import ctypes
import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_ABI_VERSION = 0x0209  # WEBP_DECODER_ABI_VERSION; the major byte must match the library's
_MODE_RGB, _MODE_RGBA = 0, 1  # WEBP_CSP_MODE, not premultiplied
# VP8StatusCode. Only the others (bitstream errors, unsupported features, suspended: not
# enough data) are the original's fault.
_STATUS_OK, _STATUS_OUT_OF_MEMORY, _STATUS_INVALID_PARAM = 0, 1, 2
LOSSY, LOSSLESS = 1, 2  # WebPBitstreamFeatures.format (0: mixed, in an animation)
# An ALPH chunk's first byte: compression (2 bits), filter (2), pre-processing (2), reserved (2).
_ALPHA_UNCOMPRESSED, _ALPHA_MOST_PREPROCESSING = 0, 1
# A still WebP holds a few chunks (VP8X, ICCP, ALPH, VP8, EXIF, XMP); walking 40 MiB of empty ones would
# take Python seconds (4 MiB: 0.3-0.5 s, by hand).
MOST_CHUNKS = 1_000
_RIFF_HEADER = 8  # "RIFF" and the size of what follows
VP8X_FLAGS_AT = 20  # after the RIFF header, "WEBP", and the VP8X chunk's type and size
VP8X_ALPHA, VP8X_ANIMATION = 0x10, 0x02
PICTURE_CHUNKS = (b"VP8L", b"VP8 ")  # a still picture's bitstream, lossless or lossy
_int, _u32 = ctypes.c_int, ctypes.c_uint32


class _Features(ctypes.Structure):
    _fields_ = [("width", _int), ("height", _int), ("has_alpha", _int), ("has_animation", _int),
                ("format", _int), ("pad", _u32 * 5)]


class _RGBABuffer(ctypes.Structure):
    _fields_ = [("rgba", ctypes.c_void_p), ("stride", _int), ("size", ctypes.c_size_t)]


class _YUVABuffer(ctypes.Structure):
    # Never used, but it is the larger member of the union, so it sets the offsets after it.
    _fields_ = [("y", ctypes.c_void_p), ("u", ctypes.c_void_p), ("v", ctypes.c_void_p), ("a", ctypes.c_void_p),
                ("y_stride", _int), ("u_stride", _int), ("v_stride", _int), ("a_stride", _int),
                ("y_size", ctypes.c_size_t), ("u_size", ctypes.c_size_t), ("v_size", ctypes.c_size_t),
                ("a_size", ctypes.c_size_t)]


class _Buffers(ctypes.Union):
    _fields_ = [("RGBA", _RGBABuffer), ("YUVA", _YUVABuffer)]


class _DecBuffer(ctypes.Structure):
    _fields_ = [("colorspace", _int), ("width", _int), ("height", _int), ("is_external_memory", _int),
                ("u", _Buffers), ("pad", _u32 * 4), ("private_memory", ctypes.c_void_p)]


class _Options(ctypes.Structure):
    _fields_ = [(name, _int) for name in (
        "bypass_filtering", "no_fancy_upsampling", "use_cropping", "crop_left", "crop_top", "crop_width",
        "crop_height", "use_scaling", "scaled_width", "scaled_height", "use_threads", "dithering_strength",
        "flip", "alpha_dithering_strength")] + [("pad", _u32 * 5)]


class _Config(ctypes.Structure):
    _fields_ = [("input", _Features), ("output", _DecBuffer), ("options", _Options)]


class WebPError(ValueError):
    """libwebp refused the bitstream: truncated, corrupt, or not a still WebP."""


@dataclass(frozen=True)
class Features:
    size: tuple[int, int]
    is_animated: bool
    format: int  # LOSSY, LOSSLESS, or 0 (mixed)


@dataclass(frozen=True)
class Decoded:
    pixels: mmap.mmap  # rows of RGB or RGBA (not premultiplied), no padding
    size: tuple[int, int]
    mode: str  # "RGB" or "RGBA"


class Decoder:
    """libwebp's decoder, at a still picture's own size or scaled as it decodes."""

    def __init__(self, path: str):
        self.path = path
        library = ctypes.CDLL(path)
        self._init = library.WebPInitDecoderConfigInternal
        self._init.argtypes, self._init.restype = [ctypes.POINTER(_Config), _int], _int
        self._features = library.WebPGetFeaturesInternal
        self._features.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_Features), _int]
        self._features.restype = _int
        self._decode = library.WebPDecode
        self._decode.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_Config)]
        self._decode.restype = _int
        self._config()  # refuses an incompatible library now, not on the first image

    def _config(self) -> _Config:
        config = _Config()
        if not self._init(ctypes.byref(config), _ABI_VERSION):
            raise WebPError("libwebp's decoder ABI is not 2.x")
        return config

    def _read_header(self, data: bytes, found: _Features) -> None:
        _check(self._features(data, len(data), ctypes.byref(found), _ABI_VERSION), "reading the header")

    def features(self, data: bytes) -> Features:
        found = _Features()
        self._read_header(data, found)
        return Features((found.width, found.height), bool(found.has_animation), found.format)

    def decode(self, data: bytes, size: tuple[int, int], alpha: bool) -> Decoded:
        """The whole picture at `size`: scaled as it is decoded when that is not its own (libwebp's
        rescaler averages the area each output pixel covers). ctypes releases the GIL for the call."""
        config = self._config()
        data = within_riff(data)
        self._read_header(data, config.input)
        width, height = size
        mode = "RGBA" if alpha else "RGB"
        # Fresh anonymous pages, not a bytearray: those are zeroed, and so resident, before
        # libwebp reads a byte, while a body too short for its header's size fails early.
        pixels = mmap.mmap(-1, width * height * len(mode))
        if size != (config.input.width, config.input.height):
            config.options.use_scaling = 1
            config.options.scaled_width, config.options.scaled_height = width, height
        # A lossy picture's loop filter and output rows (scaling included) on a second thread, as
        # libvips decodes: the same pixels; the bench's 4 MP WebP, 60 pairs taking turns, twice by
        # hand: 0.81-0.83x the time decoded to 640 px, 0.90-0.97x to 1600, 0.95-1.03x at full size.
        config.options.use_threads = 1
        output = config.output
        output.colorspace = _MODE_RGBA if alpha else _MODE_RGB
        output.is_external_memory = 1  # into our buffer: libwebp allocates nothing to free
        output.u.RGBA.rgba = ctypes.addressof((ctypes.c_char * len(pixels)).from_buffer(pixels))
        output.u.RGBA.stride = width * len(mode)
        output.u.RGBA.size = len(pixels)
        status = self._decode(data, len(data), ctypes.byref(config))
        pixels_declared = config.input.width * config.input.height
        if status == _STATUS_OUT_OF_MEMORY and alpha_explains_out_of_memory(data, pixels_declared):
            raise WebPError("libwebp could not begin the alpha chunk, which it reports as running out of memory")
        _check(status, "decoding")
        return Decoded(pixels, size, mode)


def within_riff(data: bytes) -> bytes:
    """The file as far as its RIFF header says it runs, as libwebp's demuxer reads it, and Chromium 156 with
    it. Given more, its decoder reads a still picture's bitstream on past the chunk's end, where the bitstream
    runs longer than its chunk (a reviewer's fuzzed file, which Chromium shows cut short)."""
    end = _RIFF_HEADER + int.from_bytes(data[4:8], "little")
    return data[:end] if end < len(data) else data


def alpha_explains_out_of_memory(data: bytes, pixels: int) -> bool:
    """Whether libwebp's "out of memory" can stand for an ALPH chunk it could not begin to decode
    (ALPHInit in its alpha_dec.c), as it does for every such chunk: a header it does not know,
    uncompressed alpha shorter than the picture, or lossless-compressed alpha whose own header
    (transforms, Huffman codes, which only libwebp parses) it refuses. Only a picture without alpha,
    or with uncompressed alpha of full length, rules that out: then memory did run short. With
    lossless alpha a real shortage cannot be told apart, and is taken for the original's fault: in
    Lambda, running out of memory usually ends the process rather than failing an allocation. So is
    a file of more than MOST_CHUNKS chunks before its alpha, whose walk would take seconds."""
    for count, (kind, payload) in enumerate(_chunks(data), start=1):
        if count > MOST_CHUNKS:
            return True
        if kind == b"ALPH":
            return _alpha_header_explains(payload, pixels)
    return False


def declares_animation(data: bytes) -> bool:
    """Whether a WebP's VP8X header sets its animation flag, as Chromium 156 reads it: of one frame or more."""
    return (data[:4] == b"RIFF" and data[8:16] == b"WEBPVP8X" and len(data) > VP8X_FLAGS_AT
            and bool(data[VP8X_FLAGS_AT] & VP8X_ANIMATION))


def hides_animation_alpha(data: bytes) -> bool:
    """Whether an animated WebP's header leaves its alpha flag unset. libwebp's animation decoder gives every
    frame's alpha all the same, and transparency where no frame has drawn, as Chromium shows them; but Pillow
    then reads its frames as RGB, black there. libwebp's own encoder writes such files: Pillow's animations
    with transparency, among them."""
    return declares_animation(data) and not data[VP8X_FLAGS_AT] & VP8X_ALPHA


def with_alpha_declared(data: bytes) -> bytes:
    """The WebP with its VP8X alpha flag set, which is all that tells Pillow to read its frames' alpha."""
    return data[:VP8X_FLAGS_AT] + bytes([data[VP8X_FLAGS_AT] | VP8X_ALPHA]) + data[VP8X_FLAGS_AT + 1:]


def picture_size(data: bytes) -> int | None:
    """The size of a still WebP's picture, its first VP8L or VP8 chunk, without the metadata beside it (ICCP,
    EXIF, XMP); None when none comes within MOST_CHUNKS chunks."""
    for count, (kind, _, size) in enumerate(_chunk_spans(data), start=1):
        if count > MOST_CHUNKS:
            return None
        if kind in PICTURE_CHUNKS:
            return size
    return None


def _alpha_header_explains(chunk: bytes, pixels: int) -> bool:
    if len(chunk) <= 1:
        return True
    header = chunk[0]
    compression, preprocessing, reserved = header & 3, (header >> 4) & 3, header >> 6
    if compression != _ALPHA_UNCOMPRESSED or preprocessing > _ALPHA_MOST_PREPROCESSING or reserved:
        return True
    return len(chunk) - 1 < pixels


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The type and payload of each of a WebP's RIFF chunks, after the file header."""
    for kind, start, size in _chunk_spans(data):
        yield kind, data[start:start + size]


def _chunk_spans(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """The type, payload offset and declared payload size of each of a WebP's RIFF chunks, after the file
    header, without copying a payload."""
    offset = 12
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset + 4:offset + 8], "little")
        yield data[offset:offset + 4], offset + 8, size
        offset += 8 + size + (size & 1)  # chunks are padded to an even length


def _check(status: int, doing: str) -> None:
    """A WebPError for what the original is to blame for; a server error, never cached as the
    original's fault, for running out of memory or for a call this module got wrong."""
    if status == _STATUS_OUT_OF_MEMORY:
        raise MemoryError(f"libwebp ran out of memory {doing}")
    if status == _STATUS_INVALID_PARAM:
        raise RuntimeError(f"libwebp refused the call's parameters {doing}")
    if status != _STATUS_OK:
        raise WebPError(f"libwebp status {status} {doing}")


def load(candidates: list[Path]) -> Decoder | None:
    """A decoder on the first candidate library that loads and speaks ABI 2.x, else on the
    system's libwebp; None when there is none (the caller then decodes with Pillow)."""
    for path in _libraries(candidates):
        try:
            return Decoder(str(path))
        except (OSError, AttributeError, WebPError):  # not loadable, a symbol missing, another ABI
            continue
    return None


def _libraries(candidates: list[Path]) -> Iterator[Path | str]:
    yield from candidates
    # Looked for, and ctypes.util imported (some 5 ms), only when no candidate loads: find_library
    # runs `ldconfig -p`, a process.
    import ctypes.util

    system = ctypes.util.find_library("webp")
    if system:
        yield system
