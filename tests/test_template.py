"""template.yaml and samconfig.toml against what Lambda@Edge, CloudFront and SPEC.md require.

The template is read with a CloudFormation-aware YAML loader (short-form tags such as
!Ref become their long form). cfn-lint, `sam validate --lint` and the SAM transform run
from the tools venv (.venv-tools, made by `make tools`, which `make test` runs first):
a missing tool fails these tests, it never skips them.
"""

import json
import math
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from edge.config import Config, parse_allowed_sizes
from edge.errors import BadRequest
from edge.event import Headers, S3Origin
from edge.handler import is_rendition_path
from edge.rendition import LARGEST_DIMENSION, parse_derivative_key
from local.cdn import VIEWER_METHODS
from local.template import Resolver, ViewerHeaders, load_template, parameter_defaults, stack_resolver, viewer_headers

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "template.yaml"
SAMCONFIG = REPO / "samconfig.toml"
SPEC = REPO.parent / "shared" / "SPEC.md"
TOOLS_BIN = REPO / ".venv-tools" / "bin"

ORIGINALS = frozenset({"OriginalsBucket", "OriginalsBucketName"})
DERIVATIVES = frozenset({"DerivativesBucket"})
READ_AND_LIST = frozenset({"s3:GetObject", "s3:ListBucket"})


# ---- loading -----------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template["Resources"]


@pytest.fixture(scope="module")
def function(resources) -> dict:
    assert resources["EdgeFunction"]["Type"] == "AWS::Serverless::Function"
    return resources["EdgeFunction"]


@pytest.fixture(scope="module")
def distribution(resources) -> dict:
    assert resources["Distribution"]["Type"] == "AWS::CloudFront::Distribution"
    return resources["Distribution"]["Properties"]["DistributionConfig"]


@pytest.fixture(scope="module")
def origin(distribution) -> dict:
    (origin,) = distribution["Origins"]
    return origin


@pytest.fixture(scope="module")
def role_statements(resources, function) -> list[dict]:
    assert function["Properties"]["Role"] == {"Fn::GetAtt": ["EdgeFunctionRole", "Arn"]}
    role = resources["EdgeFunctionRole"]
    assert role["Type"] == "AWS::IAM::Role"
    assert "ManagedPolicyArns" not in role["Properties"]
    return [st for policy in role["Properties"]["Policies"] for st in policy["PolicyDocument"]["Statement"]]


