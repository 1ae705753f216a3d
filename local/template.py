"""What the emulator copies from template.yaml, its one source of truth: the S3 origin's custom
headers (the function's configuration), and the headers the distribution adds for viewers.

The template maps its parameters onto the origin's OriginCustomHeaders with
`!Ref`, `!Sub` and `!If`. Here each header value is evaluated over the
parameters' defaults, as a stack deployed without overrides would have it.
Values that only a deployed stack knows (a created bucket's name, `!GetAtt`)
are reported as unresolved, not guessed.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]+)\}")  # ${!Name} is the text ${Name}, not a variable


class CloudFormationLoader(yaml.SafeLoader):
    """Reads `!Ref X`, `!Sub s`, `!GetAtt a.b`, ... as their long forms {"Ref": X}, {"Fn::Sub": s}, ..."""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)  # the long form is [resource, attribute]
    return {suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


@dataclass(frozen=True)
class OriginHeaders:
    headers: dict[str, str] = field(default_factory=dict)  # lower-case name -> value
    unresolved: tuple[str, ...] = ()  # header names whose value needs a deployed stack


def load_template(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=CloudFormationLoader) or {}


def origin_headers(template: dict, region: str) -> OriginHeaders:
    """The custom headers of the origin that carries the configuration, with parameter defaults filled in."""
    resolver = stack_resolver(template, region)
    headers, unresolved = {}, []
    for entry in config_origin_headers(template):
        name = str(entry.get("HeaderName", "")).lower()
        value = resolver.text(entry.get("HeaderValue"))
        if value is None:
            unresolved.append(name)
        elif value.strip():  # CloudFront refuses an empty header; an empty default means "not set"
            headers[name] = value
    return OriginHeaders(headers, tuple(unresolved))


@dataclass(frozen=True)
class ViewerHeaders:
    """The default cache behaviour's response headers policy: what CloudFront adds on the way to the viewer.

    Only what template.yaml uses is modelled: origins are matched exactly (no `*.example.com`), and
    every header replaces the origin's own, as OriginOverride and Override set to true do."""

    cors_origins: tuple[str, ...] = ()  # Access-Control-Allow-Origin, for a request that names its Origin
    custom: tuple[tuple[str, str], ...] = ()  # added to every answer, replacing the origin's own

    def added_to(self, headers: tuple[tuple[str, str], ...], request_origin: str | None) -> tuple[tuple[str, str], ...]:
        """The answer's headers with the policy's own, which replace any of the same name."""
        added = self.custom
        if request_origin is not None and {"*", request_origin} & set(self.cors_origins):
            added = (("Access-Control-Allow-Origin", "*" if "*" in self.cors_origins else request_origin), *added)
        names = {name.lower() for name, _ in added}
        return tuple((name, value) for name, value in headers if name.lower() not in names) + added


def viewer_headers(template: dict) -> ViewerHeaders:
    resources = template.get("Resources") or {}
    behaviour = next((found for found in find_values(template, "DefaultCacheBehavior") if isinstance(found, dict)), {})
    policy_id = behaviour.get("ResponseHeadersPolicyId")
    policy = resources.get(policy_id.get("Ref")) if isinstance(policy_id, dict) else None
    if not isinstance(policy, dict):
        return ViewerHeaders()
    config = policy.get("Properties", {}).get("ResponseHeadersPolicyConfig", {})
    origins = config.get("CorsConfig", {}).get("AccessControlAllowOrigins", {}).get("Items", [])
    custom = config.get("CustomHeadersConfig", {}).get("Items", [])
    return ViewerHeaders(tuple(map(str, origins)), tuple((str(item["Header"]), str(item["Value"])) for item in custom))


def stack_resolver(template: dict, region: str, **parameters: str) -> "Resolver":
    """Values and conditions as a stack in `region` has them: the parameters' defaults, then `parameters`."""
    values = parameter_defaults(template) | {"AWS::Region": region} | parameters
    return Resolver(values, template.get("Conditions") or {})


def parameter_defaults(template: dict) -> dict[str, str]:
    return {
        name: scalar_text(spec["Default"])
        for name, spec in (template.get("Parameters") or {}).items()
        if isinstance(spec, dict) and "Default" in spec
    }


def config_origin_headers(template: dict) -> list[dict]:
    """The OriginCustomHeaders list that names x-originals-bucket, or else the first one."""
    lists = [found for found in find_values(template, "OriginCustomHeaders") if isinstance(found, list)]
    for entries in lists:
        if any(str(entry.get("HeaderName", "")).lower() == "x-originals-bucket" for entry in entries):
            return entries
    return lists[0] if lists else []


def find_values(node: Any, key: str):
    """Every value stored under `key`, at any depth."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                yield value
            else:
                yield from find_values(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from find_values(item, key)


@dataclass(frozen=True)
class Resolver:
    """Evaluates the intrinsic functions a header value may use, over the parameters' defaults.

    Every method returns None for what only a deployed stack knows (a resource's
    name, an attribute), so that nothing is guessed.
    """

    defaults: dict[str, str]
    conditions: dict[str, Any]

    def text(self, value: Any) -> str | None:
        if isinstance(value, dict) and len(value) == 1:
            (function, argument), = value.items()
            return self._function(function, argument)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return scalar_text(value)
        return None

    def _function(self, function: str, argument: Any) -> str | None:
        if function == "Ref":
            return self.defaults.get(argument)
        if function == "Fn::Sub" and isinstance(argument, str):
            try:
                return _SUB_VARIABLE.sub(self._substituted, argument)
            except KeyError:  # a variable only a deployed stack knows
                return None
        if function == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            holds = self.condition({"Condition": argument[0]})
            return None if holds is None else self.text(argument[1] if holds else argument[2])
        return None

    def _substituted(self, match: re.Match) -> str:
        escaped, name = match.groups()
        return f"${{{name}}}" if escaped else self.defaults[name]

    def condition(self, expression: Any) -> bool | None:
        if not (isinstance(expression, dict) and len(expression) == 1):
            return None
        (function, argument), = expression.items()
        if function == "Condition":
            return self.condition(self.conditions.get(argument)) if isinstance(argument, str) else None
        if function == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
            left, right = (self.text(side) for side in argument)
            return None if left is None or right is None else left == right
        if not isinstance(argument, list):
            return None
        values = [self.condition(item) for item in argument]
        if None in values:
            return None
        if function == "Fn::Not" and len(values) == 1:
            return not values[0]
        if function == "Fn::And":
            return all(values)
        if function == "Fn::Or":
            return any(values)
        return None


def scalar_text(value: Any) -> str:
    """YAML reads `Default: 4096` as an int; CloudFormation passes every parameter as text."""
    return value if isinstance(value, str) else str(value)
