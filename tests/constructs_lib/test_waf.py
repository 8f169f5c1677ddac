"""WebAcl: EDGE-03 (managed rules, rate rule, metrics), LOG-05 (WAF logging), LOG-03 (log group)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template
from cfnlint.api import ManualArgs, lint

from constructs_lib.waf import LOG_GROUP_PREFIX, ManagedRuleGroup, WebAcl
from tests.support import nag_findings, new_app, new_stack

ALB_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef"
)
MANAGED_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


@dataclass
class Built:
    stack: cdk.Stack
    waf: WebAcl
    key: kms.Key
    template: Template

    def rules(self) -> dict[str, dict[str, Any]]:
        props = self.web_acl()["Properties"]
        return {rule["Name"]: rule for rule in props["Rules"]}

    def web_acl(self) -> dict[str, Any]:
        resource: dict[str, Any] = self.template.to_json()["Resources"][self.id(self.waf.web_acl)]
        return resource

    def id(self, element: Any) -> str:
        if isinstance(element, cdk.CfnElement):
            return self.stack.get_logical_id(element)
        return self.stack.get_logical_id(element.node.default_child)


def _load_balancer(stack: cdk.Stack, construct_id: str, arn: str) -> elbv2.IApplicationLoadBalancer:
    return elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
        stack, construct_id, load_balancer_arn=arn, security_group_id="sg-0123456789abcdef0"
    )


def build(stack: cdk.Stack) -> tuple[WebAcl, kms.Key]:
    key = kms.Key(stack, "LogsKey", enable_key_rotation=True)
    waf = WebAcl(
        stack, "WebAcl", encryption_key=key, associate_with=[_load_balancer(stack, "Alb", ALB_ARN)]
    )
    return waf, key


@pytest.fixture(scope="module")
def built() -> dict[str, Built]:
    app = new_app()
    default_stack = new_stack(app, "Waf-default")
    waf, key = build(default_stack)
    custom_stack = new_stack(app, "Waf-custom")
    custom_key = kms.Key(custom_stack, "LogsKey", enable_key_rotation=True)
    custom = WebAcl(
        custom_stack,
        "WebAcl",
        encryption_key=custom_key,
        rate_limit=500,
        rate_limit_window=cdk.Duration.minutes(1),
        log_retention=logs.RetentionDays.THREE_MONTHS,
        extra_managed_rule_groups=[
            ManagedRuleGroup(name="AWSManagedRulesLinuxRuleSet", version="Version_2.1")
        ],
    )
    custom.associate(_load_balancer(custom_stack, "Blue", ALB_ARN))
    custom.associate(_load_balancer(custom_stack, "Green", ALB_ARN.replace("/web/", "/green/")))
    second = WebAcl(custom_stack, "Second", encryption_key=custom_key)
    assembly = app.synth()

    def template(stack: cdk.Stack) -> Template:
        return Template.from_json(assembly.get_stack_by_name(stack.stack_name).template)

    return {
        "default": Built(default_stack, waf, key, template(default_stack)),
        "custom": Built(custom_stack, custom, custom_key, template(custom_stack)),
        "second": Built(custom_stack, second, custom_key, template(custom_stack)),
    }


# ---------------------------------------------------------------- EDGE-03
def test_edge03_regional_web_acl_allows_by_default(built: dict[str, Built]) -> None:
    built["default"].template.has_resource_properties(
        "AWS::WAFv2::WebACL", {"Scope": "REGIONAL", "DefaultAction": {"Allow": {}}}
    )


@pytest.mark.parametrize("group", MANAGED_GROUPS)
def test_edge03_aws_managed_rule_group_present(built: dict[str, Built], group: str) -> None:
    rule = built["default"].rules()[group]
    assert rule["Statement"] == {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}}
    # The group's own actions apply (no override to Count).
    assert rule["OverrideAction"] == {"None": {}}


def test_edge03_sqli_rule_set_is_enforced(built: dict[str, Built]) -> None:
    rules = built["default"].rules()
    assert "AWSManagedRulesSQLiRuleSet" in rules
    assert rules["AWSManagedRulesSQLiRuleSet"]["OverrideAction"] == {"None": {}}


def test_edge03_rule_priorities_are_unique_and_ordered(built: dict[str, Built]) -> None:
    priorities = {name: rule["Priority"] for name, rule in built["default"].rules().items()}
    assert priorities == {
        "AWSManagedRulesAmazonIpReputationList": 0,
        "RateLimitPerIp": 1,
        "AWSManagedRulesCommonRuleSet": 2,
        "AWSManagedRulesKnownBadInputsRuleSet": 3,
        "AWSManagedRulesSQLiRuleSet": 4,
    }


def test_edge03_rate_based_rule_blocks_per_ip(built: dict[str, Built]) -> None:
    rule = built["default"].rules()["RateLimitPerIp"]
    assert rule["Action"] == {"Block": {}}
    assert rule["Statement"] == {
        "RateBasedStatement": {"AggregateKeyType": "IP", "Limit": 2000, "EvaluationWindowSec": 300}
    }


def test_edge03_rate_limit_and_window_are_configurable(built: dict[str, Built]) -> None:
    statement = built["custom"].rules()["RateLimitPerIp"]["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == 500
    assert statement["EvaluationWindowSec"] == 60


def test_edge03_metrics_and_sampled_requests_on_everywhere(built: dict[str, Built]) -> None:
    target = built["default"]
    configs = [target.web_acl()["Properties"]["VisibilityConfig"]] + [
        rule["VisibilityConfig"] for rule in target.rules().values()
    ]
    assert len(configs) == 6
    for config in configs:
        assert config["CloudWatchMetricsEnabled"] is True
        assert config["SampledRequestsEnabled"] is True
        assert config["MetricName"]
    assert (
        target.web_acl()["Properties"]["VisibilityConfig"]["MetricName"] == target.waf.metric_name
    )


def test_edge03_extra_managed_rule_groups_follow_the_baseline(built: dict[str, Built]) -> None:
    rules = built["custom"].rules()
    extra = rules["AWSManagedRulesLinuxRuleSet"]
    assert extra["Priority"] == 10
    assert extra["Statement"]["ManagedRuleGroupStatement"] == {
        "VendorName": "AWS",
        "Name": "AWSManagedRulesLinuxRuleSet",
        "Version": "Version_2.1",
    }
    assert set(MANAGED_GROUPS) <= set(rules)


def test_edge03_association_with_the_load_balancer(built: dict[str, Built]) -> None:
    target = built["default"]
    target.template.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)
    target.template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        {
            "ResourceArn": ALB_ARN,
            "WebACLArn": {"Fn::GetAtt": [target.id(target.waf.web_acl), "Arn"]},
        },
    )
    assert target.waf.associations[0].node.id == "Association"


def test_edge03_associate_adds_one_association_per_load_balancer(built: dict[str, Built]) -> None:
    target = built["custom"]
    associations = target.template.find_resources("AWS::WAFv2::WebACLAssociation")
    mine = [
        a["Properties"]["ResourceArn"]
        for a in associations.values()
        if a["Properties"]["WebACLArn"] == {"Fn::GetAtt": [target.id(target.waf.web_acl), "Arn"]}
    ]
    assert sorted(mine) == sorted([ALB_ARN, ALB_ARN.replace("/web/", "/green/")])
    assert [a.node.id for a in target.waf.associations] == ["Association", "Association2"]


# ---------------------------------------------------------------- LOG-05 / LOG-03
def _log_group_name_parts(built: Built) -> list[Any]:
    group = built.template.to_json()["Resources"][built.id(built.waf.log_group)]
    name = group["Properties"]["LogGroupName"]
    parts: list[Any] = name["Fn::Join"][1]
    return parts


def test_log05_logging_configuration_to_the_log_group(built: dict[str, Built]) -> None:
    target = built["default"]
    resources = target.template.find_resources("AWS::WAFv2::LoggingConfiguration")
    (config,) = resources.values()
    props = config["Properties"]
    assert props["ResourceArn"] == {"Fn::GetAtt": [target.id(target.waf.web_acl), "Arn"]}
    (destination,) = props["LogDestinationConfigs"]
    # Log-group ARN in the form WAF accepts: ...:log-group:<name>, no ":*" suffix.
    joined = destination["Fn::Join"][1]
    assert joined[0] == "arn:aws:logs:us-east-1:"
    assert joined[2].startswith(":log-group:" + LOG_GROUP_PREFIX)
    assert joined[3:] == _log_group_name_parts(target)[1:]
    assert not json.dumps(destination).endswith(':*"')
    # The destination is a formatted ARN, so the dependency on the log group is explicit.
    assert config["DependsOn"] == [target.id(target.waf.log_group)]


def test_log05_sensitive_headers_are_redacted(built: dict[str, Built]) -> None:
    built["default"].template.has_resource_properties(
        "AWS::WAFv2::LoggingConfiguration",
        {
            "RedactedFields": [
                {"SingleHeader": {"Name": "authorization"}},
                {"SingleHeader": {"Name": "cookie"}},
            ]
        },
    )


def test_log05_log_group_name_prefix_and_uniqueness(built: dict[str, Built]) -> None:
    parts = _log_group_name_parts(built["default"])
    assert parts[0].startswith(LOG_GROUP_PREFIX)
    # The stack-UUID suffix keeps a retained group from blocking a redeployment.
    assert json.dumps(parts[1]).count('"AWS::StackId"') == 1
    first = _log_group_name_parts(built["custom"])[0]
    second = _log_group_name_parts(built["second"])[0]
    assert first != second
    for stem in (parts[0], first, second):
        assert re.fullmatch(r"aws-waf-logs-[A-Za-z0-9-]{1,200}-", stem), stem


def test_log03_log_group_cmk_retention_and_retained(built: dict[str, Built]) -> None:
    target = built["default"]
    target.template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "KmsKeyId": {"Fn::GetAtt": [target.id(target.key), "Arn"]},
                "RetentionInDays": 365,
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    built["custom"].template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 90})


def test_enc02_key_policy_lets_cloudwatch_logs_use_the_key_for_this_log_group_only(
    built: dict[str, Built],
) -> None:
    target = built["default"]
    stem = _log_group_name_parts(target)[0]
    target.template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                                "Resource": "*",
                                "Condition": {
                                    "ArnLike": {
                                        "kms:EncryptionContext:aws:logs:arn": {
                                            "Fn::Join": [
                                                "",
                                                [
                                                    "arn:aws:logs:us-east-1:",
                                                    {"Ref": "AWS::AccountId"},
                                                    f":log-group:{stem}*",
                                                ],
                                            ]
                                        }
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_public_attributes(built: dict[str, Built]) -> None:
    waf = built["default"].waf
    assert waf.web_acl.node.id == "Resource"
    assert isinstance(waf.log_group, logs.LogGroup)
    assert built["default"].stack.resolve(waf.arn) == {
        "Fn::GetAtt": [built["default"].id(waf.web_acl), "Arn"]
    }
    metric = waf.metric_blocked_requests()
    assert metric.namespace == "AWS/WAFV2"
    assert metric.metric_name == "BlockedRequests"


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rate_limit": 9}, r"rate_limit=9 is invalid; use a value between 10 and 2000000000"),
        ({"rate_limit": 2_000_000_001}, r"rate_limit=2000000001 is invalid"),
        ({"rate_limit": "2000"}, r"rate_limit='2000' is invalid; pass a number"),
        ({"rate_limit": 100.5}, r"rate_limit=100.5 is invalid; pass a whole number"),
        (
            {"rate_limit_window": cdk.Duration.minutes(3)},
            r"rate_limit_window \(seconds\)=180 is invalid; use one of \[60, 120, 300, 600\]",
        ),
        ({"log_retention": logs.RetentionDays.INFINITE}, r"log_retention=.* set an explicit"),
        (
            {"extra_managed_rule_groups": [ManagedRuleGroup(name="AWSManagedRulesSQLiRuleSet")]},
            r"extra_managed_rule_groups='AWSManagedRulesSQLiRuleSet' is invalid; each rule group",
        ),
        (
            {"extra_managed_rule_groups": [ManagedRuleGroup(name="bad name")]},
            r"extra_managed_rule_groups=.* names and vendors use letters",
        ),
        ({"encryption_key": None}, r"encryption_key=None is invalid; pass the KMS key"),
    ],
)
def test_bad_input_raises_before_anything_is_created(
    overrides: dict[str, Any], message: str
) -> None:
    stack = new_stack()
    arguments: dict[str, Any] = {"encryption_key": kms.Key(stack, "Key"), **overrides}
    with pytest.raises(ValueError, match=f"^WebAcl: {message}"):
        WebAcl(stack, "WebAcl", **arguments)
    assert stack.node.try_find_child("WebAcl") is None


def test_waf_minimum_rate_limit_is_accepted() -> None:
    """WAF's real floor is 10 requests per window (cfn-lint's schema agrees)."""
    stack = new_stack()
    waf = WebAcl(stack, "WebAcl", encryption_key=kms.Key(stack, "Key"), rate_limit=10)
    assert waf.web_acl.node.id == "Resource"


# ---------------------------------------------------------------- gates
def test_nag_clean() -> None:
    assert nag_findings(lambda stack: build(stack)) == []


@pytest.mark.parametrize("name", ["default", "custom"])
def test_cfn_lint_reports_nothing(built: dict[str, Built], name: str) -> None:
    template = json.dumps(built[name].template.to_json())
    matches = lint(template, config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []
