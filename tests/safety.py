"""The checks every hostile-input row makes on the handler's answer.

CloudFront's own rules come from local/validate.py (the local emulator's
validator), so that the tests and the emulator judge a response the same way.
On top of them: an error body is short and public, and says nothing of the
deployment (buckets, AWS error codes) or the request (no reflected input).
"""

import json

import pytest

from edge.handler import handler
from imaging import DERIVATIVES, ORIGINALS, Context, miss_event, origin_response
from local import runtime, validate

VIA = "1.1 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)"
MAX_ERROR_BODY = 100
# What must never reach a viewer: a trace, our buckets, AWS's words for what went wrong.
LEAKS = (
    "Traceback", 'File "', ".py", ORIGINALS, DERIVATIVES, "amazonaws", "botocore", "boto3", "ClientError",
    "An error occurred", "AccessDenied", "SlowDown", "NoSuchKey", "NoSuchBucket", "InternalError",
    "PreconditionFailed", "RequestId", "x-amz", "Pillow", "PIL",
)
# Every status SPEC.md's response table can produce.
SPEC_STATUSES = frozenset({"200", "307", "400", "404", "413", "415", "500", "503"})


def hostile_event(uri: str, **kwargs) -> dict:
    """miss_event, with a Via header in the origin response too, so that keeping it unchanged is checked."""
    event = miss_event(uri, **kwargs)
    headers = origin_response(event)["headers"]
    headers["via"] = [{"key": "Via", "value": VIA}]
    return event


def invoked(event: dict, context: Context | None = None) -> runtime.Invocation:
    """The handler run as the local emulator runs it (local.runtime.invoke): the origin response is
    copied before the call, since a function that passes it through returns that very object, and a
    check against the event's would compare it with itself. An exception fails the test."""
    invocation = runtime.invoke(lambda event_, _: handler(event_, context or Context()), event)
    assert invocation.error is None, invocation.error
    return invocation


def assert_valid_for_cloudfront(response: dict, received: dict) -> None:
    """Lambda@Edge would accept this response (no 502 LambdaValidationError)."""
    violations = validate.check(response, received)
    assert not violations, "\n".join(str(violation) for violation in violations)


def assert_public_body(response: dict, *reflected: str) -> None:
    """A text body is short, and neither leaks the deployment nor reflects the request."""
    if response.get("bodyEncoding") != "text":
        return
    body = response["body"]
    assert len(body) <= MAX_ERROR_BODY, body
    for leak in LEAKS + tuple(text for text in reflected if text):
        assert leak.lower() not in body.lower(), f"{leak!r} in the body {body!r}"


def assert_clean(response: dict, received: dict, *reflected: str) -> None:
    """Both of the above, and a status from SPEC.md (or the origin's own, passed through untouched).
    `received`: the origin response as copied before the call (Invocation.origin_response)."""
    assert_valid_for_cloudfront(response, received)
    assert_public_body(response, *reflected)
    if response != received:
        assert response["status"] in SPEC_STATUSES, response["status"]


def log_records(captured_out: str) -> list[dict]:
    """The JSON log lines the handler printed (one per handled miss)."""
    return [json.loads(line) for line in captured_out.splitlines() if line.startswith("{")]


# conftest's `s3`, but with one moto per module: creating the clients is most of a
# test's time. Each test still starts from two empty buckets; the function's cached
# clients last as long as the module's moto. Import both names into a test module to use them.


@pytest.fixture(scope="module")
def moto_s3():
    import boto3
    from moto import mock_aws

    from edge import storage

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (ORIGINALS, DERIVATIVES):
            client.create_bucket(Bucket=bucket)
        yield client
    storage.forget_clients()


@pytest.fixture
def s3(moto_s3):
    for bucket in (ORIGINALS, DERIVATIVES):
        keys = [{"Key": item["Key"]} for item in moto_s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        if keys:
            moto_s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    yield moto_s3
