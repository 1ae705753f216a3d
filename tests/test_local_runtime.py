"""local.runtime: the call as Lambda@Edge makes it, and what CloudFront answers for its outcome."""

import time

import pytest

from imaging import load_event, origin_response
from local import runtime, template, validate

EVENT = load_event("miss-404-resize.json")


def test_the_remaining_time_counts_down_from_the_timeout():
    """On the real clock, started a second ago; a stall of under a second on a loaded machine still passes."""
    assert 28_000 < runtime.LambdaContext(started=time.monotonic() - 1).get_remaining_time_in_millis() <= 29_000


def test_the_remaining_time_is_counted_in_whole_milliseconds(monkeypatch):
    monkeypatch.setattr(runtime.time, "monotonic", lambda: 112.5)
    assert runtime.LambdaContext(started=100).get_remaining_time_in_millis() == 17_500


def test_the_context_has_the_memory_the_template_gives_the_function():
    defaults = template.parameter_defaults(template.load_template(template.DEFAULT_TEMPLATE))
    assert runtime.LambdaContext().memory_limit_in_mb == int(defaults["MemorySize"])


def test_the_remaining_time_stops_at_zero():
    assert runtime.LambdaContext(started=time.monotonic() - 31).get_remaining_time_in_millis() == 0


def test_the_handler_gets_a_fresh_context_with_the_whole_timeout():
    seen = []
    runtime.invoke(lambda event, context: seen.append(context.get_remaining_time_in_millis()) or {}, EVENT)
    assert 29_000 < seen[0] <= runtime.TIMEOUT_MS == 30_000


def test_the_time_the_handler_took_is_measured_in_milliseconds():
    invocation = runtime.invoke(lambda event, context: time.sleep(0.05) or origin_response(event), EVENT)
    assert 45 <= invocation.elapsed_ms < 5_000  # the sleep is 50 ms at least; the ceiling only rules out seconds


def ran_for(elapsed_ms: float) -> runtime.Invocation:
    return runtime.Invocation(origin_response(EVENT), response=origin_response(EVENT), elapsed_ms=elapsed_ms)


def test_running_past_the_timeout_is_cloudfronts_503():
    assert ran_for(30_000).cloudfront_error is None
    past_it = ran_for(30_000.5).cloudfront_error
    assert (past_it.status, past_it.name) == (503, "LambdaLimitExceeded")


@pytest.mark.parametrize(("ran_ms", "timed_out"), [(30_000, False), (30_001, True)])
def test_the_time_the_handler_took_is_held_to_the_timeout_to_the_millisecond(monkeypatch, ran_ms, timed_out):
    clock = [0.0]
    monkeypatch.setattr(runtime.time, "perf_counter", lambda: clock[0])

    def running(event, context):
        clock[0] += ran_ms / 1000
        return origin_response(event)

    assert runtime.invoke(running, EVENT).timed_out is timed_out


def test_an_exception_raised_past_the_timeout_is_cloudfronts_503():
    """Lambda stops the function at 30 s, so it never gets to raise: CloudFront answers for the timeout."""
    raised_late = runtime.Invocation(origin_response(EVENT), error="RuntimeError: too late", elapsed_ms=31_000)
    assert (raised_late.cloudfront_error.status, raised_late.cloudfront_error.name) == (503, "LambdaLimitExceeded")


def test_an_exception_is_cloudfronts_500_with_the_traceback():
    def failing(event, context):
        raise RuntimeError("boom")

    invocation = runtime.invoke(failing, EVENT)
    failure = invocation.cloudfront_error
    assert (failure.status, failure.name) == (500, "LambdaExecutionError")
    assert "RuntimeError: boom" in invocation.error
    assert failure.details == ("the function raised an exception", invocation.error)
    assert not invocation.passed_through


def test_a_response_that_breaks_a_rule_is_cloudfronts_502_with_the_rule():
    invocation = runtime.invoke(lambda event, context: {"status": "999"}, EVENT)
    failure = invocation.cloudfront_error
    assert (failure.status, failure.name) == (502, "LambdaValidationError")
    assert any(detail.startswith(f"{validate.STATUS}: ") for detail in failure.details)


def test_the_origins_response_returned_untouched_passes_through():
    invocation = runtime.invoke(lambda event, context: origin_response(event), EVENT)
    assert invocation.passed_through and invocation.cloudfront_error is None


def test_the_origins_response_is_kept_as_it_came_even_if_the_handler_edits_it():
    def editing(event, context):
        response = origin_response(event)
        response["status"] = "200"
        return response

    invocation = runtime.invoke(editing, EVENT)
    assert invocation.origin_response["status"] == "404" and not invocation.passed_through


@pytest.mark.parametrize(("response", "body"), [
    ({"body": "aGk=", "bodyEncoding": "base64"}, b"hi"),
    ({"body": "hi", "bodyEncoding": "text"}, b"hi"),
    ({"body": "hé"}, "hé".encode()),  # text is the default encoding
    ({}, None),
], ids=["base64", "text", "no-encoding", "no-body"])
def test_a_body_is_read_as_its_encoding_says(response, body):
    assert runtime.body_bytes(response) == body
