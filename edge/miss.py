"""The miss path: read the original, render the derivative, store it, answer with it.

Wires the pure modules (rendition, config, response) to the engine (image) and
the storage (S3). Every failure becomes exactly one clean response, through
`response.error_response`; no exception escapes but from decoding an event CloudFront could
not have sent, a hand-written event's mistake, shown as such: a header entry without a value is
named in a ValueError, and other malformed shapes escape as Python raises them.
"""

import math

from edge import response as responses
from edge.budget import WORST_CALL_MS
from edge.config import Config
from edge.errors import NO_STORE, EdgeError, Misconfigured, Unavailable
from edge.event import OriginResponseEvent
from edge.logs import MissLog
from edge.rendition import check_limits, parse_rendition

# Answer ourselves rather than let CloudFront kill the function at its 30 s timeout:
# an S3 call is started only with time left for its worst case (budget.WORST_CALL_MS),
# and the read also keeps some for the render after it.
MIN_MS_TO_RENDER = 3000
MIN_MS_TO_READ = WORST_CALL_MS + MIN_MS_TO_RENDER
MIN_MS_TO_STORE = WORST_CALL_MS + 1000
REFUSED_TO_CLOUDFRONT = (
    "the derivative is stored, yet S3 answered CloudFront 403 for it (a race only if CloudFront may not s3:ListBucket)"
)


def handle_miss(cf: dict, context) -> dict:
    """Turn a miss into the derivative, or into exactly one clean error response."""
    miss = OriginResponseEvent.from_record(cf)
    log = MissLog(uri=miss.request.uri, method=miss.request.method, request_id=miss.request_id)
    try:
        response = generate(miss, context, log)
    except EdgeError as error:
        log.error, log.detail = error.code, error.detail
        response = responses.error_response(miss.response, error)
    except Exception as error:  # noqa: BLE001 - the viewer must get a clean 500, the log the trace
        import traceback  # here only: a cold 400, answered before boto3 (which imports it) is loaded, skips it

        log.error, log.detail = "internal", "".join(traceback.format_exception_only(error)).strip()
        log.trace = traceback.format_exc()  # inside the JSON line: a printed trace would be many log lines
        response = responses.error_response(miss.response, EdgeError())
    log.status = int(response["status"])
    log.emit()
    # SPEC.md: a HEAD gets the status and headers a GET would, errors included, and no body.
    return responses.without_body(response) if miss.request.method == "HEAD" else response


def generate(miss: OriginResponseEvent, context, log: MissLog) -> dict:
    """Read the original, render it, store the derivative, and answer with it."""
    rendition = parse_rendition(miss.request.uri)
    log.spec, log.derivative_key = rendition.derivative_key.partition("/")[0], rendition.derivative_key
    config = Config.from_origin(miss.origin)
    check_limits(rendition, config.max_dimension, config.allowed_sizes)
    # Only a request that passed every check pays for importing boto3 and Pillow, so that
    # a malformed URL on a fresh container is answered in microseconds, not ~300 ms.
    from edge import image, storage

    store = storage.Storage.for_regions(
        config.originals_bucket, config.originals_region, config.derivatives_bucket, config.derivatives_region,
        config.fips, config.dualstack,
    )

    ensure_time(context, MIN_MS_TO_READ)
    limits = image.Limits(config.max_source_pixels, config.max_frames)
    with log.timed("read"):
        original = store.read_original(
            rendition.original_key,
            config.max_source_bytes,
            in_time=lambda: remaining_ms(context) >= MIN_MS_TO_RENDER,
            head_checked=lambda head: image.check_pixels_in_head(head, limits),
        )
    log.bytes_in = len(original)
    with log.timed("render"):
        rendered = image.render(original, rendition, limits)
    log.bytes_out, log.output = len(rendered.body), rendered.format
    (log.width, log.height), log.frames = rendered.size, rendered.frames

    stored = store_derivative(store, rendition.derivative_key, rendered, config.cache_control, context, log)
    log.stored = stored is not None
    # Stored already, yet S3 refused it to CloudFront: with the template's s3:ListBucket a missing key is a
    # 404, so a bucket policy, a KMS key or an archive tier keeps CloudFront out, and a redirect would loop.
    refused_to_cloudfront = stored is not None and not stored.created and miss.response.status == "403"
    if refused_to_cloudfront:
        log.error, log.detail = Misconfigured.code, REFUSED_TO_CLOUDFRONT

    # Not stored: the viewer still gets the image, and no-store makes the next request retry the write.
    cache_control, etag = (NO_STORE, None) if stored is None else (config.cache_control, stored.etag)
    inline = responses.image_response(miss.response, rendered.body, rendered.content_type, cache_control, etag)
    if responses.fits_inline(inline):
        return inline
    if stored is None:  # the store's own failure, logged above, would be overwritten: the detail keeps it
        raise Unavailable(f"not stored ({log.error}: {log.detail}) and too large to inline")
    if refused_to_cloudfront:
        raise Misconfigured(REFUSED_TO_CLOUDFRONT)
    return responses.redirect_response(miss.response, miss.request.uri)


def store_derivative(store, key: str, rendered, cache_control: str, context, log: MissLog):
    """What the PUT did (storage.Stored), or None when the derivative could not be stored. A failed store,
    too little time left included, is logged, not raised: the image still goes out."""
    try:
        ensure_time(context, MIN_MS_TO_STORE)
        with log.timed("store"):
            stored = store.write_derivative(
                key, rendered.body, rendered.content_type, cache_control,
                in_time=lambda: remaining_ms(context) >= MIN_MS_TO_STORE,
            )
    except EdgeError as error:
        log.error, log.detail = error.code, error.detail
        return None
    return stored


def ensure_time(context, needed_ms: int) -> None:
    remaining = remaining_ms(context)
    if remaining < needed_ms:
        raise Unavailable(f"{remaining} ms left, {needed_ms} needed")


def remaining_ms(context) -> float:
    """The invocation's time left; unbounded outside Lambda (no context)."""
    return math.inf if context is None else context.get_remaining_time_in_millis()
