"""edge/gif.py: a GIF's frames and canvas, walked as Pillow walks them, or refused."""

import io
import struct

import pytest
from PIL import Image, ImageChops, ImageFile, ImageSequence

import bombs
import edge.image
from edge import gif
from edge.rendition import parse_rendition
from imaging import encoded, gif_by_hand, gif_lzw, gradient


def pillows_view(data: bytes) -> tuple[int, tuple[int, int]]:
    """The frames Pillow finds and the canvas it grows to, seeking every frame (the bombs' frames
    larger than a pixel are short of data: loading them as far as it goes is enough here)."""
    truncated, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, True
    try:
        with Image.open(io.BytesIO(data)) as image:
            frames = sum(1 for _ in ImageSequence.Iterator(image))
            return frames, image.size
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated


def counted(layout: gif.Layout) -> tuple[int, tuple[int, int]]:
    return layout.frames, layout.size


def animation(count: int, size=(40, 30), **options) -> bytes:
    frames = [gradient(size).rotate(index * 30) for index in range(count)]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], **options)


WRITTEN = [
    ("still", lambda: encoded(gradient((40, 30)), "GIF")),
    ("animated", lambda: animation(9)),
    ("looping-with-a-comment", lambda: animation(3, loop=0, comment=b"a comment")),
    ("an-empty-comment-first", lambda: (lambda data: data[:19] + b"!\xfe\x00" + data[19:])(
        bombs.gif_frames((2, 2), [(0, 0, 1, 1)]))),
]


@pytest.mark.parametrize("make", [row[1] for row in WRITTEN], ids=[row[0] for row in WRITTEN])
def test_the_walk_finds_what_pillow_finds(make):
    data = make()
    assert counted(gif.scan(data, 100)) == pillows_view(data)


@pytest.mark.parametrize(("extents", "opened", "size"), [
    ([(2, 3, 5, 5), (0, 0, 1, 1)], (7, 8), (7, 8)),
    ([(0, 0, 1, 1), (3, 2, 5, 6)], (4, 4), (5, 6)),
    ([(0, 0, 1, 1), (60000, 60000, 1, 1)], (4, 4), (4, 4)),
], ids=["first-frame-past-the-screen", "later-frame-past-the-screen", "later-frame-far-off"])
def test_the_size_weighed_is_the_first_frames_extent_and_each_later_frames_own(extents, opened, size):
    """Pillow grows its canvas to the first frame's extent as it opens the file, and decodes it there. A later
    frame is decoded alone, at its own size, and drawn clipped to the screen (GifCanvas): where it lies costs
    nothing, and Chromium 156 shows a 100x100 GIF whose second frame lies at 60000,60000 as 100x100 (by hand)."""
    data = bombs.gif_frames((4, 4), extents)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == opened
    assert gif.scan(data, 10).size == size


@pytest.mark.parametrize(("extents", "size"), [
    ([(0, 0, 2, 2), (60000, 60000, 0, 0)], (4, 4)),
    ([(0, 0, 2, 2), (0, 0, 0, 9000)], (4, 4)),
    ([(0, 0, 2, 2), (0, 0, 9000, 0)], (4, 4)),
    ([(50, 40, 0, 0), (0, 0, 2, 2)], (50, 40)),
], ids=["empty-later-frame-far-off", "later-frame-of-no-width", "later-frame-of-no-height", "empty-first-frame"])
def test_a_frame_without_pixels_grows_the_screen_only_as_the_first(extents, size):
    """An empty later frame draws nothing (Chromium 156) and is never decoded, so it may lie anywhere; the first
    grows the screen as Pillow opens the file, and as Chromium shows it, even empty."""
    assert gif.scan(bombs.gif_frames((4, 4), extents), 10).size == size


def test_counting_stops_one_frame_past_the_limit():
    assert gif.scan(bombs.gif_with_frames(50), 9).frames == 10


def test_many_small_frames_are_within_the_walks_budget():
    """The step budget is for sub-blocks made tiny on purpose, not for frames an operator allows."""
    data = bombs.gif_with_frames(1200, (4, 4))
    assert counted(gif.scan(data, 5000)) == (1200, (4, 4))


def test_a_frame_hidden_from_the_walk_is_refused():
    """Pillow reads an empty extension one chain too far and finds a 1000x1000 frame inside what the
    format's rules make frame data: left alone, the canvas it grows to would never be checked."""
    data = bombs.gif_hiding_a_frame((1000, 1000))
    assert pillows_view(data) == (2, (1000, 1000))
    with pytest.raises(gif.MalformedGif, match="empty extension before frame 2"):
        gif.scan(data, 100)


ONE_FRAME = bombs.gif_frames((2, 2), [(0, 0, 1, 1)])
AFTER_SCREEN = 19  # the header, the screen descriptor and a 2-colour palette


@pytest.mark.parametrize(("extension", "error"), [
    (b"!\x01\x00", "empty extension"),  # plain text
    (b"!\xff\x00", "empty extension"),  # application
    (b"!\x99\x00", "empty extension"),  # unknown
    (b"!\xff\x0bNETSCAPE2.0\x00", "NETSCAPE2.0 block without its loop sub-block"),
    (b"!\xf9\x02\x00\x00\x00", "short graphic control block"),
    (b"!\xf9\x03\x01\x0a\x00\x00", "short graphic control block"),  # one byte short: Pillow reads a fourth
    (b"!", "truncated in an extension"),
], ids=["plain-text", "application", "unknown-label", "netscape-without-loop", "short-graphic-control",
        "graphic-control-of-3", "cut"])
def test_an_extension_that_pillow_reads_past_its_end_is_refused(extension, error):
    data = ONE_FRAME[:AFTER_SCREEN] + extension + (ONE_FRAME[AFTER_SCREEN:] if extension != b"!" else b"")
    with pytest.raises(gif.MalformedGif, match=error):
        gif.scan(data, 100)


def test_a_palette_whose_last_byte_reads_as_a_trailer_is_walked_past():
    """The walk starts after the whole palette: a last colour byte of 0x3B (";") is a colour, not the end."""
    data = bytearray(bombs.gif_growing((10, 10), (20_000, 20_000)))
    data[AFTER_SCREEN - 1] = 0x3B
    assert counted(gif.scan(bytes(data), 10)) == (2, (20_000, 20_000))


A_PIXEL_WITHOUT_A_TABLE = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"  # nor local table


def test_size_bits_without_a_global_palette_mean_no_palette():
    frame = A_PIXEL_WITHOUT_A_TABLE
    data = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x01, 0, 0) + frame * 2 + b";"
    assert counted(gif.scan(data, 10)) == (2, (1, 1))


@pytest.mark.parametrize("ending", [b"", b"!\xfe\x00"], ids=["nothing", "an-empty-comment"])
def test_a_gif_without_its_trailer_is_walked_to_its_end(ending):
    assert counted(gif.scan(bombs.gif_with_frames(3)[:-1] + ending, 10)) == (3, (1, 1))


@pytest.mark.parametrize(("data", "error"), [
    (bombs.gif_with_frames(1)[:-2], "truncated inside"),  # cut after a sub-block, as a partial upload is
    (bombs.gif_with_frames(1)[:-1] + b",\0\0\0", "descriptor"),
    (bombs.gif_with_frames(1)[:-1] + b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0), "descriptor of frame 2"),
    (bombs.gif_with_frames(1)[:-1] + b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02", "truncated inside"),
    (bombs.gif_with_frames(1)[:-1] + b"!\xfe", "truncated"),
], ids=["after-a-sub-block", "in-a-frame-descriptor", "before-its-code-size", "after-its-code-size",
        "after-an-extension-label"])
def test_a_gif_cut_anywhere_is_malformed_not_an_exception(data, error):
    with pytest.raises(gif.MalformedGif, match=error):
        gif.scan(data, 10)


@pytest.mark.parametrize(("size", "error"), [((8, 8), "UnsupportedMedia"), ((9000, 9000), "SourceTooLarge")])
def test_a_gif_is_walked_and_its_screen_checked_before_pillow_opens_it(monkeypatch, pillow_opens, size, error):
    """Opening reads the first frame's sub-blocks in Python, with no bound: a comment of one-byte
    sub-blocks is refused first (415), after the screen its header declares (413)."""
    plain = encoded(Image.new("P", (8, 8)), "GIF")
    at = plain.index(b"\x2c")  # the image descriptor
    flood = b"\x21\xfe" + b"\x01a" * 20_000 + b"\x00"
    data = plain[:6] + struct.pack("<HH", *size) + plain[10:at] + flood + plain[at:]
    with pytest.raises(Exception) as raised:
        edge.image.render(data, parse_rendition("/4x/a.gif"), edge.image.Limits(50_000_000, 300))
    assert (type(raised.value).__name__, pillow_opens) == (error, [])


def test_the_screen_is_read_without_pillow(pillow_opens):
    data = encoded(Image.new("P", (300, 200)), "GIF")
    assert gif.screen_size(data[:13]) == (300, 200) and gif.screen_size(data[:12]) is None
    assert edge.image.check_pixels_in_head(data[:13], edge.image.Limits(300 * 200, 300))
    assert pillow_opens == []


def test_each_gif_frame_decoded_alone_is_the_frame_pillow_decodes():
    """gif.standalone(): local and global colour tables, interlacing, transparency, frames placed anywhere."""
    frames = [gradient((40, 30)).rotate(angle) for angle in (0, 30, 60)]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=[100, 200, 300],
                   interlace=True, optimize=False, transparency=0)
    layout, source = gif.scan(data, 10), Image.open(io.BytesIO(data))
    for index, frame in enumerate(layout.images):
        source.seek(index)
        with Image.open(io.BytesIO(gif.standalone(data, layout, index))) as alone:
            drawn = alone.convert("RGBA")
        composite, nothing = source.convert("RGBA").crop(frame.box), ImageChops.invert(drawn.getchannel("A"))
        for image in (drawn, composite):
            image.paste((0, 0, 0, 0), mask=nothing)  # where the frame draws nothing
        assert drawn.tobytes() == composite.tobytes() and nothing.getextrema() == (0, 255)
        assert frame.delay_ms == (index + 1) * 100


def application(name: bytes, sub_block: bytes) -> bytes:
    return b"\x21\xff" + bytes([len(name)]) + name + sub_block + b"\x00"


def loop_block(repeats: int) -> bytes:
    return application(b"NETSCAPE2.0", b"\x03\x01" + repeats.to_bytes(2, "little"))


THREE_FRAMES = gif_by_hand((2, 1), [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)],
                           [((2, 1), (0, 0), [index, index], 1, None) for index in (1, 2, 3)])
AFTER_THE_SCREEN = 13 + 3 * 4  # the header, the logical screen and a global colour table of four
SECOND_FRAME = THREE_FRAMES.index(b"\x21\xf9", THREE_FRAMES.index(b"\x21\xf9") + 1)  # its graphic control


def with_blocks(*placed: tuple[int, bytes]) -> bytes:
    data = THREE_FRAMES
    for position, block in sorted(placed, reverse=True):
        data = data[:position] + block + data[position:]
    return data


