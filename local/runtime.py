"""Calls the function as Lambda@Edge does, and judges what comes back as CloudFront would."""

import base64
import copy
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from local import validate

TIMEOUT_MS = 30_000  # PLATFORM.md: the most an origin-response function may run
FUNCTION_NAME = "us-east-1.image-cdn-edge"
MEMORY_SIZE_MB = 2048  # template.yaml's MemorySize default (tests/test_local_runtime.py holds them equal)

Handler = Callable[[dict, object], dict]


@dataclass
class LambdaContext:
    """The part of Lambda's context object that a handler may read."""

    timeout_ms: int = TIMEOUT_MS
    function_name: str = FUNCTION_NAME
    function_version: str = "1"
    memory_limit_in_mb: int = MEMORY_SIZE_MB
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = (time.monotonic() - self.started) * 1000
        return max(0, int(self.timeout_ms - elapsed_ms))


@dataclass(frozen=True)
class Invocation:
    origin_response: dict  # as the function received it, copied before the call
    response: object = None
    error: str | None = None  # the traceback, if the function raised
    elapsed_ms: float = 0.0
    violations: tuple[validate.Violation, ...] = ()

    @property
    def timed_out(self) -> bool:
        return self.elapsed_ms > TIMEOUT_MS

    @property
    def passed_through(self) -> bool:
        """The function returned the origin's response unchanged: CloudFront serves the origin's own."""
        return self.error is None and self.response == self.origin_response

    @property
    def cloudfront_error(self) -> "CloudFrontError | None":
        """What CloudFront answers instead of the function's response, if it refuses that response."""
        # Lambda stops a function at its timeout: one that raised later would not have got there.
        if self.timed_out:
            return CloudFrontError(503, "LambdaLimitExceeded", (f"the function ran {self.elapsed_ms:.0f} ms",))
        if self.error is not None:
            return CloudFrontError(500, "LambdaExecutionError", ("the function raised an exception", self.error))
        if self.violations:
            return CloudFrontError(502, "LambdaValidationError", tuple(map(str, self.violations)))
        return None


@dataclass(frozen=True)
class CloudFrontError:
    status: int
    name: str
    details: tuple[str, ...]


def invoke(handler: Handler, event: dict) -> Invocation:
    """Run the handler on an origin-response event and check its answer against Lambda@Edge's rules."""
    origin_response = copy.deepcopy(event["Records"][0]["cf"]["response"])
    started = time.perf_counter()
    try:
        response = handler(event, LambdaContext())
    except Exception:  # noqa: BLE001 - any exception is the function's failure, reported like Lambda does
        return Invocation(origin_response, error=traceback.format_exc(), elapsed_ms=elapsed_since(started))
    return Invocation(
        origin_response,
        response=response,
        elapsed_ms=elapsed_since(started),
        violations=tuple(validate.check(response, origin_response)),
    )


def elapsed_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def body_bytes(response: dict) -> bytes | None:
    """A response's body as bytes, base64 decoded; None when it has none of its own."""
    if "body" not in response:
        return None
    if response.get("bodyEncoding") == "base64":
        return base64.b64decode(response["body"])
    return response["body"].encode()
