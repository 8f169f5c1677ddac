"""TracingSampling (LOG-07): X-Ray sampling rule and Insights group.

Two stacks are synthesized once for the module: ``Defaults`` (a rule and group for one service,
next to a SecureFunction with active tracing, as LOG-07 expects) and ``Variants`` (every
argument changed, no group); plus one gated synth for cdk-nag.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint

from constructs_lib.acknowledgments import logical_id
from constructs_lib.encryption import EncryptionKey
from constructs_lib.serverless import SecureFunction
from constructs_lib.tracing import TracingSampling
from controls import CATALOGUE, Status, evaluate
from controls import Template as AuditTemplate
from tests.support import cdk_json_context, nag_findings, new_stack

NO_VPC = "the test function calls only public AWS APIs and reaches no private resource"
STACK_SUFFIX = {
    "Fn::Select": [
        4,
        {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]},
    ]
}


@dataclass
class Built:
    template: dict[str, Any]
    sampling: TracingSampling

    def props(self, construct: Any) -> dict[str, Any]:
        return dict(self.template["Resources"][logical_id(construct)]["Properties"])

    def of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}


def build_defaults(stack: cdk.Stack) -> TracingSampling:
    key = EncryptionKey(stack, "LogKey", alias="logs", description="log groups")
    SecureFunction(
        stack,
        "Api",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        handler="index.handler",
        log_encryption_key=key,
        no_vpc_reason=NO_VPC,
    )
    return TracingSampling(stack, "ApiTracing", service_name="payflow-api")


def build_variants(stack: cdk.Stack) -> TracingSampling:
    return TracingSampling(
        stack,
        "WebhookTracing",
        service_name="payflow-*",
        fixed_rate=1,
        reservoir_size=0,
        priority=10,
        host="api.payflow.io",
        url_path="/webhooks/*",
        http_method="POST",
        service_type="AWS::EC2::Instance",
        attributes={"tenant": "gold"},
        insights=False,
    )


@pytest.fixture(scope="module")
def stacks() -> dict[str, Built]:
    app = cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )
    built = {
        name: (stack, build(stack))
        for name, build in (("defaults", build_defaults), ("variants", build_variants))
        for stack in [new_stack(app, name.capitalize())]
    }
    return {
        name: Built(dict(Template.from_stack(stack).to_json()), sampling)
        for name, (stack, sampling) in built.items()
    }


@pytest.fixture(scope="module")
def defaults(stacks: dict[str, Built]) -> Built:
    return stacks["defaults"]


@pytest.fixture(scope="module")
def variants(stacks: dict[str, Built]) -> Built:
    return stacks["variants"]


# ---- defaults ---------------------------------------------------------------------------------
def test_log07_sampling_rule_defaults(defaults: Built):
    rule = dict(defaults.props(defaults.sampling.rule)["SamplingRule"])
    name = rule.pop("RuleName")
    assert rule == {
        "ServiceName": "payflow-api",
        "ServiceType": "*",
        "Host": "*",
        "HTTPMethod": "*",
        "URLPath": "*",
        "ResourceARN": "*",
        "FixedRate": 0.05,
        "ReservoirSize": 1,
        "Priority": 1000,
        "Version": 1,
    }
    assert defaults.sampling.rule.node.id == "Resource"
    # <construct id>-<path hash>-<last block of the stack UUID (12 hex digits)>
    assert name["Fn::Join"][0] == "-"
    prefix, suffix = name["Fn::Join"][1]
    assert re.fullmatch(r"apitracing-[0-9a-f]{6}", prefix)
    assert suffix == STACK_SUFFIX
    assert len(prefix) + 1 + 12 <= 32


def test_insights_group_for_the_service(defaults: Built):
    group = defaults.sampling.group
    assert group is not None
    props = defaults.props(group)
    assert props["FilterExpression"] == 'service("payflow-api")'
    assert props["InsightsConfiguration"] == {"InsightsEnabled": True, "NotificationsEnabled": True}
    rule_name = defaults.props(defaults.sampling.rule)["SamplingRule"]["RuleName"]
    assert props["GroupName"] != rule_name
    assert props["GroupName"]["Fn::Join"][1][1] == STACK_SUFFIX


def test_attributes(defaults: Built):
    assert defaults.sampling.service_name == "payflow-api"
    assert cdk.Token.is_unresolved(defaults.sampling.rule_arn)
    assert cdk.Token.is_unresolved(defaults.sampling.group_arn)


def test_long_construct_ids_stay_within_32_characters():
    stack = new_stack()
    sampling = TracingSampling(stack, "A" * 80, service_name="svc")
    name = stack.resolve(sampling.rule.sampling_rule.rule_name)  # type: ignore[union-attr]
    prefix, _ = name["Fn::Join"][1]
    assert re.fullmatch(r"a+-[0-9a-f]{6}", prefix)
    assert len(prefix) + 1 + 12 == 32


# ---- arguments --------------------------------------------------------------------------------
def test_every_matching_argument_is_used(variants: Built):
    rule = dict(variants.props(variants.sampling.rule)["SamplingRule"])
    rule.pop("RuleName")
    assert rule == {
        "ServiceName": "payflow-*",
        "ServiceType": "AWS::EC2::Instance",
        "Host": "api.payflow.io",
        "HTTPMethod": "POST",
        "URLPath": "/webhooks/*",
        "ResourceARN": "*",
        "FixedRate": 1,
        "ReservoirSize": 0,
        "Priority": 10,
        "Attributes": {"tenant": "gold"},
        "Version": 1,
    }


def test_no_group_without_insights(variants: Built):
    assert variants.sampling.group is None
    assert variants.sampling.group_arn is None
    assert variants.of_type("AWS::XRay::Group") == {}


def test_explicit_group_filter():
    stack = new_stack()
    sampling = TracingSampling(
        stack,
        "Tracing",
        service_name="payflow-*",
        group_filter_expression='service("payflow-api") OR service("payflow-hooks")',
    )
    assert sampling.group is not None
    assert sampling.group.filter_expression == (
        'service("payflow-api") OR service("payflow-hooks")'
    )


# ---- bad input --------------------------------------------------------------------------------
BAD = [
    ({"service_name": ""}, r"TracingSampling: service_name='' is invalid; use the 1-64"),
    ({"service_name": 'a"b'}, r"service_name='a\"b' is invalid"),
    ({"service_name": "x" * 65}, r"service_name='x{65}' is invalid"),
    ({"fixed_rate": 1.5}, r"fixed_rate=1.5 is invalid; use a share between 0 and 1"),
    ({"fixed_rate": -0.1}, r"fixed_rate=-0.1 is invalid"),
    ({"fixed_rate": "0.1"}, r"fixed_rate='0.1' is invalid; pass a number"),
    ({"fixed_rate": True}, r"fixed_rate=True is invalid; pass a number"),
    ({"reservoir_size": -1}, r"reservoir_size=-1 is invalid; use a value between 0 and 100000"),
    ({"reservoir_size": 1.5}, r"reservoir_size=1.5 is invalid; pass a whole number"),
    ({"priority": 0}, r"priority=0 is invalid; use a value between 1 and 9999"),
    ({"priority": 10000}, r"priority=10000 is invalid"),
    ({"host": "a b"}, r"host='a b' is invalid; use a host name"),
    ({"url_path": "/" + "a" * 128}, r"url_path='/a+' is invalid; use a URL path of up to 128"),
    ({"url_path": "/a b"}, r"url_path='/a b' is invalid"),
    ({"http_method": "get"}, r"http_method='get' is invalid; use one of"),
    ({"service_type": "EC2"}, r"service_type='EC2' is invalid; use '\*' or a segment origin"),
    ({"attributes": {f"k{i}": "v" for i in range(6)}}, r"attributes=.* is invalid; match at most"),
    ({"attributes": {"k": 1}}, r"attributes=\{'k': 1\} is invalid; use string keys"),
    (
        {"service_name": "payflow-*"},
        r"group_filter_expression=None is invalid; service_name='payflow-\*' has wildcards",
    ),
    (
        {"insights": False, "group_filter_expression": 'service("x")'},
        r"group_filter_expression=.* is invalid; the filter belongs to the Insights group",
    ),
    ({"group_filter_expression": " "}, r"group_filter_expression=' ' is invalid; pass an X-Ray"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_bad_input_is_rejected_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack()
    with pytest.raises(ValueError, match=message):
        TracingSampling(stack, "Tracing", **{"service_name": "payflow-api", **overrides})
    assert stack.node.try_find_child("Tracing") is None


# ---- gates ------------------------------------------------------------------------------------
def test_log07_audit_passes(defaults: Built):
    report = evaluate(AuditTemplate(defaults.template), controls=[CATALOGUE["LOG-07"]])
    (result,) = report.results
    assert result.status is Status.PASS, result.outcome.items


def test_nag_clean():
    def build(stack: cdk.Stack) -> None:
        build_defaults(stack)
        build_variants(stack)

    assert nag_findings(build) == []


@pytest.mark.parametrize("variant", ["defaults", "variants"])
def test_cfn_lint_clean(stacks: dict[str, Built], variant: str):
    template = json.dumps(stacks[variant].template)
    matches = lint(template, config=ManualArgs(regions=["us-east-1", "us-east-2"]))
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []
