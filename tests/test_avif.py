"""edge/avif.py: an AVIF's colour code points as libavif reads them; an animated AVIF's encoding time,
zeroed, and nothing else touched; and how many times it plays."""

import io
import struct
import time
from dataclasses import dataclass

import pytest
from PIL import Image, ImageSequence

import edge.image
from edge import avif
from edge.errors import SourceTooLarge, UnsupportedMedia
from edge.image import Limits, render
from edge.rendition import parse_rendition
from imaging import avif_with_item_property, encoded, exif_with, gradient, with_colour_codes


@pytest.fixture(scope="module")
def encoded_a_second_apart() -> tuple[bytes, bytes]:
    """The same three frames encoded twice, in different seconds: libavif stamps each with its own."""
    frames = [gradient((48, 32)).rotate(angle) for angle in (0, 90, 180)]

    def animation() -> bytes:
        return encoded(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=100, quality=70)

    first = animation()
    time.sleep(1.1)
    return first, animation()


def avif_exif(data: bytes) -> list[bytes]:
    return avif.survey(data, 300).exif


def check_crowded(data: bytes, crowded: str | None, most_frames: int = 300) -> None:
    """Surveyed where crowded is None, else refused for exactly that reason."""
    if crowded is None:
        avif.survey(data, most_frames)
        return
    with pytest.raises(avif.Crowded, match=f"^{crowded}$"):
        avif.survey(data, most_frames)


def coded_sizes(data: bytes, most_samples: int) -> list[tuple[int, int]]:
    return avif.survey(data, most_samples).coded_sizes


def frame_sizes(streams: list[list[bytes]], most_obus: int = avif.MOST_OBUS) -> list[tuple[int, int]]:
    return avif._frame_sizes(streams, most_obus).sizes


def edited(data: bytes, edit, *arguments) -> bytes:
    """A copy of data, after `edit` (one of avif's functions that edit a buffer in place) ran on it."""
    buffer = bytearray(data)
    edit(memoryview(buffer), *arguments)
    return bytes(buffer)


def differing_bytes(first: bytes, second: bytes) -> list[int]:
    return [index for index, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]


def frames_of(data: bytes) -> list[bytes]:
    with Image.open(io.BytesIO(data)) as image:
        return [frame.convert("RGB").tobytes() for frame in ImageSequence.Iterator(image)]


def test_two_encodings_differ_only_by_their_clock(encoded_a_second_apart):
    first, second = encoded_a_second_apart
    assert first != second and len(first) == len(second)
    assert edited(first, avif.stop_clock) == edited(second, avif.stop_clock)


def test_the_frames_are_untouched(encoded_a_second_apart):
    first, _ = encoded_a_second_apart
    assert len(frames_of(first)) == 3
    assert frames_of(edited(first, avif.stop_clock)) == frames_of(first)


def test_only_the_clock_changes(encoded_a_second_apart):
    """Two stamps in each of mvhd, tkhd and mdhd: 48 bytes at most (64-bit times), all now zero."""
    first, _ = encoded_a_second_apart
    stopped = edited(first, avif.stop_clock)
    changed = differing_bytes(first, stopped)
    assert 0 < len(changed) <= 48 and not any(stopped[index] for index in changed)


def box(kind: bytes, payload: bytes, size_field: str = "32-bit") -> bytes:
    """An ISO BMFF box, its size as libavif writes it (32-bit), in 64 bits, or 0: to the end of its container."""
    if size_field == "64-bit":
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 0 if size_field == "to-the-end" else 8 + len(payload), kind) + payload


def movie_header(version: int, stamp: int, rest: bytes = b"\x22" * 4) -> bytes:
    """An mvhd's payload: version and flags, then its creation and modification times (64-bit from
    version 1), filled with `stamp`, then `rest`, the fields that follow them."""
    return bytes([version, 0, 0, 0]) + bytes([stamp]) * (16 if version == 1 else 8) + rest


@pytest.mark.parametrize(("data", "expected"), [
    (box(b"moov", box(b"mvhd", movie_header(0, 0x11))), box(b"moov", box(b"mvhd", movie_header(0, 0)))),
    (box(b"moov", box(b"mvhd", movie_header(1, 0x11))), box(b"moov", box(b"mvhd", movie_header(1, 0)))),
    (box(b"moov", box(b"mvhd", movie_header(1, 0x11, rest=b""))),
     box(b"moov", box(b"mvhd", movie_header(1, 0, rest=b"")))),
    (box(b"moov", box(b"mvhd", movie_header(0, 0x11)), "64-bit"),
     box(b"moov", box(b"mvhd", movie_header(0, 0)), "64-bit")),
    (box(b"moov", box(b"mvhd", movie_header(0, 0x11)), "to-the-end"),
     box(b"moov", box(b"mvhd", movie_header(0, 0)), "to-the-end")),
    (box(b"free", b"") + box(b"moov", box(b"mvhd", movie_header(0, 0x11))),
     box(b"free", b"") + box(b"moov", box(b"mvhd", movie_header(0, 0)))),
    (box(b"ftyp", b"avis") + box(b"moov", box(b"mvhd", movie_header(0, 0x11)), "to-the-end"),
     box(b"ftyp", b"avis") + box(b"moov", box(b"mvhd", movie_header(0, 0)), "to-the-end")),
], ids=["version-0", "version-1", "ending-with-its-stamps", "64-bit-size", "size-to-the-end", "after-an-empty-box",
        "size-to-the-end-after-a-box"])
def test_the_stamps_are_zeroed_in_every_layout_of_the_boxes(data, expected):
    assert edited(data, avif.stop_clock) == expected


@pytest.mark.parametrize("data", [
    encoded(gradient((16, 16)), "AVIF"),  # a still picture: no movie boxes
    b"\x00\x00\x00\x08moov" + b"\x00\x00\x00\xffmvhd\x01",  # a box that claims more than there is
    b"\x00\x00\x00\x01moov\x00\x00\x00\x00\x00\x00\x00\x04",  # a 64-bit size smaller than its own header
    b"\x00\x00\x00\x04" + box(b"moov", box(b"mvhd", movie_header(0, 0x11))),  # one of 4 bytes: not walked past
    b"\x00\x00\x00\x10moov\x00\x00\x00\x08mvhd",  # a movie header with nothing in it
    box(b"moov", box(b"mvhd", bytes(4))),  # a movie header with its version and flags only
    b"\x00\x00\x00\x01moov" + bytes(7),  # a 64-bit size cut short
    b"\x00\x00\x00\x01moov" + bytes(8),  # a 64-bit size of 0
    bytes(7),  # less than a box header
    b"",
], ids=["still", "box-overruns", "size-under-header", "size-under-header-before-a-movie", "empty-mvhd",
        "mvhd-without-stamps", "64-bit-size-cut", "64-bit-size-0", "seven-bytes", "empty"])
def test_what_has_no_clock_is_left_as_it_is(data):
    assert edited(data, avif.stop_clock) == data


ENDLESS_64, ENDLESS_32 = 2**64 - 1, 2**32 - 1  # a duration of all ones: indefinite


def full_box(kind: bytes, version: int, fields: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 1]) + fields)


def edit_list(flags: int, segment: int, version: int = 1, entries: int = 1) -> bytes:
    """edts holding an elst of `entries` entries, the first `segment` long from the media's start."""
    width = 8 if version == 1 else 4
    elst = bytes([version]) + flags.to_bytes(3) + entries.to_bytes(4) + segment.to_bytes(width) + bytes(width)
    return box(b"edts", box(b"elst", elst + b"\x00\x01\x00\x00"))


def track_header(duration: int, version: int = 1) -> bytes:
    """A tkhd: creation and modification times, the track's ID, 4 reserved bytes, then its duration."""
    width = 8 if version == 1 else 4
    return full_box(b"tkhd", version, bytes(2 * width) + b"\x00\x00\x00\x01" + bytes(4) + duration.to_bytes(width)
                    + bytes(8))


def movie(*tracks: bytes, duration: int | None = None, version: int = 1) -> bytes:
    """A moov: its mvhd (times, a timescale of 1000, its duration, indefinite unless given), then each track."""
    width = 8 if version == 1 else 4
    duration = (1 << 8 * width) - 1 if duration is None else duration
    header = full_box(b"mvhd", version, bytes(2 * width) + (1000).to_bytes(4) + duration.to_bytes(width) + bytes(8))
    return box(b"ftyp", b"avis") + box(b"moov", header + b"".join(box(b"trak", track) for track in tracks))


@pytest.mark.parametrize(("data", "plays"), [
    (movie(track_header(ENDLESS_64) + edit_list(1, 450)), avif.FOREVER),
    (movie(track_header(ENDLESS_32, version=0) + edit_list(1, 450, version=0), version=0), avif.FOREVER),
    (movie(track_header(450) + edit_list(1, 450)), 1),
    (movie(track_header(1350) + edit_list(1, 450)), 3),
    (movie(track_header(1351) + edit_list(1, 450)), 4),  # a part of a play is a play
    (movie(track_header(1350, version=0) + edit_list(1, 450, version=0), version=0), 3),
    (movie(track_header(1350) + edit_list(0, 450)), 1),  # an edit list that does not repeat
    (movie(track_header(0) + edit_list(1, 450)), 1),
    (movie(track_header(450 * 2**31) + edit_list(1, 450)), 2**31),
    (movie(track_header(450 * (2**31 + 1)) + edit_list(1, 450)), avif.FOREVER),  # past libavif's count
    (movie(track_header(1350) + edit_list(1, 0)), avif.FOREVER),
    (movie(track_header(1350) + edit_list(1, 450, entries=0)), avif.FOREVER),
    (movie(track_header(1350, version=0) + edit_list(1, 2**24, version=0, entries=0), version=0),
     avif.FOREVER),  # none, whatever its first segment's duration would say
    (movie(track_header(1350)), avif.FOREVER),  # no edit list: browsers loop it
    (movie(edit_list(1, 450)), avif.FOREVER),  # no track header
    (movie(full_box(b"tkhd", 1, bytes(20)) + edit_list(1, 450)), avif.FOREVER),  # one cut before its duration
    (movie(full_box(b"tkhd", 1, bytes(24) + (1350).to_bytes(8)) + edit_list(1, 450)), 3),  # one ending with it
    (movie(edit_list(1, 450) + full_box(b"tkhd", 1, bytes(24) + b"\x05\x46")), avif.FOREVER),  # inside it
    (movie(track_header(1350) + box(b"edts", full_box(b"elst", 1, b"\x00\x00\x00\x01\x00\x00\x01\xc2"))),
     avif.FOREVER),  # an edit list cut inside its segment's duration
    (movie(track_header(1350) + box(b"edts", box(b"elst", b""))), avif.FOREVER),  # an empty one, the file's end
    (movie(track_header(1350, version=0) + box(b"edts", full_box(b"elst", 0, (1).to_bytes(4) + (450).to_bytes(3))),
           version=0), avif.FOREVER),  # one cut a byte into its first segment's duration, the file's end
    (movie(track_header(1350, version=0) + box(b"edts", full_box(b"elst", 0, (1).to_bytes(4) + (450).to_bytes(4))),
           version=0), 3),  # one ending with its first segment's duration
    (movie(track_header(ENDLESS_64) + edit_list(1, 450), track_header(1350) + edit_list(1, 450)), avif.FOREVER),
    (movie(track_header(1350) + edit_list(1, 450), track_header(ENDLESS_64) + edit_list(1, 450)), 3),
    (movie(), avif.FOREVER),
    (encoded(gradient((16, 16)), "AVIF"), avif.FOREVER),  # a still picture: no movie
], ids=["forever", "forever-version-0", "once", "thrice", "thrice-and-a-bit", "thrice-version-0", "not-repeating",
        "no-duration", "most-counted", "past-most", "empty-segment", "no-entry", "no-entry-of-a-long-segment",
        "no-edit-list", "no-track-header", "cut-track-header", "track-header-ending-with-its-duration",
        "track-header-cut-in-duration", "cut-edit-list", "empty-edit-list", "edit-list-cut-a-byte-short",
        "edit-list-ending-with-its-segment", "first-track-forever", "first-track-thrice", "no-track", "still"])
def test_plays_are_read_as_libavif_reads_them(data, plays):
    assert avif.plays(data) == plays


LIBAVIF_FOREVER = movie(track_header(ENDLESS_64) + edit_list(1, 450))  # as libavif writes every sequence


@pytest.mark.parametrize(("data", "count", "expected"), [
    (LIBAVIF_FOREVER, 3, movie(track_header(1350) + edit_list(1, 450), duration=1350)),
    (LIBAVIF_FOREVER, 1, movie(track_header(450) + edit_list(1, 450), duration=450)),
    (LIBAVIF_FOREVER, avif.FOREVER, LIBAVIF_FOREVER),
    (movie(track_header(ENDLESS_64) + edit_list(1, 450), track_header(ENDLESS_64) + edit_list(1, 450)), 2,
     movie(track_header(900) + edit_list(1, 450), track_header(900) + edit_list(1, 450), duration=900)),
    (movie(track_header(ENDLESS_32, 0) + edit_list(1, 450, 0), version=0), 3,
     movie(track_header(1350, 0) + edit_list(1, 450, 0), duration=1350, version=0)),
    (movie(track_header(ENDLESS_32, 0) + edit_list(1, 2**31, 0), version=0), 2,
     movie(track_header(ENDLESS_32, 0) + edit_list(1, 2**31, 0), version=0)),  # past 32 bits: left to play forever
    (movie(track_header(ENDLESS_32, 0) + edit_list(1, 2**27, 0), version=0), 3,
     movie(track_header(3 * 2**27, 0) + edit_list(1, 2**27, 0), duration=3 * 2**27, version=0)),  # all 32 bits
    (movie(track_header(ENDLESS_64) + edit_list(0, 450)), 3, movie(track_header(ENDLESS_64) + edit_list(0, 450))),
    (movie(track_header(ENDLESS_64)), 3, movie(track_header(ENDLESS_64))),
    (movie(full_box(b"tkhd", 1, bytes(20)) + edit_list(1, 450)), 3,
     movie(full_box(b"tkhd", 1, bytes(20)) + edit_list(1, 450), duration=1350)),
], ids=["thrice", "once", "forever", "with-an-alpha-track", "version-0", "past-version-0", "longest-version-0",
        "not-repeating", "no-edit-list", "cut-track-header"])
