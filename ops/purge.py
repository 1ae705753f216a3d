"""Take an original's derivatives out of the CDN: delete every one stored, then invalidate its URLs at the edges.

    python -m ops.purge KEY [KEY ...] [--stack image-cdn] [--dry-run]

KEY is an original's key (photos/cat.jpg). Its derivatives are stored under <spec>/KEY. Each spec of the
derivatives bucket (its first-level prefixes) is looked at: the derivative stored there is deleted, then the URL of
KEY at every one of those specs is invalidated, stored or not, as a page spells it (README.md: each segment of the
key percent-encoded, as encodeURIComponent and as Python's quote do, and + for a space). So a derivative the
bucket's lifecycle has expired is still invalidated where edges may hold it, as long as its spec still holds any
derivative, and a run whose invalidation failed can be run again. Deleted first: an edge that missed between the
two would otherwise fetch the stored copy again.

To replace a picture, upload the new original first, then purge: a request in between would render the old one
again. To take one down, delete the original first: its URLs then answer 404.
"""

import argparse
import re
import sys
import time
from collections.abc import Iterable, Iterator
from urllib.parse import quote

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ops.stack import EDGE_REGION, Failed, add_stack_argument, outputs, reason

# template.yaml's outputs
DERIVATIVES_OUTPUT, DISTRIBUTION_OUTPUT = "DerivativesBucketName", "DistributionId"
ORIGINALS_OUTPUT = "OriginalsBucketName"
DELETED_AT_ONCE = 1000  # DeleteObjects' limit
# CloudFront's limits on one distribution's invalidations in progress: paths, and of those, wildcard paths.
MOST_PATHS_IN_PROGRESS, MOST_WILDCARDS_IN_PROGRESS = 3000, 15
INVALIDATION_POLL_SECONDS = 20  # between looks at whether a batch has completed, as botocore's waiter does
# What each way of encoding a segment leaves as it is, beyond letters and digits.
ENCODE_URI_COMPONENT_SAFE, PYTHON_QUOTE_SAFE = "-_.!~*'()", "-_.~"
# What an invalidation path cannot hold as a page sends it: * is CloudFront's wildcard, and a raw ~ is reported
# refused, while %7E and %2A are accepted and match nothing (aws/aws-sdk#525). Such a path is cut before it.
UNMATCHABLE = re.compile(r"[*~]|%2A|%7E", re.IGNORECASE)


def specs(s3, bucket: str) -> list[str]:
    """The bucket's first-level prefixes: each spec any derivative is stored under."""
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Delimiter="/"):
        found += [prefix["Prefix"].removesuffix("/") for prefix in page.get("CommonPrefixes", [])]
    return found


def is_stored(s3, bucket: str, key: str) -> bool:
    # The key itself sorts before any longer key it begins.
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    return bool(listed) and listed[0]["Key"] == key


def viewer_paths(spec: str, original: str) -> set[str]:
    """The invalidation paths of the URLs a page may ask for `original` at `spec` by."""
    spellings = {"/".join(quote(segment, safe=safe) for segment in original.split("/"))
                 for safe in (ENCODE_URI_COMPONENT_SAFE, PYTHON_QUOTE_SAFE)}
    spellings |= {spelling.replace("%20", "+") for spelling in spellings}
    return {matchable(f"/{spec}/{spelling}") for spelling in spellings}


def matchable(path: str) -> str:
    """The path, or where it holds a character CloudFront cannot match, a wildcard path cut before that."""
    cut = UNMATCHABLE.search(path)
    return path if cut is None else path[:cut.start()] + "*"


def delete(s3, bucket: str, keys: list[str]) -> list[str]:
    """Deletes the keys; the messages of those S3 did not delete."""
    failures = []
    for start in range(0, len(keys), DELETED_AT_ONCE):
        batch = [{"Key": key} for key in keys[start:start + DELETED_AT_ONCE]]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        failures += [f"{error['Key']}: {error.get('Code')}" for error in answer.get("Errors", [])]
    return failures


def batches(paths: Iterable[str]) -> Iterator[list[str]]:
    """The paths in batches that each keep within what one distribution may have in progress."""
    batch: list[str] = []
    wildcards = 0
    for path in paths:
        wildcard = path.endswith("*")
        if len(batch) == MOST_PATHS_IN_PROGRESS or wildcards + wildcard > MOST_WILDCARDS_IN_PROGRESS:
            yield batch
            batch, wildcards = [], 0
        batch.append(path)
        wildcards += wildcard
    if batch:
        yield batch


def invalidate(cloudfront, distribution: str, paths: list[str]) -> list[str]:
    """Invalidates the paths, a batch at a time, each after the one before has completed; the invalidations' ids."""
    ids: list[str] = []
    for batch in batches(paths):
        if ids:
            cloudfront.get_waiter("invalidation_completed").wait(
                DistributionId=distribution, Id=ids[-1], WaiterConfig={"Delay": INVALIDATION_POLL_SECONDS})
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
    add_stack_argument(parser)
    parser.add_argument("--dry-run", action="store_true", help="say what would go, and change nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, session=None) -> int:
    arguments = parse_arguments(argv)
    session = session or boto3.Session()
    try:
        stack = outputs(session.client("cloudformation", region_name=EDGE_REGION), arguments.stack,
                        DERIVATIVES_OUTPUT, DISTRIBUTION_OUTPUT, ORIGINALS_OUTPUT)
        s3, bucket = session.client("s3", region_name=EDGE_REGION), stack[DERIVATIVES_OUTPUT]
        sizes = specs(s3, bucket)
        keys = []
        for original in arguments.keys:
            stored = [f"{spec}/{original}" for spec in sizes if is_stored(s3, bucket, f"{spec}/{original}")]
            print(f"{original}: stored at {len(stored)} of the bucket's {len(sizes)} specs; "
                  f"{original_state(s3, stack[ORIGINALS_OUTPUT], original)}")
            keys += stored
            for key in stored:
                print(f"  {key}")
        paths = sorted({path for original in arguments.keys for spec in sizes
                        for path in viewer_paths(spec, original)})
        if arguments.dry_run or not paths:
            print(f"dry run: nothing deleted, {len(paths)} paths not invalidated" if arguments.dry_run else
                  "nothing to purge: the derivatives bucket is empty")
            return 0
        failures = delete(s3, bucket, keys)
        if failures:
            raise Failed("not deleted, so nothing invalidated: " + "; ".join(failures))
        print(f"deleted {len(keys)} from {bucket}")
        distribution = stack[DISTRIBUTION_OUTPUT]
        try:
            ids = invalidate(session.client("cloudfront", region_name=EDGE_REGION), distribution, paths)
        except (BotoCoreError, ClientError) as error:
            raise Failed(f"{error}; the derivatives are deleted, and the same command invalidates their URLs "
                         "when run again") from None
        print(f"invalidating {len(paths)} paths, every spec as pages spell it, in {distribution} ({', '.join(ids)}); "
              "edges drop them within minutes")
    except (Failed, BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