# ---- helpers -----------------------------------------------------------------


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def references(expr) -> set[str]:
    """Logical ids and parameter names an expression refers to: Ref, GetAtt and ${...} in Sub."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref":
                    found.add(value.split(".")[0])
                elif key == "Fn::GetAtt":
                    found.add(value[0] if isinstance(value, list) else value.split(".")[0])
                elif key == "Fn::Sub":
                    text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
                    names = {name.split(".")[0] for name in re.findall(r"\$\{([^}!][^}]*)\}", text)}
                    found.update(names - set(variables))
                    walk(list(variables.values()))
                else:
                    walk(value)

    walk(expr)
    return {name for name in found if not name.startswith("AWS::")}


def custom_headers(origin) -> dict[str, object]:
    headers = {h["HeaderName"]: h["HeaderValue"] for h in origin["OriginCustomHeaders"]}
    assert len(headers) == len(origin["OriginCustomHeaders"]), "a custom header is listed twice"
    return headers


@pytest.fixture(scope="module")
def spec_config_table() -> dict[str, str]:
    """SPEC.md's configuration table: header name -> its 'default' cell.

    SPEC.md lives in ../shared beside the checkout, as in CI; a bare clone elsewhere
    has none, and then only these comparisons with the contract are skipped (the
    template is still checked against edge/config.py by the other tests)."""
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is not beside the checkout")
    section = SPEC.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and re.fullmatch(r"`x-[a-z0-9-]+`", cells[0]):
            rows[cells[0].strip("`")] = cells[-1]
    assert rows, "no header rows found in SPEC.md's Configuration table"
    return rows


def config_header_names() -> set[str]:
    from edge import config

    return {
        value for name, value in vars(config).items()
        if name.isupper() and isinstance(value, str) and value.startswith("x-")
    }


def tool(name: str) -> Path:
    path = TOOLS_BIN / name
    assert path.exists(), f"{path} is missing: run `make tools` (make test does it first)"
    return path


def run_tool(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


# ---- the edge function -------------------------------------------------------


def test_template_is_sam(template):
    assert template["Transform"] == "AWS::Serverless-2016-10-31"


def test_edge_function_has_no_environment(template, function):
    assert "Environment" not in function["Properties"]
    assert "Environment" not in template.get("Globals", {}).get("Function", {})


def test_edge_function_avoids_what_lambda_edge_does_not_support(template, function):
    unsupported = {
        "Layers", "Tracing", "DeadLetterQueue", "VpcConfig", "ProvisionedConcurrencyConfig",
        "ImageUri", "ImageConfig", "SnapStart", "FileSystemConfigs",
    }
    assert not unsupported & set(function["Properties"])
    assert not unsupported & set(template.get("Globals", {}).get("Function", {}))
    assert function["Properties"].get("PackageType", "Zip") == "Zip"


def test_edge_function_runtime_architecture_and_limits(function):
    props = function["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["x86_64"]
    assert props["Timeout"] == 30
    assert props["MemorySize"] == {"Ref": "MemorySize"}
    assert props["Handler"] == "edge.handler.handler"


def test_handler_string_names_the_handler(function):
    module_name, _, attribute = function["Properties"]["Handler"].rpartition(".")
    module = __import__(module_name, fromlist=[attribute])
    assert callable(getattr(module, attribute))


def test_edge_function_publishes_a_version_on_every_change(function):
    props = function["Properties"]
    assert props["AutoPublishAlias"]
    assert props["AutoPublishAliasAllProperties"] is True
    # SAM hashes unresolved properties: the version description must follow MemorySize.
    assert "MemorySize" in references(props["VersionDescription"])


def test_edge_function_is_built_by_make_without_docker(function):
    assert function["Metadata"]["BuildMethod"] == "makefile"
    assert "build-EdgeFunction:" in (REPO / "mk" / "build.mk").read_text()


def test_origin_response_association_by_version(distribution):
    (association,) = distribution["DefaultCacheBehavior"]["LambdaFunctionAssociations"]
    assert association["EventType"] == "origin-response"
    assert association["LambdaFunctionARN"] == {"Ref": "EdgeFunction.Version"}
    assert not association.get("IncludeBody", False)


# ---- the role ------------------------------------------------------------------


def test_role_is_trusted_by_lambda_and_lambda_edge(resources):
    trust = resources["EdgeFunctionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    principals = {
        service
        for statement in trust
        if statement["Effect"] == "Allow" and "sts:AssumeRole" in as_list(statement["Action"])
        for service in as_list(statement["Principal"]["Service"])
    }
    assert principals == {"lambda.amazonaws.com", "edgelambda.amazonaws.com"}


def test_role_has_no_wildcard_actions_and_scoped_s3_resources(role_statements):
    for statement in role_statements:
        assert statement["Effect"] == "Allow"
        actions = as_list(statement["Action"])
        assert not any("*" in action for action in actions), statement
        if any(action.startswith("s3:") for action in actions):
            assert "*" not in as_list(statement["Resource"]), statement
            assert references(statement["Resource"]) and references(statement["Resource"]) <= ORIGINALS | DERIVATIVES


def test_function_cannot_write_to_the_originals(role_statements):
    touching_originals = [st for st in role_statements if references(st["Resource"]) & ORIGINALS]
    assert touching_originals, "the role grants nothing on the originals bucket"
    for statement in touching_originals:
        assert set(as_list(statement["Action"])) <= READ_AND_LIST, statement
        assert not references(statement["Resource"]) & DERIVATIVES, "keep originals and derivatives apart"


def granted(role_statements, bucket_names: frozenset[str]) -> set[str]:
    return {
        action
        for st in role_statements
        if references(st["Resource"]) & bucket_names
        for action in as_list(st["Action"])
    }


def test_function_reads_and_lists_the_originals(role_statements):
    # Without s3:ListBucket a missing original is AccessDenied, not NoSuchKey (PLATFORM.md).
    assert granted(role_statements, ORIGINALS) == READ_AND_LIST


def test_function_only_writes_the_derivatives(role_statements):
    assert granted(role_statements, DERIVATIVES) == {"s3:PutObject"}
    writes = {a for st in role_statements for a in as_list(st["Action"]) if a.startswith("s3:")} - READ_AND_LIST
    for statement in role_statements:
        if set(as_list(statement["Action"])) & writes:
            assert references(statement["Resource"]) <= DERIVATIVES, statement


def test_function_logs_in_every_region(role_statements):
    (logs,) = [st for st in role_statements if any(a.startswith("logs:") for a in as_list(st["Action"]))]
    assert {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"} <= set(as_list(logs["Action"]))
    resource = logs["Resource"]
    text = resource if isinstance(resource, str) else resource["Fn::Sub"]
    assert re.match(r"arn:(\$\{AWS::Partition\}|aws):logs:\*:", text), "replicas log in every region"


# ---- S3 and CloudFront ---------------------------------------------------------


def test_origin_access_control(resources, origin):
    oac = resources["OriginAccessControl"]
    assert oac["Type"] == "AWS::CloudFront::OriginAccessControl"
    config = oac["Properties"]["OriginAccessControlConfig"]
    assert (config["OriginAccessControlOriginType"], config["SigningBehavior"], config["SigningProtocol"]) == (
        "s3", "always", "sigv4",
    )
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy OAI
    assert origin["DomainName"] == {"Fn::GetAtt": ["DerivativesBucket", "RegionalDomainName"]}


def test_distribution_reads_and_lists_the_derivatives(resources):
    policy = resources["DerivativesBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "DerivativesBucket"}
    allowed = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        if statement["Effect"] == "Allow" and statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}:
            source_arn = statement["Condition"]["StringEquals"]["AWS:SourceArn"]
            assert "Distribution" in references(source_arn), "grant only this distribution"
            for action in as_list(statement["Action"]):
                allowed[action] = statement["Resource"]
    # With s3:ListBucket a missing derivative is a 404, which the function turns into a render.
    assert allowed.keys() == {"s3:GetObject", "s3:ListBucket"}
    assert allowed["s3:ListBucket"] == {"Fn::GetAtt": ["DerivativesBucket", "Arn"]}
    assert allowed["s3:GetObject"] == {"Fn::Sub": "${DerivativesBucket.Arn}/*"}


@pytest.mark.parametrize("bucket", ["OriginalsBucket", "DerivativesBucket"])
def test_buckets_are_private_encrypted_and_tls_only(resources, bucket):
    props = resources[bucket]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    policy = resources[f"{bucket}Policy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for st in policy
    )


def test_originals_bucket_is_created_only_when_no_name_is_given(template, resources):
    assert template["Conditions"]["CreateOriginalsBucket"] == {"Fn::Equals": [{"Ref": "OriginalsBucketName"}, ""]}
    assert template["Parameters"]["OriginalsBucketName"]["Default"] == ""
    for name in ("OriginalsBucket", "OriginalsBucketPolicy"):
        assert resources[name]["Condition"] == "CreateOriginalsBucket"
    assert resources["OriginalsBucket"]["DeletionPolicy"] == "Retain", "the originals are the user's data"


def test_derivatives_expire_unless_zero(template, resources):
    assert template["Conditions"]["ExpireDerivatives"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "DerivativeExpirationDays"}, 0]}]
    }
    rules = resources["DerivativesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (conditional,) = [rule for rule in rules if "Fn::If" in rule]
    condition, expire, otherwise = conditional["Fn::If"]
    assert condition == "ExpireDerivatives"
    assert expire["Status"] == "Enabled"
    assert expire["ExpirationInDays"] == {"Ref": "DerivativeExpirationDays"}
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert template["Parameters"]["DerivativeExpirationDays"]["Default"] == 90


@pytest.mark.parametrize("bucket", ["OriginalsBucket", "DerivativesBucket"])
def test_failed_multipart_uploads_are_cleaned_up(resources, bucket):
    """Only what is in the rule: no expiry of the originals, ever."""
    rules = resources[bucket]["Properties"]["LifecycleConfiguration"]["Rules"]
    (abort,) = [rule for rule in rules if "AbortIncompleteMultipartUpload" in rule]
    assert abort["Status"] == "Enabled" and abort["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    if bucket == "OriginalsBucket":
        assert rules == [abort] and set(abort) == {"Id", "Status", "AbortIncompleteMultipartUpload"}


def test_cache_policy_keys_on_the_path_only(resources, distribution):
    config = resources["CachePolicy"]["Properties"]["CachePolicyConfig"]
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert config["MinTTL"] == 0, "no-store responses (307, unstored images) must not be cached"
    assert config["DefaultTTL"] >= 86400 and config["MaxTTL"] >= 31536000
    assert distribution["DefaultCacheBehavior"]["CachePolicyId"] == {"Ref": "CachePolicy"}


def test_any_page_may_read_and_time_the_images(template, resources, distribution):
    """CORS and Timing-Allow-Origin for every origin: <img crossorigin>, canvases and RUM work from any site."""
    assert distribution["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": "ViewerHeadersPolicy"}
    policy = resources["ViewerHeadersPolicy"]
    assert policy["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    cors = policy["Properties"]["ResponseHeadersPolicyConfig"]["CorsConfig"]
    assert cors["AccessControlAllowMethods"] == {"Items": ["GET", "HEAD"]}
    assert (cors["AccessControlAllowCredentials"], cors["OriginOverride"]) == (False, True)
    # What the local emulator adds, read from the same policy.
    assert viewer_headers(template) == ViewerHeaders(("*",), (("Timing-Allow-Origin", "*"), ("Vary", "Origin")))


def test_errors_are_cached_briefly(distribution):
    ttls = {rule["ErrorCode"]: rule["ErrorCachingMinTTL"] for rule in distribution["CustomErrorResponses"]}
    assert len(ttls) == len(distribution["CustomErrorResponses"])
    assert all(ttls[code] == 0 for code in (500, 502, 503, 504)), "a transient failure must not be pinned"
    assert all(0 < ttls[code] <= 60 for code in (400, 403, 404))
    assert not any("ResponsePagePath" in rule for rule in distribution["CustomErrorResponses"])


def test_distribution_settings(distribution):
    behavior = distribution["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["TargetOriginId"] == distribution["Origins"][0]["Id"]
    assert set(behavior["AllowedMethods"]) == {"GET", "HEAD"} == VIEWER_METHODS  # the emulator refuses the rest
    assert distribution["HttpVersion"] == "http2and3"
    assert distribution["IPV6Enabled"] is True
    assert distribution["PriceClass"] == {"Ref": "PriceClass"}
    assert distribution["Enabled"] is True


def test_the_root_asks_for_a_key_that_is_never_written_not_for_a_listing(distribution):
    """CloudFront may list the bucket (for 404s), so / must not reach S3 as a request for the bucket itself."""
    root_object = distribution["DefaultRootObject"]
    assert isinstance(root_object, str) and root_object
    assert not is_rendition_path("/" + root_object)
    with pytest.raises(BadRequest):
        parse_derivative_key(root_object)


def test_stack_must_be_deployed_in_us_east_1(template):
    asserts = [assertion["Assert"] for rule in template["Rules"].values() for assertion in rule["Assertions"]
               if "RuleCondition" not in rule]
    assert {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]} in asserts


# ---- configuration headers --------------------------------------------------------


def test_custom_headers_match_spec_names(origin, spec_config_table):
    headers = set(custom_headers(origin))
    spec = set(spec_config_table)
    assert spec <= headers, f"SPEC.md headers missing from the origin: {sorted(spec - headers)}"
    assert headers <= spec | config_header_names(), "a header that neither SPEC.md nor edge/config.py knows"
    assert all(name == name.lower() for name in headers)


def test_every_config_header_of_the_function_is_set(origin):
    missing = config_header_names() - set(custom_headers(origin))
    assert not missing, f"edge/config.py reads headers the template never sets: {sorted(missing)}"


def test_each_header_comes_from_its_parameter(template, origin):
    """Metadata.OriginCustomHeaders is the machine-readable header -> parameter map (for local tools)."""
    mapping = template["Metadata"]["OriginCustomHeaders"]
    headers = custom_headers(origin)
    assert set(mapping) == set(headers)
    assert len(set(mapping.values())) == len(mapping), "one parameter per header"
    for header, parameter in mapping.items():
        assert parameter in template["Parameters"], parameter
        assert parameter in references(headers[header]), f"{header} does not come from {parameter}"


def test_parameters_have_descriptions_and_defaults(template):
    expected = {
        "OriginalsBucketName", "OriginalsBucketRegion", "MaxDimension", "AllowedSizes", "MaxSourcePixels",
        "MaxSourceBytes", "MaxFrames", "CacheControl", "DerivativeExpirationDays", "PriceClass", "MemorySize",
    }
    parameters = template["Parameters"]
    assert expected <= set(parameters)
    for name, parameter in parameters.items():
        assert parameter.get("Description", "").strip(), name
        assert "Default" in parameter, name


def test_the_deploy_guide_lists_every_parameter_and_output(template):
    listed = re.findall(r"^\| `(\w+)` \|", (REPO / "docs" / "DEPLOY.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert set(template["Parameters"]) | set(template["Outputs"]) <= set(listed)


def test_parameter_defaults_match_the_function(template):
    from edge import config

    defaults = parameter_defaults(template)
    assert defaults["MaxDimension"] == str(config.DEFAULT_MAX_DIMENSION) == "4096"
    assert defaults["MaxSourcePixels"] == str(config.DEFAULT_MAX_SOURCE_PIXELS) == "50000000"
    assert defaults["MaxSourceBytes"] == str(config.DEFAULT_MAX_SOURCE_BYTES) == "41943040"
    assert defaults["MaxFrames"] == str(config.DEFAULT_MAX_FRAMES) == "300"
    assert defaults["CacheControl"] == config.DEFAULT_CACHE_CONTROL == "public, max-age=31536000, immutable"
    assert defaults["AllowedSizes"] == "*", "an origin custom header cannot be empty"


def test_parameter_defaults_match_spec(template, spec_config_table):
    defaults = parameter_defaults(template)
    mapping = template["Metadata"]["OriginCustomHeaders"]
    for header, cell in spec_config_table.items():
        number = re.match(r"\d+", cell)
        if number:
            assert defaults[mapping[header]] == number.group(), header


@pytest.mark.parametrize("event_file", sorted((REPO / "events").glob("*.json")), ids=lambda path: path.name)
def test_sample_events_carry_every_header_a_default_deployment_sends(template, event_file):
    """So that `sam local invoke -e` and `make invoke` run on what CloudFront would send, not on the function's
    fallbacks; the originals' bucket and region are the samples'."""
    defaults = parameter_defaults(template)
    record = json.loads(event_file.read_text(encoding="utf-8"))["Records"][0]["cf"]
    sent = record["request"]["origin"]["s3"]["customHeaders"]
    expected = {header: defaults[parameter] for header, parameter in template["Metadata"]["OriginCustomHeaders"].items()
                if header not in ("x-originals-bucket", "x-originals-region")}
    assert set(sent) == set(template["Metadata"]["OriginCustomHeaders"])
    assert {header: sent[header][0]["value"] for header in expected} == expected


def test_default_headers_parse_in_the_function(template, origin):
    """The headers a default deployment sends are accepted by edge/config.py as SPEC.md's defaults."""
    from edge import config
    from edge.event import OriginResponseEvent

    defaults = parameter_defaults(template)
    computed = {"x-originals-bucket": "originals-example", "x-originals-region": "us-east-1"}
    values = {
        header: computed.get(header) or defaults[parameter]
        for header, parameter in template["Metadata"]["OriginCustomHeaders"].items()
    }
    domain = "derivatives-example.s3.us-east-1.amazonaws.com"
    record = {
        "config": {"eventType": "origin-response"},
        "request": {
            "clientIp": "203.0.113.178", "method": "GET", "querystring": "", "uri": "/640x/photos/cat.jpg",
            "headers": {"host": [{"key": "Host", "value": domain}]},
            "origin": {"s3": {
                "authMethod": "none", "domainName": domain, "path": "", "region": "us-east-1",
                "customHeaders": {name: [{"key": name, "value": value}] for name, value in values.items()},
            }},
        },
        "response": {"status": "404", "statusDescription": "Not Found", "headers": {}},
    }
    parsed = config.Config.from_origin(OriginResponseEvent.from_record(record).origin)
    assert parsed.originals_bucket == "originals-example"
    assert parsed.max_dimension == config.DEFAULT_MAX_DIMENSION
    assert parsed.allowed_sizes is None
    assert parsed.max_source_pixels == config.DEFAULT_MAX_SOURCE_PIXELS
    assert parsed.max_source_bytes == config.DEFAULT_MAX_SOURCE_BYTES
    assert parsed.max_frames == config.DEFAULT_MAX_FRAMES
    assert parsed.cache_control == config.DEFAULT_CACHE_CONTROL


