"""`make invoke`: the Docker-free `sam local invoke` works on every shipped event, out of the box."""

import base64
import json
import re

import pytest
from PIL import Image

from edge.event import Headers, S3Origin
from imaging import EVENTS, animation, encoded, gradient, origin_response
from local import invoke, samples

# What the function answers for each shipped event; an event added later must at least pass the rules.
EXPECTED_STATUS = {
    "hit-200-passthrough.json": "200",
    "malformed-spec-400.json": "400",
    "miss-403-oac-cover-webp.json": "200",
    "miss-404-head.json": "200",
    "miss-404-resize.json": "200",
    "miss-404-unicode-key.json": "200",
    "missing-original-404.json": "404",
    "not-ours-404-passthrough.json": "404",
}


@pytest.mark.parametrize("event", sorted(EVENTS.glob("*.json")), ids=lambda path: path.name)
def test_every_shipped_event_runs_and_its_response_passes_the_rules(event, capsys):
    assert invoke.main([str(event)]) == 0
    report = capsys.readouterr().out
    assert "rules:    pass" in report
    if event.name in EXPECTED_STATUS:
        assert f"status:   {EXPECTED_STATUS[event.name]} " in report


def test_the_body_is_written_decoded_and_the_derivative_reported_stored(tmp_path, capsys):
    out = tmp_path / "cat.jpg"
    assert invoke.main([str(EVENTS / "miss-404-resize.json"), "--out", str(out)]) == 0
    report = capsys.readouterr().out
    assert Image.open(out).size == (640, 800)
    assert "body:     " in report and "JPEG 640×800" in report
    assert "stored:   640x/photos/cat.jpg (image/jpeg" in report
    # The function's own log line, as it prints it, where the command puts what the function logged
    assert re.search(r'^log:      \{"uri": "/640x/photos/cat\.jpg", .*"status": 200\b', report, re.MULTILINE)


def event_file(tmp_path, edit) -> str:
    """miss-404-resize.json, as `edit` changes its CloudFront record, in a file."""
    event = json.loads((EVENTS / "miss-404-resize.json").read_text(encoding="utf-8"))
    edit(event["Records"][0]["cf"])
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("bucket", "status"), [
    ("  image-cdn-originals ", "200"),  # spaces are the function's to strip: the bucket is the same
    ("Bad_Bucket!", "500"),  # a name botocore refuses: the function answers 500 misconfigured, not a traceback
    ("ab", "500"),  # a name botocore sends and S3 refuses: the same
])
def test_the_buckets_are_read_from_the_event_as_the_function_reads_them(tmp_path, capsys, bucket, status):
    def rename(cf):
        (entry,) = cf["request"]["origin"]["s3"]["customHeaders"]["x-originals-bucket"]
        entry["value"] = bucket

    assert invoke.main([event_file(tmp_path, rename)]) == 0
    assert f"status:   {status} " in capsys.readouterr().out


def test_buckets_named_in_the_event_are_the_ones_seeded():
    headers = Headers.from_cloudfront({"x-originals-bucket": [{"key": "X-Originals-Bucket", "value": "my-originals"}]})
    origin = S3Origin("my-derivatives.s3.eu-west-1.amazonaws.com", "eu-west-1", "", headers)
    assert invoke.event_buckets(origin) == invoke.Buckets("my-originals", "my-derivatives", "eu-west-1")


def test_an_origin_the_function_finds_misconfigured_is_its_500_not_a_traceback(tmp_path, capsys):
    path = event_file(tmp_path, lambda cf: cf["request"]["origin"]["s3"].update(path="/images"))
    assert invoke.main([path]) == 0
    report = capsys.readouterr().out
    assert "status:   500 " in report and "rules:    pass" in report and "Traceback" not in report


def test_a_response_cloudfront_refuses_fails_the_command(monkeypatch, capsys):
    monkeypatch.setattr(invoke, "edge_handler", lambda event, context: {"status": "999"})
    assert invoke.main([str(EVENTS / "miss-404-resize.json")]) == 1
    report = capsys.readouterr().out.splitlines()
    assert "rules:    FAIL: CloudFront answers 502 LambdaValidationError instead" in report
    assert "          - status: status must be 200 to 599, got '999'" in report  # each broken rule, as the 502 names it


