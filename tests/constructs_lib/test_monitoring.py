"""AlarmTopic, AlarmSpec, error_rate_percent and OperationsDashboard.

Controls: MON-01 (CMK topic, e-mail/HTTPS subscriptions, DLQ), MON-02 (alarm and OK actions,
description, missing-data handling, zero-safe error rate), MON-03 (composite alarms with OK
actions), MON-04 (dashboard), RES-02 (the DLQ is retained).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Template

from constructs_lib.acknowledgments import logical_id
from constructs_lib.encryption import EncryptionKey
from constructs_lib.monitoring import (
    AlarmSpec,
    AlarmTopic,
    OperationsDashboard,
    error_rate_percent,
)
from tests.support import cdk_json_context, new_stack

ERRORS = cloudwatch.Metric(
    namespace="AWS/ApplicationELB", metric_name="HTTPCode_Target_5XX_Count", statistic="Sum"
)
REQUESTS = cloudwatch.Metric(
    namespace="AWS/ApplicationELB", metric_name="RequestCount", statistic="Sum"
)
CPU = cloudwatch.Metric(namespace="AWS/EC2", metric_name="CPUUtilization", statistic="Average")


def _fast_app() -> cdk.App:
    """The project's cdk.json context without the built-in CloudFormation validation."""
    return cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )


@dataclass(frozen=True)
class Built:
    resources: dict[str, Any]
    ids: dict[str, str]

    def of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: r for k, r in self.resources.items() if r["Type"] == resource_type}

    def resource(self, name: str) -> dict[str, Any]:
        resource: dict[str, Any] = self.resources[self.ids[name]]
        return resource


@pytest.fixture(scope="module")
def built() -> Built:
    stack = new_stack(_fast_app())
    key = EncryptionKey(stack, "Key", alias="alarms", description="Alarm topic", services=["sns"])
    topic = AlarmTopic(stack, "Alarms", encryption_key=key)
    email = topic.add_email_subscription("ops@example.com")
    pager_url = cdk.CfnParameter(stack, "PagerUrl", default="")
    has_pager = cdk.CfnCondition(
        stack,
        "HasPager",
        expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(pager_url.value_as_string, "")),
    )
    pager = topic.add_https_subscription(pager_url.value_as_string, condition=has_pager)
    hook = topic.add_https_subscription("https://hooks.example.com/alarms")
    cpu = topic.create_alarm(
        stack,
        "CpuHigh",
        AlarmSpec(
            metric=CPU,
            threshold=80,
            description="Fleet CPU above 80% for 2 of 3 minutes; check scaling and load",
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
        ),
    )
    error_rate = topic.create_alarm(
        stack,
        "ErrorRate",
        AlarmSpec(
            metric=error_rate_percent(ERRORS, REQUESTS),
            threshold=5,
            description="More than 5% of requests fail with 5xx; check the targets' logs",
        ),
    )
    composite = cloudwatch.CompositeAlarm(
        stack,
        "Degraded",
        alarm_rule=cloudwatch.AlarmRule.any_of(cpu, error_rate),
        alarm_description="The service is degraded: CPU or error rate alarm is firing",
    )
    topic.notify(composite)
    dashboard = OperationsDashboard(
        stack,
        "Dashboard",
        graphs={"Traffic": [REQUESTS, ERRORS], "Compute": [CPU]},
        alarms=[cpu, error_rate],
    )
    return Built(
        resources=Template.from_stack(stack).to_json()["Resources"],
        ids={
            "key": logical_id(key.key),
            "topic": logical_id(topic.topic),
            "dlq": logical_id(topic.dead_letter_queue),
            "email": logical_id(email),
            "pager": logical_id(pager),
            "hook": logical_id(hook),
            "cpu": logical_id(cpu),
            "error_rate": logical_id(error_rate),
            "composite": logical_id(composite),
            "dashboard": logical_id(dashboard.dashboard),
        },
    )


# ---- MON-01 -------------------------------------------------------------------------------------
def test_topic_is_encrypted_with_the_key(built: Built) -> None:
    topic = built.resource("topic")["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [built.ids["key"], "Arn"]}


def test_topic_policy_is_tls_only_and_publishers_are_scoped(built: Built) -> None:
    (policy,) = built.of_type("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Principal"] in ("*", {"AWS": "*"})
    assert "sns:Publish" in json.dumps(deny["Action"])
    for allow in (s for s in statements if s["Effect"] == "Allow"):
        assert allow["Condition"]["StringEquals"] == {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"}
        }
        assert "aws:SourceArn" in allow["Condition"]["ArnLike"]


def test_key_policy_lets_cloudwatch_and_sns_use_the_key_scoped(built: Built) -> None:
    statements = built.resource("key")["Properties"]["KeyPolicy"]["Statement"]
    by_sid = {s.get("Sid"): s for s in statements}
    alarms = by_sid["CloudWatchAlarmsPublishEncrypted"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert "aws:SourceArn" in alarms["Condition"]["ArnLike"]
    delivery = by_sid["SnsDeliveryToDeadLetterQueue"]
    assert delivery["Principal"] == {"Service": "sns.amazonaws.com"}
    assert delivery["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


def test_dead_letter_queue_is_encrypted_retained_and_tls_only(built: Built) -> None:
    dlq = built.resource("dlq")
    assert dlq["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [built.ids["key"], "Arn"]}
    assert dlq["DeletionPolicy"] == dlq["UpdateReplacePolicy"] == "Retain"
    (policy,) = built.of_type("AWS::SQS::QueuePolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Action": "sqs:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": {"Fn::GetAtt": [built.ids["dlq"], "Arn"]},
    } in statements
    (send,) = [s for s in statements if s["Effect"] == "Allow"]
    assert send["Principal"] == {"Service": "sns.amazonaws.com"}
    assert send["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": built.ids["topic"]}}}


@pytest.mark.parametrize(
    ("name", "protocol", "endpoint"),
    [
        ("email", "email", "ops@example.com"),
        ("pager", "https", {"Ref": "PagerUrl"}),
        ("hook", "https", "https://hooks.example.com/alarms"),
    ],
)
def test_subscriptions_redrive_to_the_dead_letter_queue(
    built: Built, name: str, protocol: str, endpoint: Any
) -> None:
    properties = built.resource(name)["Properties"]
    assert properties["Protocol"] == protocol
    assert properties["Endpoint"] == endpoint
    assert properties["TopicArn"] == {"Ref": built.ids["topic"]}
    assert properties["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [built.ids["dlq"], "Arn"]}
    }


def test_condition_only_on_the_subscription_that_asked_for_it(built: Built) -> None:
    assert built.resource("pager")["Condition"] == "HasPager"
    assert "Condition" not in built.resource("email")
    assert "Condition" not in built.resource("hook")


# ---- MON-02 / MON-03 ----------------------------------------------------------------------------
def test_every_alarm_notifies_on_alarm_and_ok(built: Built) -> None:
    topic = [{"Ref": built.ids["topic"]}]
    for alarm_type in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
        alarms = built.of_type(alarm_type)
        assert alarms
        for alarm in alarms.values():
            assert alarm["Properties"]["AlarmActions"] == topic
            assert alarm["Properties"]["OKActions"] == topic
            assert len(alarm["Properties"]["AlarmDescription"]) >= 15


def test_metric_alarms_say_how_missing_data_is_treated(built: Built) -> None:
    alarms = built.of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) == 2
    for alarm in alarms.values():
        assert alarm["Properties"]["TreatMissingData"] in (
            "breaching",
            "notBreaching",
            "ignore",
            "missing",
        )


def test_alarm_spec_settings_reach_the_alarm(built: Built) -> None:
    cpu = built.resource("cpu")["Properties"]
    assert cpu["Threshold"] == 80
    assert cpu["EvaluationPeriods"] == 3
    assert cpu["DatapointsToAlarm"] == 2
    assert cpu["TreatMissingData"] == "missing"
    assert cpu["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    error_rate = built.resource("error_rate")["Properties"]
    assert error_rate["EvaluationPeriods"] == error_rate["DatapointsToAlarm"] == 2
    assert error_rate["TreatMissingData"] == "notBreaching"


def test_error_rate_alarm_is_zero_safe(built: Built) -> None:
    metrics = built.resource("error_rate")["Properties"]["Metrics"]
    (expression,) = [m for m in metrics if "Expression" in m]
    assert expression["Expression"] == "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)"
    assert expression["ReturnData"] is True
    inputs = {m["Id"]: m["MetricStat"] for m in metrics if "MetricStat" in m}
    assert inputs["errors"]["Metric"]["MetricName"] == "HTTPCode_Target_5XX_Count"
    assert inputs["requests"]["Metric"]["MetricName"] == "RequestCount"
    assert {stat["Period"] for stat in inputs.values()} == {60}


def test_error_rate_percent_expression() -> None:
    expression = error_rate_percent(ERRORS, REQUESTS, label="5xx (%)")
    assert expression.expression.startswith("IF(requests > 0, ")
    assert expression.expression.endswith(", 0)")
    assert expression.label == "5xx (%)"
    assert set(expression.using_metrics) == {"errors", "requests"}


# ---- MON-04 -------------------------------------------------------------------------------------
def test_dashboard_has_a_graph_per_group_and_the_alarm_states(built: Built) -> None:
    (dashboard,) = built.of_type("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = "".join(part if isinstance(part, str) else json.dumps(part) for part in parts)
    assert body.count('"type":"metric"') == 2
    assert '"title":"Traffic"' in body
    assert '"title":"Compute"' in body
    assert body.count('"type":"alarm"') == 1
    assert built.ids["cpu"] in body
    assert built.ids["error_rate"] in body


# ---- bad input ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scratch() -> tuple[cdk.Stack, AlarmTopic]:
    """A stack that is never synthesized, for arguments that must fail early."""
    stack = new_stack(_fast_app())
    key = EncryptionKey(stack, "Key", alias="scratch", description="scratch key")
    return stack, AlarmTopic(stack, "Topic", encryption_key=key)


@pytest.mark.parametrize(
    "url", ["http://hooks.example.com/alarms", "HTTP://hooks.example.com", "ftp://example.com"]
)
def test_non_https_endpoints_are_refused(scratch: tuple[cdk.Stack, AlarmTopic], url: str) -> None:
    _, topic = scratch
    with pytest.raises(ValueError, match=r"AlarmTopic: url='.*' is invalid; use an https://"):
        topic.add_https_subscription(url)


def test_blank_email_is_refused(scratch: tuple[cdk.Stack, AlarmTopic]) -> None:
    _, topic = scratch
    with pytest.raises(ValueError, match=r"AlarmTopic: email=' ' is invalid; pass a non-empty"):
        topic.add_email_subscription(" ")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"description": "CPU is high"},
            r"AlarmSpec: description='CPU is high' is invalid; say what is wrong",
        ),
        (
            {"evaluation_periods": 2, "datapoints_to_alarm": 3},
            r"AlarmSpec: datapoints_to_alarm=3 is invalid; use a value between 1 and 2",
        ),
        ({"evaluation_periods": 0}, r"AlarmSpec: evaluation_periods=0 is invalid"),
    ],
)
def test_bad_alarm_specs_are_refused(
    scratch: tuple[cdk.Stack, AlarmTopic], settings: dict[str, Any], message: str
) -> None:
    stack, topic = scratch
    spec = AlarmSpec(
        **{"metric": CPU, "threshold": 90, "description": "CPU above 90% on the fleet", **settings}
    )
    before = len(stack.node.children)
    with pytest.raises(ValueError, match=message):
        topic.create_alarm(stack, f"Bad{before}", spec)
    assert len(stack.node.children) == before, "alarm created before validating"


def test_dashboard_without_graphs_is_refused(scratch: tuple[cdk.Stack, AlarmTopic]) -> None:
    stack, _ = scratch
    with pytest.raises(ValueError, match=r"OperationsDashboard: graphs=\{\} is invalid"):
        OperationsDashboard(stack, "Empty", graphs={})