def test_set_plays_writes_each_duration_it_can(data, count, expected):
    assert edited(data, avif.set_plays, count) == expected


def test_set_plays_on_what_libavif_writes():
    frames = [gradient((32, 24)).rotate(angle) for angle in (0, 90, 180)]
    data = encoded(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=[100, 150, 200])
    assert avif.plays(data) == avif.FOREVER == 0  # as WebP and APNG count for ever
    thrice = edited(data, avif.set_plays, 3)
    assert avif.plays(thrice) == 3 and len(thrice) == len(data)
    assert frames_of(thrice) == frames_of(data)


# --- colour code points ---------------------------------------------------------------------------------------

STILL = encoded(gradient((16, 16)), "AVIF")
SEQUENCE = encoded(gradient((16, 16)), "AVIF", save_all=True, append_images=[gradient((16, 16)).rotate(90)])


def test_pillow_writes_srgbs_codes_for_a_still_and_a_sequence():
    assert avif.colour_codes(STILL) == avif.colour_codes(SEQUENCE) == (1, 13)


def test_a_stills_codes_are_its_primary_items():
    assert avif.colour_codes(with_colour_codes(STILL, 12, 13)) == (12, 13)


def test_a_sequences_codes_are_its_tracks_as_libavif_decodes_it():
    """Pillow's sequence holds the first frame as an item too, its box first: the track's is the one read,
    as the major brand is avis; were it avif, the item's would be."""
    assert SEQUENCE[8:12] == b"avis"
    assert avif.colour_codes(with_colour_codes(SEQUENCE, 12, 13, slice(1, None))) == (12, 13)
    assert avif.colour_codes(with_colour_codes(SEQUENCE, 12, 13, slice(0, 1))) == (1, 13)
    rebranded = SEQUENCE[:8] + b"avif" + SEQUENCE[12:]
    assert avif.colour_codes(with_colour_codes(rebranded, 12, 13, slice(0, 1))) == (12, 13)


def nclx(primaries: int, transfer: int) -> bytes:
    return box(b"colr", b"nclx" + struct.pack(">HHHB", primaries, transfer, 6, 0x80))


def item_properties(properties: list[bytes], associations: dict[int, list[int]], *, primary: int = 1,
                    pitm_version: int = 0, ipma_version: int = 0, wide_indices: bool = False,
                    essential: bool = True, entries_claimed: int | None = None, indices_claimed: int | None = None,
                    pitm: bytes | None = None, pitm_last: bool = True) -> bytes:
    """A meta box: the primary item (pitm), the properties (ipco) and which of them, by their 1-based
    index, each item has (ipma), in the widths the versions and flag 1 give. The ipma's counts of entries
    and of each entry's indices may claim more than it holds; `pitm` may be given whole, and put first,
    so that the ipma ends the file."""
    if pitm is None:
        pitm = box(b"pitm", bytes([pitm_version, 0, 0, 0]) + primary.to_bytes(2 if pitm_version == 0 else 4))
    index_width = 2 if wide_indices else 1
    entries = b"".join(
        item.to_bytes(2 if ipma_version == 0 else 4) + bytes([indices_claimed or len(indices)])
        + b"".join((index | (essential << 8 * index_width - 1)).to_bytes(index_width) for index in indices)
        for item, indices in associations.items())
    claimed = len(associations) if entries_claimed is None else entries_claimed
    ipma = box(b"ipma", bytes([ipma_version, 0, 0, wide_indices]) + claimed.to_bytes(4) + entries)
    iprp = box(b"iprp", box(b"ipco", b"".join(properties)) + ipma)
    return box(b"meta", bytes(4) + box(b"hdlr", bytes(24)) + (iprp + pitm if pitm_last else pitm + iprp))


SIZE = box(b"ispe", bytes(12))
ICC = box(b"colr", b"prof" + bytes(16))


def track(*entries_boxes: bytes, entry_fields: int = 78, formats: tuple[bytes, ...] = (b"av01",) * 2,
          auxiliary: bool = False) -> bytes:
    """A trak with a sample entry for each of `entries_boxes`, its boxes after its fields, in each of
    `formats`; an auxiliary one (alpha) refers to its colour track by tref/auxl."""
    sample_entries = b"".join(box(kind, bytes(entry_fields) + boxes) for kind, boxes in zip(formats, entries_boxes))
    stsd = box(b"stsd", bytes(4) + len(entries_boxes).to_bytes(4) + sample_entries)
    reference = box(b"tref", box(b"auxl", (1).to_bytes(4))) if auxiliary else b""
    return box(b"trak", reference + box(b"mdia", box(b"minf", box(b"stbl", stsd))))


def tracks(*traks: bytes) -> bytes:
    return box(b"moov", b"".join(traks))


def branded(brand: bytes, boxes: bytes) -> bytes:
    return box(b"ftyp", brand + bytes(4)) + boxes


BOTH = tracks(track(nclx(9, 14))) + item_properties([nclx(12, 13)], {1: [1]})  # a track's codes and an item's


@pytest.mark.parametrize(("data", "codes"), [
    (item_properties([SIZE, nclx(12, 13)], {1: [1, 2]}), (12, 13)),
    (item_properties([nclx(9, 14), nclx(12, 13)], {2: [1], 1: [2]}), (12, 13)),  # item 2's is not the primary's
    (item_properties([nclx(9, 14), nclx(12, 13)], {1: [2], 2: [1]}, primary=2), (9, 14)),
    (item_properties([SIZE, nclx(12, 13)], {1: [1, 2]}, essential=False), (12, 13)),
    (item_properties([ICC, nclx(12, 13)], {1: [1, 2]}), (12, 13)),
    (item_properties([box(b"free", nclx(9, 14)[8:]), nclx(12, 13)], {1: [1, 2]}), (12, 13)),  # only a colr's
    (item_properties([nclx(12, 13)], {70_000: [1]}, primary=70_000, pitm_version=1, ipma_version=1), (12, 13)),
    (item_properties([SIZE] * 129 + [nclx(12, 13)], {1: [1, 130]}, wide_indices=True), (12, 13)),
    (item_properties([SIZE] * 129 + [nclx(12, 13)], {1: [1, 130]}, wide_indices=True, essential=False), (12, 13)),
    (item_properties([ICC], {1: [1]}), None),
    (item_properties([nclx(12, 13)], {2: [1]}), None),  # only another item's
    (item_properties([nclx(12, 13)], {}), None),
    (item_properties([nclx(12, 13)], {1: [2]}), None),  # an index past the properties
    (item_properties([box(b"colr", b"nclx\x00\x0c\x00\x0d\x00\x06")], {1: [1]}), None),  # without its range
    (item_properties([SIZE] * 129 + [nclx(12, 13)], {2: [1, 2], 1: [130]}, wide_indices=True), (12, 13)),
    (item_properties([nclx(12, 13)], {2: [1], 1: [1]}, entries_claimed=3, pitm_last=False), (12, 13)),
    (item_properties([nclx(12, 13)], {1: [1]}, indices_claimed=3), None),  # 3 indices claimed, 1 held
    (item_properties([nclx(12, 13)], {1: [1]}, indices_claimed=2, wide_indices=True), None),  # 2 of 16 bits
    (item_properties([nclx(12, 13)], {1: [1]})[:-1], None),  # the ipma's last index cut off
    (box(b"meta", bytes(4) + box(b"pitm", bytes(5) + b"\x01") + box(b"iprp", box(b"ipco", nclx(12, 13)) + box(
        b"ipma", bytes(4) + (2).to_bytes(4) + b"\x00\x01\x01\x81" + b"\x00\x02"))),
     (12, 13)),  # the next entry cut after its item, the file's end
    (box(b"meta", bytes(4) + box(b"iprp", box(b"ipco", nclx(12, 13)))), None),  # no pitm, no ipma
    (box(b"meta", bytes(4) + box(b"pitm", bytes(5))), None),  # a pitm cut inside its item
    (item_properties([nclx(12, 13)], {1: [1]}, pitm=box(b"pitm", bytes(4) + b"\x01")), None),  # cut, after a 1
    (box(b"meta", bytes(4) + box(b"pitm", b"")), None),  # an empty pitm, the file's end
    (box(b"meta", bytes(4) + box(b"pitm", bytes(6)) + box(b"iprp", box(b"ipco", nclx(12, 13)) + box(b"ipma", b""))),
     None),  # an empty ipma, the file's end: not read for its version past it
    (tracks(track(box(b"av1C", bytes(4)) + nclx(9, 14))), (9, 14)),
    (BOTH, (9, 14)),  # no brand: the track, as there is one
    (branded(b"avis", BOTH), (9, 14)),
    (branded(b"avif", BOTH), (12, 13)),
    (branded(b"mif1", BOTH), (9, 14)),
    (branded(b"mif1", item_properties([nclx(12, 13)], {1: [1]})), (12, 13)),
    (branded(b"avis", item_properties([nclx(12, 13)], {1: [1]})), None),  # a sequence without a track
    (box(b"free", b"avif") + BOTH, (9, 14)),  # a brand only in the first box, the ftyp
    (box(b"ftyp", b"avif") + BOTH, (12, 13)),  # an ftyp of its brand only
    (tracks(track(box(b"av1C", bytes(4)))) + item_properties([nclx(12, 13)], {1: [1]}), None),  # one without one
    (tracks(track(nclx(9, 14), entry_fields=70)), None),  # the entry's fields cut: its boxes misread, no colr
    (tracks(track(nclx(9, 14), nclx(12, 13), formats=(b"hvc1", b"av01"))), (12, 13)),  # the first AV1 entry's
    (tracks(track(box(b"av1C", bytes(4)), nclx(12, 13))), None),  # only the first AV1 entry's
    (tracks(track(nclx(9, 14), auxiliary=True), track(nclx(12, 13))), (12, 13)),  # the alpha track first
    (tracks(track(nclx(9, 14), formats=(b"hvc1",)), track(nclx(12, 13))), (12, 13)),  # a track that is not AV1
    (box(b"moov", box(b"trak", box(b"mdia", b""))), None),  # a track without its sample table
    (box(b"moov", box(b"trak", box(b"stsd", bytes(4) + (1).to_bytes(4) + box(b"av01", bytes(78) + nclx(9, 14))))),
     None),  # a sample table out of its place
    (STILL[:40], None),
], ids=["primary-item", "other-item-first", "second-item-primary", "not-essential", "after-an-icc-box",
        "after-an-nclx-not-in-a-colr", "32-bit-item-ids", "15-bit-indices", "15-bit-indices-not-essential", "icc-only",
        "another-items-only", "no-associations", "index-past-the-properties", "nclx-without-range",
        "15-bit-indices-second-entry", "entries-overclaimed", "indices-overclaimed", "wide-indices-overclaimed",
        "ipma-cut", "ipma-entry-cut", "no-pitm", "pitm-cut", "pitm-cut-to-1", "pitm-empty", "ipma-empty", "track",
        "unbranded-track-and-item", "avis-track-and-item", "avif-track-and-item", "other-brand-track-and-item",
        "other-brand-item", "avis-without-track", "brand-not-in-ftyp", "ftyp-of-its-brand-only", "track-without-nclx",
        "sample-entry-misread", "first-av1-entry", "only-first-av1-entry", "alpha-track-first", "not-av1-track-first",
        "track-without-sample-table", "sample-table-out-of-place", "file-cut"])
def test_colour_codes_are_read_as_libavif_reads_them(data, codes):
    assert avif.colour_codes(data) == codes


def clli(brightest: int, average: int = 100) -> bytes:
    return box(b"clli", struct.pack(">HH", brightest, average))


HDR_BOTH = tracks(track(nclx(9, 16) + clli(1500))) + item_properties([nclx(9, 16), clli(4000)], {1: [1, 2]})


@pytest.mark.parametrize(("data", "nits"), [
    (item_properties([SIZE, nclx(9, 16), clli(4000)], {1: [1, 2, 3]}), 4000),
    (item_properties([clli(4000), clli(600)], {2: [1], 1: [2]}), 600),  # item 2's is not the primary's
    (item_properties([clli(4000)], {2: [1]}), None),  # only another item's
    (item_properties([clli(0)], {1: [1]}), None),  # 0: unknown
    (item_properties([box(b"clli", b"\x0f")], {1: [1]}), None),  # cut inside its brightest
    (item_properties([box(b"clli", b"\x0f\xa0\x00")], {1: [1]}), None),  # cut inside its average
    (item_properties([nclx(9, 16)], {1: [1]}), None),
    (tracks(track(box(b"av1C", bytes(4)) + nclx(9, 16) + clli(1500))), 1500),
    (tracks(track(clli(999), auxiliary=True), track(clli(1500))), 1500),  # the alpha track first
    (branded(b"avis", HDR_BOTH), 1500),
    (branded(b"avif", HDR_BOTH), 4000),
    (STILL, None),
    (SEQUENCE, None),
], ids=["primary-item", "other-item-first", "another-items-only", "zero", "cut", "cut-later", "none", "track",
        "alpha-track-first", "avis", "avif", "pillows-still", "pillows-sequence"])
def test_the_brightest_pixel_is_read_beside_the_colour_libavif_decodes(data, nits):
    assert avif.brightest_nits(data) == nits


RGBA_SEQUENCE = encoded(gradient((16, 16), "RGBA"), "AVIF", save_all=True,
                        append_images=[gradient((16, 16), "RGBA").rotate(90)])


