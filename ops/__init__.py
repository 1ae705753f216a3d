"""Chores on a deployed stack that CloudFormation cannot do from us-east-1. Nothing here ships in the artifact."""
