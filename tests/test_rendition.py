import dataclasses

import pytest

from edge.errors import BadRequest
from edge.rendition import LARGEST_DIMENSION, Rendition, check_limits, decode_path, parse_rendition


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/640x/photos/cat.jpg", dict(dims="640x", width=640, height=None, fit="contain", format=None, quality=None)),
        ("/x480/photos/cat.jpg", dict(dims="x480", width=None, height=480, fit="contain")),
        ("/300x300,cover,webp/photos/cat.jpg", dict(width=300, height=300, fit="cover", format="webp")),
        ("/200x200,fill,png/photos/cat.jpg", dict(fit="fill", format="png")),
        ("/1200x630,cover,jpeg,q70/x.png", dict(fit="cover", format="jpeg", quality=70)),
        ("/1200x630,q70,jpeg,cover/x.png", dict(fit="cover", format="jpeg", quality=70)),
        ("/10x10,contain/x.png", dict(fit="contain")),
        ("/1x1,avif,q1/x.png", dict(width=1, height=1, format="avif", quality=1)),
        ("/640x,gif/x.png", dict(format="gif")),
        ("/640x,q100/x.png", dict(quality=100)),
        ("/640x,q9/x.png", dict(quality=9)),
        ("/640x,png,q80/x.png", dict(format="png", quality=80)),  # allowed; lossless formats ignore it
        ("/99999x/x.png", dict(width=99999)),  # the most digits a dimension may have
        ("/x99999/x.png", dict(height=99999)),
        ("/x9/x.png", dict(dims="x9", width=None, height=9)),  # one digit, height only
    ],
)
def test_valid_specs(uri, expected):
    rendition = parse_rendition(uri)
    for name, value in expected.items():
        assert getattr(rendition, name) == value, name


@pytest.mark.parametrize(
    ("uri", "original_key", "derivative_key"),
    [
        ("/640x/photos/cat.jpg", "photos/cat.jpg", "640x/photos/cat.jpg"),
        ("/640x/news/2026/front%20page.png", "news/2026/front page.png", "640x/news/2026/front page.png"),
        # S3 reads + in a path as a space; a literal plus is %2B.
        ("/640x/front+page.png", "front page.png", "640x/front page.png"),
        ("/640x/a%2Bb.png", "a+b.png", "640x/a+b.png"),
        ("/640x/caf%C3%A9/%E5%86%99%E7%9C%9F.jpg", "café/写真.jpg", "640x/café/写真.jpg"),
        ("/300x300,cover,webp/a/b/c/d.jpeg", "a/b/c/d.jpeg", "300x300,cover,webp/a/b/c/d.jpeg"),
        ("/640x/no-extension", "no-extension", "640x/no-extension"),
        ("/%36%34%30x/cat.jpg", "cat.jpg", "640x/cat.jpg"),
        ("/640x/caf%c3%a9.jpg", "café.jpg", "640x/café.jpg"),  # escapes in lower case too
    ],
)
def test_keys_are_decoded_as_s3_decodes_them(uri, original_key, derivative_key):
    rendition = parse_rendition(uri)
    assert (rendition.original_key, rendition.derivative_key) == (original_key, derivative_key)


@pytest.mark.parametrize(
    "uri",
    [
        "/640y/cat.jpg",  # malformed dims
        "/640/cat.jpg",
        "/x/cat.jpg",
        "/0x0/cat.jpg",  # zero
        "/0x100/cat.jpg",
        "/640x0/cat.jpg",
        "/0640x/cat.jpg",  # leading zero
        "/x0480/cat.jpg",
        "/+640x/cat.jpg",  # a sign (+ decodes to a space)
        "/-640x/cat.jpg",
        "/640X/cat.jpg",  # upper case
        "/640x,WEBP/cat.jpg",
        "/640x,Cover/cat.jpg",
        "/640x,jpg/cat.jpg",  # not a format name
        "/640x,webp,png/cat.jpg",  # conflicting formats
        "/640x,cover,cover/cat.jpg",  # duplicate option
        "/640x,q70,q80/cat.jpg",
        "/640x,q0/cat.jpg",  # quality out of range
        "/640x,q101/cat.jpg",
        "/640x,q070/cat.jpg",
        "/640x,q/cat.jpg",
        "/640x,blur/cat.jpg",  # unknown option
        "/640x,/cat.jpg",  # empty option
        "/640x%20/cat.jpg",  # white space
        "/640x,%20webp/cat.jpg",
        "/640x,cover/cat.jpg",  # cover and fill need both dims
        "/x480,fill/cat.jpg",
        "/100000x/cat.jpg",  # six digits: one more than any dimension may have
        "/x100000/cat.jpg",
        "/100000x100/cat.jpg",
        "/123456789012345678901234567890x/cat.jpg",  # absurdly long number
        "/640x",  # nothing after the spec
        "/640x/",  # empty key
        "/640x//cat.jpg",  # empty segment
        "/640x/a/../cat.jpg",  # traversal
        "/640x/%2e%2e/cat.jpg",
        "/640x/./cat.jpg",
        "/640x/a\\b.jpg",  # backslash
        "/640x/a%5Cb.jpg",
        "/640x/a%00b.jpg",  # control characters
        "/640x/a%0Ab.jpg",
        "/640x/a%7Fb.jpg",
        "/640x/a%1Fb.jpg",
        "/640x/a%ZZb.jpg",  # malformed escape
        "/640x/a%Ag.jpg",
        "/640x/a%A",
        "/640x/a%C3b.jpg",  # invalid UTF-8
        "/640x/a%FFb.jpg",
        "/640x/" + "k" * 1020,  # derivative key over 1024 bytes
        "640x/cat.jpg",  # no leading slash
    ],
)
def test_invalid_uris_are_bad_requests(uri):
    with pytest.raises(BadRequest) as raised:
        parse_rendition(uri)
    assert raised.value.status == 400
    assert raised.value.public_message