@pytest.mark.parametrize("data", [STILL, SEQUENCE, RGBA_SEQUENCE], ids=["still", "sequence", "sequence-with-alpha"])
def test_set_colour_codes_rewrites_the_nclx_boxes_libavif_wrote_and_nothing_else(data):
    stated = edited(data, avif.set_colour_codes, 9, 16)
    boxes = data.count(b"colrnclx")
    assert boxes == (1 if data is STILL else 2)  # the item's, and a sequence's colour track's
    assert len(differing_bytes(data, stated)) == 2 * boxes  # 1 -> 9 and 13 -> 16: a low byte each
    assert avif.colour_codes(stated) == (9, 16) and frames_of(stated) == frames_of(data)


@pytest.mark.parametrize(("data", "expected"), [
    (item_properties([nclx(1, 13), ICC, nclx(1, 13)], {1: [1, 2], 2: [3]}),
     item_properties([nclx(12, 13), ICC, nclx(1, 13)], {1: [1, 2], 2: [3]})),  # not another item's
    (tracks(track(nclx(1, 13), nclx(1, 13), formats=(b"hvc1", b"av01"))),
     tracks(track(nclx(1, 13), nclx(12, 13), formats=(b"hvc1", b"av01")))),  # only AV1 entries
    (tracks(track(nclx(1, 13), auxiliary=True), track(nclx(1, 13))),
     tracks(track(nclx(1, 13), auxiliary=True), track(nclx(12, 13)))),  # not an alpha track's
    (tracks(track(nclx(1, 13))) + item_properties([nclx(1, 13)], {1: [1]}),
     tracks(track(nclx(12, 13))) + item_properties([nclx(12, 13)], {1: [1]})),  # both, whichever is decoded
    (item_properties([box(b"colr", b"nclx\x00\x01\x00\x0d\x00\x06")], {1: [1]}),
     item_properties([box(b"colr", b"nclx\x00\x01\x00\x0d\x00\x06")], {1: [1]})),  # one cut: left as it is
    (item_properties([ICC], {1: [1]}), item_properties([ICC], {1: [1]})),
    (STILL[:40], STILL[:40]),
], ids=["primary-item", "first-av1-entry", "colour-track", "track-and-item", "cut-box", "icc-only", "file-cut"])
def test_set_colour_codes_in_every_layout_of_the_boxes(data, expected):
    assert edited(data, avif.set_colour_codes, 12, 13) == expected


FREE = box(b"free", b"")


@pytest.mark.parametrize(("boxes_before", "codes"), [(999, (12, 13)), (1_000, None)])
def test_no_walk_goes_past_the_most_boxes_a_container_may_hold(boxes_before, codes):
    """1,000 boxes before the meta box make it the 1,001st: past the limit docs/SECURITY.md states."""
    assert avif.colour_codes(FREE * boxes_before + item_properties([nclx(12, 13)], {1: [1]})) == codes


@pytest.mark.parametrize(("primary", "codes"), [(2_048, (12, 13)), (2_049, None)])
def test_no_walk_goes_past_the_most_associations_an_ipma_may_hold(primary, codes):
    """2,048, as docs/SECURITY.md states."""
    associations = {item: [1] for item in range(1, 2_050)}
    assert avif.colour_codes(item_properties([nclx(12, 13)], associations, primary=primary)) == codes


@pytest.mark.parametrize(("tracks_before", "codes"), [(15, (12, 13)), (16, None)])
def test_no_walk_goes_past_the_most_tracks_a_movie_may_hold(tracks_before, codes):
    """Alpha tracks first, as many as the limit (16, as docs/SECURITY.md states) leaves room for: then the colour
    track's codes."""
    alpha = track(nclx(9, 14), auxiliary=True)
    assert avif.colour_codes(tracks(*[alpha] * tracks_before, track(nclx(12, 13)))) == codes


# --- what libavif hands Pillow as Exif, and how many items it looks through ------------------------------------

EXIF = b"Exif\x00\x00MM\x00*" + struct.pack(">IH", 8, 0) + bytes(4)  # a TIFF header and an empty first directory
WITH_EXIF = encoded(gradient((16, 16)), "AVIF", exif=EXIF)


def children(payload: bytes) -> dict[bytes, bytes]:
    found, at = {}, 0
    while at < len(payload):
        size, kind = struct.unpack_from(">I4s", payload, at)
        found[kind] = payload[at + 8:at + size]
        at += size
    return found


def iloc(version: int, sizes: tuple[int, int, int, int], entries: list[tuple[int, int, int, int, list]]) -> bytes:
    """An iloc of `version`, its fields of `sizes` (offset, length, base offset, index) bytes, locating each
    (item, construction method, data reference, base offset, [(offset, length) of each extent])."""
    offset_size, length_size, base_size, index_size = sizes
    id_width = 4 if version == 2 else 2
    body = bytes([version, 0, 0, 0, offset_size << 4 | length_size, base_size << 4 | index_size])
    body += len(entries).to_bytes(id_width)
    for item, method, reference, base, extents in entries:
        body += item.to_bytes(id_width) + (method.to_bytes(2) if version else b"") + reference.to_bytes(2)
        body += base.to_bytes(base_size) + len(extents).to_bytes(2)
        body += b"".join(bytes(index_size if version else 0) + offset.to_bytes(offset_size)
                         + length.to_bytes(length_size) for offset, length in extents)
    return box(b"iloc", body)