@pytest.mark.parametrize(("data", "repeats"), [
    (THREE_FRAMES, None),
    (with_blocks((AFTER_THE_SCREEN, loop_block(2))), 2),
    (with_blocks((SECOND_FRAME, loop_block(0))), 0),  # Pillow read none: the output played once
    (with_blocks((SECOND_FRAME, loop_block(4))), 4),
    (with_blocks((len(THREE_FRAMES) - 1, loop_block(0))), 0),  # before the trailer
    (with_blocks((AFTER_THE_SCREEN, loop_block(2)), (SECOND_FRAME, loop_block(5))), 5),  # the last one
    (with_blocks((AFTER_THE_SCREEN, loop_block(2) + loop_block(0))), 0),
    (with_blocks((AFTER_THE_SCREEN, application(b"ANIMEXTS1.0", b"\x03\x01\x03\x00"))), 3),
    (with_blocks((AFTER_THE_SCREEN, application(b"NETSCAPE2.0", b"\x03\x02\x03\x00"))), None),  # not a loop
    (with_blocks((AFTER_THE_SCREEN, application(b"NETSCAPE2.0", b"\x05\x01\x03\x00\x00\x00"))), None),  # Pillow: 3
    (with_blocks((AFTER_THE_SCREEN, application(b"netscape2.0", b"\x03\x01\x03\x00"))), None),
    (with_blocks((len(THREE_FRAMES) - 1, b"\x00" + loop_block(0))), None),  # none after a stray byte
    (with_blocks((AFTER_THE_SCREEN, loop_block(2)), (len(THREE_FRAMES) - 1, b"x" + loop_block(0))), 2),
])
def test_the_loop_count_is_the_last_loop_block_s_wherever_it_is_as_chromium_reads_it(data, repeats):
    """Each case's repetitionCount in Chromium 156's ImageDecoder, by hand (none: it plays once)."""
    assert gif.scan(data, 10).repeats == repeats


def one_frame_of_tiny_sub_blocks(count: int) -> bytes:
    """A one-pixel GIF whose frame data is `count` one-byte sub-blocks and their terminator, in 34 + 2 * count
    bytes: a walk of count + 2 steps (the first sub-block holds the pixel)."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x01\x44" + b"\x01\x01" * count + b"\x00"
    return screen + frame + b";"


def test_the_walk_s_budget_is_a_step_per_64_bytes_4096_more_and_8_a_frame():
    """8502 bytes: 132 + 4096 + 8 = 4236 steps, all of them taken; two bytes more buy no step, and one is short."""
    walked, refused = one_frame_of_tiny_sub_blocks(4234), one_frame_of_tiny_sub_blocks(4235)
    assert (len(walked), len(refused)) == (8502, 8504)
    assert counted(gif.scan(walked, 10)) == (1, (1, 1))
    with pytest.raises(gif.MalformedGif, match="too many sub-blocks or stray bytes for its size"):
        gif.scan(refused, 10)


def test_stray_bytes_between_blocks_are_steps_of_the_walk():
    """4203 bytes: 65 + 4096 + 8 = 4169 steps, taken by 4165 stray bytes before the frame and its 4 sub-blocks."""
    def with_strays(count: int) -> bytes:
        data = one_frame_of_tiny_sub_blocks(2)
        return data[:AFTER_SCREEN] + b"\x00" * count + data[AFTER_SCREEN:]

    walked, refused = with_strays(4165), with_strays(4166)
    assert (len(walked), len(refused)) == (4203, 4204)
    assert counted(gif.scan(walked, 10)) == (1, (1, 1))
    with pytest.raises(gif.MalformedGif, match="too many sub-blocks or stray bytes for its size"):
        gif.scan(refused, 10)


@pytest.mark.parametrize("data", [b"GIF88a" + bytes(7), b"GIF89a" + bytes(6), bombs.png_declaring(300, 200)],
                         ids=["another-signature", "a-screen-cut-short", "a-png"])
def test_anything_but_a_gif_has_no_screen_and_is_not_walked(data):
    assert gif.screen_size(data) is None
    with pytest.raises(gif.MalformedGif, match="not a GIF"):
        gif.scan(data, 10)


def test_a_frame_without_a_graphic_control_has_no_disposal_transparency_or_delay():
    (image,) = gif.scan(one_frame_of_tiny_sub_blocks(0), 10).images
    assert (image.disposal, image.transparency, image.delay_ms) == (0, None, None)


def test_an_interlaced_frame_decoded_alone_stays_interlaced():
    """Pillow writes a still GIF of 16 pixels a side or more interlaced (an animation's frames it does not)."""
    data = encoded(gradient((40, 30)), "GIF")
    layout = gif.scan(data, 10)
    assert layout.images[0].flags == 0x40
    with Image.open(io.BytesIO(gif.standalone(data, layout, 0))) as alone, Image.open(io.BytesIO(data)) as whole:
        assert alone.convert("RGB").tobytes() == whole.convert("RGB").tobytes()


EIGHT_COLOURS = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255),
                 (255, 255, 255)]