def test_a_response_that_is_not_an_object_is_shown_as_it_is_and_fails_the_command(monkeypatch, capsys):
    monkeypatch.setattr(invoke, "edge_handler", lambda event, context: None)
    assert invoke.main([str(EVENTS / "miss-404-resize.json")]) == 1
    report = capsys.readouterr().out.splitlines()
    assert "response: None" in report
    assert "rules:    FAIL: CloudFront answers 502 LambdaValidationError instead" in report


def test_a_text_body_is_previewed_in_its_first_200_characters():
    body = "a" * 200 + "b" * 100
    assert invoke.describe_body({"body": body}) == f"300 bytes of text: {'a' * 200!r}"


def test_a_base64_body_that_is_no_image_is_said_so():
    assert invoke.describe_body({"body": "aGk=", "bodyEncoding": "base64"}) == (
        "2 bytes (base64 in the response: 4 characters), not an image")


@pytest.mark.parametrize(("data", "shown"), [
    (encoded(gradient((64, 48)), "JPEG"), "JPEG 64×48"),  # a format without frames
    (animation("GIF", frame_count=1), "GIF 64×48"),
    (animation("GIF", frame_count=2), "GIF 64×48, 2 frames"),
], ids=["jpeg", "still-gif", "animated-gif"])
def test_an_image_body_is_summarised_with_its_format_size_and_frames_if_more_than_one(data, shown):
    body = base64.b64encode(data).decode()
    assert invoke.describe_body({"body": body, "bodyEncoding": "base64"}) == (
        f"{len(data):,} bytes (base64 in the response: {len(body):,} characters), {shown}")


def test_a_header_entry_that_is_not_an_object_is_left_out_of_the_report_not_a_traceback(monkeypatch, capsys):
    def malformed(event, context):
        response = origin_response(event)
        response["headers"]["x-broken"] = ["not an object", {"key": "X-Broken", "value": "kept"}]
        return response

    monkeypatch.setattr(invoke, "edge_handler", malformed)
    assert invoke.main([str(EVENTS / "miss-404-resize.json")]) == 1
    report = capsys.readouterr().out.splitlines()
    listed = report[report.index("headers:") + 1:report.index("body:     none")]
    assert listed[-1] == "  X-Broken: kept"  # the entry that is no object is left to the rules, which name it
    assert "rules:    FAIL: CloudFront answers 502 LambdaValidationError instead" in report


def test_your_aws_profile_is_not_used_for_the_in_process_s3(monkeypatch, capsys):
    """conftest.py unsets AWS_PROFILE; a developer's shell may name one this machine does not even have."""
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    assert invoke.main([str(EVENTS / "miss-404-resize.json")]) == 0
    assert "status:   200 " in capsys.readouterr().out


