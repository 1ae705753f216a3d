"""What the ops commands share: what they read of the deployed stack, how they fail, and how they report."""

import argparse
from collections.abc import Iterable

from botocore.exceptions import ClientError

EDGE_REGION = "us-east-1"  # where a Lambda@Edge function, and so the whole stack, is created
DEFAULT_STACK = "image-cdn"  # samconfig.toml's stack_name
EDGE_FUNCTION_RESOURCE = "EdgeFunction"  # its logical id in template.yaml


class Failed(Exception):
    """What stops a whole run, in words for the person running it."""


def reason(error: ClientError) -> str:
    return error.response["Error"].get("Message") or error.response["Error"].get("Code", str(error))


def resource_id(cloudformation, stack: str, logical_id: str) -> str:
    """The physical id of one of the stack's resources (template.yaml's logical id)."""
    try:
        found = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)
    except ClientError as error:
        raise Failed(f"stack {stack!r} in {EDGE_REGION} has no {logical_id}: {reason(error)}") from None
    return found["StackResourceDetail"]["PhysicalResourceId"]


def outputs(cloudformation, stack: str, *names: str) -> dict[str, str]:
    """The stack's outputs of these names (template.yaml's Outputs)."""
    try:
        [described] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        raise Failed(f"no stack {stack!r} in {EDGE_REGION}: {reason(error)}") from None
    found = {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}
    missing = [name for name in names if name not in found]
    if missing:
        raise Failed(f"stack {stack!r} has no output {', '.join(missing)}: is it this project's?")
    return {name: found[name] for name in names}


def add_stack_argument(options) -> None:
    """--stack, on a parser or on a group of its options (argparse's add_argument_group and the like)."""
    options.add_argument("--stack", default=DEFAULT_STACK, help=f"the deployed stack (default: {DEFAULT_STACK})")


def add_function_arguments(parser: argparse.ArgumentParser) -> None:
    """--stack, or --function-name in its place: how a command names the edge function."""
    named = parser.add_mutually_exclusive_group()
    add_stack_argument(named)
    named.add_argument("--function-name", help="the edge function's name, in place of looking it up in the stack")


def edge_function_name(session, arguments: argparse.Namespace) -> str:
    """The function add_function_arguments' options name."""
    return arguments.function_name or resource_id(
        session.client("cloudformation", region_name=EDGE_REGION), arguments.stack, EDGE_FUNCTION_RESOURCE)


def printed[T](outcomes: Iterable[T]) -> list[T]:
    """Each outcome printed as it comes, so that a long run shows where it is, and all of them kept."""
    kept = []
    for outcome in outcomes:
        print(f"  {outcome}", flush=True)
        kept.append(outcome)
    return kept
