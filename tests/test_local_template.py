"""local.template: CloudFormation's short forms read as their long forms, and a stack's values evaluated."""

from pathlib import Path

import pytest

from imaging import template_with_origins
from local import template


def loaded(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return template.load_template(path)


@pytest.mark.parametrize(("short", "long"), [
    ("!Ref Bucket", {"Ref": "Bucket"}),
    ("!Condition HasDomain", {"Condition": "HasDomain"}),
    ("!GetAtt Bucket.Arn", {"Fn::GetAtt": ["Bucket", "Arn"]}),
    ("!GetAtt Database.Endpoint.Address", {"Fn::GetAtt": ["Database", "Endpoint.Address"]}),
    ("!GetAtt [Bucket, Arn]", {"Fn::GetAtt": ["Bucket", "Arn"]}),
    ("!Sub '${Bucket}-logs'", {"Fn::Sub": "${Bucket}-logs"}),
    ("!Sub ['${Name}-logs', {Name: !Ref Bucket}]", {"Fn::Sub": ["${Name}-logs", {"Name": {"Ref": "Bucket"}}]}),
    ("!If [HasDomain, !Ref DomainName, !Ref AWS::NoValue]",
     {"Fn::If": ["HasDomain", {"Ref": "DomainName"}, {"Ref": "AWS::NoValue"}]}),
    ("!Transform {Name: AWS::Include, Parameters: {Location: !Ref Uri}}",
     {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": {"Ref": "Uri"}}}}),
], ids=["Ref", "Condition", "GetAtt", "GetAtt-nested-attribute", "GetAtt-list", "Sub", "Sub-list", "If", "mapping"])
def test_short_forms_are_read_as_long_forms(tmp_path, short, long):
    assert loaded(tmp_path, f"Value: {short}\n") == {"Value": long}


def test_an_empty_template_is_an_empty_map(tmp_path):
    assert loaded(tmp_path, "# nothing yet\n") == {}


RESOLVER = template.Resolver(
    {"Name": "photos", "Empty": "", "AWS::Region": "eu-west-1"},
    {"HasName": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Name"}, ""]}]}, "NoName": {"Fn::Equals": [{"Ref": "Name"}, ""]},
     "Named": {"Fn::Equals": [{"Ref": "Bucket"}, "x"]}},
)


@pytest.mark.parametrize(("value", "text"), [
    ("plain", "plain"), (4096, "4096"), (1.5, "1.5"), (True, None), (None, None), (["a"], None),
    ({"Ref": "Name"}, "photos"), ({"Ref": "Bucket"}, None),  # a resource's name: a deployed stack's
    ({"Fn::Sub": "${Name}-${AWS::Region}"}, "photos-eu-west-1"), ({"Fn::Sub": "${Name}-${Bucket}"}, None),
    ({"Fn::Sub": ["${Name}", {}]}, None), ({"Fn::Sub": "${!Literal}-${Name}"}, "${Literal}-photos"),
    ({"Fn::Sub": "${!Bucket}"}, "${Bucket}"), ({"Fn::If": [{"Fn::Equals": ["a", "a"]}, "a", "b"]}, None),
    ({"Fn::If": ["HasName", {"Ref": "Name"}, "none"]}, "photos"), ({"Fn::If": ["NoName", "none", 4096]}, "4096"),
    ({"Fn::If": ["HasName", "a"]}, None), ({"Fn::If": "HasName"}, None), ({"Fn::If": ["Named", "a", "b"]}, None),
    ({"Fn::GetAtt": ["Bucket", "Arn"]}, None), ({"Ref": "Name", "Fn::Sub": "x"}, None),
])
def test_a_value_is_evaluated_over_the_defaults_or_left_to_a_deployed_stack(value, text):
    assert RESOLVER.text(value) == text


@pytest.mark.parametrize(("expression", "holds"), [
    ({"Condition": "HasName"}, True),
    ({"Fn::Not": [{"Condition": "HasName"}]}, False),
    ({"Fn::And": [{"Condition": "HasName"}, {"Fn::Equals": ["a", "a"]}]}, True),
    ({"Fn::And": [{"Condition": "HasName"}, {"Fn::Equals": ["a", "b"]}]}, False),
    ({"Fn::Or": [{"Fn::Equals": ["a", "b"]}, {"Condition": "HasName"}]}, True),
    ({"Fn::Or": [{"Fn::Equals": ["a", "b"]}, {"Fn::Equals": [{"Ref": "Empty"}, "x"]}]}, False),
    ({"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}, True),
    ({"Fn::Equals": [{"Ref": "Bucket"}, "x"]}, None), ({"Fn::Equals": ["x", {"Ref": "Bucket"}]}, None),
    ({"Condition": "Named"}, None), ({"Condition": "Missing"}, None),
    ({"Fn::Or": [{"Condition": "HasName"}, {"Condition": "Named"}]}, None),
    ({"Fn::Not": [{"Condition": "HasName"}, {"Condition": "HasName"}]}, None),
    ({"Fn::Equals": ["a"]}, None), ({"Fn::Not": {"Condition": "HasName"}}, None),
    ({"Fn::And": {}}, None),  # not a list, though empty: no condition, not one that holds vacuously
    ({"Fn::Xor": [{"Condition": "HasName"}]}, None), ("HasName", None),
    ({"Condition": "HasName", "Fn::Not": []}, None),
])
def test_a_condition_holds_or_not_or_needs_a_deployed_stack(expression, holds):
    assert RESOLVER.condition(expression) is holds


def test_a_stacks_values_are_the_defaults_the_region_then_what_is_given():
    stack = {"Parameters": {"Size": {"Type": "Number", "Default": 640}, "Name": {"Type": "String"},
                            "Odd": "Default: not a map"},
             "Conditions": {"Big": {"Fn::Equals": [{"Ref": "Size"}, "1280"]}}}
    resolver = template.stack_resolver(stack, "eu-west-1", Name="mine")
    assert resolver.defaults == {"Size": "640", "AWS::Region": "eu-west-1", "Name": "mine"}
    assert resolver.condition({"Condition": "Big"}) is False
    assert template.stack_resolver(stack, "eu-west-1", Size="1280").condition({"Condition": "Big"}) is True
    assert template.stack_resolver({}, "eu-west-1").condition({"Condition": "Big"}) is None


ORIGINS = template_with_origins(
    {"X-Other": "other"}, {"X-Originals-Bucket": "!Ref Bucket", "X-Max-Dimension": "2048", "X-Cache-Control": '" "'})


def test_the_origin_headers_are_those_of_the_origin_naming_the_originals_bucket(tmp_path):
    headers = template.origin_headers(loaded(tmp_path, ORIGINS), "us-east-1")
    assert (headers.headers, headers.unresolved) == ({"x-max-dimension": "2048"}, ("x-originals-bucket",))


def test_without_an_originals_bucket_header_the_first_origins_headers_are_taken(tmp_path):
    stack = loaded(tmp_path, ORIGINS.replace("X-Originals-Bucket", "X-Bucket"))
    assert template.origin_headers(stack, "us-east-1").headers == {"x-other": "other"}
    assert template.origin_headers({}, "us-east-1") == template.OriginHeaders()


def test_a_map_named_origin_custom_headers_is_not_an_origins_list(tmp_path):
    """template.yaml's Metadata documents the headers in a map of that name, ahead of the distribution."""
    documented = "Metadata:\n  OriginCustomHeaders: {x-max-dimension: MaxDimension}\n"
    stack = loaded(tmp_path, documented + template_with_origins({"X-Max-Dimension": "2048"}))
    assert template.origin_headers(stack, "us-east-1").headers == {"x-max-dimension": "2048"}


def test_without_a_response_headers_policy_the_viewer_gets_no_headers_added():
    behaviour = {"DefaultCacheBehavior": {"ResponseHeadersPolicyId": {"Ref": "Policy"}}}
    distribution = {"Properties": {"DistributionConfig": behaviour}}
    # A DefaultCacheBehavior that is not a map (here a note) names no policy.
    noted = {"Metadata": {"DefaultCacheBehavior": "see the distribution"}}
    stacks = ({}, {"Resources": {"Distribution": distribution}}, {"Outputs": {"Distribution": distribution}}, noted)
    for stack in stacks:
        assert template.viewer_headers(stack) == template.ViewerHeaders()
