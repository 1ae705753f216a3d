import dataclasses

import pytest

from edge.event import Headers, OriginResponseEvent
from imaging import load_event


def test_decodes_the_shipped_event():
    event = OriginResponseEvent.from_record(load_event("miss-403-oac-cover-webp.json")["Records"][0]["cf"])
    assert event.request.uri == "/300x300,cover,webp/photos/cat.jpg"
    assert event.request.method == "GET"
    assert event.response.status == "403"
    assert event.origin.domain_name == "image-cdn-derivatives.s3.us-east-1.amazonaws.com"
    assert event.origin.region == "us-east-1"
    assert event.origin.custom_headers.get("X-Originals-Bucket") == "image-cdn-originals"
    assert event.response.headers.get("transfer-encoding") == "chunked"
    assert event.request_id == "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="


def test_values_are_frozen():
    event = OriginResponseEvent.from_record(load_event("miss-404-resize.json")["Records"][0]["cf"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.request.uri = "/other"


@pytest.mark.parametrize(("part", "field"), [
    (lambda event: event, "request_id"),
    (lambda event: event.origin, "path"),
    (lambda event: event.response, "status"),
    (lambda event: event.response.headers, "by_name"),
], ids=["event", "origin", "response", "headers"])
def test_every_part_of_the_event_is_frozen(part, field):
    event = OriginResponseEvent.from_record(load_event("miss-404-resize.json")["Records"][0]["cf"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(part(event), field, "")


def test_the_method_and_the_origin_path_are_read_as_sent():
    """A HEAD is answered without a body, and an origin path is refused (edge/config.py): both need reading."""
    cf = load_event("miss-404-resize.json")["Records"][0]["cf"]
    cf["request"]["method"] = "HEAD"
    cf["request"]["origin"]["s3"]["path"] = "/renditions"
    event = OriginResponseEvent.from_record(cf)
    assert (event.request.method, event.origin.path) == ("HEAD", "/renditions")


def test_custom_origin_has_no_s3_origin():
    cf = load_event("miss-404-resize.json")["Records"][0]["cf"]
    cf["request"]["origin"] = {"custom": {"domainName": "example.com"}}
    assert OriginResponseEvent.from_record(cf).origin is None


def test_headers_keep_entries_exactly():
    raw = {"via": [{"key": "Via", "value": "1.1 a"}, {"key": "Via", "value": "1.1 b"}],
           "x": [{"key": "X", "value": "1"}]}
    headers = Headers.from_cloudfront(raw)
    assert headers.to_cloudfront(frozenset({"via"})) == {"via": raw["via"]}
    assert headers.get("VIA") == "1.1 a" and headers.get("missing") is None


def test_a_hand_made_event_may_leave_out_what_cloudfront_always_sends():
    """Such as one written for `sam local invoke`: absent parts decode as empty, not as a crash."""
    cf = {"request": {"uri": "/640x/cat.jpg", "origin": {"s3": {"domainName": "d.s3.amazonaws.com"}}},
          "response": {"status": 404}}
    event = OriginResponseEvent.from_record(cf)
    assert (event.request.method, event.response.status, event.request_id) == ("GET", "404", "")
    assert (event.origin.region, event.origin.path, event.origin.custom_headers) == ("", "", Headers())
    assert event.response.headers == Headers()
    cf["request"]["origin"] = None
    assert OriginResponseEvent.from_record(cf).origin is None


def test_a_header_without_entries_has_no_value():
    assert Headers.from_cloudfront({"x-max-frames": []}).get("x-max-frames") is None


def test_a_header_entry_without_a_value_is_named_in_the_error():
    """No answer can be made of an event CloudFront could not have sent: a hand-written one's mistake is shown."""
    with pytest.raises(ValueError, match="malformed event: an entry of header 'x-max-frames' has no value"):
        Headers.from_cloudfront({"x-max-frames": [{"key": "X-Max-Frames"}]})


def test_an_entry_without_a_key_is_keyed_by_its_header_name():
    """A hand-written event may give an entry its value only: a response edited from it still names the header."""
    headers = Headers.from_cloudfront({"via": [{"value": "1.1 a"}]})
    assert headers.to_cloudfront(frozenset({"via"})) == {"via": [{"key": "via", "value": "1.1 a"}]}


def test_an_s3_origin_without_a_domain_name_decodes_as_empty():
    """Then edge/config.py refuses it as an unrecognised domain, a misconfiguration, not a crash on None."""
    cf = {"request": {"uri": "/640x/cat.jpg", "origin": {"s3": {}}}, "response": {"status": 404}}
    assert OriginResponseEvent.from_record(cf).origin.domain_name == ""
