"""A local CloudFront in front of the derivatives bucket, with the origin-response function attached.

`python -m local.cdn` (or `make demo`) starts an embedded S3, loads sample
originals, and serves http://127.0.0.1:8080. For each GET or HEAD of a path:

1. a fresh copy in the in-memory edge cache is served as is (X-Cache: Hit);
2. otherwise the key is looked up in the derivatives bucket with boto3;
3. S3's answer, whatever its status, becomes an origin-response event in the shape
   of events/*.json for `edge.handler.handler`, as CloudFront calls it on every
   origin response (misses one at a time, as in one function instance); its answer
   is checked against Lambda@Edge's rules and served (S3's own when passed
   through), or replaced by the 5xx CloudFront would give, and kept in the cache
   if Cache-Control allows and CloudFront caches that status;
4. on the way out, a held ETag (If-None-Match) makes it a 304, and the template's
   response headers policy adds its headers (CORS, Timing-Allow-Origin, Vary).

`--missing-as-403` answers a missing key with 403 AccessDenied, as S3 does behind
Origin Access Control when the distribution may not list the bucket.
"""

import argparse
import base64
import contextlib
import email.utils
import http
import io
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit
from xml.sax.saxutils import escape as xml_escape

from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image

from edge import config as edge_config
from edge.errors import Misconfigured
from edge.handler import handler as edge_handler
from edge.image.model import DECODE_ERRORS
from local import runtime, s3, samples, template
from local.cache import ResponseCache
from local.gallery import Gallery

DEFAULT_PORT = 8080
S3_HIT_HEADERS = ("Content-Type", "Cache-Control", "ETag", "Last-Modified", "Content-Length")
# The headers the emulator itself frames the body with; a response's own values are replaced.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
CONFIG_HEADERS = (
    edge_config.ORIGINALS_REGION, edge_config.MAX_DIMENSION, edge_config.ALLOWED_SIZES,
    edge_config.MAX_SOURCE_PIXELS, edge_config.MAX_SOURCE_BYTES, edge_config.MAX_FRAMES, edge_config.CACHE_CONTROL,
)
# The errors CloudFront may cache (its guide, "HTTP 4xx and 5xx status codes that CloudFront caches"): any other,
# such as 413, goes back to the origin every time, whatever its Cache-Control says.
CACHED_ERRORS = frozenset({400, 403, 404, 405, 412, 414, 415, 500, 501, 502, 503, 504})
DISTRIBUTION_DOMAIN = "d111111abcdef8.cloudfront.net"
MAX_DRAINED_BODY = 1 << 20  # of a request the distribution refuses
VIEWER_METHODS = frozenset({"GET", "HEAD"})  # the template's AllowedMethods; CloudFront refuses others with 403
VIA = "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)"


@dataclass(frozen=True)
class Origin:
    """The distribution's S3 origin: the derivatives bucket and the custom headers it sends the function."""

    bucket: str
    region: str
    custom_headers: dict[str, str]

    @property
    def domain_name(self) -> str:
        return f"{self.bucket}.s3.{self.region}.amazonaws.com"


@dataclass(frozen=True)
class Answer:
    """What the emulator sends to the viewer."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    source: str = "s3"  # for the log: cache, s3, lambda, pass-through, gallery, or a CloudFront error's name
    x_cache: str | None = None  # None: Miss, or Error for a 4xx/5xx, as CloudFront labels answers from the origin

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name), None)


@dataclass(frozen=True)
class S3Miss:
    """S3's error answer for a key: the status the event carries, and what a viewer would see if passed through."""

    status: int
    code: str
    request_id: str
    host_id: str


# --- the origin-response event -------------------------------------------------


def cloudfront_headers(headers: dict[str, str]) -> dict[str, list[dict[str, str]]]:
    return {name.lower(): [{"key": name, "value": value}] for name, value in headers.items()}


def request_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(42)).decode()  # CloudFront's are 56 URL-safe characters


def miss_headers(miss: S3Miss) -> dict[str, str]:
    """The headers of S3's error answer, as the event carries them."""
    return {
        "x-amz-request-id": miss.request_id,
        "x-amz-id-2": miss.host_id,
        "Content-Type": "application/xml",
        "Transfer-Encoding": "chunked",
        "Date": email.utils.formatdate(usegmt=True),
        "Server": "AmazonS3",
    }


