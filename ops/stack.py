"""What the ops commands read of the deployed stack, and how they fail."""

from botocore.exceptions import ClientError

EDGE_REGION = "us-east-1"  # where a Lambda@Edge function, and so the whole stack, is created
DEFAULT_STACK = "image-cdn"  # samconfig.toml's stack_name


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