@pytest.mark.parametrize(("option", "message"), [
    ("WEBP", "Options are lower case."),
    ("Cover", "Options are lower case."),
    ("Q50", "Options are lower case."),
    ("q0", "Quality is q1 to q100, without leading zeros."),
    ("q101", "Quality is q1 to q100, without leading zeros."),
    ("q070", "Quality is q1 to q100, without leading zeros."),
    ("q", "Quality is q1 to q100, without leading zeros."),
    ("Q0", "Quality is q1 to q100, without leading zeros."),
    ("jpg", "Unknown option: use contain, cover, fill, jpeg, png, webp, avif, gif or q1 to q100."),
    ("JPG", "Unknown option: use contain, cover, fill, jpeg, png, webp, avif, gif or q1 to q100."),
    ("", "Empty option: remove the extra comma."),
])
def test_an_unknown_option_is_answered_with_what_to_write(option, message):
    assert public_refusal(f"/640x,{option}/cat.jpg") == message


@pytest.mark.parametrize(("uri", "message"), [
    ("/640x/a%ZZb.jpg", "Malformed URL encoding."),
    ("/640x/a%C3b.jpg", "Malformed URL encoding."),
    ("640x/cat.jpg", "Bad image request."),
    ("/640x/a%00b.jpg", "Invalid character in URL."),
    ("/640x/", "Missing image path."),
    ("/640x", "Missing image path."),
    ("/640x/a\\b.jpg", "Invalid image path."),
    ("/640x/a/../cat.jpg", "Invalid image path."),
    ("/640x//cat.jpg", "Invalid image path."),
    ("/640x/" + "k" * 1020, "URL too long."),
    ("/640y/cat.jpg", "Malformed size: use WxH, Wx or xH."),
    ("/100000x/cat.jpg", "Requested size is too large."),
    ("/640x,webp,png/cat.jpg", "Only one format option is allowed."),
    ("/640x,cover,fill/cat.jpg", "Only one fit option is allowed."),
    ("/640x,q70,q80/cat.jpg", "Only one quality option is allowed."),
    ("/640x,cover/cat.jpg", "cover needs both width and height."),
    ("/x480,fill/cat.jpg", "fill needs both width and height."),
])
def test_each_bad_request_says_what_is_wrong(uri, message):
    assert public_refusal(uri) == message


def public_refusal(uri: str) -> str:
    """The public text of the 400 that parsing uri raises."""
    with pytest.raises(BadRequest) as raised:
        parse_rendition(uri)
    return raised.value.public_message


def test_key_length_limit_counts_utf8_bytes():
    """S3's limit is 1024 bytes of UTF-8: a key of exactly that many is accepted, one byte more is not."""
    at_limit = "/640x/k" + "%C3%A9" * ((1024 - len("640x/k")) // 2)
    assert len(parse_rendition(at_limit).derivative_key.encode()) == 1024
    with pytest.raises(BadRequest):
        parse_rendition(at_limit + "k")


def test_largest_dimension_is_the_largest_a_url_can_ask_for():
    assert parse_rendition(f"/{LARGEST_DIMENSION}x{LARGEST_DIMENSION}/k.jpg").width == LARGEST_DIMENSION == 99999
    with pytest.raises(BadRequest):
        parse_rendition(f"/{LARGEST_DIMENSION + 1}x/k.jpg")


def test_a_rendition_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse_rendition("/640x/cat.jpg").derivative_key = "640x/other.jpg"


def test_decode_path_turns_plus_into_space_and_keeps_escaped_plus():
    assert decode_path("/a+b%2Bc%20d") == "/a b+c d"


def _rendition(dims: str, width: int | None, height: int | None) -> Rendition:
    return Rendition(dims, width, height, "contain", None, None, "k", f"{dims}/k")


@pytest.mark.parametrize(
    ("dims", "width", "height", "max_dimension", "allowed", "ok"),
    [
        ("640x", 640, None, 4096, None, True),
        ("4096x", 4096, None, 4096, None, True),
        ("4097x", 4097, None, 4096, None, False),
        ("x4097", None, 4097, 4096, None, False),
        ("640x", 640, None, 4096, frozenset({"640x", "320x"}), True),
        ("641x", 641, None, 4096, frozenset({"640x", "320x"}), False),
        ("640x640", 640, 640, 4096, frozenset({"640x"}), False),  # matching is exact
        ("5000x", 5000, None, 4096, frozenset({"5000x"}), False),  # the maximum still applies
    ],
)
def test_limits(dims, width, height, max_dimension, allowed, ok):
    rendition = _rendition(dims, width, height)
    if ok:
        check_limits(rendition, max_dimension, allowed)
    else:
        with pytest.raises(BadRequest):
            check_limits(rendition, max_dimension, allowed)


@pytest.mark.parametrize(("dims", "width", "height", "allowed", "message"), [
    ("641x", 641, None, frozenset({"640x"}), "Size not allowed."),
    ("4097x", 4097, None, None, "Requested size is too large."),
])
def test_a_size_refused_by_the_limits_says_why(dims, width, height, allowed, message):
    with pytest.raises(BadRequest) as raised:
        check_limits(_rendition(dims, width, height), 4096, allowed)
    assert raised.value.public_message == message
