"""Images made in memory for the tests, and helpers to read the handler's answers."""

import base64
import copy
import io
import json
from pathlib import Path

from PIL import Image

EVENTS = Path(__file__).resolve().parent.parent / "events"
ORIGINALS = "image-cdn-originals"
DERIVATIVES = "image-cdn-derivatives"


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
