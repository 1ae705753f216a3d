"""Run the function on one event file, the Docker-free twin of `sam local invoke`.

    python -m local.invoke events/miss-404-resize.json [--out body.jpg]

The event runs against an in-process S3 (moto) holding the buckets the event
names and, if its URL asks for one of local/samples.py's originals, that one
(every original that events/*.json asks for is among them). It prints the
function's log, the response's status and headers, a summary of its body, what
was stored, and whether Lambda@Edge accepts it.
"""

import argparse
import contextlib
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from edge import config as edge_config
from edge.errors import EdgeError
from edge.event import OriginResponseEvent, S3Origin
from edge.handler import handler as edge_handler
from edge.rendition import parse_rendition
from local import runtime, s3, samples, validate

TEXT_PREVIEW = 200


@dataclass(frozen=True)
class Buckets:
    originals: str
    derivatives: str
    region: str


def event_buckets(origin: S3Origin | None) -> Buckets:
    """The buckets and region the function reads from the event's S3 origin, as it reads them."""
    try:
        config = edge_config.Config.from_origin(origin)
    except edge_config.Misconfigured:
        config = None
    if config is None or s3.refused_bucket_names(config.originals_bucket):
        # The function answers 500 (S3 refuses the name); the shipped events' buckets are there all the same.
        return Buckets(s3.ORIGINALS_BUCKET, s3.DERIVATIVES_BUCKET, edge_config.DEFAULT_REGION)
    return Buckets(config.originals_bucket, config.derivatives_bucket, config.derivatives_region)


def asked_originals(uri: str) -> dict[str, bytes]:
    """The sample original the event's URL asks for, if it asks for one: the function reads no other,
    and drawing every sample would double the command's time."""
    try:
        key = parse_rendition(uri).original_key
    except EdgeError:
        return {}
    body = samples.sample_original(key)
    return {} if body is None else {key: body}


@contextlib.contextmanager
def seeded_s3(buckets: Buckets, originals: dict[str, bytes]):
    """An in-process S3 with both buckets and these originals; yields a client."""
    from moto import mock_aws

    s3.apply_environment(s3.boto3_environment(None, buckets.region, dummy_credentials=True))
    with mock_aws():
        s3.forget_edge_clients()
        client = s3.s3_client(None, buckets.region)
        s3.create_buckets(client, buckets.region, buckets.originals, buckets.derivatives)
        s3.put_originals(client, buckets.originals, originals)
        try:
            yield client
        finally:
            s3.forget_edge_clients()


def run(event: dict, buckets: Buckets, originals: dict[str, bytes]) -> tuple[runtime.Invocation, str, dict]:
    """The invocation, what the function logged, and what it stored: {key: (content type, bytes)}."""
    with seeded_s3(buckets, originals) as client:
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            invocation = runtime.invoke(edge_handler, event)
        return invocation, log.getvalue(), stored_objects(client, buckets.derivatives)


def stored_objects(client, bucket: str) -> dict[str, tuple[str, int]]:
    stored = {}
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        head = client.head_object(Bucket=bucket, Key=item["Key"])
        stored[item["Key"]] = (head["ContentType"], head["ContentLength"])
    return stored


def describe_body(response: dict) -> str:
    data = runtime.body_bytes(response)
    if data is None:
        return "none"
    if response.get("bodyEncoding") != "base64":
        preview = response["body"][:TEXT_PREVIEW]
        return f"{len(data):,} bytes of text: {preview!r}"
    summary = f"{len(data):,} bytes (base64 in the response: {len(response['body']):,} characters)"
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        return summary + ", not an image"
    frames = getattr(image, "n_frames", 1)
    return summary + f", {image.format} {image.width}×{image.height}" + (f", {frames} frames" if frames > 1 else "")


def report(path: Path, event: dict, invocation: runtime.Invocation, log: str, stored: dict) -> list[str]:
    cf = event["Records"][0]["cf"]
    request, origin_status = cf["request"], cf["response"]["status"]
    lines = [f"event:    {path}  ({request['method']} {request['uri']}, origin answered {origin_status})"]
    lines += [f"log:      {line}" for line in log.splitlines()]
    failure = invocation.cloudfront_error
    if invocation.error is not None:
        return lines + [f"error:    the function raised; CloudFront answers {failure.status} {failure.name}",
                        invocation.error.rstrip()]
    response = invocation.response
    lines += response_lines(response, invocation)
    lines.append("stored:   " + ("; ".join(f"{key} ({kind}, {size:,} bytes)" for key, (kind, size) in stored.items())
                                 or "nothing"))
    if failure is None:
        size = validate.generated_size(response)
        limit = validate.MAX_GENERATED_BYTES
        lines.append(f"rules:    pass: Lambda@Edge accepts this response ({size:,} of {limit:,} bytes)")
    else:
        lines.append(f"rules:    FAIL: CloudFront answers {failure.status} {failure.name} instead")
        lines += [f"          - {detail}" for detail in failure.details]
    return lines


def response_lines(response, invocation: runtime.Invocation) -> list[str]:
    if not isinstance(response, dict):
        return [f"response: {response!r}"]
    passed = "  pass-through: the origin's response, untouched" if invocation.passed_through else ""
    lines = [f"status:   {response.get('status')} {response.get('statusDescription', '')}  "
             f"({invocation.elapsed_ms:.0f} ms){passed}", "headers:"]
    for name, entries in (response.get("headers") or {}).items():
        lines += [f"  {entry.get('key', name)}: {entry.get('value')}" for entry in entries if isinstance(entry, dict)]
    return lines + [f"body:     {describe_body(response)}"]


def write_body(invocation: runtime.Invocation, out: Path) -> str:
    data = runtime.body_bytes(invocation.response) if isinstance(invocation.response, dict) else None
    if data is None:
        return f"wrote:    nothing to {out}: the response has no body"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return f"wrote:    {out} ({len(data):,} bytes)"


def read_event(path: Path) -> tuple[dict, OriginResponseEvent]:
    """The event in the file, raw and decoded; one that cannot be read, or is not an origin-response
    event, is a usage error (ValueError), so that a mistyped path gets a line, not a traceback."""
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not JSON: {error}") from None
    try:
        # Decoded as the function decodes it at its boundary (edge/event.py): what that cannot read is no event.
        decoded = OriginResponseEvent.from_record(event["Records"][0]["cf"])
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as error:
        raise ValueError(
            f"{path} is not a CloudFront origin-response event ({type(error).__name__}: {error}); "
            "see events/*.json") from None
    return event, decoded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("event", type=Path, help="an origin-response event, e.g. events/miss-404-resize.json")
    parser.add_argument("--out", type=Path, help="write the response body (decoded) to this file")
    args = parser.parse_args(argv)
    try:
        event, decoded = read_event(args.event)
    except ValueError as error:
        parser.error(str(error))
    invocation, log, stored = run(event, event_buckets(decoded.origin), asked_originals(decoded.request.uri))
    lines = report(args.event, event, invocation, log, stored)
    if args.out is not None:
        try:
            lines.append(write_body(invocation, args.out))
        except OSError as error:  # a folder, or one it may not write in: the report is printed all the same
            print("\n".join(lines))
            parser.exit(1, f"error: cannot write the body to {args.out}: {error.strerror}\n")
    print("\n".join(lines))
    return 0 if invocation.cloudfront_error is None else 1


if __name__ == "__main__":
    sys.exit(main())
