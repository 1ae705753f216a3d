"""Lambda@Edge origin-response entry point: `edge.handler.handler`.

Every response from S3 passes through here. Anything but a 403/404 for one of
our paths goes back untouched at once; `edge.miss` is imported only on a real
miss (and Pillow and boto3 only once its request is valid), so that plain hits stay cheap.
For the same reason this gate reads the raw event's status and URI itself, the one read of
the raw dict outside `edge.event`: importing that module (dataclasses, typing) takes 35-41 ms
in a fresh interpreter, against 3-4 ms for this one (python -X importtime, by hand).
"""

MISS_STATUSES = frozenset({"403", "404"})  # OAC answers 403 for a missing key without s3:ListBucket
_DIGITS = frozenset("0123456789")


def handler(event, context=None):
    cf = event["Records"][0]["cf"]
    origin_response = cf["response"]
    if str(origin_response.get("status")) not in MISS_STATUSES or not is_rendition_path(cf["request"]["uri"]):
        return origin_response
    # Imported on a miss only: the pass-through path above must not pay for the miss path's modules.
    from edge.miss import handle_miss

    return handle_miss(cf, context)


def is_rendition_path(uri: str) -> bool:
    """SPEC.md: a path is ours when its first segment begins with a digit, or with `x` and a digit.

    Runs on every 403/404, so it imports nothing unless the segment is percent-encoded.
    """
    first_segment = uri[1:].split("/", 1)[0]
    if "%" in first_segment:  # a "+" decodes to a space, which changes no answer
        from urllib.parse import unquote_plus

        first_segment = unquote_plus(first_segment, errors="replace")
    if first_segment[:1] == "x":
        first_segment = first_segment[1:]
    return first_segment[:1] in _DIGITS