def build_event(
    method: str, uri: str, client_ip: str, origin: Origin, status: int, headers: dict[str, str], cf_id: str
) -> dict:
    """An origin-response event for S3's answer (status and headers), in exactly the shape of events/*.json;
    cf_id is CloudFront's ID of the viewer's request (its requestId, and the viewer's X-Amz-Cf-Id)."""
    s3_origin = {
        "authMethod": "none",
        "domainName": origin.domain_name,
        "path": "",
        "region": origin.region,
        "customHeaders": cloudfront_headers(origin.custom_headers),
    }
    request = {
        "clientIp": client_ip,
        "method": method,
        "querystring": "",  # the cache policy forwards no query string: everything is in the path
        "uri": uri,
        "headers": cloudfront_headers({"Host": origin.domain_name, "User-Agent": "Amazon CloudFront", "Via": VIA}),
        "origin": {"s3": s3_origin},
    }
    response = {
        "status": str(status),
        "statusDescription": http.HTTPStatus(status).phrase,
        "headers": cloudfront_headers(headers),
    }
    config = {
        "distributionDomainName": DISTRIBUTION_DOMAIN,
        "distributionId": "EDFDVBD6EXAMPLE",
        "eventType": "origin-response",
        "requestId": cf_id,
    }
    return {"Records": [{"cf": {"config": config, "request": request, "response": response}}]}


# --- answers -------------------------------------------------------------------


def s3_hit_answer(s3_response: dict, body: bytes) -> Answer:
    wire = s3_response["ResponseMetadata"]["HTTPHeaders"]  # botocore lower-cases the names
    headers = tuple((name, wire[name.lower()]) for name in S3_HIT_HEADERS if name.lower() in wire)
    headers += (("Server", "AmazonS3"),)
    return Answer(200, "OK", headers, body, "s3")


def s3_error_answer(miss: S3Miss, key: str) -> Answer:
    """S3's own error, as CloudFront passes it on: XML naming the code and the key."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{xml_escape(miss.code)}</Code><Key>{xml_escape(key)}</Key>"
        f"<RequestId>{xml_escape(miss.request_id)}</RequestId></Error>\n"
    ).encode()
    headers = (("Content-Type", "application/xml"), ("Server", "AmazonS3"), ("x-amz-request-id", miss.request_id))
    return Answer(miss.status, http.HTTPStatus(miss.status).phrase, headers, body, "pass-through")


def function_answer(response: dict, origin: Answer) -> Answer:
    """The function's response as CloudFront sends it: its status, headers and decoded body;
    without a body of its own, the origin's body (headers edited on the way, as is common)."""
    headers = tuple(
        (entry.get("key", name), entry["value"])
        for name, entries in response.get("headers", {}).items()
        if name not in FRAMING_HEADERS
        for entry in entries
    )
    data = runtime.body_bytes(response)
    if data is None:
        data = origin.body
        # A HEAD's origin body is empty: its length is the one S3 sent (a GET's is measured).
        length = origin.header("content-length")
        headers += (("Content-Length", length),) if length is not None else ()
    status = int(response["status"])
    reason = response.get("statusDescription") or http.HTTPStatus(status).phrase
    return Answer(status, reason, headers, data, "lambda")


def cloudfront_error_answer(status: int, name: str, details: tuple[str, ...]) -> Answer:
    """CloudFront's own error in place of the function's response; the text names what went wrong."""
    lines = [f"{status} {name} (from the local CloudFront emulator)", *details]
    headers = (("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store"))
    body = ("\n".join(lines) + "\n").encode()
    return Answer(status, http.HTTPStatus(status).phrase, headers, body, name, x_cache=f"{name} from cloudfront")


def html_answer(page: str) -> Answer:
    headers = (("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"))
    return Answer(200, "OK", headers, page.encode(), "gallery")


# --- the emulator ----------------------------------------------------------------


