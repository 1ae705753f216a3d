"""What the ops commands' tests share: the stack's edge function on moto, and a boto3 session whose clients answer
some calls themselves, as AWS would when it refuses them or cannot be reached, where moto has no way to."""

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto import mock_aws

STACK = "image-cdn"


@contextmanager
def edge_function_stack() -> Iterator[str]:
    """moto, with the stack deployed as far as its edge function; yields the function's name."""
    with mock_aws():
        role = boto3.client("iam").create_role(RoleName="edge", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = {"Runtime": "python3.13", "Handler": "edge.handler.handler", "Role": role, "Code": {"ZipFile": "x"}}
        template = {"Resources": {"EdgeFunction": {"Type": "AWS::Lambda::Function", "Properties": code}}}
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(template))
        yield cloudformation.describe_stack_resource(
            StackName=STACK, LogicalResourceId="EdgeFunction")["StackResourceDetail"]["PhysicalResourceId"]


class Overriding:
    """A session whose client of one service, in every region or in `region` alone, answers the calls named in
    `calls` by calling them with the client and the call's arguments. The client's own call is still there, as
    type(client).<name>."""

    def __init__(self, service: str, region: str | None = None, **calls):
        self.service, self.region, self.calls, self.session = service, region, calls, boto3.Session()

    def __getattr__(self, name):
        return getattr(self.session, name)

    def client(self, service: str, region_name: str):
        client = self.session.client(service, region_name=region_name)
        if service == self.service and self.region in (None, region_name):
            for name, call in self.calls.items():
                setattr(client, name, functools.partial(call, client))
        return client
