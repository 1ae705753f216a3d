"""edge/storage.py: reading an original in time, held once. (S3's answers, through moto and
botocore, are tested end to end in tests/test_hostile.py.)"""

import dataclasses
import io
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from edge import storage
from edge.errors import Misconfigured, SourceTooLarge, Unavailable
from imaging import DERIVATIVES, ORIGINALS

ORIGINAL = bytes(range(256)) * (8 << 12) + b"tail"  # 8 MB and a bit: the last piece is short


def test_the_original_is_read_whole_and_held_once():
    tracemalloc.start()
    try:
        data = storage.read_in_time(io.BytesIO(ORIGINAL), len(ORIGINAL), len(ORIGINAL), lambda: True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data == ORIGINAL
    assert peak < 1.05 * len(ORIGINAL)


def test_without_a_length_the_original_is_still_read_whole():
    assert storage.read_in_time(io.BytesIO(ORIGINAL), 0, len(ORIGINAL), lambda: True) == ORIGINAL


def test_a_body_shorter_than_its_length_is_unavailable_not_padded():
    with pytest.raises(Unavailable, match=f"ended after {len(ORIGINAL) - 1} of its {len(ORIGINAL)} bytes"):
        storage.read_in_time(io.BytesIO(ORIGINAL[:-1]), len(ORIGINAL), len(ORIGINAL), lambda: True)


def test_the_time_left_is_checked_after_every_piece():
    looks = iter([True, True, False])
    with pytest.raises(Unavailable, match=f"after {3 * storage.READ_PIECE} bytes"):
        storage.read_in_time(io.BytesIO(ORIGINAL), len(ORIGINAL), len(ORIGINAL), lambda: next(looks))


@pytest.mark.parametrize("declared", [0, 1000], ids=["no-length", "a-shorter-length"])
def test_a_body_longer_than_the_limit_stops_there_whatever_it_declared(declared):
    with pytest.raises(SourceTooLarge, match="over 1000 bytes"):
        storage.read_in_time(io.BytesIO(ORIGINAL), declared, 1000, lambda: True)


class HeadChecks:
    """A head check that records the length of every head it is shown, answering from a script."""

    def __init__(self, *answers):
        self.seen: list[int] = []
        self._answers = iter(answers)

    def __call__(self, head: bytes) -> bool:
        self.seen.append(len(head))
        assert head == ORIGINAL[: len(head)]
        answer = next(self._answers, False)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_refusal_from_the_head_check_ends_the_read_after_that_piece():
    body = io.BytesIO(ORIGINAL)
    check = HeadChecks(False, SourceTooLarge("over"))
    with pytest.raises(SourceTooLarge, match="over"):
        storage.read_in_time(body, len(ORIGINAL), len(ORIGINAL), lambda: True, check)
    assert check.seen == [storage.READ_PIECE, 2 * storage.READ_PIECE]
    assert body.tell() == 2 * storage.READ_PIECE  # nothing more was downloaded


def test_the_head_check_stops_once_it_has_decided():
    check = HeadChecks(False, True)
    assert storage.read_in_time(io.BytesIO(ORIGINAL), len(ORIGINAL), len(ORIGINAL), lambda: True, check) == ORIGINAL
    assert check.seen == [storage.READ_PIECE, 2 * storage.READ_PIECE]


def test_the_head_check_runs_each_time_the_head_has_doubled_and_gives_up_after_head_bytes():
    check = HeadChecks()  # never decides
    assert storage.read_in_time(io.BytesIO(ORIGINAL), len(ORIGINAL), len(ORIGINAL), lambda: True, check) == ORIGINAL
    assert check.seen == [storage.READ_PIECE * 2**doublings for doublings in range(5)]
    assert check.seen[-1] == storage.HEAD_BYTES


def test_an_original_read_in_one_piece_skips_the_head_check():
    small = ORIGINAL[: storage.READ_PIECE // 2]
    check = HeadChecks(SourceTooLarge("not asked"))
    assert storage.read_in_time(io.BytesIO(small), len(small), len(small), lambda: True, check) == small
    assert check.seen == []


def test_a_warm_container_keeps_a_bounded_number_of_clients():
    storage.forget_clients()
    for region in ("us-east-1", "eu-west-1", "eu-west-2", "eu-west-3", "ap-south-1", "sa-east-1", "us-east-1"):
        storage.s3_client(region)
    assert storage._client.cache_info().currsize == storage.MAX_CLIENTS
    storage.forget_clients()


def test_one_client_whether_the_endpoint_flags_are_given_or_left_out():
    storage.forget_clients()
    assert storage.s3_client("eu-west-1") is storage.s3_client("eu-west-1", fips=False, dualstack=False)
    assert storage.s3_client("eu-west-1", fips=True) is not storage.s3_client("eu-west-1")
    storage.forget_clients()


def test_the_clients_retry_in_standard_mode_whatever_botocores_default():
    """In a fresh interpreter: the first client botocore builds writes its default mode into the shared config's
    retries, in place, so a test in this process would see a mode the config never named."""
    code = "from edge import storage; print(storage.s3_client('eu-west-1').meta.config.retries)"
    env = dict(os.environ, AWS_RETRY_MODE="legacy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                            cwd=Path(__file__).parent.parent)
    assert result.stdout == "{'mode': 'standard', 'total_max_attempts': 2}\n"


def test_forgetting_the_clients_makes_the_next_request_build_its_own():
    """How the local emulator points the function at another S3: a client kept from before is not reused."""
    storage.forget_clients()
    kept = storage.s3_client("eu-west-1")
    storage.forget_clients()
    assert storage.s3_client("eu-west-1") is not kept
    storage.forget_clients()


def test_a_warm_container_sets_if_none_match_once_per_put(s3, monkeypatch):
    """Every miss of a warm container stores through the same client: its hook is added once, not once more
    for each derivative stored before (a list that would grow, and run, with every PUT)."""
    hooked = []
    real_hook = storage._if_none_match

    def counted(request, **kwargs):
        hooked.append(request.url)
        real_hook(request, **kwargs)

    monkeypatch.setattr(storage, "_if_none_match", counted)
    store = storage.Storage(ORIGINALS, DERIVATIVES, s3, s3)
    for name in ("a", "b", "c"):
        assert store.write_derivative(f"640x/{name}.jpg", b"jpeg", "image/jpeg", "max-age=1").created
    assert len(hooked) == 3


@pytest.mark.parametrize(("code", "error"), [
    ("SlowDown", Unavailable), ("InternalError", Unavailable), ("AccessDenied", Misconfigured),
    ("NoSuchBucket", Misconfigured),
])
def test_a_failed_put_other_than_a_conflict_is_sent_once(s3, monkeypatch, code, error):
    """Only a 409 asks for the PUT again; botocore has already retried what can be retried."""
    sent = []

    def failing(**kwargs):
        sent.append(kwargs["Key"])
        raise ClientError({"Error": {"Code": code, "Message": "x"}}, "PutObject")

    monkeypatch.setattr(s3, "put_object", failing)
    store = storage.Storage(ORIGINALS, DERIVATIVES, s3, s3)
    with pytest.raises(error, match=f"^PutObject failed: {code}$"):
        store.write_derivative("640x/cat.jpg", b"jpeg", "image/jpeg", "max-age=1")
    assert sent == ["640x/cat.jpg"]


def test_the_buckets_of_a_storage_cannot_be_changed_after_they_were_checked():
    """That originals and derivatives differ, checked when the storage is made, holds for its whole life."""
    store = storage.Storage(ORIGINALS, DERIVATIVES, object(), object())
    with pytest.raises(dataclasses.FrozenInstanceError):
        store.derivatives_bucket = ORIGINALS


def test_what_a_put_did_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        storage.Stored(created=True, etag='"abc"').created = False


def test_a_warm_container_keeps_four_clients_and_drops_the_least_recently_used():
    """Four: the originals' and the derivatives' region, and both again after a redeploy names others."""
    storage.forget_clients()
    regions = ("us-east-1", "eu-west-1", "eu-west-2", "eu-west-3")
    kept = [storage.s3_client(region) for region in regions]
    assert all(storage.s3_client(region) is client for region, client in zip(regions, kept))
    storage.s3_client("ap-south-1")  # a fifth: us-east-1's, the least recently used, is dropped
    assert storage.s3_client("us-east-1") is not kept[0]
    storage.forget_clients()
