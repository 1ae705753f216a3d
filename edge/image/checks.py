"""What the engine refuses before Pillow decodes a pixel, and how far a hostile file may make it walk.

An original past the pixel limit is refused by its header alone (check_pixels_in_head, on the first bytes
S3 sends). What Pillow and libjpeg would walk in Python or decode in vain is counted first, against a ceiling
measured beside each one: a JPEG's markers and scans, Exif and TIFF directories, a TIFF's strips and tiles,
an AVIF's items, a GIF's blocks, a run-length coded BMP. An output past what its format can encode is refused too.
The size of the pixels as stored that the TIFF checks read (stored_size) serves source.py and steps.py too."""

import io
from collections.abc import Iterator

from PIL import Image, TiffImagePlugin

from edge import avif, bmp, gif, jpeg, png, tiff, webp
from edge.errors import BadRequest, SourceTooLarge, UnsupportedMedia
from edge.image.model import DECODERS, DataCheck, Limits, start_data_check, webp_decoder

TIFF_SIGNATURES = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # classic and BigTIFF, either byte order
DEFLATE_TIFF = frozenset({"tiff_adobe_deflate", "tiff_deflate"})  # Pillow's names for TIFF's compressions 8 and 32946
MAX_TIFF_PIXEL_BYTES = 8  # four samples of 16 bits: the widest pixel Pillow opens, once modes I and F are refused
EVERY_ROW = 2**32 - 1  # a TIFF's RowsPerStrip by default: the whole picture in one strip
# libpng's default limit on rows and columns, which Chromium 156 keeps (a PNG past it does not show). Pillow holds a
# pointer a row for every image it makes, and some of its steps take time a row: a PNG of 1 x 50,000,000, 146 KB,
# took 7 s and 2.5 GB to render, the same pixels in a square 1.4 s and 0.7 GB (a helper's measure). Either side can
# become the rows, as the picture is turned upright.
MOST_SOURCE_SIDE = 1_000_000
# Pillow walks a JPEG's header in Python, a step per marker or byte of junk or fill, and inside some
# segments (edge/jpeg.py): a photograph's takes about 150; 4 MiB of tiny segments took it 2.7 s and
# 122 MB, of fill bytes 2.9 s (by hand).
MAX_JPEG_HEADER_STEPS = 100_000
# A TIFF's first directory, read by Pillow in Python (edge/tiff.py): a photograph's has a few dozen entries;
# its longest number arrays are a 16-bit colour map (196,608) or strip and tile offsets, one per strip or
# tile (a 50 MP image cut into 16x16 tiles has 195,313). 4 MiB of 2-byte strip offsets took Pillow
# 4.3 s and 500 MB to open (by review).
MAX_TIFF_ENTRIES = 1_000
MAX_TIFF_VALUES = 200_000
# Pillow makes a tile object of each strip or tile in Python (edge/tiff.py): 50 MP in one-row strips is
# 7,071 of them, in 64-pixel tiles 12,207, four times that with planes apart; in 16-pixel tiles, 195,313,
# which would cost it seconds, is refused.
MAX_TIFF_STRIPS = 65_536
# Tiles cover the image and less than a tile more across and down (7000x7000 in 1024-pixel tiles: 1.05 times
# its pixels). libtiff decodes each whole, into a buffer of its own: past twice the pixel limit, refused.
MAX_TIFF_TILE_PADDING = 2
# Exif's directories say how to orient and print the picture, and how it was taken: a few numbers a tag (an IPTC
# block stored as LONGs may take a few thousand). In all of them, each counted as often as it is pointed to.
MAX_EXIF_VALUES = 20_000
# Encoders write 10 progressive scans or so, a component or three each: 12 components' scans for libjpeg's
# default script. Each costs libjpeg about 18 ms at 49 MP, up to 87 ms arithmetic-coded (a helper's measures):
# at most 24 of them at 50 MP, 6 arithmetic-coded.
MAX_JPEG_SCANS = 100
MAX_JPEG_SCAN_PIXELS = 1_200_000_000
MOST_JPEG_ROWS = 65_535
# An AVIF's colour and alpha, as a still and as a track of frames held to the pixel limit together, and twice that
# for hidden frames, layers or tiles: the frames dav1d may decode, in all, against the pixel limit.
AVIF_DECODED_PIXELS = 8
# Each JPEG strip's or tile's frame header is walked to in Python, a step a marker, within an equal share of these for
# all: 4 a strip at MAX_TIFF_STRIPS (65,536 walked in 0.13 s, by hand), up to MAX_JPEG_HEADER_STEPS for one. libjpeg
# writes it after the start of image and its quantization tables, a segment each: libtiff's is the first marker (its
# tables in JPEGTables) or the second or third; a whole JPEG's, JFIF's segment before them, the third or fourth.
MOST_TIFF_JPEG_MARKERS = 4 * MAX_TIFF_STRIPS
ARITHMETIC_SCAN_COST = 4
MAX_EXIF_SEGMENTS = 64  # a camera writes one; 64 of 64 KB take Pillow 13 ms to gather, by hand
# A run-length coded BMP, which is decoded in Python (edge/bmp.py). Such BMPs are screenshots and icons, if
# anything: a 1920 x 1080 one fits, its pixels in absolute runs (2.1 MB). At the limits, the slowest hostile ones
# made by hand decode in 0.2-0.8 s (docs/SECURITY.md).
MAX_RLE_BMP_BYTES = 5 * 1024 * 1024 // 2
MAX_RLE_BMP_PIXELS = 2_100_000
EXIF_HEADER = b"Exif\x00\x00"
EXIF_TIFF_HEADERS = TIFF_SIGNATURES[:2]  # Exif is classic TIFF
# Largest side of each output: what its encoder writes (WebP's is 16383 in libwebp, JPEG's 65500 in
# libjpeg), and for AVIF and PNG what decoders read: libavif, and Chromium's, refuse over 32768 by
# default, libpng over 1,000,000 (and Chromium showed no wider PNG).
MAX_SIDE = {"jpeg": 65_500, "png": 1_000_000, "webp": 16_383, "avif": 32_768, "gif": 65_535}