@dataclass
class CloudFront:
    """The distribution: edge cache, S3 origin, and the origin-response trigger."""

    s3: object  # a boto3 S3 client for the origin
    origin: Origin
    gallery: Gallery | None = None
    handler: runtime.Handler = edge_handler
    cache: ResponseCache | None = field(default_factory=ResponseCache)
    missing_as_403: bool = False  # S3 behind OAC without s3:ListBucket
    viewer_headers: template.ViewerHeaders = field(default_factory=template.ViewerHeaders)
    # Misses take turns, as in one function instance: Lambda runs one request at a time in it, and the engine's
    # pools and its time budget assume so. Where AWS would start more instances, misses here queue; hits,
    # which the function only passes through, do not wait for them.
    instance: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, method: str, raw_path: str, client_ip: str, request: Mapping[str, str] | None = None) -> Answer:
        """The answer to a viewer: from the cache or the origin, 304 if the viewer's copy is still this one,
        then with the response headers policy's headers. `request` holds the viewer's request headers."""
        request = request or {}
        cf_id = request_id()
        if not raw_path.startswith("/"):  # `*`, a relative path or another scheme's URL: no key to look up
            answer = cloudfront_error_answer(400, "BadRequest", ("the request target is neither a path nor an"
                                                                 " http(s) URL",))
        elif method not in VIEWER_METHODS:
            answer = cloudfront_error_answer(403, "Error", ("the distribution allows GET and HEAD only",))
        else:
            answer = self.cached_or_fetched(method, raw_path.split("?", 1)[0].split("#", 1)[0], client_ip, cf_id)
        answer = not_modified(answer, request.get("If-None-Match"))
        headers = self.viewer_headers.added_to(answer.headers, request.get("Origin")) + (("X-Amz-Cf-Id", cf_id),)
        return replace(answer, headers=headers)

    def cached_or_fetched(self, method: str, uri: str, client_ip: str, cf_id: str) -> Answer:
        if uri == "/" and self.gallery is not None:
            return html_answer(self.gallery.html(self.origin.custom_headers, self.rendition))
        cached = self.cached(method, uri)
        if cached is not None:
            answer, age = cached
            return replace(answer, headers=answer.headers + (("Age", str(age)),), source="cache",
                           x_cache="Hit from cloudfront")
        answer = self.from_origin(method, uri, client_ip, cf_id)
        if self.cache is not None and (answer.status < 400 or answer.status in CACHED_ERRORS):
            self.cache.put(cache_key(method, uri), answer, len(answer.body), answer.header("cache-control"))
        return answer

    def rendition(self, uri: str) -> tuple[int, bytes]:
        """The status and body a viewer's GET of uri gets; the function's redirect, for an image too large to
        answer with, followed to the image it stored. Logged as a viewer's request is, the gallery's own."""
        for _ in range(2):
            started = time.perf_counter()
            answer = self.cached_or_fetched("GET", uri, s3.LOOPBACK, request_id())
            log_request("GET", uri, answer, started, "for the gallery")
            if answer.status != http.HTTPStatus.TEMPORARY_REDIRECT:
                break
        return answer.status, answer.body

    def cached(self, method: str, uri: str) -> tuple[Answer, int] | None:
        """CloudFront caches GET and HEAD: a GET's answer serves both (a HEAD with the length of the body
        it is not sent), a HEAD's (no body) only a HEAD."""
        if self.cache is None:
            return None
        from_get = self.cache.get(cache_key("GET", uri))
        if from_get is None:
            return self.cache.get(cache_key("HEAD", uri)) if method == "HEAD" else None
        answer, age = from_get
        if method == "HEAD":
            unframed = tuple((name, value) for name, value in answer.headers if name.lower() != "content-length")
            answer = replace(answer, headers=unframed + (("Content-Length", str(len(answer.body))),))
        return answer, age

    def from_origin(self, method: str, uri: str, client_ip: str, cf_id: str) -> Answer:
        # S3 decodes the path as the function does: percent-escapes as UTF-8, and + as a space.
        key = unquote_plus(uri[1:], errors="replace")
        try:
            if method == "HEAD":
                hit = s3_hit_answer(self.s3.head_object(Bucket=self.origin.bucket, Key=key), b"")
            else:
                found = self.s3.get_object(Bucket=self.origin.bucket, Key=key)
                hit = s3_hit_answer(found, found["Body"].read())
        except ClientError as error:
            miss = s3_miss(error)
        except BotoCoreError as error:
            return cloudfront_error_answer(502, "OriginConnectError", (f"S3 could not be reached: {error}",))
        else:
            event = build_event(method, uri, client_ip, self.origin, hit.status, dict(hit.headers), cf_id)
            return self.run_function(event, hit)
        if self.missing_as_403 and miss.status == 404:
            miss = replace(miss, status=403, code="AccessDenied")
        event = build_event(method, uri, client_ip, self.origin, miss.status, miss_headers(miss), cf_id)
        with self.instance:
            return self.run_function(event, s3_error_answer(miss, key))

    def run_function(self, event: dict, origin_answer: Answer) -> Answer:
        """The function's answer to the event, or the origin's own when it passes it through."""
        invocation = runtime.invoke(self.handler, event)
        failure = invocation.cloudfront_error
        if failure is not None:
            print(f"\n!!! {failure.name}: CloudFront answers {failure.status} for {event_uri(event)}",
                  *failure.details, sep="\n  ", file=sys.stderr)
            return cloudfront_error_answer(failure.status, failure.name, failure.details)
        if invocation.passed_through:
            return origin_answer
        return function_answer(invocation.response, origin_answer)


