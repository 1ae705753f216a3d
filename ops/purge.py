"""Take an original's derivatives out of the CDN: delete every one stored, then invalidate their URLs at the edges.

    python -m ops.purge KEY [KEY ...] [--stack image-cdn] [--dry-run]

KEY is an original's key (photos/cat.jpg). Its derivatives are the objects of the derivatives bucket stored under
<spec>/KEY, whatever the spec; each is deleted, then its URL is invalidated in CloudFront, as a page spells it
(each segment of the key percent-encoded as README.md says, both as encodeURIComponent and as Python's quote do).
Deleted first: an edge that missed between the two would otherwise fetch the stored copy again.

To replace a picture, upload the new original first, then purge: a request in between would render the old one
again. To take one down, delete the original first: its URLs then answer 404.
"""

import argparse
import sys
import time
from collections.abc import Iterable
from urllib.parse import quote

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ops.stack import DEFAULT_STACK, EDGE_REGION, Failed, outputs, reason

# template.yaml's outputs
DERIVATIVES_OUTPUT, DISTRIBUTION_OUTPUT = "DerivativesBucketName", "DistributionId"
ORIGINALS_OUTPUT = "OriginalsBucketName"
DELETED_AT_ONCE = 1000  # DeleteObjects' limit
INVALIDATED_AT_ONCE = 3000  # CreateInvalidation's limit on paths in one batch, without wildcards
# What each way of encoding a segment leaves as it is, beyond letters and digits. `*` is always encoded: in an
# invalidation path it is a wildcard, allowed only at its end.
ENCODE_URI_COMPONENT_SAFE, PYTHON_QUOTE_SAFE = "-_.!~'()", "-_.~"


def derivative_keys(s3, bucket: str, originals: Iterable[str]) -> dict[str, list[str]]:
    """Each original's derivative keys in the bucket: <spec>/<original key>, the spec being the first segment."""
    found: dict[str, list[str]] = {original: [] for original in originals}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            spec, _, original = item["Key"].partition("/")
            if original in found:
                found[original].append(item["Key"])
    return found


def viewer_paths(derivative_key: str) -> list[str]:
    """The URL paths a page may ask for this derivative by."""
    spec, _, original = derivative_key.partition("/")
    return sorted({f"/{spec}/" + "/".join(quote(segment, safe=safe) for segment in original.split("/"))
                   for safe in (ENCODE_URI_COMPONENT_SAFE, PYTHON_QUOTE_SAFE)})


def delete(s3, bucket: str, keys: list[str]) -> list[str]:
    """Deletes the keys; the messages of those S3 did not delete."""
    failures = []
    for start in range(0, len(keys), DELETED_AT_ONCE):
        batch = [{"Key": key} for key in keys[start:start + DELETED_AT_ONCE]]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        failures += [f"{error['Key']}: {error.get('Code')}" for error in answer.get("Errors", [])]
    return failures


def invalidate(cloudfront, distribution: str, paths: list[str]) -> list[str]:
    """Invalidates the paths; the invalidations' ids."""
    ids = []
    for start in range(0, len(paths), INVALIDATED_AT_ONCE):
        batch = paths[start:start + INVALIDATED_AT_ONCE]
        answer = cloudfront.create_invalidation(DistributionId=distribution, InvalidationBatch={
            "Paths": {"Quantity": len(batch), "Items": batch}, "CallerReference": f"ops.purge {time.time_ns()}"})
        ids.append(answer["Invalidation"]["Id"])
    return ids


def original_state(s3, bucket: str, key: str) -> str:
    """What the purged URLs answer next, by whether the original is still there."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
            return "the original is gone: its URLs will answer 404"
        return f"the original could not be looked at ({reason(error)})"
    return "the original is there: each URL renders it again when next asked for"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ops.purge", description=__doc__.split("\n\n")[0])
    parser.add_argument("keys", nargs="+", metavar="KEY", help="an original's key, as in the originals bucket")
    parser.add_argument("--stack", default=DEFAULT_STACK, help=f"the deployed stack (default: {DEFAULT_STACK})")
    parser.add_argument("--dry-run", action="store_true", help="say what would go, and change nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, session=None) -> int:
    arguments = parse_arguments(argv)
    session = session or boto3.Session()
    try:
        stack = outputs(session.client("cloudformation", region_name=EDGE_REGION), arguments.stack,
                        DERIVATIVES_OUTPUT, DISTRIBUTION_OUTPUT, ORIGINALS_OUTPUT)
        s3 = session.client("s3", region_name=EDGE_REGION)
        found = derivative_keys(s3, stack[DERIVATIVES_OUTPUT], arguments.keys)
        for original, keys in found.items():
            print(f"{original}: {len(keys)} derivative{'' if len(keys) == 1 else 's'} stored; "
                  f"{original_state(s3, stack[ORIGINALS_OUTPUT], original)}")
            for key in keys:
                print(f"  {key}")
        keys = [key for keys in found.values() for key in keys]
        paths = sorted({path for key in keys for path in viewer_paths(key)})
        if arguments.dry_run or not keys:
            print(f"dry run: nothing deleted, {len(paths)} paths not invalidated" if arguments.dry_run else
                  "nothing to purge")
            return 0
        failures = delete(s3, stack[DERIVATIVES_OUTPUT], keys)
        if failures:
            raise Failed("not deleted, so nothing invalidated: " + "; ".join(failures))
        print(f"deleted {len(keys)} from {stack[DERIVATIVES_OUTPUT]}")
        ids = invalidate(session.client("cloudfront", region_name=EDGE_REGION), stack[DISTRIBUTION_OUTPUT], paths)
        print(f"invalidating {len(paths)} paths in {stack[DISTRIBUTION_OUTPUT]} ({', '.join(ids)}); edges drop "
              "them within minutes")
    except (Failed, BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