def check_what_pillow_walks(data: bytes, limits: Limits) -> tuple[gif.Layout | None, jpeg.PillowHeader]:
    """Refuse, before Pillow opens it, an original whose structures Pillow would walk in Python for
    seconds: a JPEG's header and Exif (which it reads as it opens it, for a resolution), an AVIF's items
    and Exif, a run-length coded BMP, a TIFF's first directory, a GIF's blocks; and a JPEG's scans, each
    of which libjpeg decodes over the whole picture. A PNG's chunks are counted by png.layout. The GIF's
    layout and the JPEG's header are returned, walked once."""
    header = jpeg_header(data)
    check_jpeg_exif(header.exif)
    if header.size is not None:
        check_pixels(header.size, limits)  # first: over the pixel limit, the scans do not matter
    if header.first_scan is not None:
        check_jpeg_scans(jpeg.scans(data, header), header)
    check_avif_items(data, limits)
    check_rle_bmp(data)
    if tiff.first_directory_over(data, MAX_TIFF_ENTRIES, MAX_TIFF_VALUES):
        raise SourceTooLarge(
            f"TIFF directory of more than {MAX_TIFF_ENTRIES} entries, or {MAX_TIFF_VALUES} numbers in one")
    if tiff.strips(data, MAX_TIFF_ENTRIES) > MAX_TIFF_STRIPS:
        raise SourceTooLarge(f"TIFF of more than {MAX_TIFF_STRIPS} strips or tiles")
    if tiff.values_apart(data, MAX_TIFF_ENTRIES) > len(data):
        raise SourceTooLarge("TIFF whose tags' values are larger together than the file")
    if tiff.sub_directories_over(data, MAX_TIFF_ENTRIES, MAX_EXIF_VALUES):
        raise SourceTooLarge(
            f"TIFF's Exif or GPS directory of more than {MAX_TIFF_ENTRIES} entries, "
            f"or Exif and GPS directories of more than {MAX_EXIF_VALUES} numbers")
    return scan_gif(data, limits), header


