import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from ops import log_retention
from ops_aws import Overriding, edge_function_stack


@pytest.fixture
def aws():
    """moto, with the stack's edge function deployed; yields its name."""
    with edge_function_stack() as name:
        yield name


def commercial_regions() -> list[str]:
    """The regions moto says are enabled, in the aws partition (moto also lists China's and GovCloud's)."""
    described = boto3.client("ec2", region_name="us-east-1").describe_regions()["Regions"]
    return sorted(region["RegionName"] for region in described
                  if not region["RegionName"].startswith(("cn-", "us-gov-")))


def retentions(group: str) -> dict[str, int | None]:
    """Region: the group's retention in days (None: forever), where the group exists."""
    found = {}
    for region in commercial_regions():
        for existing in boto3.client("logs", region_name=region).describe_log_groups()["logGroups"]:
            if existing["logGroupName"] == group:
                found[region] = existing.get("retentionInDays")
    return found


def create_group(region: str, group: str, days: int | None = None) -> None:
    logs = boto3.client("logs", region_name=region)
    logs.create_log_group(logGroupName=group)
    if days is not None:
        logs.put_retention_policy(logGroupName=group, retentionInDays=days)


def test_every_enabled_region_gets_the_group_with_the_retention(aws, capsys):
    group = f"/aws/lambda/us-east-1.{aws}"
    create_group("eu-west-1", group)  # created by a miss there: kept forever
    create_group("ap-south-1", group, 7)
    create_group("us-west-2", group, 30)
    assert log_retention.main(["--days", "30"]) == 0
    assert retentions(group) == dict.fromkeys(commercial_regions(), 30)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{group}: 30 days"
    actions = dict(line.split() for line in lines[1:])
    assert (actions.pop("eu-west-1"), actions.pop("ap-south-1"), actions.pop("us-west-2")) == ("set", "set",
                                                                                                "unchanged")
    assert set(actions.values()) == {"created"}
    assert "us-gov-west-1" not in actions and "cn-north-1" not in actions  # other partitions: not this account's


def test_a_second_run_changes_nothing(aws, capsys):
    assert log_retention.main(["--days", "14"]) == 0
    capsys.readouterr()
    assert log_retention.main(["--days", "14"]) == 0
    assert {line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]} == {"unchanged"}


def test_other_log_groups_are_left_alone(aws):
    group = f"/aws/lambda/us-east-1.{aws}"
    create_group("us-east-1", group + "-other")  # the same prefix, another function
    create_group("us-east-1", f"/aws/lambda/{aws}", 3)  # the function's own, from an invoke in us-east-1
    assert log_retention.main(["--days", "90"]) == 0
    assert retentions(group + "-other") == {"us-east-1": None}
    assert retentions(f"/aws/lambda/{aws}") == {"us-east-1": 3}


def test_a_dry_run_says_what_would_change_and_changes_nothing(aws, capsys):
    group = f"/aws/lambda/us-east-1.{aws}"
    create_group("eu-west-1", group)
    assert log_retention.main(["--days", "30", "--dry-run"]) == 0
    assert retentions(group) == {"eu-west-1": None}
    actions = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines()[1:])
    assert actions.pop("eu-west-1") == "would set"
    assert set(actions.values()) == {"would create"}


def test_a_function_named_needs_no_stack():
    with mock_aws():
        assert log_retention.main(["--days", "1", "--function-name", "mine"]) == 0
        assert retentions("/aws/lambda/us-east-1.mine") == dict.fromkeys(commercial_regions(), 1)


def test_a_missing_stack_is_a_clear_error(capsys):
    with mock_aws():
        assert log_retention.main(["--days", "30", "--stack", "elsewhere"]) == 1
    assert capsys.readouterr().err.startswith("error: stack 'elsewhere' in us-east-1 has no EdgeFunction: ")


@pytest.mark.parametrize("days", ["10", "0", "-1", "thirty", "3654", "\u00b3"])  # a digit to isdigit(), not int()
def test_a_retention_cloudwatch_does_not_offer_is_refused_before_any_call(days, capsys):
    with pytest.raises(SystemExit) as exit_:
        log_retention.main(["--days", days], session=object())  # any AWS call would fail on it
    assert exit_.value.code == 2
    assert f"{days!r} is not one of CloudWatch Logs' retentions: 1, 3, 5, 7, 14, 30," in capsys.readouterr().err


def failing_region(region: str, error: Exception) -> Overriding:
    """A session whose logs client in `region` fails its first call with `error`: refused, as by a service
    control policy, or unreachable."""
    def fail(client, *_, **__):
        raise error

    return Overriding("logs", region, get_paginator=fail)


REFUSED = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "DescribeLogGroups")
UNREACHABLE = EndpointConnectionError(endpoint_url="https://logs.eu-west-1.amazonaws.com/")


@pytest.mark.parametrize(("error", "named"), [(REFUSED, "AccessDeniedException"),
                                              (UNREACHABLE, "EndpointConnectionError")])
def test_a_failing_region_is_named_and_the_others_still_get_the_retention(aws, capsys, error, named):
    assert log_retention.main(["--days", "30"], session=failing_region("eu-west-1", error)) == 1
    group = f"/aws/lambda/us-east-1.{aws}"
    assert retentions(group) == {region: 30 for region in commercial_regions() if region != "eu-west-1"}
    out, err = capsys.readouterr()
    assert f"  eu-west-1        failed ({named})" in out.splitlines()
    assert err == ("error: not applied in eu-west-1; run again once that is fixed, or leave a region alone with"
                   " --skip-region\n")


def test_a_skipped_region_is_left_alone(aws, capsys):
    session = failing_region("eu-west-1", REFUSED)
    assert log_retention.main(["--days", "30", "--skip-region", "eu-west-1", "--skip-region", "ap-south-1"],
                              session=session) == 0
    group = f"/aws/lambda/us-east-1.{aws}"
    assert retentions(group) == {region: 30 for region in commercial_regions()
                                 if region not in ("eu-west-1", "ap-south-1")}
    assert "eu-west-1" not in capsys.readouterr().out


def test_a_group_a_miss_creates_meanwhile_still_gets_the_retention(aws):
    """Looked up as missing, then created by Lambda before this creates it."""
    group = f"/aws/lambda/us-east-1.{aws}"
    logs = boto3.client("logs", region_name="eu-west-1")
    create = logs.create_log_group

    def created_meanwhile(**arguments):
        create(**arguments)
        create(**arguments)  # what a miss's group makes of this call: ResourceAlreadyExistsException

    logs.create_log_group = created_meanwhile
    assert log_retention.keep_for(logs, group, 60, dry_run=False) == "set"
    assert retentions(group) == {"eu-west-1": 60}
