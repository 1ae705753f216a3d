"""local.validate: Lambda@Edge's response rules, one broken response per rule."""

import base64
import copy

import pytest

from imaging import load_event, origin_response
from local import validate

ORIGIN = origin_response(load_event("miss-404-resize.json"))


def generated(**fields) -> dict:
    """A well-formed generated response, an edit of the origin's as the function makes it."""
    headers = copy.deepcopy(ORIGIN["headers"])
    headers["content-type"] = [{"key": "Content-Type", "value": "image/jpeg"}]
    response = {
        "status": "200",
        "statusDescription": "OK",
        "headers": headers,
        "body": base64.b64encode(b"\xff\xd8 image bytes").decode(),
        "bodyEncoding": "base64",
    }
    return response | fields


def with_header(name: str, *values: str, key: str | None = None) -> dict:
    response = generated()
    response["headers"][name] = [{"key": key or name.title(), "value": value} for value in values]
    return response


def broken_rules(response) -> set[str]:
    return {violation.rule for violation in validate.check(response, ORIGIN)}


def test_a_well_formed_generated_response_passes():
    assert validate.check(generated(), ORIGIN) == []


def test_the_origin_response_passed_through_unchanged_passes():
    assert validate.check(copy.deepcopy(ORIGIN), ORIGIN) == []


def test_header_keys_are_optional_and_matched_case_insensitively():
    response = generated()
    response["headers"]["x-extra"] = [{"value": "no key"}, {"key": "X-EXTRA", "value": "shouting"}]
    assert validate.check(response, ORIGIN) == []


@pytest.mark.parametrize("status", [200, None, "OK", "", "199", "600", "20O", "２００", " 200"])
def test_status_must_be_a_string_from_200_to_599(status):
    assert broken_rules(generated(status=status)) == {validate.STATUS}


@pytest.mark.parametrize("status", ["200", "404", "599"])
def test_any_status_from_200_to_599_is_accepted(status):
    assert validate.check(generated(status=status), ORIGIN) == []


def test_a_missing_status_is_refused():
    response = generated()
    del response["status"]
    assert broken_rules(response) == {validate.STATUS}


def test_the_function_must_return_an_object_with_string_fields():
    assert broken_rules(None) == {validate.RESPONSE}
    assert broken_rules(generated(body=b"bytes", bodyEncoding="text")) == {validate.RESPONSE}
    assert broken_rules(generated(statusDescription=200)) == {validate.RESPONSE}
    assert broken_rules(generated(body=None)) == {validate.RESPONSE}  # base64, with no text to decode


def test_generated_size_is_capped_at_one_megabyte_of_headers_plus_body():
    at_limit = generated(bodyEncoding="text", body="")
    at_limit["body"] = "x" * (validate.MAX_GENERATED_BYTES - validate.generated_size(at_limit))
    assert validate.check(at_limit, ORIGIN) == []
    assert broken_rules(at_limit | {"body": at_limit["body"] + "x"}) == {validate.SIZE}


def test_the_size_cap_counts_the_base64_text_not_the_image_bytes():
    image_bytes = b"\0" * 760_000  # under 1 MB as bytes, over it as base64
    assert broken_rules(generated(body=base64.b64encode(image_bytes).decode())) == {validate.SIZE}