@pytest.mark.parametrize(("transparency", "alphas"), [(5, [255, 255, 0, 255]), (None, [255, 255, 255, 255])],
                         ids=["index-5", "none"])
def test_a_frame_decoded_alone_keeps_its_palette_of_eight_and_its_transparent_index(transparency, alphas):
    data = gif_by_hand((2, 2), EIGHT_COLOURS, [((2, 2), (0, 0), [1, 2, 5, 3], 0, transparency)])
    layout = gif.scan(data, 10)
    with Image.open(io.BytesIO(gif.standalone(data, layout, 0))) as alone:
        pixels = alone.convert("RGBA").tobytes()
    assert pixels == b"".join(bytes([*EIGHT_COLOURS[index], alpha]) for index, alpha in zip([1, 2, 5, 3], alphas))


def test_a_frame_s_disposal_transparency_and_delay_are_read_from_its_graphic_control():
    frames = [((1, 1), (0, 0), [1], disposal, transparency) for disposal, transparency in [(1, None), (3, 2), (7, 1)]]
    images = gif.scan(gif_by_hand((1, 1), EIGHT_COLOURS[:4], frames), 10).images
    assert [(image.disposal, image.transparency, image.delay_ms) for image in images] == [
        (1, None, 100), (3, 2, 100), (7, 1, 100)]


def test_a_comment_that_spells_a_loop_block_is_no_loop_block():
    comment = b"\x21\xfe\x0bNETSCAPE2.0\x03\x01\x05\x00\x00"
    assert gif.scan(with_blocks((AFTER_THE_SCREEN, comment)), 10).repeats is None


def test_the_walk_stops_where_its_budget_runs_out_not_at_the_end_of_the_block():
    """8504 bytes cut before the terminator of 4237 sub-blocks: the last of them takes the 4237th step of 4236 and
    ends the walk, which is refused for it, not for the end of the file that would follow."""
    data = one_frame_of_tiny_sub_blocks(4236)[:-2]
    assert len(data) == 8504
    with pytest.raises(gif.MalformedGif, match="too many sub-blocks or stray bytes for its size"):
        gif.scan(data, 10)
    with pytest.raises(gif.MalformedGif, match="truncated inside a block"):
        gif.scan(one_frame_of_tiny_sub_blocks(4235)[:-2], 10)  # its last step the 4236th: the end of the file


def test_a_frame_decoded_alone_is_its_own_screen_of_two_colours_keeping_of_its_flags_only_its_interlacing():
    """A 2x1 frame at (3, 2) of a 5x3 screen: alone, a 2x1 screen of a table of 2 entries (its size field 0), and at
    the top left; of its descriptor's flags, the sort, reserved and size bits (no local table) are dropped."""
    black_and_red = [(0, 0, 0), (255, 0, 0)]
    data = bytearray(gif_by_hand((5, 3), black_and_red, [((2, 1), (3, 2), [1, 1], 0, None)]))
    data[data.index(b",") + 9] = 0x7F  # interlaced, sorted, reserved bits, a size of 256: no local table
    layout = gif.scan(bytes(data), 10)
    assert (layout.images[0].box, layout.images[0].flags, layout.images[0].palette) == ((3, 2, 5, 3), 0x7F, None)
    assert gif.standalone(bytes(data), layout, 0) == (
        b"GIF89a" + struct.pack("<HHBBB", 2, 1, 0x80, 0, 0) + bytes([0, 0, 0, 255, 0, 0])
        + b"\x21\xf9\x04\x00\x00\x00\x00\x00" + b"," + struct.pack("<HHHHB", 0, 0, 2, 1, 0x40) + gif_lzw([1, 1]) + b";")