def log_request(method: str, target: str, answer: Answer, started: float, note: str = "") -> None:
    elapsed = (time.perf_counter() - started) * 1000
    print(f"{method:4} {target}  {answer.status}  {answer.source}  {elapsed:.0f} ms" + (f"  ({note})" if note else ""),
          file=sys.stderr)


def cache_key(method: str, uri: str) -> str:
    return uri if method == "GET" else f"{method} {uri}"


def event_uri(event: dict) -> str:
    return event["Records"][0]["cf"]["request"]["uri"]


def s3_miss(error: ClientError) -> S3Miss:
    metadata = error.response.get("ResponseMetadata", {})
    return S3Miss(
        status=metadata.get("HTTPStatusCode", 500),
        code=str(error.response.get("Error", {}).get("Code", "")),
        request_id=metadata.get("RequestId") or os.urandom(8).hex().upper(),
        host_id=metadata.get("HostId") or base64.b64encode(os.urandom(48)).decode(),
    )


def not_modified(answer: Answer, if_none_match: str | None) -> Answer:
    """304, without a body, when the viewer already holds this ETag (compared weakly, as for a GET)."""
    etag = answer.header("etag")
    if answer.status != 200 or etag is None or if_none_match is None:
        return answer
    held = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if "*" not in held and etag.removeprefix("W/") not in held:
        return answer
    headers = tuple((name, value) for name, value in answer.headers if name.lower() != "content-length")
    return replace(answer, status=304, reason="Not Modified", headers=headers, body=b"")


def x_cache(answer: Answer) -> str:
    if answer.x_cache is not None:
        return answer.x_cache
    return "Error from cloudfront" if answer.status >= 400 else "Miss from cloudfront"


def wire_headers(answer: Answer, method: str) -> list[tuple[str, str]]:
    """The headers as sent: CloudFront frames the body itself and adds Via and X-Cache. A HEAD keeps the
    length its answer names (S3's, or a cached GET's): what a HEAD's answer holds was never sent."""
    headers = [(name, value) for name, value in answer.headers if name.lower() not in ("via", "x-cache")]
    if method != "HEAD" and answer.status != 304:
        headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
        headers.append(("Content-Length", str(len(answer.body))))
    if answer.header("date") is None:
        headers.append(("Date", email.utils.formatdate(usegmt=True)))
    return headers + [("Via", VIA), ("X-Cache", x_cache(answer))]


class CloudFrontRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a gallery page loads dozens of images
    server: "CloudFrontServer"
    viewer_target: str | None = None  # the request line's target, where it is split at its spaces (parse_request)

    def do_GET(self) -> None:
        self.respond("GET")

    def do_HEAD(self) -> None:
        self.respond("HEAD")

    def do_other(self) -> None:
        """Refused as CloudFront refuses them. A small body is read, so that the viewer gets the answer
        rather than a reset; a larger one is left unread, and the connection ends after the answer."""
        declared = self.headers.get("Content-Length", "0")
        if declared.isdigit() and int(declared) <= MAX_DRAINED_BODY:
            self.rfile.read(int(declared))
        self.close_connection = True
        self.respond(self.command)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_other

    def parse_request(self) -> bool:
        """http.server's parse, but of a request line whose target it never splits. It reads the line as ISO-8859-1
        and splits it at any white space Python knows, \\x85 and \\xa0 among them, bytes that raw UTF-8 holds (an a
        with a grave accent is C3 A0, an A with a ring C3 85): it answered such a path 400, where HTTP splits the
        line at its spaces (RFC 9112, 3) and CloudFront hands the path on. The target is set aside while it parses
        the rest."""
        line, self.viewer_target = self.raw_requestline, None
        words = line.rstrip(b"\r\n").split(b" ")
        if len(words) == 3:  # else http.server's own reading, and its answer to a malformed line
            self.raw_requestline = b" ".join((words[0], b"/", words[2])) + b"\r\n"
            self.viewer_target = words[1].decode("iso-8859-1")
        try:
            return super().parse_request()
        finally:
            self.raw_requestline, self.requestline = line, line.rstrip(b"\r\n").decode("iso-8859-1")

    def request_target(self) -> str:
        """The path as the viewer sent it. http.server turns a leading // into / (against open redirects
        from its file server); CloudFront does not, and neither may the function's event. A request through a
        proxy names the whole URL (absolute form), which an HTTP/1.1 server must take (RFC 9112, 3.2.2): its path.
        A raw non-ASCII path is read as CloudFront reads it: UTF-8 as it came, and anything else as ISO-8859-1,
        which http.server reads every request line as."""
        target = self.requestline.split()[1] if self.viewer_target is None else self.viewer_target
        with contextlib.suppress(UnicodeDecodeError):
            target = target.encode("iso-8859-1").decode("utf-8")
        if target.startswith("/"):
            return target
        url = urlsplit(target)
        if url.scheme not in ("http", "https") or not url.netloc:
            return target
        return urlunsplit(("", "", url.path or "/", url.query, ""))

    def respond(self, method: str) -> None:
        started = time.perf_counter()
        target = self.request_target()
        try:
            answer = self.server.cloudfront.answer(method, target, self.client_address[0], self.headers)
        except Exception:  # noqa: BLE001 - a bug in the emulator must not look like a product failure
            traceback.print_exc()
            answer = cloudfront_error_answer(500, "EmulatorError", ("the emulator failed; see its log",))
        log_request(method, target, answer, started)  # before the answer leaves: never after the viewer moved on
        self.send_response_only(answer.status, answer.reason)
        for name, value in wire_headers(answer, method):
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if method != "HEAD":
            with contextlib.suppress(ConnectionError):  # a browser drops srcset candidates it no longer wants
                self.wfile.write(answer.body)

    def log_message(self, format: str, *args) -> None:
        """Silenced: `respond` logs each request with where its answer came from."""


class CloudFrontServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cloudfront: CloudFront, port: int):
        super().__init__((s3.LOOPBACK, port), CloudFrontRequestHandler)
        self.cloudfront = cloudfront

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


# --- configuration and the command line ------------------------------------------


def header_flag(header: str) -> str:
    """x-max-dimension -> --max-dimension: every configuration header has a flag of the same name."""
    return "--" + header.removeprefix("x-")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.cdn", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--endpoint-url", help="an S3-compatible endpoint (or real S3) instead of the embedded one")
    parser.add_argument("--s3-port", type=port_number, default=0,
                        help="port of the embedded S3 (default: any free port)")
    parser.add_argument("--region", default=edge_config.DEFAULT_REGION, help="the derivatives bucket's region")
    parser.add_argument("--derivatives-bucket", default=s3.DERIVATIVES_BUCKET, help="the origin: derivatives live here")
    parser.add_argument(header_flag(edge_config.ORIGINALS_BUCKET), default=s3.ORIGINALS_BUCKET,
                        help="the bucket the function reads originals from (the x-originals-bucket header)")
    parser.add_argument("--originals", type=folder_of_images, metavar="DIR",
                        help="upload the images in DIR as originals")
    parser.add_argument("--template", type=Path, default=template.DEFAULT_TEMPLATE,
                        help="the SAM template whose parameter defaults configure the origin")
    parser.add_argument("--no-cache", action="store_true", help="no edge cache: every request goes to S3")
    parser.add_argument("--missing-as-403", action="store_true",
                        help="S3 answers a missing key with 403, as behind OAC without s3:ListBucket")
    overrides = parser.add_argument_group("origin custom headers (default: template.yaml's parameter defaults)")
    for header in CONFIG_HEADERS:
        overrides.add_argument(header_flag(header), metavar="VALUE", help=f"the {header} header")
    return parser.parse_args(argv)


def port_number(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"not a port (0 to 65535): {value}")
    return int(value)


