"""Lambda@Edge's rules for a response returned by an origin-response function.

CloudFront checks what the function returns and, if any rule is broken, answers
the viewer 502 (LambdaValidationError) instead. These checks are written from
PLATFORM.md, independently of `edge/`, so that a bug in the function's own
bookkeeping (its size estimate, its header edits) shows up here as it would in
production, rather than being confirmed by the same code.
"""

import base64
import binascii
from dataclasses import dataclass
from typing import Any

MAX_GENERATED_BYTES = 1_000_000
READ_ONLY_HEADERS = ("transfer-encoding", "via")
DISALLOWED_HEADERS = frozenset({
    "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "trailer", "upgrade", "x-accel-buffering", "x-accel-charset", "x-accel-limit-rate", "x-accel-redirect",
    "x-amzn-auth", "x-amzn-cf-billing", "x-amzn-cf-id", "x-amzn-cf-xff", "x-amzn-errortype",
    "x-amzn-fle-profile", "x-amzn-header-count", "x-amzn-header-order", "x-amzn-lambda-integration-tag",
    "x-amzn-requestid", "x-cache", "x-forwarded-proto", "x-real-ip",
})
DISALLOWED_PREFIXES = ("x-amz-cf-", "x-edge-")
BODY_ENCODINGS = ("text", "base64")

# Rule names, as the 502 and the invoke report print them.
RESPONSE = "response-shape"
STATUS = "status"
HEADER_SHAPE = "header-shape"
BODY_ENCODING = "body-encoding"
BASE64 = "base64-body"
SIZE = "size-limit"
READ_ONLY = "read-only-header"
DISALLOWED = "disallowed-header"


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def check(response: Any, origin_response: dict) -> list[Violation]:
    """Every rule the response breaks, given the origin response the function received."""
    if not isinstance(response, dict):
        return [Violation(RESPONSE, f"the function returned {type(response).__name__}, not an object")]
    violations = check_fields(response) + check_status(response.get("status"))
    headers = response.get("headers", {})
    header_violations = check_header_shape(headers)
    violations += header_violations
    if not header_violations:  # the header rules below need a well-formed map
        origin_headers = origin_response.get("headers", {})
        violations += check_read_only(headers, origin_headers) + check_disallowed(headers, origin_headers)
        violations += check_size(response)
    return violations + check_body(response)


def check_fields(response: dict) -> list[Violation]:
    violations = []
    for field in ("statusDescription", "body"):
        if field in response and not isinstance(response[field], str):
            violations.append(Violation(RESPONSE, f"{field} must be a string"))
    return violations


def check_status(status: Any) -> list[Violation]:
    if not isinstance(status, str):
        return [Violation(STATUS, f"status must be a string, got {status!r}")]
    if not (status.isascii() and status.isdigit() and 200 <= int(status) <= 599):
        return [Violation(STATUS, f"status must be 200 to 599, got {status!r}")]
    return []


def check_header_shape(headers: Any) -> list[Violation]:
    """Lower-case names, each mapped to a list of {key (optional), value}, key matching the name."""
    if not isinstance(headers, dict):
        return [Violation(HEADER_SHAPE, "headers must be an object")]
    violations = []
    for name, entries in headers.items():
        if not isinstance(name, str) or name != name.lower():
            violations.append(Violation(HEADER_SHAPE, f"header name {name!r} is not lower case"))
        elif not isinstance(entries, list):
            violations.append(Violation(HEADER_SHAPE, f"{name}: value must be a list of {{key, value}}"))
        else:
            problems = (entry_problem(entry, name) for entry in entries)
            violations += [Violation(HEADER_SHAPE, f"{name}: {problem}") for problem in problems if problem]
    return violations


def entry_problem(entry: Any, name: str) -> str | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
        return f"entry {entry!r} needs a string value"
    key = entry.get("key", name)
    if not isinstance(key, str) or key.lower() != name:
        return f"key {key!r} does not match the header name"
    return None


def check_body(response: dict) -> list[Violation]:
    encoding = response.get("bodyEncoding", "text")
    if encoding not in BODY_ENCODINGS:
        return [Violation(BODY_ENCODING, f"bodyEncoding must be text or base64, got {encoding!r}")]
    body = response.get("body")
    if encoding == "base64" and isinstance(body, str):
        try:
            base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return [Violation(BASE64, "bodyEncoding is base64 but the body is not valid base64")]
    return []


def check_size(response: dict) -> list[Violation]:
    size = generated_size(response)
    if size > MAX_GENERATED_BYTES:
        return [Violation(SIZE, f"headers plus body are {size:,} bytes, over {MAX_GENERATED_BYTES:,}")]
    return []


def generated_size(response: dict) -> int:
    """What counts against the 1 MB cap: header names and values plus the body as sent (base64 text)."""
    header_bytes = sum(
        len(entry.get("key", name).encode()) + len(entry["value"].encode())
        for name, entries in response.get("headers", {}).items()
        for entry in entries
    )
    body = response.get("body")
    return header_bytes + (len(body.encode()) if isinstance(body, str) else 0)


def check_read_only(headers: dict, origin_headers: dict) -> list[Violation]:
    return [
        Violation(READ_ONLY, f"{name} was {describe(origin_headers.get(name))}, returned {describe(headers.get(name))}")
        for name in READ_ONLY_HEADERS
        if changed(name, headers, origin_headers)
    ]


def check_disallowed(headers: dict, origin_headers: dict) -> list[Violation]:
    # A header the origin itself sent and the function left alone is not the function's doing.
    return [
        Violation(DISALLOWED, f"{name} may not be set by a Lambda@Edge function")
        for name in headers
        if is_disallowed(name) and changed(name, headers, origin_headers)
    ]


def is_disallowed(name: str) -> bool:
    return name in DISALLOWED_HEADERS or name.startswith(DISALLOWED_PREFIXES)


def changed(name: str, headers: dict, origin_headers: dict) -> bool:
    return values(headers.get(name)) != values(origin_headers.get(name))


def values(entries: list[dict] | None) -> list[str]:
    """A header's values: CloudFront compares what goes on the wire, not the spelling of the key."""
    return [entry["value"] for entry in entries or []]


def describe(entries: list[dict] | None) -> str:
    return repr(", ".join(values(entries))) if entries else "absent"
