"""A boto3 session for the ops commands' tests whose clients answer some calls themselves, as AWS would when it
refuses them or cannot be reached, where moto has no way to."""

import functools

import boto3


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