def test_the_size_cap_counts_utf_8_bytes_not_characters():
    room = validate.MAX_GENERATED_BYTES - validate.generated_size(generated(bodyEncoding="text", body=""))
    assert broken_rules(generated(bodyEncoding="text", body="\u00e9" * (room // 2 + 1))) == {validate.SIZE}


def test_the_size_cap_counts_headers_too():
    response = with_header("x-padding", *["p" * 10_000] * 101)
    assert broken_rules(response) == {validate.SIZE}


def test_a_response_without_a_body_is_capped_on_its_headers_alone():
    response = with_header("x-padding", "") | {"body": "", "bodyEncoding": "text"}
    padding = response["headers"]["x-padding"][0]
    padding["value"] = "p" * (validate.MAX_GENERATED_BYTES - validate.generated_size(response))
    del response["body"], response["bodyEncoding"]  # measured with an empty body, so that no body counts as one
    assert validate.check(response, ORIGIN) == []
    padding["value"] += "p"
    assert broken_rules(response) == {validate.SIZE}


@pytest.mark.parametrize("body", ["not base64!", "aGk=!", "aG k=", "aGk\u00e9"])
def test_a_base64_body_must_be_valid_base64(body):
    """Strictly: a character outside the alphabet is not skipped over. One outside ASCII is refused too,
    though base64 raises ValueError for it, not binascii.Error."""
    assert broken_rules(generated(body=body)) == {validate.BASE64}


def test_body_encoding_is_text_or_base64():
    assert broken_rules(generated(bodyEncoding="gzip")) == {validate.BODY_ENCODING}


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(with_header("transfer-encoding", "gzip"), id="changed"),
        pytest.param(generated(headers={"content-type": [{"key": "Content-Type", "value": "a/b"}]}), id="dropped"),
        pytest.param(with_header("via", "1.1 my-proxy"), id="added"),
    ],
)
def test_read_only_headers_stay_as_the_origin_sent_them(response):
    assert broken_rules(response) == {validate.READ_ONLY}


# PLATFORM.md's list, copied here rather than read from the module it checks.
DISALLOWED_BY_PLATFORM_MD = [
    "Connection", "Expect", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Trailer",
    "Upgrade", "X-Accel-Buffering", "X-Accel-Charset", "X-Accel-Limit-Rate", "X-Accel-Redirect", "X-Amz-Cf-Pop",
    "X-Amzn-Auth", "X-Amzn-Cf-Billing", "X-Amzn-Cf-Id", "X-Amzn-Cf-Xff", "X-Amzn-Errortype", "X-Amzn-Fle-Profile",
    "X-Amzn-Header-Count", "X-Amzn-Header-Order", "X-Amzn-Lambda-Integration-Tag", "X-Amzn-RequestId", "X-Cache",
    "X-Edge-Location", "X-Forwarded-Proto", "X-Real-IP",
]


@pytest.mark.parametrize("header", DISALLOWED_BY_PLATFORM_MD)
def test_disallowed_headers_may_not_be_set(header):
    name = header.lower()
    assert broken_rules(with_header(name, "anything", key=header)) == {validate.DISALLOWED}


def test_a_disallowed_header_the_origin_sent_and_the_function_kept_is_not_its_doing():
    origin = copy.deepcopy(ORIGIN)
    origin["headers"]["x-cache"] = [{"key": "X-Cache", "value": "Miss"}]
    response = with_header("x-cache", "Miss", key="X-Cache")
    assert validate.check(response, origin) == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Content-Type": [{"key": "Content-Type", "value": "image/jpeg"}]}, id="upper-case name"),
        pytest.param({"content-type": [{"key": "Content-Length", "value": "1"}]}, id="key of another header"),
        pytest.param({"content-type": {"key": "Content-Type", "value": "image/jpeg"}}, id="not a list"),
        pytest.param({"content-type": [{"key": "Content-Type"}]}, id="no value"),
        pytest.param({"content-type": [{"key": "Content-Type", "value": 42}]}, id="value not a string"),
        pytest.param({"content-type": ["image/jpeg"]}, id="entry not an object"),
        pytest.param({"content-type": [{"key": 42, "value": "image/jpeg"}]}, id="key not a string"),
        pytest.param({"X-Empty": []}, id="upper-case name without entries"),
        pytest.param({42: [{"value": "image/jpeg"}]}, id="name not a string"),
        pytest.param([("content-type", "image/jpeg")], id="not a map"),
    ],
)
def test_header_map_shape(headers):
    response = generated()
    if isinstance(headers, dict):
        headers = copy.deepcopy(ORIGIN["headers"]) | headers
    response["headers"] = headers
    assert broken_rules(response) == {validate.HEADER_SHAPE}


OVERSIZED = generated(bodyEncoding="text", body="x" * validate.MAX_GENERATED_BYTES)


@pytest.mark.parametrize(("response", "printed"), [
    (None, "response-shape: the function returned NoneType, not an object"),
    (generated(status="600"), "status: status must be 200 to 599, got '600'"),
    (generated(headers=[]), "header-shape: headers must be an object"),
    (generated(headers={"content-type": [{"key": "X", "value": "a/b"}]}),
     "header-shape: content-type: key 'X' does not match the header name"),
    (generated(bodyEncoding="gzip"), "body-encoding: bodyEncoding must be text or base64, got 'gzip'"),
    (generated(body="not base64!"), "base64-body: bodyEncoding is base64 but the body is not valid base64"),
    (OVERSIZED, f"size-limit: headers plus body are {validate.generated_size(OVERSIZED):,} bytes, over 1,000,000"),
    (with_header("transfer-encoding", "gzip", "br"),
     "read-only-header: transfer-encoding was 'chunked', returned 'gzip, br'"),
    (with_header("via", "1.1 my-proxy"), "read-only-header: via was absent, returned '1.1 my-proxy'"),
    (generated(headers={}), "read-only-header: transfer-encoding was 'chunked', returned absent"),
    (with_header("x-edge-origin", "mine"), "disallowed-header: x-edge-origin may not be set by a Lambda@Edge function"),
], ids=["response", "status", "headers", "key", "encoding", "base64", "size", "changed", "added", "dropped",
        "disallowed"])
def test_each_broken_rule_is_printed_as_its_name_and_what_is_wrong(response, printed):
    """As the 502's body and the invoke report show them."""
    assert [str(violation) for violation in validate.check(response, ORIGIN)] == [printed]
