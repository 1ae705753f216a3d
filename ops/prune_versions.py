"""Delete the edge function's old versions, which every deploy that changes it leaves behind.

    python -m ops.prune_versions [--keep 2] [--stack image-cdn | --function-name NAME] [--dry-run]

A deploy that changes the function publishes a new version and keeps the one before (template.yaml's
UpdateReplacePolicy: Lambda refuses to delete a version while CloudFront holds replicas of it, which would fail
the update). Each kept version is a copy of the whole artifact, counted against the region's Lambda code storage.
This deletes every numbered version except those an alias names (SAM's `live`, the one CloudFront runs), those
newer than them (a deploy under way, or rolled back) and the newest --keep of the older ones, to associate by hand
in a hurry; without an alias, nothing. A version still replicated is left for a later run: CloudFront removes its
replicas some hours after it leaves the distribution, and only then may it be deleted.
"""

import argparse
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ops.stack import EDGE_REGION, Failed, add_function_arguments, edge_function_name, printed

DEFAULT_KEEP = 2
REPLICATED = "still replicated"
# How Lambda words its refusal to delete a version CloudFront holds replicas of (its code is a common one).
REPLICATED_REFUSAL = "because it is a replicated function"


@dataclass(frozen=True)
class Outcome:
    version: str
    action: str  # "deleted", "would delete", "kept (why)", "still replicated" or "failed"
    error: str | None = None  # AWS's error code, where it failed

    def __str__(self) -> str:
        return f"{self.version:>6} {self.action}" + (f" ({self.error})" if self.error else "")


def numbered_versions(lambda_client, function_name: str) -> list[str]:
    """Oldest first; $LATEST, the function itself, is not a version to delete."""
    pages = lambda_client.get_paginator("list_versions_by_function").paginate(FunctionName=function_name)
    versions = [version["Version"] for page in pages for version in page["Versions"] if version["Version"] != "$LATEST"]
    return sorted(versions, key=int)


def aliased_versions(lambda_client, function_name: str) -> dict[str, str]:
    """Version: the alias that names it, whether as its version or as one it shifts traffic to."""
    named = {}
    for page in lambda_client.get_paginator("list_aliases").paginate(FunctionName=function_name):
        for alias in page["Aliases"]:
            weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
            for version in (alias["FunctionVersion"], *weights):
                named.setdefault(version, alias["Name"])
    return named


def plan(versions: list[str], aliased: dict[str, str], keep: int) -> Iterator[tuple[str, str | None]]:
    """Each version, oldest first, with why it is kept, or None to delete it."""
    numbered = [int(version) for version in aliased if version.isdigit()]
    if not numbered:
        # The first deploy publishes a version before it creates the alias; a function not deployed by SAM may have
        # none. Either way, which version CloudFront runs is not known here.
        raise Failed("no alias names a version, so the one CloudFront runs is not known: nothing deleted")
    # A deploy under way publishes its version before it points the alias at it.
    last_aliased = max(numbered)
    older = [version for version in versions if version not in aliased and int(version) < last_aliased]
    newest = set(older[-keep:]) if keep else set()  # [-0:] would be all of them
    for version in versions:
        if version in aliased:
            yield version, f"kept (alias {aliased[version]})"
        elif int(version) > last_aliased:
            yield version, "kept (newer than any alias's: a deploy may be under way)"
        elif version in newest:
            yield version, "kept (--keep)"
        else:
            yield version, None


def delete(lambda_client, function_name: str, version: str) -> Outcome:
    try:
        lambda_client.delete_function(FunctionName=function_name, Qualifier=version)
    except ClientError as error:
        code, message = error.response["Error"].get("Code", ""), error.response["Error"].get("Message", "")
        if code == "ResourceNotFoundException":  # deleted since it was listed: what this run would have done
            return Outcome(version, "deleted")
        if code == "InvalidParameterValueException" and REPLICATED_REFUSAL in message:
            return Outcome(version, REPLICATED)
        return Outcome(version, "failed", code)
    except BotoCoreError as error:
        return Outcome(version, "failed", type(error).__name__)
    return Outcome(version, "deleted")


def prune(lambda_client, function_name: str, keep: int, dry_run: bool) -> Iterable[Outcome]:
    aliased = aliased_versions(lambda_client, function_name)
    for version, kept in plan(numbered_versions(lambda_client, function_name), aliased, keep):
        if kept:
            yield Outcome(version, kept)
        elif dry_run:
            yield Outcome(version, "would delete")
        else:
            yield delete(lambda_client, function_name, version)


def count(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of versions")
    return int(text)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ops.prune_versions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=count, default=DEFAULT_KEEP,
                        help="how many of the versions older than the newest aliased one to keep, the newest of them"
                        f" (default: {DEFAULT_KEEP})")
    add_function_arguments(parser)
    parser.add_argument("--dry-run", action="store_true", help="say what would be deleted, and delete nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, session=None) -> int:
    arguments = parse_arguments(argv)
    session = session or boto3.Session()
    try:
        function_name = edge_function_name(session, arguments)
        lambda_client = session.client("lambda", region_name=EDGE_REGION)
        print(f"{function_name}: keeping the aliased versions, any newer, and the {arguments.keep} newest older ones"
              + (" (dry run: nothing is deleted)" if arguments.dry_run else ""))
        outcomes = printed(prune(lambda_client, function_name, arguments.keep, arguments.dry_run))
    except (Failed, BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if any(outcome.action == REPLICATED for outcome in outcomes):
        print(f"{REPLICATED}: CloudFront removes a version's replicas some hours after it leaves the distribution;"
              " run this again then, unless a distribution still uses it")
    failed = [outcome.version for outcome in outcomes if outcome.error]
    if failed:
        print(f"error: not deleted: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
