"""The URL grammar of SPEC.md: `/<spec>/<original key>` -> a frozen Rendition.

Pure functions over strings. The path is decoded exactly as S3 decodes it
(`+` is a space, percent-escapes are UTF-8), so the derivative key we store is
the key that the next request for the same URL finds.
"""

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from edge.errors import BadRequest

FITS = ("contain", "cover", "fill")
FORMATS = ("jpeg", "png", "webp", "avif", "gif")
S3_MAX_KEY_BYTES = 1024
_MAX_DIGITS = 5  # any W or H longer than this is over every sane max dimension
LARGEST_DIMENSION = 10**_MAX_DIGITS - 1  # so an x-max-dimension above it acts as this

_DIMS = re.compile(r"^(?:(?P<w>[1-9][0-9]*)x(?P<h>[1-9][0-9]*)?|x(?P<h_only>[1-9][0-9]*))$")
_QUALITY = re.compile(r"^q(?P<q>[1-9][0-9]?|100)$")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Rendition:
    """What one URL asks for."""

    dims: str  # the dims token as written, e.g. "640x", matched against x-allowed-sizes
    width: int | None
    height: int | None
    fit: str
    format: str | None  # None: decided by the source's format
    quality: int | None  # None: the format's default
    original_key: str
    derivative_key: str


def decode_path(uri: str) -> str:
    """Decode a request path as S3 does; a malformed encoding is a 400."""
    if _BAD_ESCAPE.search(uri):
        raise BadRequest("malformed percent-escape", public_message="Malformed URL encoding.")
    try:
        path = unquote_plus(uri, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("percent-escapes are not UTF-8", public_message="Malformed URL encoding.") from None
    return path


def parse_rendition(uri: str) -> Rendition:
    """Parse a percent-encoded path `/<spec>/<key>` into a Rendition, or raise BadRequest."""
    path = decode_path(uri)
    if not path.startswith("/"):
        raise BadRequest("path does not start with /")
    return parse_derivative_key(path[1:])


def parse_derivative_key(derivative_key: str) -> Rendition:
    """Parse a decoded key `<spec>/<key>`, or raise BadRequest.

    Storage runs it again on every key it is asked to write, so that nothing but a
    derivative key, under its spec segment, can ever be written.
    """
    if _CONTROL.search(derivative_key):
        raise BadRequest("control character in key", public_message="Invalid character in URL.")
    spec, _, original_key = derivative_key.partition("/")
    _check_key(original_key)
    if len(derivative_key.encode("utf-8")) > S3_MAX_KEY_BYTES:
        raise BadRequest("derivative key over 1024 bytes", public_message="URL too long.")
    return _parse_spec(spec, original_key, derivative_key)


def _check_key(key: str) -> None:
    if not key:
        raise BadRequest("empty original key", public_message="Missing image path.")
    if "\\" in key:
        raise BadRequest("backslash in key", public_message="Invalid image path.")
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise BadRequest("empty, . or .. segment in key", public_message="Invalid image path.")


def _parse_spec(spec: str, original_key: str, derivative_key: str) -> Rendition:
    dims, *options = spec.split(",")
    width, height = _parse_dims(dims)
    chosen: dict[str, str] = {}
    for option in options:
        kind = _option_kind(option)
        if kind in chosen:
            raise BadRequest(f"{kind} given twice", public_message=f"Only one {kind} option is allowed.")
        chosen[kind] = option
    fit = chosen.get("fit", "contain")
    if fit in ("cover", "fill") and (width is None or height is None):
        raise BadRequest(f"{fit} without both dims", public_message=f"{fit} needs both width and height.")
    image_format = chosen.get("format")
    quality = int(chosen["quality"][1:]) if "quality" in chosen else None
    return Rendition(
        dims=dims, width=width, height=height, fit=fit, format=image_format, quality=quality,
        original_key=original_key, derivative_key=derivative_key,
    )


def _parse_dims(dims: str) -> tuple[int | None, int | None]:
    match = _DIMS.match(dims)
    if match is None:
        raise BadRequest(f"malformed dims {dims!r}", public_message="Malformed size: use WxH, Wx or xH.")
    numbers = [match["w"], match["h"] or match["h_only"]]
    if any(n is not None and len(n) > _MAX_DIGITS for n in numbers):
        raise BadRequest("dimension too large", public_message="Requested size is too large.")
    width, height = (int(n) if n is not None else None for n in numbers)
    return width, height


def is_dims(token: str) -> bool:
    """Whether a token is written as the dims of a spec (WxH, Wx or xH), as x-allowed-sizes lists them."""
    return _DIMS.match(token) is not None


def _option_kind(option: str) -> str:
    if option in FITS:
        return "fit"
    if option in FORMATS:
        return "format"
    if _QUALITY.match(option):
        return "quality"
    raise BadRequest(f"unknown option {option!r}", public_message=_unknown_option_message(option))


def _unknown_option_message(option: str) -> str:
    """What a viewer should write instead: the likeliest slip first, then the whole list."""
    lower = option.lower()
    if not option:
        return "Empty option: remove the extra comma."
    if lower in FITS or lower in FORMATS or _QUALITY.match(lower):  # only its case keeps it from being valid
        return "Options are lower case."
    if lower.startswith("q"):
        return "Quality is q1 to q100, without leading zeros."
    return f"Unknown option: use {', '.join(FITS + FORMATS)} or q1 to q100."


def check_limits(rendition: Rendition, max_dimension: int, allowed_sizes: frozenset[str] | None) -> None:
    """Apply the deployment's size policy (x-max-dimension, x-allowed-sizes)."""
    if allowed_sizes is not None and rendition.dims not in allowed_sizes:
        raise BadRequest(f"size {rendition.dims} not allowed", public_message="Size not allowed.")
    if max(rendition.width or 0, rendition.height or 0) > max_dimension:
        raise BadRequest("dimension over the maximum", public_message="Requested size is too large.")
