import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ops import purge
from ops_aws import Overriding

STACK, ORIGINALS, DERIVATIVES = "image-cdn", "originals", "derivatives"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


@pytest.fixture
def cdn():
    """moto with the stack's buckets, distribution and outputs; yields the distribution's id."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in (ORIGINALS, DERIVATIVES):
            s3.create_bucket(Bucket=bucket)
        origin = {"Id": "s3", "DomainName": f"{DERIVATIVES}.s3.amazonaws.com", "S3OriginConfig": {
            "OriginAccessIdentity": ""}}
        distribution = boto3.client("cloudfront").create_distribution(DistributionConfig={
            "CallerReference": "cdn", "Comment": "", "Enabled": True, "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "https-only",
                                     "CachePolicyId": CACHING_OPTIMIZED}})["Distribution"]["Id"]
        template = {"Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}}, "Outputs": {
            "DerivativesBucketName": {"Value": DERIVATIVES}, "DistributionId": {"Value": distribution},
            "OriginalsBucketName": {"Value": ORIGINALS}}}
        boto3.client("cloudformation", region_name="us-east-1").create_stack(
            StackName=STACK, TemplateBody=json.dumps(template))
        yield distribution


def store(bucket: str, *keys: str) -> None:
    for key in keys:
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=b"image")


def stored(bucket: str) -> list[str]:
    return sorted(item["Key"] for item in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []))


def invalidated(distribution: str) -> list[list[str]]:
    """Each invalidation's paths, oldest first."""
    cloudfront = boto3.client("cloudfront")
    listed = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"].get("Items", [])
    batches = [cloudfront.get_invalidation(DistributionId=distribution, Id=item["Id"])["Invalidation"]
               for item in listed]
    return [batch["InvalidationBatch"]["Paths"]["Items"] for batch in sorted(batches, key=lambda b: b["CreateTime"])]


# Beside photos/cat.jpg's derivatives; 320x holds a key that begins with one of its derivative keys but no derivative.
OTHERS = ("640x/archive/photos/cat.jpg", "320x/photos/cat.jpg.bak", "640x/photos/dog.jpg", "320x/photos/dog.jpg")


def test_every_derivative_of_the_original_goes_and_its_url_at_every_spec_is_invalidated(cdn, capsys):
    store(ORIGINALS, "photos/cat.jpg")
    store(DERIVATIVES, "640x/photos/cat.jpg", "300x300,cover,webp/photos/cat.jpg", *OTHERS)
    assert purge.main(["photos/cat.jpg"]) == 0
    assert stored(DERIVATIVES) == sorted(OTHERS)
    # 320x too: a copy the bucket's lifecycle expired may still be at the edges.
    assert invalidated(cdn) == [["/300x300,cover,webp/photos/cat.jpg", "/320x/photos/cat.jpg", "/640x/photos/cat.jpg"]]
    assert capsys.readouterr().out.splitlines() == [
        "photos/cat.jpg: stored at 2 of the bucket's 3 specs; the original is there: each URL renders it again when"
        " next asked for",
        "  300x300,cover,webp/photos/cat.jpg",
        "  640x/photos/cat.jpg",
        f"deleted 2 from {DERIVATIVES}",
        f"invalidating 3 paths, every spec as pages spell it, in {cdn} ({invalidated_ids(cdn)[0]}); edges drop them"
        " within minutes",
    ]


def invalidated_ids(distribution: str) -> list[str]:
    listed = boto3.client("cloudfront").list_invalidations(DistributionId=distribution)["InvalidationList"]
    return [item["Id"] for item in listed.get("Items", [])]


@pytest.mark.parametrize(("key", "paths"), [
    ("photos/cat.jpg", {"/640x/photos/cat.jpg"}),
    ("news/2026/a+b photo (1)\u00e9.jpg", {
        "/640x/news/2026/a%2Bb%20photo%20(1)%C3%A9.jpg", "/640x/news/2026/a%2Bb+photo+(1)%C3%A9.jpg",  # JavaScript's
        "/640x/news/2026/a%2Bb%20photo%20%281%29%C3%A9.jpg", "/640x/news/2026/a%2Bb+photo+%281%29%C3%A9.jpg",
    }),
    ("a?b#c.jpg", {"/640x/a%3Fb%23c.jpg"}),
    ("x/a*b.jpg", {"/640x/x/a*"}),  # a raw * is a wildcard, %2A matches nothing: a wildcard cut before either
    ("it's~.jpg", {"/640x/it's*", "/640x/it%27s*"}),
])
def test_a_derivative_is_invalidated_by_each_spelling_a_page_may_use(key, paths):
    assert purge.viewer_paths("640x", key) == paths


def test_several_originals_at_once_and_one_never_stored(cdn, capsys):
    store(DERIVATIVES, "640x/a.jpg", "640x/b c.png", "640x/kept.jpg")
    assert purge.main(["a.jpg", "b c.png", "none.gif"]) == 0
    assert stored(DERIVATIVES) == ["640x/kept.jpg"]
    assert invalidated(cdn) == [["/640x/a.jpg", "/640x/b%20c.png", "/640x/b+c.png", "/640x/none.gif"]]
    out = capsys.readouterr().out.splitlines()
    assert "none.gif: stored at 0 of the bucket's 1 specs; the original is gone: its URLs will answer 404" in out