def check_avif_items(data: bytes, limits: Limits) -> None:
    """Refuse an AVIF that names more items than libavif should look through, whose Exif Pillow would
    decode for seconds as it opens it, whose AV1 frames may be coded larger than the pixel limit, whatever
    size it declares, or that declares a frame larger than it, which libavif scales to, or whose frames decode
    more than AVIF_DECODED_PIXELS times it in all (a 413); or that holds two of a box a file holds one of, which
    libavif would read otherwise than edge/avif.py (a 415)."""
    try:
        survey = avif.survey(data, limits.max_frames)
    except avif.Crowded as error:
        raise SourceTooLarge(f"AVIF of {error}") from None
    except avif.Ambiguous as error:
        raise UnsupportedMedia(f"AVIF of {error}") from None
    for exif in survey.exif:
        check_exif(exif)
    for how, sizes in (("frame coded at up to", survey.coded_sizes), ("image declared at", survey.declared_sizes)):
        for width, height in sizes:
            if width * height > limits.max_pixels:
                raise SourceTooLarge(f"AVIF {how} {width}x{height}, over {limits.max_pixels} pixels")
    if survey.coded_pixels > AVIF_DECODED_PIXELS * limits.max_pixels:
        raise SourceTooLarge(f"AVIF whose frames may decode more than {AVIF_DECODED_PIXELS} times {limits.max_pixels}"
                             " pixels in all")


def check_rle_bmp(data: bytes) -> None:
    coding = bmp.run_length_coding(data)
    if coding is None:
        return
    if not coding.depth_fits:
        raise UnsupportedMedia("run-length coded BMP of a depth its compression does not code, which browsers refuse")
    width, height = coding.size
    if len(data) > MAX_RLE_BMP_BYTES or width * height > MAX_RLE_BMP_PIXELS:
        raise SourceTooLarge(f"run-length coded BMP of more than {MAX_RLE_BMP_BYTES} bytes or "
                             f"{MAX_RLE_BMP_PIXELS} pixels, which is decoded in Python")


def scan_gif(data: bytes, limits: Limits) -> gif.Layout | None:
    """A GIF's frames and canvas (edge/gif.py), walked and checked before Pillow opens it: Pillow's n_frames
    walks every frame, opening reads the first frame's sub-blocks in Python with no bound (4 MiB of one-byte
    ones took it 0.5 s and 176 MB), and any frame may grow the canvas, the first one as Pillow opens the file
    (a 43-byte GIF's 65535x65535 first frame took 4.1 GB). The screen its header declares is checked first."""
    screen = gif.screen_size(data)
    if screen is None:
        return None
    check_pixels(screen, limits)
    try:
        layout = gif.scan(data, limits.max_frames)
    except gif.MalformedGif as error:
        raise UnsupportedMedia(f"malformed GIF: {error}") from None
    check_pixels(layout.size, limits)
    return layout


def check_pixels(size: tuple[int, int], limits: Limits) -> None:
    if size[0] * size[1] > limits.max_pixels:
        raise SourceTooLarge(f"{size[0]}x{size[1]} is over {limits.max_pixels} pixels")
    if max(size) > MOST_SOURCE_SIDE:
        raise SourceTooLarge(f"{size[0]}x{size[1]} has a side over {MOST_SOURCE_SIDE} pixels")


def check_pixels_in_head(head: bytes, limits: Limits) -> bool:
    """The pixel limit, checked on the first bytes of an original: SourceTooLarge if the size they
    declare is over it; True once they have told what they can (a size within the limit, or a format
    whose size only the whole file tells). CloudFront never caches a 413, so an original over the
    limit, asked for again and again, is refused after its header, not after all its bytes."""
    if tells_its_size_only_whole(head):
        return True
    size = declared_size(head)
    if size is None:
        return False
    check_pixels(size, limits)
    return True


def tells_its_size_only_whole(head: bytes) -> bool:
    """TIFF, whose directory (and size) may follow the pixels, and whose reader warns on a file cut
    short; AVIF (ISO BMFF), which Pillow opens only whole."""
    return head.startswith(TIFF_SIGNATURES) or is_iso_media(head)


def is_iso_media(data: bytes) -> bool:
    """An ISO BMFF file, as AVIF is: its first box a file type box."""
    return data[4:8] == b"ftyp"


