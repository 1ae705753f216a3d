import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ops import purge

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


OTHERS = ("640x/archive/photos/cat.jpg", "640x/photos/cat.jpg.bak", "640x/photos/dog.jpg", "photos/cat.jpg")


def test_every_derivative_of_the_original_goes_and_its_urls_are_invalidated(cdn, capsys):
    store(ORIGINALS, "photos/cat.jpg")
    store(DERIVATIVES, "640x/photos/cat.jpg", "300x300,cover,webp/photos/cat.jpg", *OTHERS)
    assert purge.main(["photos/cat.jpg"]) == 0
    assert stored(DERIVATIVES) == sorted(OTHERS)
    assert invalidated(cdn) == [["/300x300,cover,webp/photos/cat.jpg", "/640x/photos/cat.jpg"]]
    assert capsys.readouterr().out.splitlines() == [
        "photos/cat.jpg: 2 derivatives stored; the original is there: each URL renders it again when next asked for",
        "  300x300,cover,webp/photos/cat.jpg",
        "  640x/photos/cat.jpg",
        f"deleted 2 from {DERIVATIVES}",
        f"invalidating 2 paths in {cdn} ({invalidated_ids(cdn)[0]}); edges drop them within minutes",
    ]


def invalidated_ids(distribution: str) -> list[str]:
    listed = boto3.client("cloudfront").list_invalidations(DistributionId=distribution)["InvalidationList"]
    return [item["Id"] for item in listed.get("Items", [])]


@pytest.mark.parametrize(("key", "paths"), [
    ("photos/cat.jpg", ["/640x/photos/cat.jpg"]),
    ("news/2026/a+b photo (1)\u00e9.jpg", ["/640x/news/2026/a%2Bb%20photo%20%281%29%C3%A9.jpg",  # Python's quote
                                            "/640x/news/2026/a%2Bb%20photo%20(1)%C3%A9.jpg"]),  # encodeURIComponent
    ("a*b?c#d.jpg", ["/640x/a%2Ab%3Fc%23d.jpg"]),  # a raw * would be a wildcard mid-path: CloudFront refuses it
    ("it's~.jpg", ["/640x/it%27s~.jpg", "/640x/it's~.jpg"]),
])
def test_a_derivative_is_invalidated_by_each_spelling_a_page_may_use(key, paths):
    assert purge.viewer_paths(f"640x/{key}") == paths


def test_several_originals_at_once_and_one_without_derivatives(cdn, capsys):
    store(DERIVATIVES, "640x/a.jpg", "640x/b c.png", "640x/kept.jpg")
    assert purge.main(["a.jpg", "b c.png", "none.gif"]) == 0
    assert stored(DERIVATIVES) == ["640x/kept.jpg"]
    assert invalidated(cdn) == [["/640x/a.jpg", "/640x/b%20c.png"]]
    out = capsys.readouterr().out.splitlines()
    assert "none.gif: 0 derivatives stored; the original is gone: its URLs will answer 404" in out
    assert "b c.png: 1 derivative stored; the original is gone: its URLs will answer 404" in out


def test_a_dry_run_says_what_would_go_and_changes_nothing(cdn, capsys):
    store(DERIVATIVES, "640x/photos/cat.jpg", "320x/photos/cat.jpg")
    assert purge.main(["photos/cat.jpg", "--dry-run"]) == 0
    assert stored(DERIVATIVES) == ["320x/photos/cat.jpg", "640x/photos/cat.jpg"]
    assert invalidated(cdn) == []
    assert capsys.readouterr().out.splitlines()[-1] == "dry run: nothing deleted, 2 paths not invalidated"


def test_nothing_stored_is_nothing_to_purge(cdn, capsys):
    store(DERIVATIVES, *OTHERS)
    assert purge.main(["photos/cat.jpg"]) == 0
    assert (stored(DERIVATIVES), invalidated(cdn)) == (sorted(OTHERS), [])
    assert capsys.readouterr().out.splitlines()[-1] == "nothing to purge"


def test_many_derivatives_are_deleted_and_invalidated_in_batches_within_aws_limits(cdn, monkeypatch):
    monkeypatch.setattr(purge, "DELETED_AT_ONCE", 2)
    monkeypatch.setattr(purge, "INVALIDATED_AT_ONCE", 3)
    specs = [f"{width}x" for width in range(100, 105)]
    store(DERIVATIVES, *(f"{spec}/cat.jpg" for spec in specs))
    assert purge.main(["cat.jpg"]) == 0
    assert stored(DERIVATIVES) == []
    assert invalidated(cdn) == [[f"/{spec}/cat.jpg" for spec in specs[:3]], [f"/{spec}/cat.jpg" for spec in specs[3:]]]


class Overriding:
    """A session whose S3 client answers some calls itself, as under a bucket policy that refuses them."""

    def __init__(self, **calls):
        self.calls, self.session = calls, boto3.Session()

    def client(self, service: str, region_name: str):
        client = self.session.client(service, region_name=region_name)
        if service == "s3":
            for name, call in self.calls.items():
                setattr(client, name, call)
        return client


def refused_deletes(Bucket, Delete):
    return {"Errors": [{"Key": item["Key"], "Code": "AccessDenied"} for item in Delete["Objects"]]}


def refused_look(**_):
    raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")


def test_a_derivative_not_deleted_stops_the_purge_before_any_invalidation(cdn, capsys):
    store(DERIVATIVES, "640x/cat.jpg")
    assert purge.main(["cat.jpg"], session=Overriding(delete_objects=refused_deletes)) == 1
    assert invalidated(cdn) == []
    assert capsys.readouterr().err == "error: not deleted, so nothing invalidated: 640x/cat.jpg: AccessDenied\n"


def test_an_original_that_cannot_be_looked_at_is_said_so_and_the_purge_goes_on(cdn, capsys):
    store(DERIVATIVES, "640x/cat.jpg")
    assert purge.main(["cat.jpg"], session=Overriding(head_object=refused_look)) == 0
    assert stored(DERIVATIVES) == []
    assert capsys.readouterr().out.startswith(
        "cat.jpg: 1 derivative stored; the original could not be looked at (Forbidden)\n")


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