def folder_of_images(value: str) -> Path:
    """--originals: a folder that holds at least one image, so that a mistyped path is not a silent no-op."""
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {value}")
    if not s3.image_files(folder):
        raise argparse.ArgumentTypeError(f"no images ({', '.join(sorted(s3.IMAGE_SUFFIXES))}) under {value}")
    return folder


def flag_overrides(args: argparse.Namespace) -> dict[str, str]:
    values = {header: getattr(args, header_flag(header)[2:].replace("-", "_")) for header in CONFIG_HEADERS}
    return {header: value for header, value in values.items() if value is not None}


def read_template(path: Path) -> dict:
    return template.load_template(path) if path.is_file() else {}


def custom_headers(originals_bucket: str, from_template: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    """The origin's headers: the local originals bucket, then the template's values, then the flags."""
    # The template's x-originals-bucket names a bucket in AWS; locally it is always the local one.
    configured = {name: value for name, value in from_template.items() if name != edge_config.ORIGINALS_BUCKET}
    return {edge_config.ORIGINALS_BUCKET: originals_bucket} | configured | overrides


def prepare_buckets(client, args: argparse.Namespace, embedded: bool) -> dict[str, bytes]:
    """Create (embedded S3) or check (any other) the buckets, and upload the originals; returns those."""
    buckets = (args.originals_bucket, args.derivatives_bucket)
    if refused := s3.refused_bucket_names(*buckets):
        sys.exit(f"error: {', '.join(map(repr, refused))} is not a bucket name S3 accepts")
    if embedded:
        s3.create_buckets(client, args.region, *buckets)
    elif missing := s3.missing_buckets(client, *buckets):
        sys.exit(f"error: bucket(s) {', '.join(missing)} not found at {args.endpoint_url}; create them, "
                 "or name yours with --originals-bucket and --derivatives-bucket")
    # Samples go only into the throwaway embedded S3: an existing bucket gets nothing it was not asked for.
    # Your own originals come first, so that the example URLs use them, and win over a sample of the same key.
    originals = s3.folder_originals(args.originals) if args.originals is not None else {}
    if embedded:
        originals |= {key: body for key, body in samples.sample_originals().items() if key not in originals}
    s3.put_originals(client, args.originals_bucket, originals)
    return originals


def images(originals: dict[str, bytes]) -> list[str]:
    """The keys of the originals Pillow recognises from their first bytes: a file is uploaded by its name's
    extension, and an example URL on a text file named .jpg would only show a 415. A file Pillow takes for an
    image but cannot open (a PNG whose header says it is shorter than it is: ValueError) is left out too,
    rather than stop the demo."""
    recognised = []
    for key, body in originals.items():
        try:
            Image.open(io.BytesIO(body)).close()
        except DECODE_ERRORS:  # UnidentifiedImageError among them, an OSError
            continue
        recognised.append(key)
    return recognised


def example_urls(base: str, keys: list[str], allowed_sizes: str | None = None) -> list[tuple[str, str]]:
    """A few URLs worth opening, on the originals just uploaded; allowed_sizes is x-allowed-sizes, if set."""
    examples = [(f"{base}/", "the gallery: every original beside its renditions")]
    if not keys:
        return examples + [(f"{base}/640x/<key of an original>", "640 pixels wide")]
    try:
        allowed = edge_config.parse_allowed_sizes(allowed_sizes)
    except Misconfigured:
        allowed = None  # the function says so on every miss, and the banner shows the header

    def url(spec: str, key: str) -> str:
        return f"{base}/{spec}/{quote(key, safe='/')}"

    def example(spec: str, key: str, what: str) -> tuple[str, str]:
        dims = spec.split(",", 1)[0]
        refused = allowed is not None and dims not in allowed
        return url(spec, key), what + (f" (400 here: x-allowed-sizes lacks {dims})" if refused else "")

    first = keys[0]
    examples += [example("640x", first, "fit inside 640 pixels wide")]
    examples += [example("300x300,cover,webp", first, "a centred square crop, as WebP")]
    gifs, spaced = [key for key in keys if key.endswith(".gif")], [key for key in keys if " " in key]
    examples += [example("x240,avif", key, "an animated GIF as animated AVIF") for key in gifs[:1]]
    examples += [example("x480", key, f"a key with {encoded_characters(key)}") for key in spaced[:1]]
    return examples + [(url("640y", first), "a malformed spec: 400")]


def encoded_characters(key: str) -> str:
    """What a key holds that its URL must percent-encode, in words: 'a space, accents and a plus'."""
    held = ["a space"] + ["accents"] * (not key.isascii()) + ["a plus"] * ("+" in key)
    return " and ".join([", ".join(held[:-1]), held[-1]] if len(held) > 1 else held)


def describe_origin(origin: Origin, configured: template.OriginHeaders, template_path: Path) -> list[str]:
    source = f"from {template_path.name}" if configured.headers else f"none in {template_path}: the function's defaults"
    lines = [f"  origin:  {origin.domain_name}, custom headers ({source}; flags override):"]
    lines += [f"           {name}: {value}" for name, value in origin.custom_headers.items()]
    # x-originals-bucket is always the local bucket, whatever the template says.
    unresolved = [name for name in configured.unresolved if name != edge_config.ORIGINALS_BUCKET]
    if unresolved:
        lines.append(f"  only a deployed stack knows {', '.join(unresolved)}: left to the function's defaults")
    return lines


def describe_edge(cached: bool, missing_as_403: bool) -> str:
    cache = "an edge cache, for as long as Cache-Control allows" if cached else "no edge cache (--no-cache)"
    missing = "403 (--missing-as-403: CloudFront without s3:ListBucket)" if missing_as_403 else "404"
    return f"  edge:    {cache}; S3 answers {missing} for a missing key"


def serve(args: argparse.Namespace, endpoint_url: str, embedded: bool) -> None:
    s3.apply_environment(s3.boto3_environment(endpoint_url, args.region, dummy_credentials=embedded))
    client = s3.s3_client(endpoint_url, args.region)
    originals = prepare_buckets(client, args, embedded)
    stack = read_template(args.template)
    configured = template.origin_headers(stack, args.region)
    headers = custom_headers(args.originals_bucket, configured.headers, flag_overrides(args))
    origin = Origin(args.derivatives_bucket, args.region, headers)
    notes = {sample.key: sample.note for sample in samples.SAMPLES} if embedded else {}
    gallery = Gallery(client, args.originals_bucket, notes)
    cache = None if args.no_cache else ResponseCache()
    try:
        server = CloudFrontServer(
            CloudFront(client, origin, gallery, cache=cache, missing_as_403=args.missing_as_403,
                       viewer_headers=template.viewer_headers(stack)), args.port)
    except OSError as error:
        sys.exit(cannot_serve("", args.port, error, "--port (make demo PORT=...)"))
    # `make demo &` is stopped with SIGTERM (a shell starts background jobs with SIGINT ignored): as Ctrl-C, it
    # closes the server and the embedded S3 and exits 0, where Python's default would end it at once with 143.
    # Set before the banner, which tells a script that the CDN is up.
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        s3_kind = "embedded moto server" if embedded else "S3"
        examples = example_urls(server.url, images(originals), headers.get(edge_config.ALLOWED_SIZES))
        url_width = max(len(url) for url, _ in examples)
        print("\n".join([
            f"Local image CDN on {server.url}/   (Ctrl-C stops it)",
            f"  S3:      {s3_kind} at {endpoint_url}",
            f"           originals in {args.originals_bucket}, derivatives in {args.derivatives_bucket}",
            *describe_origin(origin, configured, args.template),
            describe_edge(cache is not None, args.missing_as_403),
            "", "Try:", *(f"  {url:<{url_width}}  {what}" for url, what in examples),
            "", "Each request is logged below with what answered it: cache (the edge's copy), s3 (the stored",
            "derivative), lambda (the function's render), pass-through, gallery, or a CloudFront error's name.",
        ]) + "\n", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()


def cannot_serve(what: str, port: int, error: OSError, option: str) -> str:
    """The one-line error for a port that cannot be bound (socket.create_server's strerror names the address
    again: the errno's own words are used)."""
    return (f"error: cannot serve {what}on {s3.LOOPBACK}:{port}: {os.strerror(error.errno)}; "
            f"choose another port with {option}, or 0 for any free one")


def interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.endpoint_url:
        serve(args, args.endpoint_url, embedded=False)
        return
    with contextlib.ExitStack() as running:
        try:
            endpoint_url = running.enter_context(s3.EmbeddedS3(args.s3_port))
        except OSError as error:
            sys.exit(cannot_serve("the embedded S3 ", args.s3_port, error, "--s3-port"))
        serve(args, endpoint_url, embedded=True)


if __name__ == "__main__":
    main()