def declared_size(head: bytes) -> tuple[int, int] | None:
    """The size the first bytes of a JPEG, PNG, GIF, WebP or BMP declare, as Image.open reports it for
    the whole file; None while the header runs past them (open_source judges the whole file anyway)."""
    fixed = png.declared_size(head) or gif.screen_size(head)  # where Pillow reads it, without its walk
    if fixed is not None:
        return fixed
    if head[:3] == b"\xff\xd8\xff":
        # Read as Pillow reads it, and counted as open_source counts the whole file, in one walk: the
        # count and Pillow's own walk took two (by hand, for 90,000 empty segments: 0.36-0.56 s of checks
        # in all, against 0.56-1.11 s).
        return jpeg_header(head).size
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and (decoder := webp_decoder()) is not None:
        # Pillow's WebP reader wants the whole file; libwebp reads the size from the first chunks.
        try:
            return decoder.features(head).size
        except webp.WebPError:
            return None
    try:
        with Image.open(io.BytesIO(head), formats=DECODERS) as probe:
            return probe.size
    except Exception:  # noqa: BLE001 - a header cut short fails in as many ways as there are readers
        return None


def jpeg_header(data: bytes) -> jpeg.PillowHeader:
    """A JPEG's header as Pillow walks it (edge/jpeg.py); SourceTooLarge for one it would take too long
    to walk, before it does: past MAX_JPEG_HEADER_STEPS."""
    try:
        return jpeg.pillow_header(data, MAX_JPEG_HEADER_STEPS)
    except jpeg.HeaderTooLong:
        raise SourceTooLarge(
            f"JPEG header of more than {MAX_JPEG_HEADER_STEPS} markers, or bytes of junk or fill") from None


def check_exif(exif: bytes) -> None:
    """Refuse Exif whose directories Pillow would take too long to decode (edge/tiff.py): it decodes every
    number of a tag, whatever count the tag declares (4 MiB of one RATIONAL took it 1.6 s to open a JPEG, by
    hand; 40 MB split among 510 tags of 10,000 took 92 s and 983 MB to render an AVIF, a helper's measure)."""
    if tiff.exif_over(exif_directory(exif), MAX_TIFF_ENTRIES, MAX_EXIF_VALUES):
        raise SourceTooLarge(
            f"Exif of a directory of more than {MAX_TIFF_ENTRIES} entries, or of more than {MAX_EXIF_VALUES} numbers")


def exif_directory(exif: bytes) -> bytes:
    """Exif's TIFF structure as Pillow reads it: "Exif\\0\\0" taken off, twice where it is there twice
    (Exif.load), as in some that libavif hands on."""
    return exif.removeprefix(EXIF_HEADER).removeprefix(EXIF_HEADER)


def check_jpeg_scans(components: list[int] | None, header: jpeg.PillowHeader) -> None:
    """Refuse a JPEG whose scans libjpeg would take seconds to decode (edge/jpeg.py): too many, or too many
    components of the picture's pixels in all, an arithmetic-coded one's weighed ARITHMETIC_SCAN_COST times."""
    if components is None:
        raise SourceTooLarge(f"JPEG of more than {jpeg.MOST_SEGMENTS_BETWEEN_SCANS} segments after its first scan")
    if len(components) > MAX_JPEG_SCANS:
        raise SourceTooLarge(f"JPEG of more than {MAX_JPEG_SCANS} scans")
    pixels = header.size[0] * header.size[1] if header.size else 0
    if sum(components) * pixels * (ARITHMETIC_SCAN_COST if header.arithmetic else 1) > MAX_JPEG_SCAN_PIXELS:
        raise SourceTooLarge(f"JPEG whose scans decode more than {MAX_JPEG_SCAN_PIXELS} pixels of components")


def check_jpeg_exif(pieces: list[bytes]) -> None:
    """Refuse a JPEG's Exif that Pillow would gather too long, one bytes object grown by each of its
    segments in turn (640 segments, 40 MiB, took it 2.4 s to open, by hand), or decode too long."""
    if len(pieces) > MAX_EXIF_SEGMENTS:
        raise SourceTooLarge(f"JPEG of more than {MAX_EXIF_SEGMENTS} Exif segments")
    check_exif(b"".join(pieces))


def check_jpeg_data(data: bytes) -> None:
    """Refuse a JPEG whose coded data is too short for the size it declares (edge/jpeg.py):
    libjpeg would decode it without an error, grey wherever the data was missing."""
    frame = jpeg.too_short(data, MAX_JPEG_HEADER_STEPS)
    if frame is not None:
        raise UnsupportedMedia(
            f"coded data under the {frame.least_coded_bytes()} bytes that {frame.width}x{frame.height} needs")