def exif_located(version: int = 0, sizes: tuple[int, int, int, int] = (4, 4, 0, 0), *, in_idat: bool = False,
                 pieces: int = 1, based: bool = False, empty_last: bool = False, reference: int = 0,
                 method: int | None = None, past_the_end: int = 0, infe_version: int = 2) -> bytes:
    """WITH_EXIF rebuilt, its Exif item located another way: in the mdat after the pixels, or in the meta
    box's idat (construction method 1), in `pieces` extents, their offsets from a base offset (the mdat's
    payload) when `based`, the last one's length 0 if `empty_last`, its data reference `reference`; by an
    iloc of `version` and `sizes`; its item info entry of `infe_version`."""
    top = children(WITH_EXIF)
    meta = children(top[b"meta"][4:])
    located = {item: (offset, length)  # as Pillow writes it: version 0, 32-bit fields, one extent each
               for item, _, _, offset, length in struct.iter_unpack(">HHHII", meta[b"iloc"][8:])}
    colour = WITH_EXIF[slice(located[1][0], sum(located[1]))]
    exif_item = WITH_EXIF[slice(located[2][0], sum(located[2]))]
    cuts = [len(exif_item) * n // pieces for n in range(pieces + 1)]
    infe = bytes([infe_version, 0, 0, 0]) + (2).to_bytes(2 if infe_version == 2 else 4) + bytes(2) + b"Exif\x00"
    iinf = box(b"iinf", bytes(4) + (2).to_bytes(2) + box(b"infe", b"\x02\x00\x00\x00\x00\x01\x00\x00av01\x00")
               + box(b"infe", infe))
    idat = box(b"idat", exif_item) if in_idat else b""

    def assembled(mdat_start: int) -> bytes:
        base = mdat_start if based else 0
        exif_start = 0 if in_idat else mdat_start + len(colour)
        extents = [(exif_start + start - base, end - start) for start, end in zip(cuts, cuts[1:])]
        if empty_last:
            extents[-1] = (extents[-1][0], 0)
        extents[-1] = (extents[-1][0], extents[-1][1] + past_the_end)
        exif_method = (1 if in_idat else 0) if method is None else method
        locations = iloc(version, sizes, [(1, 0, 0, base, [(mdat_start - base, len(colour))]),
                                          (2, exif_method, reference, base, extents)])
        boxes = box(b"hdlr", meta[b"hdlr"]) + box(b"pitm", meta[b"pitm"]) + locations + iinf
        boxes += box(b"iref", meta[b"iref"]) + box(b"iprp", meta[b"iprp"]) + idat
        head = box(b"ftyp", top[b"ftyp"]) + box(b"meta", bytes(4) + boxes)
        return head + box(b"mdat", colour + (b"" if in_idat else exif_item))

    mdat_start = len(assembled(0)) - len(colour) - (0 if in_idat else len(exif_item))
    return assembled(mdat_start)


def field_sizes(data: bytes, sizes: bytes) -> bytes:
    """data with its iloc's two bytes of field sizes replaced, its fields laid out as before."""
    at = data.index(b"iloc") + 8  # after its version and flags
    return data[:at] + sizes + data[at + 2:]


def pillows_exif(data: bytes) -> bytes | None:
    """The Exif Pillow reads as it opens data; None when it has none, or cannot open it."""
    try:
        return Image.open(io.BytesIO(data)).info.get("exif")
    except (OSError, RuntimeError):  # RuntimeError: libavif's failure, which Pillow passes on as it is
        return None


@pytest.mark.parametrize("data", [
    WITH_EXIF,
    exif_located(),
    exif_located(1, in_idat=True),
    exif_located(1, pieces=3),
    exif_located(2, (8, 8, 8, 4), pieces=2, based=True),
    exif_located(1, (4, 8, 4, 0), in_idat=True, based=False),
    exif_located(infe_version=3),
    exif_located(reference=1),  # which libavif takes for this file
    exif_located(0, (4, 4, 0, 4)),  # an index size where version 0 reserves its bits: no indices
], ids=["as-pillow-writes-it", "rebuilt", "in-idat", "in-3-extents", "8-byte-fields-base-offset-indices",
        "8-byte-lengths-in-idat", "infe-version-3", "another-data-reference", "index-size-reserved"])
def test_the_exif_found_is_what_libavif_hands_pillow(data):
    assert avif_exif(data) == [pillows_exif(data)] == [EXIF]


@pytest.mark.parametrize("data", [
    exif_located(empty_last=True),  # a length of 0, which libavif reads as no bytes, not as "to the end"
    exif_located(1, method=2),  # in another item
    exif_located(1, method=1),  # in an idat that is not there
    exif_located(1, in_idat=True, method=0x11),  # reserved bits set beside the method
    exif_located(1, method=0x10),
    exif_located(past_the_end=1),
    exif_located(1, in_idat=True, past_the_end=1),
    exif_located(1, (2, 4, 0, 0)),  # 2-byte offsets, which libavif refuses
    exif_located(1, (4, 2, 0, 0)),  # lengths,
    exif_located(1, (4, 4, 2, 0)),  # base offsets,
    exif_located(1, (4, 4, 0, 2)),  # or indices
    field_sizes(exif_located(1), b"\x45\x00"),  # lengths of 5 bytes
    field_sizes(exif_located(1), b"\x44\x01"),  # indices of 1
    exif_located(3),
    encoded(gradient((16, 16)), "AVIF"),
], ids=["empty", "another-item", "no-idat", "reserved-bits-idat", "reserved-bits-file", "past-the-end",
        "past-the-idats-end", "2-byte-offsets", "2-byte-lengths", "2-byte-base-offsets", "2-byte-indices",
        "5-byte-lengths", "1-byte-indices", "iloc-version-3", "no-exif"])
def test_exif_libavif_does_not_hand_pillow_is_not_found(data):
    assert avif_exif(data) == [] and pillows_exif(data) is None


@pytest.mark.parametrize("data", [encoded(gradient((16, 16)), "JPEG", exif=EXIF),
                                  WITH_EXIF[:8] + b"heic" + WITH_EXIF[12:],
                                  WITH_EXIF[:4] + b"free" + WITH_EXIF[8:]],
                         ids=["jpeg", "heic-brand", "brand-without-ftyp"])
def test_only_what_pillow_opens_as_avif_is_read(data):
    assert avif.survey(data, 300) == avif.Survey([], [], 0, [])


@pytest.mark.parametrize("brand", [b"avif", b"avis", b"mif1", b"msf1"])
def test_every_major_brand_pillow_opens_as_avif_is_read(brand):
    assert avif_exif(branded(brand, exif_meta(b"one"))) == [b"one"]


@pytest.mark.parametrize(("kind", "crowded"), [(b"Exif", "Exif items larger than the file"),
                                              (b"av01", "av01 items larger together than the file")])
def test_items_as_large_together_as_the_file_are_not_crowded(kind, crowded):
    """Only overlapping extents make them larger: here two of the same idat bytes, each as long as the rest of the
    file, then a byte longer."""
    def twice(length: int) -> bytes:
        return branded(b"avif", meta_of(in_idat({1: 2}, length=length, kind=kind)))

    rest = len(twice(0))
    assert len(twice(rest)) == 2 * rest
    avif.survey(twice(rest), 300)
    with pytest.raises(avif.Crowded, match=f"^{crowded}$"):
        avif.survey(twice(rest + 1), 300)


def test_the_exif_is_found_in_the_files_meta_box_and_every_tracks():
    """A sequence's Exif may be in its tracks' meta boxes (libavif reads each): each is returned, the file's
    first; not a later top-level meta box's, which libavif does not read."""
    data = branded(b"avis", exif_meta(b"one") + box(b"moov", box(b"trak", exif_meta(b"two"))
                                                     + box(b"trak", exif_meta(b"three"))))
    assert avif_exif(data) == [b"one", b"two", b"three"]
    assert avif_exif(data + exif_meta(b"four")) == [b"one", b"two", b"three"]


def exif_meta(payload: bytes) -> bytes:
    """A meta box of an Exif item, 7, in its idat."""
    exif_info = box(b"infe", b"\x02\x00\x00\x00\x00\x07\x00\x00Exif\x00")
    return box(b"meta", bytes(4) + box(b"iinf", bytes(4) + b"\x00\x01" + exif_info)
               + box(b"idat", bytes(4) + payload) + iloc(1, (4, 4, 0, 0), [(7, 1, 0, 0, [(0, 4 + len(payload))])]))


def test_what_libavif_does_not_read_is_not_counted(monkeypatch):
    """A second meta box past the limit the first one is at (60,000 items in it cost libavif nothing): the file
    is read as without it."""
    monkeypatch.setattr(avif, "MOST_ITEMS", 2)  # WITH_EXIF's: the pixels' item and the Exif's
    later = meta_of(item_info(declared=3))
    assert avif_exif(WITH_EXIF + later) == avif_exif(WITH_EXIF)
    assert pillows_exif(WITH_EXIF + later) == pillows_exif(WITH_EXIF)


def meta_of(*boxes: bytes) -> bytes:
    return box(b"meta", bytes(4) + b"".join(boxes))


def item_info(*infes: bytes, declared: int | None = None, version: int = 0) -> bytes:
    count = len(infes) if declared is None else declared
    return box(b"iinf", bytes([version, 0, 0, 0]) + count.to_bytes(2 if version == 0 else 4) + b"".join(infes))


def info_entry(item: int, kind: bytes = b"Exif") -> bytes:
    return box(b"infe", b"\x02\x00\x00\x00" + item.to_bytes(2) + b"\x00\x00" + kind + b"\x00")


def associations(entries: int) -> bytes:
    return box(b"ipma", bytes(4) + entries.to_bytes(4)
               + b"".join(item.to_bytes(2) + b"\x00" for item in range(entries)))


def references(*counts: int, version: int = 0) -> bytes:
    """An iref of a reference from item 1 to `count` items for each count, its item IDs 32-bit from version 1."""
    width = 2 if version == 0 else 4
    return box(b"iref", bytes([version, 0, 0, 0]) + b"".join(
        box(b"cdsc", (1).to_bytes(width) + count.to_bytes(2) + bytes(width * count)) for count in counts))


def in_idat(items: dict[int, int], length: int = 8, kind: bytes = b"Exif") -> bytes:
    """Items of a kind, each in as many extents of the idat's `length` bytes as `items` says."""
    return (item_info(*(info_entry(item, kind) for item in items)) + box(b"idat", bytes(length))
            + iloc(1, (4, 4, 0, 0), [(item, 1, 0, 0, [(0, length)] * extents) for item, extents in items.items()]))


def movie_of(*traks: bytes) -> bytes:
    return box(b"moov", b"".join(traks))


LOOKUPS_PAST_6 = "a sample table of more than 6 chunk lookups"


def sample_table(*boxes: bytes) -> bytes:
    """A track whose sample table (mdia/minf/stbl) holds `boxes`."""
    return box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", b"".join(boxes)))))


def table(kind: bytes, entries: int, entry_size: int, declared: int | None = None) -> bytes:
    return box(kind, bytes(4) + (entries if declared is None else declared).to_bytes(4) + bytes(entries * entry_size))


@pytest.mark.parametrize(("boxes", "crowded"), [
    (FREE * 3, None),
    (FREE * 4, "more than 4 boxes in the file"),
    (FREE * 3 + box(b"free", b"", "64-bit"), "more than 4 boxes in the file"),  # the last all 64-bit size
    (meta_of(FREE * 4), None),
    (meta_of(FREE * 5), "more than 4 boxes in a meta box"),
    (meta_of(item_info(declared=3)), None),
    (meta_of(item_info(declared=4)), "more than 3 items named in its iinf boxes"),
    (meta_of(item_info(declared=4, version=1)), "more than 3 items named in its iinf boxes"),
    (meta_of(item_info(declared=2), item_info(declared=2)), "more than 3 items named in its iinf boxes"),
    (meta_of(item_info(FREE, FREE, FREE, declared=0)), None),
    (meta_of(item_info(FREE, FREE, FREE, FREE, declared=0)), "more than 3 boxes in an iinf box"),  # an item's each
    (meta_of(iloc(0, (4, 4, 0, 0), [(item, 0, 0, 0, []) for item in range(3)])), None),
    (meta_of(iloc(0, (4, 4, 0, 0), [(item, 0, 0, 0, []) for item in range(4)])),
     "more than 3 items named in its iloc boxes"),
    (meta_of(iloc(2, (4, 4, 0, 0), [(item, 0, 0, 0, []) for item in range(3)])), None),
    (meta_of(iloc(2, (4, 4, 0, 0), [(item, 0, 0, 0, []) for item in range(4)])),
     "more than 3 items named in its iloc boxes"),
    (meta_of(box(b"iloc", bytes(4) + b"\x44\x00" + (4).to_bytes(2))),
     "more than 3 items named in its iloc boxes"),  # its count, and no entry after it
    (meta_of(box(b"iprp", associations(1) + associations(2))), None),
    (meta_of(box(b"iprp", associations(2) + associations(2))), "more than 3 items named in its ipma boxes"),
    (meta_of(box(b"iprp", box(b"ipma", bytes(4) + (4).to_bytes(4)))),
     "more than 3 items named in its ipma boxes"),  # its count, and no entry after it
    (meta_of(box(b"iprp", FREE * 5)), "more than 4 boxes in an iprp box"),
    (meta_of(references(2)), None),
    (meta_of(references(1, 1)), "more than 3 items named in its iref boxes"),
    (meta_of(box(b"iref", bytes(4) + box(b"cdsc", b"\x00\x01\x00\x03"))),
     "more than 3 items named in its iref boxes"),  # as its count says, whatever it holds
    (meta_of(references(2, version=1)), None),  # its count after 32 bits
    (meta_of(references(3, version=1)), "more than 3 items named in its iref boxes"),
    (meta_of(references(0, 0, 0, 0, 0)), "more than 4 boxes in an iref box"),
    (meta_of(box(b"iref", bytes(4) + box(b"cdsc", b"\x00\x01") + box(b"cdsc", b"\x00\x01\x00\x02" + bytes(4)))),
     None),  # a reference cut before its count, which is not read from the next one
    (meta_of(box(b"iref", bytes(4) + box(b"cdsc", b"\x00\x01\x04") + box(b"cdsc", b"\x00\x01\x00\x01" + bytes(2)))),
     None),  # or inside it
    (meta_of(in_idat({1: 3})), None),
    (meta_of(in_idat({1: 4})), "an item of more than 3 extents"),
    (meta_of(in_idat({1: 2, 2: 2})), "more than 3 extents of Exif items"),
    (meta_of(in_idat({1: 3}, length=100)), "Exif items larger than the file"),
    (meta_of(in_idat({1: 1, 2: 1})), None),
    (meta_of(in_idat({1: 1, 2: 1, 3: 1})), "more than 2 Exif items"),
    (meta_of(in_idat({1: 1, 2: 1}, length=100, kind=b"av01")), None),
    (meta_of(in_idat({1: 2, 2: 1}, length=100, kind=b"av01")), "av01 items larger together than the file"),
    (movie_of(box(b"trak", b""), box(b"trak", b"")), None),
    (movie_of(box(b"trak", b""), box(b"trak", b""), box(b"trak", b"")), "more than 2 tracks"),
    (movie_of(FREE * 5), "more than 4 boxes in a movie"),
    (movie_of(box(b"trak", FREE * 5)), "more than 4 boxes in a track"),
    (movie_of(box(b"trak", meta_of(item_info(declared=4)))), "more than 3 items named in its iinf boxes"),
    (meta_of(box(b"iprp", box(b"ipco", FREE * 4))), None),
    (meta_of(box(b"iprp", box(b"ipco", FREE * 5))), "more than 4 boxes in an ipco box"),
    (movie_of(sample_table(box(b"stsd", bytes(8) + FREE * 4))), None),
    (movie_of(sample_table(box(b"stsd", bytes(8) + FREE * 5))), "more than 4 boxes in an stsd box"),
    (movie_of(sample_table(box(b"stts", bytes(8) + FREE * 5))), None),  # entries, which only read as boxes
    (movie_of(sample_table(table(b"stco", 3, 4), table(b"stsc", 2, 12))), None),
    (movie_of(sample_table(table(b"stsc", 7, 12))), None),  # no chunks to look up
    (movie_of(sample_table(table(b"stco", 7, 4))), None),  # nor entries to look them up in
    (movie_of(sample_table(box(b"stco", bytes(4)), table(b"stsc", 7, 12))), None),  # chunks cut before their count
    (movie_of(sample_table(table(b"stco", 4, 4, declared=2), table(b"stsc", 3, 12))), None),  # 2 declared
    (movie_of(sample_table(box(b"stco", bytes(4) + (4).to_bytes(4) + bytes(15)), table(b"stsc", 2, 12))),
     None),  # 3 chunks and 3 bytes of a 4th
    (movie_of(sample_table(table(b"stco", 3, 4), table(b"stsc", 3, 12))), LOOKUPS_PAST_6),
    (movie_of(sample_table(table(b"co64", 7, 8), table(b"stsc", 1, 12))), LOOKUPS_PAST_6),
    (movie_of(sample_table(table(b"stco", 3, 4, declared=9), table(b"stsc", 2, 12, declared=9))),
     None),  # as many entries as the tables hold, not as they declare: libavif stops at the end of each
    (movie_of(sample_table(FREE * 5)), "more than 4 boxes in an stbl box"),
], ids=["3-boxes-after-ftyp", "4-boxes-after-ftyp", "4-boxes-the-last-of-a-64-bit-size", "4-in-meta", "5-in-meta",
        "3-in-iinf", "4-in-iinf", "4-in-iinf-version-1", "4-in-two-iinfs", "3-infe-boxes", "4-infe-boxes", "3-in-iloc",
        "4-in-iloc", "3-in-iloc-version-2", "4-in-iloc-version-2", "4-in-iloc-holding-no-entry", "3-in-ipmas",
        "4-in-ipmas", "4-in-ipma-holding-no-entry", "5-in-iprp", "3-in-iref", "4-in-irefs",
        "4-in-an-iref-of-only-its-count", "3-in-iref-version-1", "4-in-iref-version-1", "5-in-iref",
        "iref-reference-cut", "iref-reference-cut-in-its-count", "3-exif-extents", "4-exif-extents",
        "4-exif-extents-of-two-items", "exif-larger-than-file", "2-exif-items", "3-exif-items",
        "av01-items-as-large-as-the-file", "av01-items-larger-than-the-file", "2-tracks", "3-tracks", "5-in-movie",
        "5-in-track", "4-in-a-tracks-iinf", "4-in-ipco", "5-in-ipco", "4-in-stsd", "5-in-stsd", "5-in-stts",
        "6-chunk-lookups", "no-chunks", "no-runs", "no-chunk-count", "entries-underclaimed", "a-chunk-cut-short",
        "9-chunk-lookups", "7-64-bit-chunks", "entries-overclaimed", "5-in-stbl"])
def test_a_file_past_a_limit_is_crowded(monkeypatch, boxes, crowded):
    monkeypatch.setattr(avif, "MOST_BOXES", 4)
    monkeypatch.setattr(avif, "MOST_ITEMS", 3)
    monkeypatch.setattr(avif, "MOST_TRACKS", 2)
    monkeypatch.setattr(avif, "MOST_CHUNK_LOOKUPS", 6)
    monkeypatch.setattr(avif, "MOST_EXIF_ITEMS", 2)
    check_crowded(branded(b"avif", boxes), crowded)


@pytest.mark.parametrize(("limit", "value", "refusal"), [
    ("MAX_EXIF_VALUES", 10, "Exif of a directory of more than 1000 entries, or of more than 10 numbers"),
    ("MOST_ITEMS", 1, "AVIF of more than 1 items named in its iinf boxes"),  # the pixels' item and the Exif's
])
def test_an_avif_is_refused_before_pillow_opens_it(monkeypatch, pillow_opens, limit, value, refusal):
    monkeypatch.setattr(edge.image.checks if limit.startswith("MAX") else avif, limit, value)
    data = encoded(gradient((16, 16)), "AVIF", exif=exif_with(5, 11))  # a tag of 11 RATIONALs
    with pytest.raises(SourceTooLarge, match=refusal):
        render(data, parse_rendition("/8x/a.avif"), Limits(50_000_000, 300))
    assert pillow_opens == []


def exif_item(info: bytes, *boxes: bytes) -> bytes:
    """An AVIF whose one item, 1, described by `info` (an infe's payload), is located in the idat's bytes."""
    return branded(b"avif", meta_of(item_info(box(b"infe", info)), *boxes))


def idat_item(payload: bytes) -> tuple[bytes, bytes]:
    return box(b"idat", payload), iloc(1, (4, 4, 0, 0), [(1, 1, 0, 0, [(0, len(payload))])])


EXIF_INFO = b"\x02\x00\x00\x00\x00\x01\x00\x00Exif\x00"


@pytest.mark.parametrize(("data", "handed"), [
    (exif_item(EXIF_INFO, *idat_item(bytes(4) + b"x")), [b"x"]),
    (exif_item(EXIF_INFO, *idat_item(bytes(4))), []),  # the offset alone: nothing to hand on
    # version 1, which has no type: where version 3 would have item 1 and the type Exif
    (exif_item(b"\x01\x00\x00\x00\x00\x00\x00\x01\x00\x00Exif\x00", *idat_item(bytes(5))), []),
    (exif_item(EXIF_INFO, idat_item(bytes(16))[0], box(b"iloc", idat_item(bytes(16))[1][8:-4]), FREE),
     []),  # the iloc cut before its extent's length: the next box's size is not read as one
    (branded(b"avif", meta_of(item_info(box(b"infe", EXIF_INFO[:11]), b"f"), *idat_item(bytes(5)))),
     []),  # an infe cut inside its type: the bytes after it are not read as part of it
    (exif_item(EXIF_INFO[:-1], *idat_item(bytes(4) + b"x")), [b"x"]),  # its type, then no name
    (branded(b"avif", meta_of(item_info(box(b"infe", EXIF_INFO), version=1), *idat_item(bytes(4) + b"x"))),
     [b"x"]),  # its entries after a 32-bit count
    (branded(b"avif", meta_of(item_info(box(b"free", EXIF_INFO)), *idat_item(bytes(4) + b"x"))),
     []),  # an entry that is not an infe
], ids=["one-byte", "offset-only", "infe-version-1", "iloc-cut", "infe-cut", "infe-without-name", "iinf-version-1",
        "not-an-infe"])
def test_what_an_exif_item_hands_on(data, handed):
    assert avif_exif(data) == handed


@pytest.mark.parametrize("kind", [b"iinf", b"iloc", b"ipma"])
def test_a_count_cut_short_counts_nothing(monkeypatch, kind):
    """Cut inside its count: the bytes after it, the next box's size, are not read as part of it; beside a table of
    the most items, it adds none, nor takes one from a table of more."""
    monkeypatch.setattr(avif, "MOST_ITEMS", 3)
    width = {b"iinf": 2, b"iloc": 2, b"ipma": 4}[kind]
    cut = box(kind, bytes(4 if kind != b"iloc" else 6) + b"\xff" * (width - 1))

    def beside(items: int) -> bytes:
        named = {b"iinf": item_info(declared=items), b"ipma": associations(items),
                 b"iloc": iloc(0, (4, 4, 0, 0), [(item, 0, 0, 0, []) for item in range(items)])}[kind] + cut
        return branded(b"avif", meta_of(box(b"iprp", named) if kind == b"ipma" else named, FREE))

    assert avif_exif(branded(b"avif", meta_of(box(b"iprp", cut) if kind == b"ipma" else cut, FREE))) == []
    assert avif_exif(beside(3)) == []
    with pytest.raises(avif.Crowded, match=f"^more than 3 items named in its {kind.decode()} boxes$"):
        avif_exif(beside(4))


@pytest.mark.parametrize("boxes", [box(b"iinf", b""), box(b"iloc", b""), box(b"iprp", box(b"ipma", b"")),
                                   box(b"iref", b""), item_info(box(b"infe", b""))],
                         ids=["iinf", "iloc", "ipma", "iref", "infe"])
def test_an_empty_box_ending_the_file_names_nothing(boxes):
    """Not even its version is read, which would lie past the file."""
    assert avif_exif(branded(b"avif", meta_of(boxes))) == []


class BitWriter:
    """AV1's f(n) and uvlc(), written big-endian: the oracle for sequence headers made by hand."""

    def __init__(self):
        self.bits = ""

    def put(self, value: int, count: int) -> "BitWriter":
        self.bits += format(value, f"0{count}b") if count else ""
        return self

    def uvlc(self, value: int) -> "BitWriter":
        zeros = (value + 1).bit_length() - 1
        return self.put(0, zeros).put(1, 1).put(value + 1 - (1 << zeros), zeros)

    def payload(self) -> bytes:
        padded = self.bits + "1" + "0" * (-(len(self.bits) + 1) % 8)  # trailing bits
        return int(padded, 2).to_bytes(len(padded) // 8)


KEY, INTER, INTRA_ONLY, SWITCH = range(4)  # AV1 frame types


@dataclass(frozen=True)
class Layout:
    """The fields of a sequence header that decide where a frame header's frame_size_override_flag lies."""
    reduced: bool = False
    timing: bool = False
    equal_interval: bool = False
    decoder_model: bool = False
    display_delay: bool = False
    levels: tuple[int, ...] = (8,)
    presentation_time_length: int = 7  # frame_presentation_time_length_minus_1 + 1, with a decoder model
    frame_ids: tuple[int, int] | None = None  # delta_frame_id_length_minus_2, additional_frame_id_length_minus_1
    order_hint: bool = False
    screen_content: int = 2  # seq_force_screen_content_tools: 2 leaves it to each frame header
    integer_mv: int = 2

    @property
    def presentation_time_bits(self) -> int:
        return self.presentation_time_length if self.timing and self.decoder_model and not self.equal_interval else 0

    @property
    def frame_id_bits(self) -> int:
        return self.frame_ids[0] + 2 + self.frame_ids[1] + 1 if self.frame_ids else 0


def sequence_header(width: int, height: int, width_bits: int | None = None, **fields) -> bytes:
    """A sequence header OBU's payload (AV1 5.5.1) up to its screen content tools and a little after."""
    layout = Layout(**fields)
    bits = BitWriter().put(0, 3).put(1, 1).put(layout.reduced, 1)
    if layout.reduced:
        bits.put(layout.levels[0], 5)
    else:
        bits.put(layout.timing, 1)
        if layout.timing:
            bits.put(1, 32).put(30, 32).put(layout.equal_interval, 1)
            if layout.equal_interval:
                bits.uvlc(1000)
            bits.put(layout.decoder_model, 1)
            if layout.decoder_model:
                bits.put(9, 5).put(1, 32).put(4, 5).put(layout.presentation_time_length - 1, 5)  # delays of 10 bits
        bits.put(layout.display_delay, 1).put(len(layout.levels) - 1, 5)
        for level in layout.levels:
            bits.put(0x101, 12).put(level, 5)
            if level > 7:
                bits.put(1, 1)
            if layout.timing and layout.decoder_model:
                bits.put(1, 1).put(1023, 10).put(0, 10).put(1, 1)
            if layout.display_delay:
                bits.put(1, 1).put(9, 4)
    width_bits = width_bits or max(width - 1, 1).bit_length()
    height_bits = max(height - 1, 1).bit_length()
    bits.put(width_bits - 1, 4).put(height_bits - 1, 4).put(width - 1, width_bits).put(height - 1, height_bits)
    if not layout.reduced:
        bits.put(layout.frame_ids is not None, 1)
        if layout.frame_ids:
            bits.put(layout.frame_ids[0], 4).put(layout.frame_ids[1], 3)
    bits.put(0b101, 3)  # use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
    if not layout.reduced:
        bits.put(0b0110, 4).put(layout.order_hint, 1)
        if layout.order_hint:
            bits.put(0b10, 2)
        bits.put(1, 1) if layout.screen_content == 2 else bits.put(0, 1).put(layout.screen_content, 1)
        if layout.screen_content:
            bits.put(1, 1) if layout.integer_mv == 2 else bits.put(0, 1).put(layout.integer_mv, 1)
        if layout.order_hint:
            bits.put(6, 3)
    return bits.put(0b0110, 4).payload()  # enable_superres and on


def frame_header(layout: Layout, override: bool, frame_type: int = KEY, shown: bool = True, existing: bool = False,
                 screen_content: bool = False) -> bytes:
    """A frame header OBU's payload (AV1 5.9.2) under a sequence header of that layout, through its
    frame_size_override_flag (none for a switch frame). Every field whose value does not move the flag is set
    to the flag's complement, so that a reader a bit off reads the other answer."""
    fill = int(not override)
    bits = BitWriter()
    if not layout.reduced:
        bits.put(existing, 1)
        if existing:
            return bits.put(5, 3).put(-fill & 0xFF, 8).payload()  # frame_to_show_map_idx, and on
        bits.put(frame_type, 2).put(shown, 1)
        if shown:
            bits.put(-fill & ((1 << layout.presentation_time_bits) - 1), layout.presentation_time_bits)
        else:
            bits.put(fill, 1)  # showable_frame
        if frame_type != SWITCH and not (frame_type == KEY and shown):
            bits.put(fill, 1)  # error_resilient_mode
        bits.put(fill, 1)  # disable_cdf_update
        if layout.screen_content == 2:
            bits.put(screen_content, 1)
        if (screen_content if layout.screen_content == 2 else layout.screen_content) and layout.integer_mv == 2:
            bits.put(fill, 1)  # force_integer_mv
        bits.put(-fill & ((1 << layout.frame_id_bits) - 1), layout.frame_id_bits)
        if frame_type != SWITCH:
            bits.put(override, 1)
    return bits.put(-fill & 0xFFFF, 16).payload()


def obu(obu_type: int, payload: bytes, extension: bool = False, sized: bool = True) -> bytes:
    header = bytes([obu_type << 3 | extension << 2 | sized << 1]) + (b"\x00" if extension else b"")
    size = b""
    if sized:
        length = len(payload)
        while True:
            size += bytes([length & 0x7F | (0x80 if length >> 7 else 0)])
            length >>= 7
            if not length:
                break
    return header + size + payload


LAYOUTS = {
    "reduced": {"reduced": True}, "plain": {}, "timing": {"timing": True},
    "equal-interval": {"timing": True, "equal_interval": True},
    "decoder-model": {"timing": True, "decoder_model": True},
    "equal-interval-decoder-model": {"timing": True, "equal_interval": True, "decoder_model": True},
    "display-delay": {"display_delay": True}, "operating-points": {"levels": (3, 9, 7, 13, 5)},
    "frame-ids": {"frame_ids": (13, 5)}, "order-hint": {"order_hint": True},
    "no-screen-content": {"screen_content": 0}, "screen-content": {"screen_content": 1},
    "screen-content-integer-mv": {"screen_content": 1, "integer_mv": 1},
    "screen-content-no-integer-mv": {"screen_content": 1, "integer_mv": 0},
    "all": {"timing": True, "decoder_model": True, "display_delay": True, "levels": (8, 2, 31),
            "frame_ids": (0, 0), "order_hint": True, "screen_content": 1},
    "longest": {"timing": True, "decoder_model": True, "presentation_time_length": 32, "frame_ids": (15, 7)},
}


@pytest.mark.parametrize("fields", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("size", [(1, 1), (640, 480), (16000, 9), (65536, 65536)])
def test_a_frame_is_decoded_at_the_largest_its_sequence_header_declares_unless_it_gives_its_own_size(fields, size):
    """Giving its own size, a frame may be as large as the sequence header's size fields can hold; under a reduced
    still picture header, it cannot."""
    layout, header = Layout(**fields), sequence_header(*size, **fields)
    bits = [max(side - 1, 1).bit_length() for side in size]
    bound = size if layout.reduced else (1 << bits[0], 1 << bits[1])
    before = obu(2, b"") + obu(5, bytes(300), extension=True) + obu(9, b"\x0a" * 20)  # a reserved type
    assert frame_sizes([[before + obu(1, header) + obu(6, frame_header(layout, False))]]) == [size]
    assert frame_sizes([[before + obu(1, header) + obu(6, frame_header(layout, True))]]) == list(
        dict.fromkeys([size, bound]))  # each size once
    assert frame_sizes([[obu(1, header, sized=False)]]) == [size]


@pytest.mark.parametrize("fields", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize(("frame_type", "shown"), [(KEY, True), (KEY, False), (INTER, True), (INTER, False),
                                                   (INTRA_ONLY, False), (SWITCH, True)])
@pytest.mark.parametrize("screen_content", [False, True])
@pytest.mark.parametrize("kind", [3, 6, 7])  # a frame header, a frame, a redundant frame header
def test_a_frame_headers_size_override_is_read_past_the_fields_its_sequence_header_lays_out(
        fields, frame_type, shown, screen_content, kind):
    layout = Layout(**fields)
    header = obu(1, sequence_header(640, 480, **fields))
    for override in (False, True):
        frame = obu(kind, frame_header(layout, override, frame_type, shown, screen_content=screen_content))
        overrides = not layout.reduced and (override or frame_type == SWITCH)
        assert frame_sizes([[header + frame]]) == [(640, 480)] + [(1024, 512)] * overrides


@pytest.mark.parametrize("fields", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_a_frame_shown_again_is_not_decoded_anew(fields):
    header = obu(1, sequence_header(640, 480, **fields))
    assert frame_sizes([[header + obu(3, frame_header(Layout(**fields), True, existing=True))]]) == [(640, 480)]


def test_a_frame_header_cut_short_may_give_any_size_its_fields_hold():
    header = obu(1, sequence_header(640, 480, frame_ids=(3, 2)))
    frame = frame_header(Layout(frame_ids=(3, 2)), False)
    assert frame_sizes([[header + obu(3, frame)]]) == [(640, 480)]
    assert frame_sizes([[header + obu(3, frame[:1])]]) == [(640, 480), (1024, 512)]
    assert frame_sizes([[header + obu(3, b"")]]) == [(640, 480), (1024, 512)]


def test_headers_ending_with_the_last_bit_read_are_read_whole():
    """A sequence header of no screen content tools, after which no integer MVs are read, in 72 bits; a frame header
    whose flag is its 8th bit: each read to its last bit, and none past it."""
    assert frame_sizes([[obu(1, sequence_header(640, 480, width_bits=14, screen_content=0)[:9])]]) == [(640, 480)]
    frame = frame_header(Layout(), False, screen_content=True)[:1]
    assert frame_sizes([[obu(1, sequence_header(640, 480)) + obu(6, frame)]]) == [(640, 480)]


def test_a_variable_length_number_of_32_leading_zeros_ends_there_as_dav1d_reads_it():
    """A sequence header's num_ticks_per_picture_minus_1 (after 71 bits, in 19 here) of 32 zeros and nothing more:
    the fields after it are read from the next bit."""
    header = sequence_header(640, 480, timing=True, equal_interval=True)
    bits = format(int.from_bytes(header), f"0{8 * len(header)}b")
    bits = bits[:71] + "0" * 32 + bits[90:]
    assert frame_sizes([[obu(1, int(bits + "0" * (-len(bits) % 8), 2).to_bytes(len(header) + 2))]]) == [(640, 480)]


def test_size_fields_wider_than_the_largest_needs_bound_a_frame_giving_its_own_size():
    """8000x8000 decoded under a header of at most 64x48 in a helper's file: its width fields were 13 bits wide."""
    header = obu(1, sequence_header(64, 48, width_bits=13))
    assert frame_sizes([[header + obu(6, frame_header(Layout(), False))]]) == [(64, 48)]
    assert frame_sizes([[header + obu(6, frame_header(Layout(), True))]]) == [(64, 48), (8192, 64)]


def test_frame_headers_are_read_under_the_last_sequence_header_before_them_in_their_stream():
    """A track's samples are one stream: a sequence header in the first sample lays out the frame headers of the
    next ones, until another replaces it; an item is a stream of its own."""
    plain, frame_ids = Layout(), Layout(frame_ids=(15, 7))
    small, large = obu(1, sequence_header(640, 480)), obu(1, sequence_header(4000, 3000, frame_ids=(15, 7)))
    samples = [small + obu(6, frame_header(plain, False)), obu(6, frame_header(plain, False)),
               large + obu(6, frame_header(frame_ids, False)), obu(6, frame_header(frame_ids, True))]
    assert frame_sizes([samples]) == [(640, 480), (4000, 3000), (4096, 4096)]
    assert frame_sizes([samples[:2]]) == [(640, 480)]
    # Read under the first sequence header, the last frame header would not give its own size: a bit differs.
    assert frame_sizes([[small] + samples[3:]]) == [(640, 480)]


def test_a_frame_header_before_any_sequence_header_of_its_stream_may_be_any_size_every_one_allows():
    """dav1d may decode it under a sequence header of an earlier item, were the decoder kept between them."""
    still, frame = obu(1, sequence_header(64, 48, reduced=True)), obu(6, frame_header(Layout(), False))
    animation = obu(1, sequence_header(640, 480))
    assert frame_sizes([[still + frame], [animation + frame]]) == [(64, 48), (640, 480)]
    assert frame_sizes([[still], [frame + animation]]) == [(64, 48), (640, 480), (1024, 512)]
    assert frame_sizes([[still], [animation], [frame]]) == [(64, 48), (640, 480), (1024, 512)]
    assert frame_sizes([[frame]]) == []


def test_every_sequence_header_of_an_item_is_read_as_dav1d_takes_each():
    item = obu(1, sequence_header(64, 48, reduced=True)) + obu(1, sequence_header(16000, 9000, reduced=True))
    assert frame_sizes([[item + obu(6, b"f") + obu(1, sequence_header(9, 9, reduced=True))]]) == [
        (64, 48), (16000, 9000), (9, 9)]


def test_a_sequence_header_cut_short_or_missing_gives_no_size():
    header = sequence_header(640, 480, timing=True, decoder_model=True)
    assert frame_sizes([[obu(1, header[:6])]]) == []
    assert frame_sizes([[obu(1, header[:6]) + obu(6, bytes(100))]]) == []  # not read into the next
    assert frame_sizes([[obu(2, b"") + obu(15, b"frame")]]) == []
    assert frame_sizes([[obu(1, header)[:-len(header) + 3]]]) == []
    assert frame_sizes([[obu(1, header[:-2])]]) == []  # past its size, before its screen content tools
    # 72 bits, up to seq_choose_integer_mv, which says its seq_force_integer_mv follows
    assert frame_sizes([[obu(1, sequence_header(640, 480, width_bits=13, screen_content=1, integer_mv=1)[:9])]]) == []


REDUCED_64X48 = obu(1, sequence_header(64, 48, reduced=True))


@pytest.mark.parametrize(("unit", "sizes"), [
    (REDUCED_64X48 + bytes([2 << 3 | 2, 0x80]), [(64, 48)]),
    (bytes([2 << 3 | 2]) + b"\x80" * 8 + REDUCED_64X48, [(64, 48)]),
    (bytes([2 << 3 | 2]) + b"\x80" * 7 + b"\x01" + REDUCED_64X48, []),  # 2^49 bytes: the rest of the unit
    (bytes([1 << 3 | 1]) + REDUCED_64X48[2:], [(64, 48)]),  # no size, and obu_reserved_1bit set
], ids=["size-cut-short", "size-of-8-bytes-all-continued", "size-in-its-8th-byte", "reserved-bit"])
def test_an_obus_size_is_read_as_far_as_the_unit_and_8_bytes_go(unit, sizes):
    """Cut short, its payload is the unit's end; past 8 bytes, the next OBU starts, whatever the last one said. Its
    header's reserved bit says nothing of its extension or size."""
    assert frame_sizes([[unit]]) == sizes


def test_a_sequence_header_is_told_from_another_by_its_first_512_bytes(monkeypatch):
    """Bytes past them, more than any header's fields take, lay nothing out: headers differing only there are one."""
    monkeypatch.setattr(avif, "MOST_SEQUENCE_HEADERS", 1)
    header = sequence_header(64, 48).ljust(511, b"\x00")
    assert frame_sizes([[obu(1, header + b"\x00\x01"), obu(1, header + b"\x00\x02")]]) == [(64, 48)]
    with pytest.raises(avif.Crowded, match="^more than 1 different AV1 sequence headers$"):
        frame_sizes([[obu(1, header + b"\x01"), obu(1, header + b"\x02")]])


def test_the_obus_of_all_the_items_and_samples_are_counted_up_to_the_limit():
    """Against a walk that a file repeats by pointing items or samples at the same bytes."""
    header = obu(1, sequence_header(64, 48, reduced=True))
    assert frame_sizes([[obu(15, b"") * 3 + header]], 4) == [(64, 48)]
    assert frame_sizes([[obu(15, b""), obu(15, b"")], [obu(15, b"") + header]], 4) == [(64, 48)]
    for streams in ([[obu(15, b"") * 4 + header]], [[obu(15, b""), obu(15, b"") * 2], [obu(15, b"") + header]]):
        with pytest.raises(avif.Crowded, match="^more than 4 OBUs in its AV1 items and samples$"):
            frame_sizes(streams, 4)


def test_each_sequence_header_is_read_once_and_different_ones_up_to_the_limit(monkeypatch):
    monkeypatch.setattr(avif, "MOST_SEQUENCE_HEADERS", 2)
    read = []
    monkeypatch.setattr(avif, "_sequence_header", lambda fields: read.append(fields) or sequence_header_read(fields))
    small, large = obu(1, sequence_header(64, 48)), obu(1, sequence_header(640, 480))
    assert frame_sizes([[small * 5], [large, small, large]]) == [(64, 48), (640, 480)] and len(read) == 2
    with pytest.raises(avif.Crowded, match="^more than 2 different AV1 sequence headers$"):
        frame_sizes([[small, large], [small + obu(1, sequence_header(9, 9))]])


sequence_header_read = avif._sequence_header


@pytest.mark.parametrize(("most_samples", "most_obus"), [(1, None), (100, 16_384 + 800), (300, 16_384 + 2_400)])
def test_a_file_repeating_the_same_samples_is_crowded_before_it_is_walked_for_long(most_samples, most_obus):
    """16 tracks of 300 samples, each sample the same 256 sequence headers of 32 operating points: 73 KB, which
    took 110 s to walk before the OBUs of all the samples were counted together (by hand). The count allows 8
    more OBUs for each frame the limit allows: 4,096 in 16 tracks' first samples pass."""
    unit = obu(1, sequence_header(640, 480, timing=True, decoder_model=True, levels=(9,) * 32)) * 256

    def placed(at: int) -> bytes:
        trak = sample_table(sample_placing([at] * most_samples, [(1, 1)], [], constant=len(unit)))
        return branded(b"avis", movie_of(*[trak] * 16))

    data = placed(len(placed(0))) + unit
    if most_obus is None:
        assert coded_sizes(data, most_samples) == [(640, 480)]
    else:
        with pytest.raises(avif.Crowded, match=f"^more than {most_obus} OBUs in its AV1 items and samples$"):
            avif.survey(data, most_samples)


@pytest.mark.parametrize(("size", "mode"), [((48, 32), "RGB"), ((1, 1), "RGB"), ((300, 7), "L"), ((33, 65), "RGBA")])
def test_the_coded_size_of_what_pillow_writes_is_its_size(monkeypatch, size, mode):
    image = gradient(size, "RGBA") if mode == "RGBA" else gradient(size).convert(mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize(size))
    streams = []
    read = avif._frame_sizes
    monkeypatch.setattr(avif, "_frame_sizes", lambda found, most: streams.extend(found) or read(found, most))
    assert coded_sizes(encoded(image, "AVIF"), 300) == [size]
    assert len(streams) == (2 if mode == "RGBA" else 1)  # with alpha, its own item


def declared_smaller(data: bytes, width: int, height: int) -> bytes:
    """data with every ispe box declaring width x height."""
    patched, at = bytearray(data), data.find(b"ispe")
    while at >= 0:
        struct.pack_into(">II", patched, at + 8, width, height)
        at = data.find(b"ispe", at + 4)
    return bytes(patched)


@pytest.mark.parametrize(("most_pixels", "refused"), [(64 * 48, False), (64 * 48 - 1, True)])
def test_an_avif_frame_coded_larger_than_it_declares_is_held_to_the_pixel_limit(most_pixels, refused):
    """Declared 16x12, coded 64x48: dav1d decodes the frame the bitstream gives."""
    data = declared_smaller(encoded(gradient((64, 48)), "AVIF"), 16, 12)
    assert Image.open(io.BytesIO(data)).size == (16, 12)
    if refused:
        with pytest.raises(SourceTooLarge, match="AVIF frame coded at up to 64x48, over 3071 pixels"):
            edge.image.checks.check_avif_items(data, Limits(most_pixels, 300))
    else:
        edge.image.checks.check_avif_items(data, Limits(most_pixels, 300))


def sample_placing(offsets: list[int], runs: list[tuple[int, int]], sizes: list[int], constant: int = 0,
                   co64: bool = False, declared: int | None = None, runs_declared: int | None = None) -> bytes:
    """A sample table's boxes that place its samples: chunk offsets, samples per chunk from a chunk on, and
    sample sizes (counts of `declared` sizes and `runs_declared` runs where they say more than they hold)."""
    chunks = full_box(b"co64" if co64 else b"stco", 0,
                      struct.pack(f">I{len(offsets)}{'Q' if co64 else 'I'}", len(offsets), *offsets))
    to_chunk = full_box(b"stsc", 0, struct.pack(">I", len(runs) if runs_declared is None else runs_declared)
                        + b"".join(struct.pack(">III", *run, 1) for run in runs))
    size_table = full_box(b"stsz", 0, struct.pack(f">II{0 if constant else len(sizes)}I", constant,
                                                  len(sizes) if declared is None else declared,
                                                  *([] if constant else sizes)))
    return chunks + to_chunk + size_table


def without(boxes: bytes, kind: bytes) -> bytes:
    return b"".join(box(found, payload) for found, payload in children(boxes).items() if found != kind)


SAMPLE_BYTES = b"AAABBBBBxxxxxxxxxxxxCCyyyyyyyyDDDD"  # A and B in a chunk at 0, C in one at 20, D in one at 30


@pytest.mark.parametrize(("table", "most", "found"), [
    (sample_placing([0, 20, 30], [(1, 2), (2, 1)], [3, 5, 2, 4]), 10, [b"AAA", b"BBBBB", b"CC", b"DDDD"]),
    (sample_placing([0, 20, 30], [(1, 2), (2, 1)], [3, 5, 2, 4], co64=True), 10, [b"AAA", b"BBBBB", b"CC", b"DDDD"]),
    (sample_placing([0, 20, 30], [(1, 2), (2, 1)], [3, 5, 2, 4]), 3, [b"AAA", b"BBBBB", b"CC"]),
    (sample_placing([0, 20, 30], [(1, 2), (2, 1)], [3, 5, 2]), 10, [b"AAA", b"BBBBB", b"CC"]),  # no size for D
    (sample_placing([0, 20, 30], [(1, 2), (2, 1)], [2, 2, 2, 2], constant=2), 10, [b"AA", b"AB", b"CC", b"DD"]),
    (sample_placing([0, 20, 30], [(1, 2), (2, 1)], [], constant=2, declared=0), 10, [b"AA", b"AB", b"CC", b"DD"]),
    (sample_placing([0, 20, 30], [(1, 0), (2, 1)], [2, 4]), 10, [b"CC", b"DDDD"]),  # a run of empty chunks
    (sample_placing([0, 20, 300], [(1, 2), (2, 1)], [3, 5, 2, 4]), 10, [b"AAA", b"BBBBB", b"CC"]),  # D past the end
    (sample_placing([0, 20], [(1, 2), (2, 1)], [3, 5, 2, 4]), 10, [b"AAA", b"BBBBB", b"CC"]),  # no chunk for D
    (sample_placing([0, 20, 30], [(1, 1), (9, 1)], [3, 2, 4, 1, 1]), 10, [b"AAA", b"CC", b"DDDD"]),  # a run past them
    (sample_placing([0, 20, 30], [(1, 1), (2, 2), (3, 1)], [3, 1, 1, 4]), 10,
     [b"AAA", b"C", b"C", b"DDDD"]),  # each run up to the next one's chunk
    (sample_placing([0, 20, 30], [(1, 2), (2, 1)], [2, 2, 2, 2], constant=2), 2, [b"AA", b"AB"]),
    (sample_placing([0, 20, 30], [(1, 2), (2, 1)], [3, 5, 2], declared=4), 10, [b"AAA", b"BBBBB", b"CC"]),
    (sample_placing([0, 20, 30], [(1, 2), (2, 1)], [3, 5, 2, 4], runs_declared=3), 10,
     [b"AAA", b"BBBBB", b"CC", b"DDDD"]),
    # A run may hold no samples in a file no encoder writes: of the first `most + 1` runs, one holds the first
    (sample_placing([0, 20, 30], [(1, 0), (2, 1)], [2, 4]), 1, [b"CC"]),
    (sample_placing([0, 20, 30], [(1, 0), (2, 0), (3, 1)], [4]), 1, []),
    (sample_placing([0, 20, 30], [(1, 2), (2, 1)], [3, 5, 2, 4])[:-36] + box(b"stsz", bytes(4))
     + box(b"free", bytes(8)), 10, []),  # an stsz of no size or count, not read into the next box
    (sample_placing([0, 20, 30], [(1, 2), (2, 1)], [3, 5, 2, 4])[:-36], 10, []),  # no stsz
    (without(sample_placing([0, 20, 30], [(1, 2), (2, 1)], [3, 5, 2, 4]), b"stsc"), 10, []),
    (without(sample_placing([0, 20, 30], [(1, 2), (2, 1)], [3, 5, 2, 4]), b"stco"), 10, []),
    (without(sample_placing([0, 20, 30], [(1, 2), (2, 1)], []), b"stsz") + box(b"stsz", bytes(4) + (2).to_bytes(4)
                                                                          + bytes(3)), 10, []),  # of size 2, no count
    (sample_placing([0, 20, 30], [(1, 0)] * 11 + [(1, 1)], [3, 2, 4]), 20, [b"AAA", b"CC", b"DDDD"]),  # a 12th run
    (sample_placing([0] * 20, [(1, 0)] * 10 + [(1, 1)], [], constant=1, runs_declared=12), 25,
     [b"A"] * 20),  # 11 runs of the 12 declared: the stsz after them is no 12th, from chunk 20
], ids=["runs", "co64", "most", "sizes-end", "constant-size", "constant-size-whatever-count", "empty-run",
        "past-the-end", "chunks-end", "a-run-past-the-chunks", "a-run-a-chunk", "constant-size-most",
        "fewer-sizes-than-declared", "fewer-runs-than-declared", "most-runs-read", "no-more-runs-read", "short-stsz",
        "no-stsz", "no-stsc", "no-chunk-offsets", "stsz-cut-in-its-count", "a-12th-run", "11-runs-of-12-declared"])
def test_a_tracks_samples_are_found_where_its_sample_table_places_them(table, most, found):
    data = memoryview(SAMPLE_BYTES + table)
    boxes = list(avif._boxes(data, len(SAMPLE_BYTES), len(data)))
    assert [bytes(sample) for sample in avif._samples(data, boxes, most)] == found


def test_a_sample_running_past_the_data_is_not_read():
    table = sample_placing([0, 20, 0], [(1, 2), (2, 1)], [3, 5, 2, 4])
    data = memoryview(SAMPLE_BYTES + sample_placing([0, 20, len(SAMPLE_BYTES) + len(table) - 3], [(1, 2), (2, 1)],
                                                  [3, 5, 2, 4]))
    boxes = list(avif._boxes(data, len(SAMPLE_BYTES), len(data)))
    assert [bytes(sample) for sample in avif._samples(data, boxes, 10)] == [b"AAA", b"BBBBB", b"CC"]


def test_the_frame_headers_of_a_tracks_samples_are_read_up_to_the_frame_limit(monkeypatch):
    """Its item's type renamed, so that only the track's samples give sizes: its first, a key frame, holds the
    sequence header, of no reduced still picture header, under which libaom's frame headers keep its size."""
    frames = [gradient((64, 48)).rotate(angle) for angle in (0, 90, 180)]
    data = encoded(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=100)
    overrides = []
    read = avif._overrides_frame_size
    monkeypatch.setattr(avif, "_overrides_frame_size", lambda *header: overrides.append(read(*header)) or overrides[-1])
    assert coded_sizes(data, 300) == [(64, 48)] and overrides == [False] * 4  # the item's and the track's three
    overrides.clear()
    assert coded_sizes(data.replace(b"av01", b"xv01", 1), 3) == [(64, 48)] and overrides == [False] * 3
    with pytest.raises(avif.Crowded, match="^a track of more than 2 samples$"):
        coded_sizes(data, 2)


@pytest.mark.parametrize(("most_pixels", "refused"), [(64 * 48, False), (64 * 48 - 1, True)])
def test_an_animation_is_held_to_the_frame_size_its_sequence_header_declares(most_pixels, refused):
    """Not to what its frame headers' size fields could hold (64x64), as none of them gives its own size."""
    frames = [gradient((64, 48)).rotate(angle) for angle in (0, 180)]
    data = encoded(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=100)
    if refused:
        with pytest.raises(SourceTooLarge, match="AVIF frame coded at up to 64x48, over 3071 pixels"):
            edge.image.checks.check_avif_items(data, Limits(most_pixels, 300))
    else:
        edge.image.checks.check_avif_items(data, Limits(most_pixels, 300))


def test_an_iloc_of_fields_of_no_size_locates_nothing():
    """Its offsets, lengths, base offsets and indices of 0 bytes each: no extents are read, nor is anything else."""
    data = bytearray(encoded(gradient((48, 32)), "AVIF"))
    sizes_at = data.index(b"iloc") + 8  # after its version and flags
    data[sizes_at:sizes_at + 2] = b"\0\0"
    assert coded_sizes(bytes(data), 300) == [] and avif_exif(bytes(data)) == []
    with pytest.raises(UnsupportedMedia):
        render(bytes(data), parse_rendition("/24x/a.jpg"), Limits(50_000_000, 300))


def test_an_animation_of_no_timescale_is_unsupported_not_a_crash():
    """Without its media header, libavif gives its track a timescale of 0, which Pillow divides by."""
    frames = [gradient((48, 32)).rotate(angle) for angle in (0, 90)]
    data = encoded(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=100).replace(b"mdhd", b"mdhx")
    with pytest.raises(UnsupportedMedia, match="division by zero"):
        render(data, parse_rendition("/24x,webp/a.avif"), Limits(50_000_000, 300))


def located_item(kind: bytes, payload: bytes, *boxes: bytes, declared: int | None = None) -> bytes:
    """An AVIF whose item 1 of `kind` holds `payload` in its meta box's idat, after `boxes` in its iinf."""
    return branded(b"avif", meta_of(item_info(info_entry(1, kind), *boxes, declared=declared), *idat_item(payload)))


SEQUENCE_HEADER = obu(1, sequence_header(4000, 3000, reduced=True))


def test_an_iinf_is_read_as_far_as_the_entries_it_declares_as_libavif_reads_it():
    """An infe past them, retyping the av01 item as Exif, is not read: a helper's file hid an 8192x8192 frame so."""
    retyped = info_entry(1, b"Exif")
    assert coded_sizes(located_item(b"av01", SEQUENCE_HEADER, retyped, declared=1), 300) == [(4000, 3000)]
    assert coded_sizes(located_item(b"av01", SEQUENCE_HEADER, retyped, declared=2), 300) == []


@pytest.mark.parametrize(("track", "ambiguity"), [
    (sample_table(sample_placing([0], [(1, 1)], [1])), None),
    (box(b"trak", box(b"mdia", b"") + box(b"mdia", box(b"minf", box(b"stbl", b"")))), "more than one mdia box"),
    (box(b"trak", box(b"mdia", box(b"minf", b"") + box(b"minf", b""))), "more than one minf box"),
    (box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", b"") * 2))), "more than one stbl box"),
    (sample_table(sample_placing([0], [(1, 1)], [1]) + table(b"stco", 1, 4)), "more than one stco or co64 box"),
    (sample_table(sample_placing([0], [(1, 1)], [1]) + table(b"co64", 1, 8)), "more than one stco or co64 box"),
    (sample_table(sample_placing([0], [(1, 1)], [1]) + table(b"stsc", 1, 12)), "more than one stsc box"),
    (sample_table(sample_placing([0], [(1, 1)], [1]) + table(b"stsz", 1, 4)), "more than one stsz box"),
    (sample_table(sample_placing([0], [(1, 1)], [1]) + box(b"stsd", bytes(8)) * 2), "more than one stsd box"),
    (box(b"trak", exif_meta(b"one") + exif_meta(b"two")), "more than one meta box"),
], ids=["one-of-each", "two-mdia", "two-minf", "two-stbl", "two-stco", "co64-and-stco", "two-stsc", "two-stsz",
        "two-stsd", "two-meta"])
def test_a_track_libavif_would_read_otherwise_is_unsupported(track, ambiguity):
    """libavif reads every one of these, adding their entries up: a helper hid an 8192x8192 frame behind an empty
    mdia, or a second stco, from a survey that read one. Legitimate files hold one of each."""
    data = branded(b"avis", movie_of(track))
    if ambiguity is None:
        avif.survey(data, 300)
    else:
        with pytest.raises(UnsupportedMedia, match=f"^AVIF of a (track|sample table) of {ambiguity}$"):
            edge.image.checks.check_avif_items(data, Limits(50_000_000, 300))


@pytest.mark.parametrize(("data", "ambiguity"), [
    (SEQUENCE + movie_of(box(b"trak", b"")), "a file of more than one moov box"),
    (meta_of(box(b"iprp", box(b"ipco", b"")) * 2), "a meta box of more than one iprp box"),
    (meta_of(box(b"iprp", box(b"ipco", b"") * 2)), "an iprp box of more than one ipco box"),
], ids=["two-movies", "two-iprp", "two-ipco"])
def test_a_file_of_two_of_a_box_it_holds_one_of_is_unsupported(data, ambiguity):
    """A walk of each would multiply: 999 movies of 16 tracks took a helper's survey 5.4 s and 950 MB, 16 tracks
    of 999 meta boxes its checks 7.2 s."""
    with pytest.raises(UnsupportedMedia, match=f"^AVIF of {ambiguity}$"):
        edge.image.checks.check_avif_items(data if data[4:8] == b"ftyp" else branded(b"avif", data),
                                           Limits(50_000_000, 300))


def grid(width: int, height: int, wide: bool = False) -> bytes:
    """An ImageGrid's payload: version, flags (1: 32-bit sizes), one row and one column less one, its size."""
    return bytes([0, wide, 0, 0]) + b"".join(side.to_bytes(4 if wide else 2) for side in (width, height))


def sized_track(width: int, height: int, version: int = 0) -> bytes:
    """A trak whose tkhd gives its width and height, in 16.16 fixed point after its other fields."""
    times = 8 if version else 4
    fields = bytes(2 * times + 8) + bytes(times) + bytes(52) + struct.pack(">II", width << 16 | 0x8000, height << 16)
    return box(b"trak", full_box(b"tkhd", version, fields))


@pytest.mark.parametrize(("data", "declared"), [
    (item_properties([box(b"ispe", bytes(4) + struct.pack(">II", 640, 480))], {1: [1]}), [(640, 480)]),
    (item_properties([box(b"ispe", bytes(4) + struct.pack(">II", 64, 48)),
                      box(b"ispe", bytes(4) + struct.pack(">II", 16384, 16384))], {1: [1]}),
     [(64, 48), (16384, 16384)]),
    (item_properties([box(b"ispe", bytes(11))], {1: [1]}), []),  # cut short
    (located_item(b"grid", grid(640, 480)), [(640, 480)]),
    (located_item(b"grid", grid(70_000, 3, wide=True)), [(70_000, 3)]),
    (located_item(b"grid", grid(640, 480)[:7]), []),
    (located_item(b"grid", grid(640, 480)[:1]), []),  # not even its flags
    (located_item(b"grid", grid(640, 480) + b"\x01"), [(640, 480)]),  # a byte after it
    (movie_of(sized_track(640, 480), sized_track(16384, 16384, version=1)), [(640, 480), (16384, 16384)]),
    (movie_of(box(b"trak", full_box(b"tkhd", 0, bytes(79)))), []),  # cut short
], ids=["ispe", "every-ispe", "ispe-cut-short", "grid", "wide-grid", "grid-cut-short", "grid-of-one-byte",
        "grid-and-a-byte", "tkhd-versions", "tkhd-cut-short"])
def test_every_size_libavif_may_scale_a_frame_to_is_declared(data, declared):
    """An item's ispe, whatever item it belongs to, a grid's output and a track header's size: libavif scales a
    decoded frame to its item's or track's (a helper's 64x64 tile under an ispe of 16384x16384 took 799 MB)."""
    assert avif.survey(branded(b"avis", data) if data[4:8] != b"ftyp" else data, 300).declared_sizes == declared


def test_a_frame_declared_over_the_pixel_limit_is_refused():
    data = branded(b"avis", movie_of(sized_track(64, 48), sized_track(640, 480)))
    edge.image.checks.check_avif_items(data, Limits(640 * 480, 300))
    with pytest.raises(SourceTooLarge, match="^AVIF image declared at 640x480, over 307199 pixels$"):
        edge.image.checks.check_avif_items(data, Limits(640 * 480 - 1, 300))


@pytest.mark.parametrize("animated", [False, True])
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_what_pillow_writes_declares_its_size(animated, mode):
    frames = [gradient((48, 32), mode).rotate(angle) for angle in (0, 180)]
    options = {"save_all": True, "append_images": frames[1:], "duration": 100} if animated else {}
    declared = avif.survey(encoded(frames[0], "AVIF", **options), 300).declared_sizes
    tracks = (2 if mode == "RGBA" else 1) if animated else 0  # libavif's items share one ispe, alpha or not
    assert declared == [(48, 32)] * (1 + tracks)


def test_the_extents_of_the_items_read_are_counted_up_to_the_limit(monkeypatch):
    """2,048 items of 2,048 empty extents each took a helper's survey 6.8 s."""
    monkeypatch.setattr(avif, "MOST_EXTENTS", 4)
    items = {1: 2, 2: 2}
    avif.survey(branded(b"avif", meta_of(in_idat(items, kind=b"av01"))), 300)
    with pytest.raises(avif.Crowded, match="^more than 4 extents of the items read$"):
        avif.survey(branded(b"avif", meta_of(in_idat({**items, 3: 1}, kind=b"av01"))), 300)


def sequence_headers(count: int) -> bytes:
    return b"".join(obu(1, sequence_header(width, 1, reduced=True)) for width in range(1, count + 1))


@pytest.mark.parametrize(("data", "crowded"), [
    (meta_of(in_idat(dict.fromkeys(range(1, 17), 1))), None),
    (meta_of(in_idat(dict.fromkeys(range(1, 18), 1))), "more than 16 Exif items"),
    (meta_of(in_idat(dict.fromkeys(range(1, 5), 2_048), length=1, kind=b"av01")), None),
    (meta_of(in_idat({**dict.fromkeys(range(1, 5), 2_048), 5: 1}, length=1, kind=b"av01")),
     "more than 8192 extents of the items read"),
    (located_item(b"av01", sequence_headers(1_024)), None),
    (located_item(b"av01", sequence_headers(1_025)), "more than 1024 different AV1 sequence headers"),
    (movie_of(sample_table(table(b"stco", 10_000, 4), table(b"stsc", 1_000, 12))), None),
    (movie_of(sample_table(table(b"stco", 909_091, 4), table(b"stsc", 11, 12))),
     "a sample table of more than 10000000 chunk lookups"),  # 10,000,001
    # As many entries as each table holds, of its own size, whatever more it declares
    (movie_of(sample_table(table(b"co64", 10_000, 8, declared=20_000), table(b"stsc", 1_000, 12))), None),
    (movie_of(sample_table(table(b"stco", 10_000, 4), table(b"stsc", 1_000, 12, declared=2_000))), None),
    (movie_of(sample_table(table(b"stts", 300, 8, declared=301))), None),  # the frame limit's entries held
], ids=["16-exif-items", "17-exif-items", "8192-extents", "8193-extents", "1024-sequence-headers",
        "1025-sequence-headers", "10000000-chunk-lookups", "10000001-chunk-lookups", "co64-overclaimed",
        "stsc-overclaimed", "stts-overclaimed"])
def test_a_file_past_a_limit_docs_security_states_is_crowded(data, crowded):
    """At the limits themselves, which the tests above lower to keep their files small."""
    check_crowded(data if data[4:8] == b"ftyp" else branded(b"avif", data), crowded)


@pytest.mark.parametrize(("boxes", "crowded"), [
    (sample_placing([0, 20, 30], [(1, 1)], [1, 1, 1]), None),
    (sample_placing([0, 20, 30], [(1, 1), (3, 2)], [1, 1, 1, 1]), "a track of more than 3 samples"),
    (sample_placing([0, 20, 30], [(1, 1)], [], constant=1, declared=0), None),
    (sample_placing([0, 20, 30, 40], [(1, 1)], [], constant=1, declared=0), "a track of more than 3 samples"),
    (sample_placing([0], [(1, 1)], [1]) + table(b"stts", 3, 8), None),
    (sample_placing([0, 20, 30], [(1, 1), (2, 1), (3, 1), (4, 1)], [1, 1, 1]), None),  # 4 runs, not stts entries
    (sample_placing([0], [(1, 1)], [1]) + table(b"stts", 4, 8), "a track of more than 3 time-to-sample entries"),
], ids=["3-samples", "4-samples", "3-of-one-size", "4-of-one-size-whatever-count", "3-stts", "4-runs", "4-stts"])
def test_a_track_of_more_samples_or_time_entries_than_the_frame_limit_is_crowded(boxes, crowded):
    """libavif lists every sample as Pillow opens the file (2,592,000 in one chunk took 650 MB), and walks the
    time-to-sample entries for each frame (100,000 of no samples took 300 frames 7.1-8.5 s): helpers' measures."""
    check_crowded(branded(b"avis", movie_of(sample_table(boxes))), crowded, most_frames=3)


def test_every_frame_decoded_is_counted_at_its_size():
    """A frame shown again is not decoded anew; one giving its own size counts at what its fields hold; one read
    before any sequence header of its stream at the largest any of them allows."""
    layout = Layout()
    header = obu(1, sequence_header(640, 480))
    frames = [obu(6, frame_header(layout, False)), obu(3, frame_header(layout, True, existing=True)),
              obu(6, frame_header(layout, True, frame_type=INTER))]
    assert avif._frame_sizes([[header + b"".join(frames)]], 100).pixels == 640 * 480 + 1024 * 512
    assert avif._frame_sizes([[header], [frames[0] * 2]], 100).pixels == 2 * 1024 * 512
    assert avif._frame_sizes([[frames[0]]], 100).pixels == 0  # no sequence header: no frame dav1d decodes
    assert avif._frame_sizes([[header, obu(1, sequence_header(64, 48))], [frames[0]]], 100).pixels == 1024 * 512
    # A reduced still picture header's frame header has no show_existing_frame: its first bit set is no frame
    # shown again, and none gives its own size.
    still = obu(1, sequence_header(64, 48, reduced=True))
    assert avif._frame_sizes([[still + obu(6, frame_header(Layout(reduced=True), False))]], 100).pixels == 64 * 48


@pytest.mark.parametrize(("frames", "refused"), [(3, False), (4, True)])
def test_an_avif_whose_frames_decode_more_than_the_limit_allows_in_all_is_refused(frames, refused):
    """8 times the pixel limit, as docs/SECURITY.md states: 3 frames of colour and alpha, and the still item they
    start with, decode 8 of 48x32; 18,000 frames of one item under lsel took a helper's render 5 s."""
    data = encoded(gradient((48, 32), "RGBA"), "AVIF", save_all=True,
                   append_images=[gradient((48, 32), "RGBA").rotate(turn) for turn in range(10, 10 * frames, 10)])
    if refused:
        with pytest.raises(SourceTooLarge, match="^AVIF whose frames may decode more than 8 times 1536 pixels in all$"):
            edge.image.checks.check_avif_items(data, Limits(48 * 32, 300))
    else:
        edge.image.checks.check_avif_items(data, Limits(48 * 32, 300))


def test_an_avif_whose_exif_pillow_cannot_rewrite_is_refused():
    """Pillow's reader rewrites an Exif item whose orientation is not irot's, and its writer failed on a tag it
    writes as text (Make) that holds a number: an AttributeError, a 500 a fuzzer found."""
    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = 6, "ABCDEFG"  # Pillow's writer moves the orientation into irot, keeps Make
    data = bytearray(encoded(gradient((16, 8)), "AVIF", exif=exif.tobytes()))
    make = data.index(struct.pack(">HHI", 0x010F, 2, 8))  # as the writer orders it, big-endian
    struct.pack_into(">HI", data, make + 2, 5, 1)  # a RATIONAL: the text's 8 bytes, as its two numbers
    with pytest.raises(UnsupportedMedia, match="^cannot identify image: its Exif cannot be rewritten"):
        render(bytes(data), parse_rendition("/8x,png/a.avif"), Limits(50_000_000, 300))


def test_an_avif_whose_exif_says_nothing_of_orientation_is_shown_as_stored():
    """Without irot or imir, Pillow's reader keeps such an Exif item as stored: no Orientation, which is 1."""
    exif = Image.Exif()
    exif[0x010F] = "ABCDEFG"
    data = encoded(gradient((64, 48)), "AVIF", quality=100, exif=exif.tobytes())
    with Image.open(io.BytesIO(data)) as decoded:
        assert 0x0112 not in decoded.getexif() and 0x010F in decoded.getexif()
        stored = decoded.convert("RGB")
    rendered = render(data, parse_rendition("/64x,png/a.avif"), Limits(50_000_000, 300))
    assert Image.open(io.BytesIO(rendered.body)).convert("RGB").tobytes() == stored.tobytes()


def clean_aperture(width: int, height: int, across: int, down: int, denominator: int = 1) -> bytes:
    """A clap box: an aperture of width x height whose centre lies (across, down) from the picture's, each number
    over `denominator`."""
    return struct.pack(">I4sIIIIiIiI", 40, b"clap", width, denominator, height, denominator,
                       across, denominator, down, denominator)


def clap_numbers(*numbers: int) -> bytes:
    """A clap box of these eight numbers, each as its 32 bits."""
    return struct.pack(">I4s8I", 40, b"clap", *(number & 0xFFFFFFFF for number in numbers))


@pytest.mark.parametrize(("clap", "aperture"), [
    (clean_aperture(48, 32, -8, -8), (48, 32)),  # from the top-left corner of 64x48
    (clean_aperture(96, 64, -16, -16, denominator=2), (48, 32)),
    (clean_aperture(48, 32, 0, 0), None),  # centred
    (clean_aperture(48, 32, 8, 8), None),
    (clean_aperture(64, 48, 0, 0), None),  # the whole picture
    (clean_aperture(47, 32, -17, -16, denominator=2), None),  # 23.5 pixels wide: not whole pixels
    (clean_aperture(94, 64, -81, -64, denominator=4), None),  # 23.5 pixels wide, from the top-left corner
    (clean_aperture(48, 32, -8, -8, denominator=0), None),
    (clap_numbers(48, 1, 32, 1, 8, -1, -8, 1), None),  # one denominator negative, which libavif refuses
    (clean_aperture(80, 32, 8, -8), None),  # wider than the picture
    (clean_aperture(48, 64, -8, 8), None),  # taller
    (clean_aperture(0, 32, -32, -8), None),  # no width
    (clean_aperture(48, 0, -8, -24), None),  # no height
    (clean_aperture(64, 32, 0, -8), (64, 32)),  # the picture's width, from the top
    (clean_aperture(48, 48, -8, 0), (48, 48)),  # its height, from the left
    (clean_aperture(2, 64, -63, -16, denominator=2), (1, 32)),  # a pixel wide
    (clean_aperture(96, 2, -16, -47, denominator=2), (48, 1)),  # a pixel tall
    (clean_aperture(48, 32, -8, 0), None),  # from the left edge, 8 rows down
    (clean_aperture(48, 32, 0, -8), None),  # from the top edge, 8 columns across
    # libavif and CrabbyAvif read each number signed: 2^31 or more is negative, and the clap invalid
    (clap_numbers(1 << 31, 1 << 26, 32, 1, -16, 1, -8, 1), None),  # 2^31 / 2^26: 32 wide, unsigned
    (clap_numbers(63, 1, 32, 1, -(1 << 30), 1 << 31, -8, 1), None),  # an offset of -1/2, over 2^31
    (clap_numbers(-1, -1, 32, 1, -(63 << 25), 1 << 26, -8, 1), None),  # 1 wide, unsigned: (2^32 - 1) / (2^32 - 1)
], ids=["top-left", "top-left-in-halves", "centred", "off-centre", "whole", "half-pixels", "half-pixels-from-left",
        "no-denominator", "a-negative-denominator", "wider", "taller", "no-width", "no-height", "whole-width",
        "whole-height", "a-pixel-wide", "a-pixel-tall", "left-only", "top-only", "width-past-int32",
        "denominator-past-int32", "all-ones"])
def test_a_clean_aperture_counts_where_it_is_cut_from_the_top_left_corner(clap, aperture):
    data = avif_with_item_property(encoded(gradient((64, 48)), "AVIF", quality=100), clap, essential=True)
    assert avif.top_left_aperture(data, (64, 48)) == aperture


# As Chromium 156 shows them, by hand, pixel for pixel: an aperture from the top-left corner cut, before the picture
# is turned upright (Pillow's writer turns Exif's orientation into irot), and one centred shown whole.
@pytest.mark.parametrize(("clap", "orientation", "shown"), [
    *((clean_aperture(48, 32, -8, -8), orientation, (0, 0, 48, 32)) for orientation in range(1, 9)),
    (clean_aperture(48, 32, 0, 0), 1, (0, 0, 64, 48)),
    (clean_aperture(48, 32, 0, 0), 6, (0, 0, 64, 48)),
], ids=[*(f"top-left-{orientation}" for orientation in range(1, 9)), "centred", "centred-turned"])
def test_an_avif_shows_what_its_clean_aperture_cuts_as_chromium_shows_it(clap, orientation, shown):
    exif = Image.Exif()
    exif[0x0112] = orientation
    plain = encoded(gradient((64, 48)), "AVIF", quality=100, exif=exif.tobytes())
    with Image.open(io.BytesIO(plain)) as decoded:
        stored = decoded.convert("RGB")
    expected = stored.crop(shown)
    if orientation != 1:
        expected = expected.transpose(edge.image.source.UPRIGHT[orientation])
    for spec, size in (("100x,png", expected.size), ("16x16,cover,png", (16, 16))):
        rendered = render(avif_with_item_property(plain, clap, essential=True), parse_rendition(f"/{spec}/a.avif"),
                          Limits(50_000_000, 300))
        image = Image.open(io.BytesIO(rendered.body)).convert("RGB")
        assert image.size == size
        if spec.startswith("100x"):
            assert image.tobytes() == expected.tobytes()


@pytest.mark.parametrize(("associated", "aperture"), [([2, 3, 1], (48, 32)), ([3, 2, 1], None)],
                         ids=["top-left-associated-first", "centred-associated-first"])
def test_of_two_clean_apertures_the_first_associated_counts_as_libavif_takes_it(associated, aperture):
    """libavif copies an item's properties in the order ipma associates them, and takes the first clap
    (avifPropertyArrayFind), whatever order ipco stores them in."""
    meta = item_properties([SIZE, clean_aperture(48, 32, -8, -8), clean_aperture(48, 32, 0, 0)], {1: associated})
    assert avif.top_left_aperture(branded(b"avif", meta), (64, 48)) == aperture


@pytest.mark.parametrize("before", [box(b"free", bytes(32)), box(b"clap", clean_aperture(48, 32, 0, 0)[8:-4])],
                         ids=["another-box-as-long", "a-clap-cut-short"])
def test_only_a_whole_clean_aperture_counts(before):
    """Associated first, neither is read as the clap: the next, whole one is."""
    meta = item_properties([before, clean_aperture(48, 32, -8, -8)], {1: [1, 2]})
    assert avif.top_left_aperture(branded(b"avif", meta), (64, 48)) == (48, 32)


@pytest.mark.parametrize(("brand", "aperture"), [(b"avif", (48, 32)), (b"avis", None)])
def test_a_sequences_clean_aperture_is_not_its_primary_items(brand, aperture):
    """Branded avis, libavif decodes the file's track, not its primary item: the item's clap cuts nothing of it."""
    meta = item_properties([clean_aperture(48, 32, -8, -8)], {1: [1]})
    assert avif.top_left_aperture(branded(brand, tracks(track(nclx(1, 13))) + meta), (64, 48)) == aperture