def test_outputs(template):
    outputs = template["Outputs"]
    assert outputs["DistributionDomainName"]["Value"] == {"Fn::GetAtt": ["Distribution", "DomainName"]}
    assert outputs["DerivativesBucketName"]["Value"] == {"Ref": "DerivativesBucket"}
    assert references(outputs["OriginalsBucketName"]["Value"]) == ORIGINALS
    example = deployed(template, outputs["ExampleUrl"]["Value"])
    assert example == {"Fn::Sub": "https://${Distribution.DomainName}/640x/photos/cat.jpg"}


# ---- your own domain --------------------------------------------------------------

DOMAIN = "images.example.com"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"
NO_VALUE = object()


def stack(template, **overrides) -> Resolver:
    """The template's Rules and Conditions as CloudFormation evaluates them, with these parameter values."""
    return stack_resolver(template, "us-east-1", **overrides)


def holds(resolver: Resolver, expression) -> bool:
    value = resolver.condition(expression)
    assert value is not None, f"the resolver cannot evaluate {expression}"
    return value


def rules_pass(template, **overrides) -> bool:
    resolver = stack(template, **overrides)
    return all(
        all(holds(resolver, assertion["Assert"]) for assertion in rule["Assertions"])
        for rule in template["Rules"].values()
        if "RuleCondition" not in rule or holds(resolver, rule["RuleCondition"])
    )