def check_tiff(image: Image.Image, data: bytes, limits: Limits) -> DataCheck | None:
    """Check an opened TIFF's strips or tiles, read once from its tags, before libtiff decodes them; a Deflate
    one's are checked beside the decode, on a worker, which this returns."""
    check_tiff_layout(image)
    pieces = tiff_pieces(image)
    check_tiff_pieces(image, pieces, data, limits)
    if image.info.get("compression") == "raw":
        check_tiff_covered(image, len(pieces))
    if image.info.get("compression") == "jpeg":
        sizes = tiff_jpeg_sizes(data, pieces)
        check_tiff_jpeg_sizes(image, sizes)
        check_tiff_jpeg_scans(image, pieces, sizes, data)
    if image.info.get("compression") in DEFLATE_TIFF:
        # Beside libtiff's decode, which takes as long: by hand, a 12 MP photo to 800 px renders in
        # 233-249 ms with the check, 237-242 without, 430-456 with it run before the decode.
        return start_tiff_strip_check(image, pieces, data)
    return None


def check_tiff_layout(image: Image.Image) -> None:
    """Refuse a TIFF whose strips or tiles its decoders would find otherwise than these checks read them: where
    it gives both StripOffsets and TileOffsets (or both byte counts), libtiff keeps whichever entry comes last in
    the directory, these checks the tiles', Pillow's raw decoder the strips'; and where a tile size comes with
    StripOffsets, or TileOffsets without one, libtiff reads tiles and Pillow's raw decoder strips, or fails. No
    writer does either: a helper's PackBits file listed its tiles first, one small strip for the checks and
    65,536 for libtiff, all on one MB, and took 81 s; an uncompressed one with a tile size, 65,536 strips that
    Pillow redrew the picture by 32,768 times, passed as exactly the tiles its size needs, 30 s for 3.7 MB."""
    tags = image.tag_v2
    strips = TiffImagePlugin.STRIPOFFSETS in tags or TiffImagePlugin.STRIPBYTECOUNTS in tags
    tiles = TiffImagePlugin.TILEOFFSETS in tags or TiffImagePlugin.TILEBYTECOUNTS in tags
    tiled = TiffImagePlugin.TILEWIDTH in tags or TiffImagePlugin.TILELENGTH in tags
    if strips and tiles:
        raise UnsupportedMedia("malformed TIFF: strip offsets or byte counts beside tile ones")
    if tiles != tiled and (strips or tiles):
        raise UnsupportedMedia(f"malformed TIFF: {'tile' if tiles else 'strip'} offsets or byte counts "
                               f"{'without' if tiles else 'with'} a tile size")


def start_tiff_strip_check(image: Image.Image, pieces: list[tuple[int, int]], data: bytes) -> DataCheck:
    """Check a Deflate TIFF's strips or tiles (edge/tiff.py) on a worker: libtiff would decode a corrupt
    one into wrong rows. No valid file inflates to more than its pixels take, tiles padded to whole ones, and a
    last strip to whole rows of a strip (some writers pad it so, and libtiff decodes it: a reviewer's file).
    The tags are read here, as the pixels are about to decode on this thread."""
    width, height = stored_size(image)
    if TiffImagePlugin.TILEWIDTH in image.tag_v2:
        padding = tiff_tile(image)
    else:
        # The rows that make the last strip whole, of RowsPerStrip rows as declared: where it is past the height,
        # the only strip is the last, and a writer that pads one pads it (libtiff decodes it; helper 139's file
        # was refused). None where every row is in one strip by default, and no more than the height again: a
        # bound on what a bomb inflates on the worker. At least 1, as a tile's.
        rows = tiff_rows_per_strip(image)
        padding = 1, max(1, min(-height % rows, height) if rows < EVERY_ROW else 0)
    most_bytes = MAX_TIFF_PIXEL_BYTES * (width + padding[0]) * (height + padding[1])
    return start_data_check(tiff.check_deflate_strips, data, pieces, most_bytes)