def test_a_dry_run_says_what_would_go_and_changes_nothing(cdn, capsys):
    store(DERIVATIVES, "640x/photos/cat.jpg", "320x/photos/cat.jpg")
    assert purge.main(["photos/cat.jpg", "--dry-run"]) == 0
    assert stored(DERIVATIVES) == ["320x/photos/cat.jpg", "640x/photos/cat.jpg"]
    assert invalidated(cdn) == []
    assert capsys.readouterr().out.splitlines()[-1] == "dry run: nothing deleted, 2 paths not invalidated"


def test_an_empty_bucket_is_nothing_to_purge(cdn, capsys):
    assert purge.main(["photos/cat.jpg"]) == 0
    assert invalidated(cdn) == []
    assert capsys.readouterr().out.splitlines()[-1] == "nothing to purge: the derivatives bucket is empty"


def test_many_derivatives_are_deleted_and_invalidated_in_batches_within_aws_limits(cdn, monkeypatch):
    monkeypatch.setattr(purge, "DELETED_AT_ONCE", 2)
    monkeypatch.setattr(purge, "MOST_PATHS_IN_PROGRESS", 3)
    monkeypatch.setattr(purge, "INVALIDATION_POLL_SECONDS", 0)
    looked_at = []

    def get_invalidation(client, **arguments):
        """moto's status is COMPLETED, where CloudFront's, which botocore's waiter waits for, is Completed."""
        looked_at.append(arguments["Id"])
        found = client.__class__.get_invalidation(client, **arguments)
        return {**found, "Invalidation": {**found["Invalidation"], "Status": "Completed"}}

    specs = [f"{width}x" for width in range(100, 105)]
    store(DERIVATIVES, *(f"{spec}/cat.jpg" for spec in specs))
    assert purge.main(["cat.jpg"], session=Overriding("cloudfront", get_invalidation=get_invalidation)) == 0
    assert stored(DERIVATIVES) == []
    assert invalidated(cdn) == [[f"/{spec}/cat.jpg" for spec in specs[:3]], [f"/{spec}/cat.jpg" for spec in specs[3:]]]
    assert looked_at == invalidated_ids(cdn)[:1]  # the second batch waited for the first to complete


def test_a_batch_holds_no_more_wildcards_than_may_be_in_progress(monkeypatch):
    monkeypatch.setattr(purge, "MOST_WILDCARDS_IN_PROGRESS", 2)
    assert list(purge.batches(["/a*", "/b", "/c*", "/d*", "/e", "/f*"])) == [["/a*", "/b", "/c*"], ["/d*", "/e", "/f*"]]


def refused_deletes(client, Bucket, Delete):
    return {"Errors": [{"Key": item["Key"], "Code": "AccessDenied"} for item in Delete["Objects"]]}


def refused_look(client, **_):
    raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")


def test_a_derivative_not_deleted_stops_the_purge_before_any_invalidation(cdn, capsys):
    store(DERIVATIVES, "640x/cat.jpg")
    assert purge.main(["cat.jpg"], session=Overriding("s3", delete_objects=refused_deletes)) == 1
    assert invalidated(cdn) == []
    assert capsys.readouterr().err == "error: not deleted, so nothing invalidated: 640x/cat.jpg: AccessDenied\n"


def test_an_original_that_cannot_be_looked_at_is_said_so_and_the_purge_goes_on(cdn, capsys):
    store(DERIVATIVES, "640x/cat.jpg")
    assert purge.main(["cat.jpg"], session=Overriding("s3", head_object=refused_look)) == 0
    assert stored(DERIVATIVES) == []
    assert capsys.readouterr().out.startswith(
        "cat.jpg: stored at 1 of the bucket's 1 specs; the original could not be looked at (Forbidden)\n")


def refused_invalidation(client, **_):
    raise ClientError({"Error": {"Code": "TooManyInvalidationsInProgress", "Message": "Too many"}},
                      "CreateInvalidation")


def test_a_purge_whose_invalidation_failed_invalidates_when_run_again(cdn, capsys):
    store(DERIVATIVES, "640x/cat.jpg", "640x/dog.jpg", "320x/dog.jpg")
    failing = Overriding("cloudfront", create_invalidation=refused_invalidation)
    assert purge.main(["cat.jpg"], session=failing) == 1
    assert (stored(DERIVATIVES), invalidated(cdn)) == (["320x/dog.jpg", "640x/dog.jpg"], [])
    assert capsys.readouterr().err.endswith("the derivatives are deleted, and the same command invalidates their URLs"
                                            " when run again\n")
    assert purge.main(["cat.jpg"]) == 0
    assert invalidated(cdn) == [["/320x/cat.jpg", "/640x/cat.jpg"]]


def test_a_missing_stack_is_a_clear_error(capsys):
    with mock_aws():
        assert purge.main(["cat.jpg", "--stack", "elsewhere"]) == 1
    assert capsys.readouterr().err.startswith("error: no stack 'elsewhere' in us-east-1: ")


def test_a_stack_that_is_not_this_projects_is_named(capsys):
    with mock_aws():
        boto3.client("cloudformation", region_name="us-east-1").create_stack(StackName="other", TemplateBody=json.dumps(
            {"Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"DistributionId": {"Value": "E1"}}}))
        assert purge.main(["cat.jpg", "--stack", "other"]) == 1
    assert capsys.readouterr().err == ("error: stack 'other' has no output DerivativesBucketName, OriginalsBucketName:"
                                       " is it this project's?\n")