def test_the_help_says_what_the_command_does(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps no line then (it would break Docker-free at its hyphen)
    with pytest.raises(SystemExit) as exit_:
        invoke.main(["--help"])
    assert exit_.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "Run the function on one event file, the Docker-free twin of `sam local invoke`." in help_text


def test_a_function_that_raises_fails_the_command(monkeypatch, capsys):
    def failing(event, context):
        raise RuntimeError("boom")

    monkeypatch.setattr(invoke, "edge_handler", failing)
    assert invoke.main([str(EVENTS / "miss-404-resize.json")]) == 1
    report = capsys.readouterr().out
    assert "error:    the function raised; CloudFront answers 500 LambdaExecutionError" in report
    assert "RuntimeError: boom" in report


def test_out_writes_nothing_for_a_response_without_a_body(tmp_path, capsys):
    out = tmp_path / "body.bin"
    assert invoke.main([str(EVENTS / "hit-200-passthrough.json"), "--out", str(out)]) == 0
    report = capsys.readouterr().out
    assert "  Content-Type: image/jpeg" in report.splitlines()
    assert "pass-through: the origin's response, untouched" in report and "body:     none" in report.splitlines()
    assert f"wrote:    nothing to {out}: the response has no body" in report
    assert not out.exists()


def test_out_naming_a_folder_is_a_one_line_error_after_the_report(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        invoke.main([str(EVENTS / "miss-404-resize.json"), "--out", str(tmp_path)])
    assert exit_.value.code == 1
    printed = capsys.readouterr()
    assert "status:   200 OK" in printed.out and "rules:    pass" in printed.out
    assert printed.err == f"error: cannot write the body to {tmp_path}: Is a directory\n"


def test_out_makes_the_folders_it_names(tmp_path):
    out = tmp_path / "new" / "folder" / "cat.jpg"
    assert invoke.main([str(EVENTS / "miss-404-resize.json"), "--out", str(out)]) == 0
    assert Image.open(out).size == (640, 800)


@pytest.mark.parametrize(("uri", "seeded"), [
    ("/640x/photos/cat.jpg", ["photos/cat.jpg"]),
    ("/x480/news/2026/front+page+%C3%A9t%C3%A9%2B1.jpg", ["news/2026/front page été+1.jpg"]),  # decoded as S3 does
    ("/640x/photos/dog.jpg", []),  # no sample's: the function's 404
    ("/640x,sepia/photos/cat.jpg", []),  # the function's 400 reads no original
    ("/about.html", []),  # not ours
])
def test_only_the_sample_original_the_url_asks_for_is_drawn_and_seeded(uri, seeded):
    assert invoke.asked_originals(uri) == {key: samples.sample_original(key) for key in seeded}


def test_the_missing_original_stays_missing(capsys):
    invoke.main([str(EVENTS / "missing-original-404.json")])
    report = capsys.readouterr().out
    assert "status:   404 " in report
    assert "stored:   nothing" in report


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read {path}: No such file or directory"),
        ("<html>", "{path} is not JSON"),
        (b"\xff\xfe", "{path} is not JSON"),
        ('{"Records": []}', "{path} is not a CloudFront origin-response event"),
        ('{"Records": [{"cf": {"request": {}}}]}', "{path} is not a CloudFront origin-response event"),
        ("[1]", "{path} is not a CloudFront origin-response event"),
        ('{"Records": [{"cf": {"request": {}, "response": {}}}]}', "{path} is not a CloudFront origin-response event"),
        ('{"Records": [{"cf": {"request": {"uri": "/640x/a.jpg", "origin": {"s3": "x"}},'
         ' "response": {"status": "404"}}}]}', "{path} is not a CloudFront origin-response event"),
        ('{"Records": [{"cf": {"request": {"uri": "/640x/a.jpg"}, "response": {"status": "404",'
         ' "headers": {"server": [{"key": "Server"}]}}}}]}',
         "{path} is not a CloudFront origin-response event (ValueError: malformed event: an entry of header 'server'"),
    ],
    ids=["missing", "not-json", "not-utf8", "no-record", "no-response", "a-list", "no-uri", "origin-not-an-object",
         "header-without-value"],
)
def test_a_file_that_is_not_an_event_is_a_usage_error(tmp_path, capsys, content, message):
    path = tmp_path / "event.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as exit_:
        invoke.main([str(path)])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert f"error: {message.format(path=path)}" in error
    assert "Traceback" not in error


def test_local_md_shows_what_make_invoke_prints(capsys):
    """docs/LOCAL.md's sample output: its body, stored and rules lines are the command's own."""
    invoke.main([str(EVENTS / "miss-404-resize.json")])
    printed = capsys.readouterr().out.splitlines()
    documented = (EVENTS.parent / "docs" / "LOCAL.md").read_text(encoding="utf-8").splitlines()
    for prefix in ("body:", "stored:", "rules:"):
        shown = [line for line in documented if line.startswith(prefix)]
        assert shown and all(line in printed for line in shown), prefix