def check_tiff_pieces(image: Image.Image, pieces: list[tuple[int, int]], data: bytes, limits: Limits) -> None:
    """Refuse a TIFF whose strips or tiles would make libtiff work far past the file's bytes and its pixels.
    libtiff reads and decodes each strip or tile whole, so strips that share bytes multiply them (65,500
    one-row strips all pointing at the same 1 MB of PackBits no-ops, a 1.6 MB file, took 74 s to render), and
    tiles far larger than the image multiply its pixels (a 16x16 image in one 23,152-pixel square tile took
    2 GB, 65,536 tiles of 16x65,536 pixels for a one-row image 8.7 s): a helper's measures."""
    if sum(min(length, max(len(data) - offset, 0)) for offset, length in pieces) > len(data):
        raise SourceTooLarge("TIFF whose strips or tiles share bytes, adding up to more than the file")
    if TiffImagePlugin.TILEWIDTH in image.tag_v2:
        (across, down), (tile_width, tile_height) = tiff_grid(image), tiff_tile(image)
        padded = across * tile_width * down * tile_height
        if padded > MAX_TIFF_TILE_PADDING * limits.max_pixels:
            raise SourceTooLarge(f"TIFF whose tiles cover {padded} pixels, over {MAX_TIFF_TILE_PADDING} times "
                                 f"{limits.max_pixels}")


def check_tiff_covered(image: Image.Image, pieces: int) -> None:
    """Refuse an uncompressed TIFF with fewer strips or tiles than its size needs: Pillow decodes those there are
    and leaves the rest of the picture black (libtiff, which decodes the compressed ones, refuses them). A file cut
    short, or one that declares millions of rows in a few hundred bytes (a fuzzer's). Or with more: Pillow's own
    raw decoder (not libtiff's, which reads as many as the size needs) decodes every one, starting over at the top
    after the last row, each read from its offset for as many bytes as its rows take, whatever its byte count says:
    65,536 strips of two an image, all at one offset, redrew a 9.5 MB one 32,768 times in 47 s (a helper's file);
    and of one strip an image, it decodes the last where libtiff decodes the first."""
    planes = tiff_planes(image)
    across, down = tiff_grid(image)
    needed = planes * across * down
    if pieces != needed:
        raise UnsupportedMedia(f"malformed TIFF: {pieces} strips or tiles of the {needed} its size needs")


def tiff_jpeg_sizes(data: bytes, pieces: list[tuple[int, int]]) -> list[tuple[int, int] | None]:
    """The width and height each JPEG strip or tile of a TIFF declares (jpeg.frame_size), read once for the checks
    of both; None for one whose frame header is not within its share of MOST_TIFF_JPEG_MARKERS (tiff_jpeg_markers),
    or that libjpeg fails on first."""
    most_markers = tiff_jpeg_markers(len(pieces))
    return [jpeg.frame_size(data, offset, offset + length, most_markers) for offset, length in pieces]