def deployed(template, node, **overrides):
    """`node` with every Fn::If decided and AWS::NoValue dropped, for these parameter values."""
    resolver = stack(template, **overrides)

    def decide(node):
        if isinstance(node, list):
            return [decided for item in node if (decided := decide(item)) is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if node == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        if set(node) == {"Fn::If"}:
            condition, when_true, when_false = node["Fn::If"]
            return decide(when_true if holds(resolver, {"Condition": condition}) else when_false)
        return {key: decided for key, value in node.items() if (decided := decide(value)) is not NO_VALUE}

    return decide(node)


def test_the_cloudfront_name_and_certificate_serve_by_default(template, distribution):
    assert rules_pass(template)
    config = deployed(template, distribution)
    assert "Aliases" not in config
    assert config["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}


def test_your_own_domain_is_served_with_your_certificate(template, distribution):
    mine = {"DomainName": DOMAIN, "CertificateArn": CERTIFICATE}
    assert rules_pass(template, **mine)
    config = deployed(template, distribution, **mine)
    assert config["Aliases"] == [{"Ref": "DomainName"}]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": {"Ref": "CertificateArn"}, "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    example = deployed(template, template["Outputs"]["ExampleUrl"]["Value"], **mine)
    assert example == {"Fn::Sub": "https://${DomainName}/640x/photos/cat.jpg"}


@pytest.mark.parametrize("half", [{"DomainName": DOMAIN}, {"CertificateArn": CERTIFICATE}])
def test_a_domain_without_its_certificate_or_the_reverse_is_refused(template, half):
    assert not rules_pass(template, **half)


@pytest.mark.parametrize(("parameter", "value", "accepted"), [
    ("DomainName", DOMAIN, True),
    ("DomainName", "img.news-site.co.uk", True),
    ("DomainName", "", True),
    ("DomainName", "Images.Example.com", False),  # CloudFront requires aliases in lower case
    ("DomainName", "https://images.example.com", False),
    ("DomainName", "images.example.com.", False),
    ("DomainName", "*.example.com", False),
    ("DomainName", "localhost", False),
    ("CertificateArn", CERTIFICATE, True),
    ("CertificateArn", "", True),
    ("CertificateArn", CERTIFICATE.replace("us-east-1", "eu-west-1"), False),  # CloudFront would refuse it
    ("CertificateArn", CERTIFICATE.replace("arn:aws:", "arn:aws-cn:"), False),  # no us-east-1, nor ACM for CloudFront
    ("CertificateArn", "1234abcd-12ab-34cd-56ef-1234567890ab", False),
])
def test_domain_parameters_are_checked_before_anything_is_created(template, parameter, value, accepted):
    assert bool(re.fullmatch(template["Parameters"][parameter]["AllowedPattern"], value)) is accepted


@pytest.mark.parametrize(("value", "accepted"), [
    ("1", True), ("4096", True), (str(LARGEST_DIMENSION), True), (str(LARGEST_DIMENSION + 1), False), ("04096", False),
])
def test_max_dimension_stops_where_a_url_can_reach(template, value, accepted):
    """A URL's W and H have at most five digits (edge/rendition.py): a larger maximum would say what is not so."""
    assert bool(re.fullmatch(template["Parameters"]["MaxDimension"]["AllowedPattern"], value)) is accepted


@pytest.mark.parametrize(("value", "accepted"), [
    ("public, max-age=31536000, immutable", True), ("no-cache", True), ("max-age=60", True),
    (" max-age=60", False), ("max-age=60 ", False), ("public, max-age=60 \u2014 a year", False),
    ("max-age=60\tx", False),
])
def test_cache_control_is_what_the_function_takes(template, value, accepted):
    """What the template lets through, edge/config.py takes as it is (the function would also strip spaces
    at either end, which the template refuses)."""
    assert bool(re.fullmatch(template["Parameters"]["CacheControl"]["AllowedPattern"], value)) is accepted
    if accepted:
        headers = {name: [{"key": name, "value": text}]
                   for name, text in {"x-originals-bucket": "originals", "x-cache-control": value}.items()}
        origin = S3Origin("derivs.s3.us-east-1.amazonaws.com", "us-east-1", "", Headers.from_cloudfront(headers))
        assert Config.from_origin(origin).cache_control == value


@pytest.mark.parametrize(("value", "accepted"), [
    ("*", True), (" * ", True), ("320x,640x,1280x,300x300", True), (" 320x , x480 ", True), ("99999x", True),
    ("320x,", True), ("320x,,640x", True),
    (",", False), ("640X", False), ("320x, *", False), ("0640x", False), ("100000x", False), ("640x,cover", False),
    ("640", False), ("320x 640x", False),
])
def test_allowed_sizes_are_sizes_a_url_can_ask_for(template, value, accepted):
    """What the template lets through, the function takes (edge/config.py), and it lists only sizes a URL
    can ask for: W and H of at most five digits."""
    assert bool(re.fullmatch(template["Parameters"]["AllowedSizes"]["AllowedPattern"], value)) is accepted
    if accepted:
        sizes = parse_allowed_sizes(value)
        assert sizes is None or all(len(number) <= 5 for size in sizes for number in size.split("x"))


def test_a_domain_name_is_no_longer_than_dns_allows(template):
    assert template["Parameters"]["DomainName"]["MaxLength"] == 253


# ---- alarm ----------------------------------------------------------------------------

ALARM_RESOURCES = {"AlarmTopic", "ErrorRateAlarm"}


def test_no_alarm_without_an_address(template, resources):
    assert {name for name, resource in resources.items() if resource.get("Condition") == "HasAlarm"} == ALARM_RESOURCES
    assert not holds(stack(template), {"Condition": "HasAlarm"})
    assert holds(stack(template, AlarmEmail="ops@example.com"), {"Condition": "HasAlarm"})


def test_the_alarm_watches_the_distributions_server_errors_and_mails_the_address(resources):
    alarm = resources["ErrorRateAlarm"]["Properties"]
    # CloudFront's metrics: us-east-1 (the stack's region), Region "Global", the rate an average of percents.
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/CloudFront", "5xxErrorRate",
                                                                             "Average")
    assert alarm["Dimensions"] == [{"Name": "DistributionId", "Value": {"Ref": "Distribution"}},
                                   {"Name": "Region", "Value": "Global"}]
    assert alarm["Threshold"] == {"Ref": "AlarmErrorRatePercent"}
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert (alarm["Period"], alarm["DatapointsToAlarm"], alarm["EvaluationPeriods"]) == (60, 3, 5)
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
    assert alarm["AlarmName"] == {"Fn::Sub": "${AWS::StackName}-5xx-error-rate"}
    topic = resources["AlarmTopic"]["Properties"]
    assert topic["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    assert "KmsMasterKeyId" not in topic  # CloudWatch cannot publish through AWS's managed SNS key


def test_the_alarm_topic_is_an_output_only_with_an_alarm(template):
    output = template["Outputs"]["AlarmTopicArn"]
    assert (output["Condition"], output["Value"]) == ("HasAlarm", {"Ref": "AlarmTopic"})


@pytest.mark.parametrize(("value", "accepted"), [
    ("", True), ("ops@example.com", True), ("first.last+cdn@news-site.co.uk", True),
    ("ops", False), ("ops@example", False), ("ops@example.com, me@example.com", False), (" ops@example.com", False),
    ("a@b@example.com", False),
])
def test_the_alarm_address_is_one_address(template, value, accepted):
    assert bool(re.fullmatch(template["Parameters"]["AlarmEmail"]["AllowedPattern"], value)) is accepted


def test_the_alarm_threshold_is_a_percentage(template):
    threshold = template["Parameters"]["AlarmErrorRatePercent"]
    assert (threshold["Type"], threshold["MinValue"], threshold["MaxValue"], threshold["Default"]) == ("Number", 1,
                                                                                                       99, 5)


# ---- samconfig.toml ------------------------------------------------------------


def test_samconfig_deploys_to_us_east_1():
    config = tomllib.loads(SAMCONFIG.read_text())["default"]
    global_ = config["global"]["parameters"]
    deploy = config["deploy"]["parameters"]
    assert deploy.get("region", global_.get("region")) == "us-east-1"
    assert global_["stack_name"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True


def test_samconfig_overrides_name_template_parameters(template):
    overrides = tomllib.loads(SAMCONFIG.read_text())["default"]["deploy"]["parameters"]["parameter_overrides"]
    assert overrides
    names = {entry.split("=", 1)[0] for entry in overrides}
    assert names <= set(template["Parameters"])


# The SAM CLI's own reading of parameter_overrides: a value with a space or a comma
# (CacheControl) must come through whole, quoted as the CLI's parser wants it.
SAM_OVERRIDES = """
import json, sys, tomllib
from samcli.cli.types import CfnParameterOverridesType

with open(sys.argv[1], "rb") as file:
    overrides = tomllib.load(file)["default"]["deploy"]["parameters"]["parameter_overrides"]
print(json.dumps(CfnParameterOverridesType().convert(overrides, None, None)))
"""


def test_samconfig_overrides_are_values_cloudformation_accepts(template):
    """What `sam deploy` sends is what the file says, and each value passes its parameter's constraints."""
    result = run_tool(str(tool("python")), "-c", SAM_OVERRIDES, str(SAMCONFIG))
    assert result.returncode == 0, result.stderr
    sent = json.loads(result.stdout)
    overrides = tomllib.loads(SAMCONFIG.read_text())["default"]["deploy"]["parameters"]["parameter_overrides"]
    written = dict(entry.split("=", 1) for entry in overrides)
    assert sent == {name: value.removeprefix('"').removesuffix('"') for name, value in written.items()}
    for name, value in sent.items():
        parameter = template["Parameters"][name]
        if "AllowedPattern" in parameter:
            assert re.fullmatch(parameter["AllowedPattern"], value), (name, value)
        if "AllowedValues" in parameter:
            assert value in parameter["AllowedValues"], (name, value)
        if parameter["Type"] == "Number":
            assert parameter.get("MinValue", -math.inf) <= float(value) <= parameter.get("MaxValue", math.inf), name
        assert parameter.get("MinLength", 0) <= len(value) <= parameter.get("MaxLength", 4096), name


# ---- the tools -------------------------------------------------------------------


def test_cfn_lint_is_clean():
    result = run_tool(str(tool("cfn-lint")), "--", str(TEMPLATE))
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_sam_validate_lint():
    result = run_tool(str(tool("sam")), "validate", "--lint", "--region", "us-east-1", "--template-file", str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr


TRANSFORM = """
import json, sys
from cfnlint.decode import decode
from samtranslator.translator.transform import transform

class NoManagedPolicies:
    def load(self):
        return {}

template, errors = decode(sys.argv[1])
assert not errors, errors
template["Resources"]["EdgeFunction"]["Properties"]["CodeUri"] = "s3://bucket/key"
print(json.dumps(transform(template, {}, NoManagedPolicies())))
"""


def test_transformed_template_associates_a_published_version():
    """What CloudFormation gets after the SAM transform: the association names an AWS::Lambda::Version."""
    result = run_tool(str(tool("python")), "-c", TRANSFORM, str(TEMPLATE))
    assert result.returncode == 0, result.stderr
    resources = json.loads(result.stdout)["Resources"]
    config = resources["Distribution"]["Properties"]["DistributionConfig"]
    (association,) = config["DefaultCacheBehavior"]["LambdaFunctionAssociations"]
    version = resources[association["LambdaFunctionARN"]["Ref"]]
    assert version["Type"] == "AWS::Lambda::Version"
    assert version["Properties"]["FunctionName"] == {"Ref": "EdgeFunction"}
    assert version["DeletionPolicy"] == "Retain", "replicas of old versions outlive updates"
    assert version["UpdateReplacePolicy"] == "Retain", "a version replaced for a new MemorySize has replicas too"
    function = resources["EdgeFunction"]
    assert function["Type"] == "AWS::Lambda::Function"
    assert "Environment" not in function["Properties"]
    assert function["Properties"]["Role"] == {"Fn::GetAtt": ["EdgeFunctionRole", "Arn"]}
