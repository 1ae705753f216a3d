"""The handler end to end: the pass-through gate, and every shipped event (events/*.json) against moto S3.

The miss path's own outcomes are in test_miss.py."""

import json
import subprocess
import sys

import pytest

from edge.handler import handler, is_rendition_path
from imaging import EVENTS, Context, body_image, encoded, gradient, load_event, miss_event, origin_response

# --- pass-through ------------------------------------------------------------


@pytest.mark.parametrize("name", ["hit-200-passthrough.json", "not-ours-404-passthrough.json"])
def test_pass_through_returns_the_origin_response_untouched(name):
    event = load_event(name)
    before = json.dumps(origin_response(event), sort_keys=True)
    result = handler(event, Context())
    assert result is origin_response(event)
    assert json.dumps(result, sort_keys=True) == before


@pytest.mark.parametrize("status", ["200", "206", "304", "400", "500", "503"])
def test_only_403_and_404_are_misses(status):
    event = miss_event("/640x/photos/cat.jpg", status=status)
    assert handler(event) is origin_response(event)


@pytest.mark.parametrize(
    ("uri", "ours"),
    [
        ("/640x/a.jpg", True), ("/x480/a.jpg", True), ("/0x0/a.jpg", True), ("/9", True),
        ("/%36%34%30x/a.jpg", True), ("/x%34/a", True),
        ("/", False), ("/about.html", False), ("/x/a.jpg", False), ("/xa/a.jpg", False),
        ("/photos/640x/a.jpg", False), ("/X480/a.jpg", False), ("/%E2%91%A0x/a.jpg", False),
        # Not UTF-8: decided all the same (only a spec's own parse makes that a 400), never an exception.
        ("/%FF640x/a.jpg", False), ("/6%FF40x/a.jpg", True), ("/x%FF4/a.jpg", False),
    ],
)
def test_which_paths_are_ours(uri, ours):
    assert is_rendition_path(uri) is ours


@pytest.mark.parametrize(
    ("events", "statuses"),
    [
        (["hit-200-passthrough.json", "not-ours-404-passthrough.json"], ["200", "404"]),
        # A bad request is answered before the engine and S3 are needed, so a fresh container does not load them.
        (["malformed-spec-400.json"], ["400"]),
    ],
)
def test_imports_neither_pillow_nor_the_resizer_nor_boto3(events, statuses):
    code = (
        "import json, sys; from edge.handler import handler;"
        f"statuses = [handler(json.load(open('events/' + name)), None)['status'] for name in {events!r}];"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('PIL', 'cykooz_resizer', 'boto3', 'botocore'));"
        "print(json.dumps([statuses, heavy]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=EVENTS.parent)
    assert json.loads(result.stdout.splitlines()[-1]) == [statuses, []]  # after the miss log line


# --- the shipped events -----------------------------------------------------


def test_the_shipped_unicode_event(put_original, stored):
    put_original("news/2026/front page été+1.jpg", encoded(gradient((800, 600)), "JPEG"))
    response = handler(load_event("miss-404-unicode-key.json"), Context())
    assert response["status"] == "200"
    assert body_image(response).size == (640, 480)
    assert list(stored()) == ["x480/news/2026/front page été+1.jpg"]


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("miss-404-resize.json", "200"),
        ("miss-403-oac-cover-webp.json", "200"),
        ("miss-404-head.json", "200"),
        ("miss-404-unicode-key.json", "404"),  # its original is not seeded here
        ("hit-200-passthrough.json", "200"),
        ("not-ours-404-passthrough.json", "404"),
        ("malformed-spec-400.json", "400"),
        ("missing-original-404.json", "404"),
    ],
)
def test_every_shipped_event(cat, name, status):
    assert handler(load_event(name), Context())["status"] == status


def test_every_shipped_event_is_covered():
    names = {path.name for path in EVENTS.glob("*.json")}
    assert names == {
        "miss-404-resize.json", "miss-403-oac-cover-webp.json", "miss-404-head.json", "miss-404-unicode-key.json",
        "hit-200-passthrough.json", "not-ours-404-passthrough.json", "malformed-spec-400.json",
        "missing-original-404.json",
    }