def tiff_jpeg_markers(pieces: int) -> int:
    """The most markers walked to each of so many JPEG strips' or tiles' frame headers."""
    return min(MAX_JPEG_HEADER_STEPS, MOST_TIFF_JPEG_MARKERS // max(pieces, 1))


def check_tiff_jpeg_sizes(image: Image.Image, sizes: list[tuple[int, int] | None]) -> None:
    """Refuse a JPEG-compressed TIFF that libtiff would decode into a partial picture: one whose strip's or tile's
    JPEG is narrower or shorter than the part of the picture the strip or tile holds. libtiff only warns of it
    ("Improper JPEG strip/tile size", JPEGPreDecode) and leaves the rest black: 761 bytes declaring 7000x7000 in 1x1
    JPEGs rendered black in 0.3 s and 356 MB, a helper's measure. The JPEG of a tile past the picture's edge may be
    short of the whole tile: it fills what the picture holds of it. One wider or taller than its strip or tile
    libtiff refuses (but the last strip's of a plane, which may be taller: jpeg_strip_pixels counts its rows), and
    libjpeg one whose frame header it fails to reach: that is refused here, before anything is decoded, with one
    whose frame header is too far in to be sought. `sizes` (tiff_jpeg_sizes) past the pieces libtiff decodes are
    left, as libtiff leaves them."""
    for index, (size, (width, height)) in enumerate(zip(sizes, tiff_piece_parts(image))):
        if size is None:
            raise UnsupportedMedia(f"malformed TIFF: strip or tile {index} is a JPEG without a frame header among its "
                                   f"first {tiff_jpeg_markers(len(sizes))} markers, or one libjpeg fails on")
        if size[0] < width or size[1] < height:
            raise UnsupportedMedia(f"malformed TIFF: strip or tile {index} is a JPEG of {size[0]}x{size[1]}, short of "
                                   f"the {width}x{height} of the picture it holds")


def tiff_piece_parts(image: Image.Image) -> Iterator[tuple[int, int]]:
    """The width and height of the part of the stored picture that each strip or tile libtiff decodes holds, in
    their order: a strip's rows across the picture, the last strip's what is left, and a tile's, cut at the
    picture's edges."""
    (width, height), (piece_width, piece_height) = stored_size(image), tiff_piece_size(image)
    for _ in range(tiff_planes(image)):
        for top in range(0, height, piece_height):
            for left in range(0, width, piece_width):
                yield min(piece_width, width - left), min(piece_height, height - top)


def check_tiff_jpeg_scans(image: Image.Image, pieces: list[tuple[int, int]], sizes: list[tuple[int, int] | None],
                          data: bytes) -> None:
    """Refuse a JPEG-compressed TIFF whose strips or tiles libjpeg would take seconds to decode, held to the
    JPEG's limit (check_jpeg_scans) by an upper bound: every scan counted with all the TIFF's samples, over
    its whole strip or tile. libtiff hands each to libjpeg, which decodes every scan of a progressive one
    over all its blocks (99 empty arithmetic-coded scans in one strip of a 7000x7000 CMYK TIFF, 1.9 MB, took
    28.7 s to load, by hand), and stops past 100. So a progressive one of three samples is refused from 40 MP,
    where a JPEG's own scans are counted exactly; old-style JPEG (compression 6) fails on a progressive frame."""
    if TiffImagePlugin.TILEWIDTH in image.tag_v2:
        tile_width, tile_height = tiff_tile(image)
        pixels = [tile_width * tile_height] * len(pieces)
    else:
        pixels = jpeg_strip_pixels(image, sizes)
    # libtiff has libjpeg decode as many components as the TIFF has samples, or one where its planes lie apart:
    # counted as all of them there too, an upper bound
    samples = tiff_size(image, TiffImagePlugin.SAMPLESPERPIXEL)
    work = 0
    for (offset, length), piece_pixels in zip(pieces, pixels):
        scans, arithmetic = jpeg.most_scans(data, offset, offset + length)
        work += scans * samples * piece_pixels * (ARITHMETIC_SCAN_COST if arithmetic else 1)
    if work > MAX_JPEG_SCAN_PIXELS:
        raise SourceTooLarge(f"TIFF whose JPEG strips or tiles may decode more than {MAX_JPEG_SCAN_PIXELS} pixels "
                             "of components")


def jpeg_strip_pixels(image: Image.Image, sizes: list[tuple[int, int] | None]) -> list[int]:
    """The pixels libjpeg decodes from each JPEG strip of a TIFF, of these JPEG sizes (jpeg.frame_size): the
    strip's, or the JPEG's own rows where it declares more. libtiff lets the last strip of each plane be taller
    (some writers leave the last at a whole strip's rows), and libjpeg decodes all of them: 1,270 bytes declaring
    7000x65,500 for the last 8 rows took 46 s and 904 MB, a helper's measure. libtiff fails on any other strip's
    taller JPEG before decoding it: counted so, it only weighs more what fails anyway. A strip whose frame header
    was not found (one past those libtiff decodes: check_tiff_jpeg_sizes refuses the others) counts as high as a
    JPEG may be."""
    width, height = stored_size(image)
    rows = min(tiff_rows_per_strip(image), height)
    return [width * max(rows, size[1] if size else MOST_JPEG_ROWS) for size in sizes]


def tiff_pieces(image: Image.Image) -> list[tuple[int, int]]:
    """A TIFF's strips or tiles, each as its offset and length."""
    tags = image.tag_v2
    offsets = tiff_integers(tags.get(TiffImagePlugin.TILEOFFSETS) or tags.get(TiffImagePlugin.STRIPOFFSETS) or ())
    lengths = tiff_integers(tags.get(TiffImagePlugin.TILEBYTECOUNTS) or tags.get(TiffImagePlugin.STRIPBYTECOUNTS) or ())
    if len(offsets) != len(lengths):
        raise UnsupportedMedia(f"malformed TIFF: {len(offsets)} strip offsets for {len(lengths)} lengths")
    return list(zip(offsets, lengths))


def tiff_integers(value: object) -> tuple[int, ...]:
    """A TIFF tag's values as integers, a BYTE or UNDEFINED one's bytes included (Pillow hands those on as
    bytes); UnsupportedMedia for values of another type where integers belong (a RATIONAL's, a DOUBLE's):
    libtiff refuses DOUBLE strip offsets, and Pillow fails in Python on RATIONAL ones (a TypeError)."""
    values = value if isinstance(value, tuple) else (value,)
    if not all(isinstance(item, int | bytes) for item in values):
        raise UnsupportedMedia(f"malformed TIFF: {value!r} where integers belong")
    return tuple(number for item in values for number in (item if isinstance(item, bytes) else (item,)))


def stored_size(image: Image.Image) -> tuple[int, int]:
    """The width and height of the pixels as stored, which strips, tiles and rows are cut from: a TIFF's by its
    tags, as Pillow opens it turned upright by its Orientation (5 to 8: turned a quarter, the sides swapped) until
    read_tiff_as_stored."""
    if image.format != "TIFF":
        return image.size
    return tiff_size(image, TiffImagePlugin.IMAGEWIDTH), tiff_size(image, TiffImagePlugin.IMAGELENGTH)


def tiff_rows_per_strip(image: Image.Image) -> int:
    """A TIFF's RowsPerStrip as declared; EVERY_ROW, its default, where absent."""
    return tiff_size(image, TiffImagePlugin.ROWSPERSTRIP, EVERY_ROW)


def tiff_planes(image: Image.Image) -> int:
    """How many planes a TIFF's strips or tiles lie in: a sample each where they lie apart (PlanarConfiguration 2),
    each its own strips or tiles."""
    separate = image.tag_v2.get(TiffImagePlugin.PLANAR_CONFIGURATION) == 2
    return tiff_size(image, TiffImagePlugin.SAMPLESPERPIXEL) if separate else 1


def tiff_piece_size(image: Image.Image) -> tuple[int, int]:
    """The width and height of a TIFF's tiles, or of its strips: the picture's width, and RowsPerStrip rows."""
    if TiffImagePlugin.TILEWIDTH in image.tag_v2:
        return tiff_tile(image)
    return stored_size(image)[0], tiff_rows_per_strip(image)


def tiff_grid(image: Image.Image) -> tuple[int, int]:
    """How many tiles, or strips, a TIFF's picture is cut into across and down, in each plane (tiff_planes)."""
    (width, height), (piece_width, piece_height) = stored_size(image), tiff_piece_size(image)
    return -(-width // piece_width), -(-height // piece_height)


def tiff_tile(image: Image.Image) -> tuple[int, int]:
    """A TIFF's tile width and height, each 1 where its tag is absent (strips)."""
    return tiff_size(image, TiffImagePlugin.TILEWIDTH), tiff_size(image, TiffImagePlugin.TILELENGTH)


def tiff_size(image: Image.Image, tag: int, default: int = 1) -> int:
    """A TIFF's one positive size (of a tile, a strip's rows, its samples); UnsupportedMedia for another."""
    values = tiff_integers(image.tag_v2.get(tag, default))
    if len(values) != 1 or values[0] < 1:
        raise UnsupportedMedia(f"malformed TIFF: tag {tag} of {values}")
    return values[0]


def check_animation_pixels(frame_count: int, canvas: tuple[int, int], limits: Limits) -> None:
    """Every frame of an animation is decoded and resized, so they must fit the pixel limit
    together, as imgproxy counts them: 300 frames of 2000x2000 would take a minute and GBs."""
    total = frame_count * canvas[0] * canvas[1]
    if frame_count > 1 and total > limits.max_pixels:
        raise SourceTooLarge(f"{frame_count} frames of {canvas[0]}x{canvas[1]} are over {limits.max_pixels} pixels")


def check_encodable(size: tuple[int, int], target: str) -> None:
    if max(size) > MAX_SIDE[target]:
        raise BadRequest(f"{size} is over {target}'s {MAX_SIDE[target]}", public_message=f"Too large for {target}.")