def test_a_frame_without_a_colour_table_is_decoded_alone_in_black():
    """Neither a local nor a global table: the frame alone gets 256 black entries, as Chromium draws such a frame."""
    frame = A_PIXEL_WITHOUT_A_TABLE
    data = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0, 0, 0) + frame + b";"
    layout = gif.scan(data, 10)
    assert (layout.palette, layout.images[0].palette) == (None, None)
    assert gif.standalone(data, layout, 0) == (b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x87, 0, 0) + bytes(768)
                                               + b"\x21\xf9\x04\x00\x00\x00\x00\x00" + frame + b";")
    with Image.open(io.BytesIO(gif.standalone(data, layout, 0))) as alone:
        assert alone.convert("RGB").getpixel((0, 0)) == (0, 0, 0)


NETSCAPE_WITHOUT_ITS_LOOP = b"\x0bNETSCAPE2.0\x00"  # an 11-byte first sub-block, then the terminator


@pytest.mark.parametrize("data", [
    with_blocks((AFTER_THE_SCREEN, b"\x21\xfe" + NETSCAPE_WITHOUT_ITS_LOOP)),  # a comment: read as a chain
    with_blocks((AFTER_THE_SCREEN, b"\x21\x01" + NETSCAPE_WITHOUT_ITS_LOOP)),  # plain text
    with_blocks((SECOND_FRAME, b"\x21\xff" + NETSCAPE_WITHOUT_ITS_LOOP)),  # after the first frame
    with_blocks((AFTER_THE_SCREEN, application(b"ANIMEXTS1.0", b""))),  # another name: Pillow reads no loop in it
], ids=["comment", "plain-text", "after-the-first-frame", "animexts"])
def test_only_a_netscape_block_before_the_first_frame_needs_its_loop_sub_block(data):
    """Pillow reads the loop sub-block by itself only of an application block named NETSCAPE2.0 before the first
    frame: each of these it reads as this walk does."""
    layout = gif.scan(data, 10)
    assert (counted(layout), layout.repeats) == ((3, (2, 1)), None)
    assert pillows_view(data) == (3, (2, 1))


def test_a_stray_byte_leaves_every_loop_block_after_it_unread_however_many_blocks_later():
    """As the walk reads Chromium 156 (each loop case above): once a stray byte came, no later loop block counts."""
    data = with_blocks((SECOND_FRAME, b"x"), (len(THREE_FRAMES) - 1, loop_block(0)))
    assert gif.scan(data, 10).repeats is None


def test_a_loop_count_is_read_in_16_bits_whatever_sub_block_follows():
    """258 repeats, then a sub-block of its own, which is no part of the count."""
    block = application(b"NETSCAPE2.0", b"\x03\x01\x02\x01" + b"\x01\x07")
    assert gif.scan(with_blocks((AFTER_THE_SCREEN, block)), 10).repeats == 258


def test_an_application_block_that_is_no_loop_block_leaves_the_count_before_it():
    not_a_loop = application(b"NETSCAPE2.0", b"\x03\x02\x03\x00")  # a sub-block of another kind
    data = with_blocks((AFTER_THE_SCREEN, loop_block(2)), (SECOND_FRAME, not_a_loop))
    assert gif.scan(data, 10).repeats == 2


def test_a_frame_s_local_colour_table_is_read_whole_and_alone():
    """No global table; the frame's own of black and red, exactly its 6 bytes, which it keeps when decoded alone."""
    black_and_red = bytes([0, 0, 0, 255, 0, 0])
    frame = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0x80) + black_and_red + gif_lzw([1])
    data = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0, 0, 0) + frame + b";"
    layout = gif.scan(data, 10)
    assert (layout.palette, layout.images[0].palette) == (None, black_and_red)
    with Image.open(io.BytesIO(gif.standalone(data, layout, 0))) as alone:
        assert alone.convert("RGB").getpixel((0, 0)) == (255, 0, 0)
