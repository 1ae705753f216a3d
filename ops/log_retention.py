"""Give the edge function's log groups a retention, in every region, before its logs pile up there.

    python -m ops.log_retention --days 30 [--stack image-cdn | --function-name NAME] [--skip-region REGION ...]
                                [--dry-run]

Lambda@Edge logs in the region nearest each edge that had a miss, to /aws/lambda/us-east-1.<function>, and
Lambda creates that group on the region's first miss without a retention, so its logs are kept, and billed,
forever. A stack in us-east-1 cannot create resources in other regions, so this does it after a deploy: in
every region the account has enabled, it creates the group where it is not there yet, so that the first miss
there already logs under the retention, and sets the retention where it differs. Run it again when the account
enables a region. It changes nothing else, and no other log group.
"""

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ops.stack import EDGE_REGION, Failed, add_function_arguments, edge_function_name, printed

# The only values CloudWatch Logs' PutRetentionPolicy accepts.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653)


@dataclass(frozen=True)
class Outcome:
    region: str
    action: str  # created, set or unchanged; "would create" or "would set" on a dry run; "failed"
    error: str | None = None  # AWS's error code, where it failed

    def __str__(self) -> str:
        return f"{self.region:<16} {self.action}" + (f" ({self.error})" if self.error else "")


def edge_log_group(function_name: str) -> str:
    return f"/aws/lambda/{EDGE_REGION}.{function_name}"


def enabled_regions(session, skipped: Iterable[str]) -> list[str]:
    """The regions enabled for the account (opt-in ones only once opted in), in us-east-1's partition (one AWS
    answers for: botocore knows a partition by its names' pattern, so a region newer than botocore is kept)."""
    partition = session.get_partition_for_region(EDGE_REGION)
    described = session.client("ec2", region_name=EDGE_REGION).describe_regions()["Regions"]
    return sorted(region["RegionName"] for region in described
                  if session.get_partition_for_region(region["RegionName"]) == partition
                  and region["RegionName"] not in skipped)


def current_retention(logs, group: str) -> tuple[bool, int | None]:
    """Whether the group exists in this region, and its retention in days (None: forever)."""
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=group):
        for found in page["logGroups"]:
            if found["logGroupName"] == group:  # the prefix also matches longer names, left alone
                return True, found.get("retentionInDays")
    return False, None


def keep_for(logs, group: str, days: int, dry_run: bool) -> str:
    """Creates the group if it is missing and gives it `days` of retention; says which it did."""
    exists, retention = current_retention(logs, group)
    if retention == days:
        return "unchanged"
    if dry_run:
        return "would set" if exists else "would create"
    action = "set" if exists else "created"
    if not exists:
        try:
            logs.create_log_group(logGroupName=group)
        except ClientError as error:
            # A miss in that region may have created it since it was looked up: then only the retention is new.
            if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
            action = "set"
    logs.put_retention_policy(logGroupName=group, retentionInDays=days)
    return action


def apply_everywhere(session, group: str, days: int, dry_run: bool, skipped: Iterable[str]) -> Iterable[Outcome]:
    for region in enabled_regions(session, skipped):
        try:
            yield Outcome(region, keep_for(session.client("logs", region_name=region), group, days, dry_run))
        except ClientError as error:  # one region refusing (an SCP, say) or unreachable must not stop the others
            yield Outcome(region, "failed", error.response["Error"]["Code"])
        except BotoCoreError as error:
            yield Outcome(region, "failed", type(error).__name__)


def retention_days(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) not in RETENTION_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of CloudWatch Logs' retentions: "
                                         f"{', '.join(map(str, RETENTION_DAYS))}")
    return int(text)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ops.log_retention", description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=retention_days, required=True, help="how long each log line is kept")
    add_function_arguments(parser)
    parser.add_argument("--skip-region", action="append", default=[], metavar="REGION",
                        help="a region to leave alone, such as one a service control policy denies (repeatable)")
    parser.add_argument("--dry-run", action="store_true", help="say what would change, and change nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, session=None) -> int:
    arguments = parse_arguments(argv)
    session = session or boto3.Session()
    try:
        group = edge_log_group(edge_function_name(session, arguments))
        print(f"{group}: {arguments.days} days" + (" (dry run: nothing changes)" if arguments.dry_run else ""))
        outcomes = printed(apply_everywhere(session, group, arguments.days, arguments.dry_run, arguments.skip_region))
    except (Failed, BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    failed = [outcome.region for outcome in outcomes if outcome.error]
    if failed:
        print(f"error: not applied in {', '.join(failed)}; run again once that is fixed, or leave a region alone"
              " with --skip-region", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
