"""CostGuardrails (GOV-06): budget with alerts, Cost Anomaly Detection, publishing to AlarmTopic.

Three stacks are synthesized once for the module: ``Defaults`` (project tag, alarm topic),
``Variants`` (whole account, e-mail only, service monitor, changed thresholds) and ``Tokens``
(limit, project and anomaly threshold from parameters, topic and e-mail); plus one gated synth
for cdk-nag.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint
from constructs import Construct

from constructs_lib.acknowledgments import logical_id
from constructs_lib.cost import AnomalyMonitorScope, CostAllocationTag, CostGuardrails
from constructs_lib.encryption import EncryptionKey
from constructs_lib.monitoring import AlarmTopic
from controls import CATALOGUE, Status, evaluate
from controls import Template as AuditTemplate
from tests.support import cdk_json_context, nag_findings, new_stack

PAYFLOW = CostAllocationTag(key="Project", values=["payflow"])
ACCOUNT = {"Ref": "AWS::AccountId"}
STACK_SUFFIX = {
    "Fn::Select": [
        4,
        {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]},
    ]
}


@dataclass
class Built:
    template: dict[str, Any]
    cost: CostGuardrails
    topic: AlarmTopic | None

    def resource(self, construct: Any) -> dict[str, Any]:
        return dict(self.template["Resources"][logical_id(construct)])

    def props(self, construct: Any) -> dict[str, Any]:
        return dict(self.resource(construct)["Properties"])

    def of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}


def _topic(stack: cdk.Stack) -> AlarmTopic:
    key = EncryptionKey(stack, "AlarmKey", alias="alarms", description="alarms", services=["sns"])
    return AlarmTopic(stack, "Alarms", encryption_key=key)


def build_defaults(stack: cdk.Stack) -> tuple[CostGuardrails, AlarmTopic]:
    topic = _topic(stack)
    cost = CostGuardrails(
        stack, "Cost", monthly_limit_usd=1000, cost_allocation_tag=PAYFLOW, alarm_topic=topic
    )
    return cost, topic


def build_variants(scope: Construct) -> tuple[CostGuardrails, None]:
    cost = CostGuardrails(
        scope,
        "Cost",
        monthly_limit_usd=250.5,
        cost_allocation_tag=None,
        email_addresses=["finops@example.com", "owner@example.com"],
        actual_alert_percentages=[50],
        forecast_alert_percentages=[90, 110],
        anomaly_monitor_scope=AnomalyMonitorScope.AWS_SERVICES,
        anomaly_threshold_usd=25,
        anomaly_threshold_percent=15,
        anomaly_email_frequency="WEEKLY",
    )
    return cost, None


def build_tokens(stack: cdk.Stack) -> tuple[CostGuardrails, AlarmTopic]:
    topic = _topic(stack)
    limit = cdk.CfnParameter(stack, "MonthlyBudget", type="Number", min_value=1, default=500)
    project = cdk.CfnParameter(stack, "Project", default="payflow")
    threshold = cdk.CfnParameter(stack, "AnomalyUsd", type="Number", min_value=1, default=50)
    email = cdk.CfnParameter(stack, "FinOpsEmail", default="finops@example.com")
    cost = CostGuardrails(
        stack,
        "Cost",
        monthly_limit_usd=limit.value_as_number,
        cost_allocation_tag=CostAllocationTag(key="Project", values=[project.value_as_string]),
        alarm_topic=topic,
        email_addresses=[email.value_as_string],
        anomaly_threshold_usd=threshold.value_as_number,
    )
    return cost, topic


BUILDERS = {"defaults": build_defaults, "variants": build_variants, "tokens": build_tokens}


@pytest.fixture(scope="module")
def stacks() -> dict[str, Built]:
    app = cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )
    built = {
        name: (stack, build(stack))
        for name, build in BUILDERS.items()
        for stack in [new_stack(app, name.capitalize())]
    }
    return {
        name: Built(dict(Template.from_stack(stack).to_json()), *constructs)
        for name, (stack, constructs) in built.items()
    }


@pytest.fixture(scope="module")
def defaults(stacks: dict[str, Built]) -> Built:
    return stacks["defaults"]


@pytest.fixture(scope="module")
def variants(stacks: dict[str, Built]) -> Built:
    return stacks["variants"]


@pytest.fixture(scope="module")
def tokens(stacks: dict[str, Built]) -> Built:
    return stacks["tokens"]


def _notification(kind: str, threshold: float, subscribers: list[dict[str, Any]]) -> dict:
    return {
        "Notification": {
            "ComparisonOperator": "GREATER_THAN",
            "NotificationType": kind,
            "Threshold": threshold,
            "ThresholdType": "PERCENTAGE",
        },
        "Subscribers": subscribers,
    }


def _topic_ref(built: Built) -> dict[str, str]:
    assert built.topic is not None
    return {"Ref": logical_id(built.topic.topic)}


def _absolute(value: Any) -> dict[str, Any]:
    return {
        "Dimensions": {
            "Key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
            "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
            "Values": [value],
        }
    }


def _source_arn(service: str) -> dict[str, Any]:
    """A regionless ARN pattern of the service's resources in this account."""
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":{service}::", ACCOUNT, ":*"]]}


# ---- GOV-06: the budget -----------------------------------------------------------------------
def test_gov06_budget_defaults(defaults: Built):
    resource = defaults.resource(defaults.cost.budget)
    assert defaults.cost.budget.node.id == "Resource"
    assert resource["Type"] == "AWS::Budgets::Budget"
    props = resource["Properties"]
    sns = [{"SubscriptionType": "SNS", "Address": _topic_ref(defaults)}]
    assert props["Budget"] == {
        "BudgetType": "COST",
        "TimeUnit": "MONTHLY",
        "BudgetLimit": {"Amount": 1000, "Unit": "USD"},
        "CostFilters": {"TagKeyValue": ["user:Project$payflow"]},
        "CostTypes": {"IncludeCredit": False, "IncludeRefund": False},
    }
    assert props["NotificationsWithSubscribers"] == [
        _notification("ACTUAL", 80, sns),
        _notification("ACTUAL", 100, sns),
        _notification("FORECASTED", 100, sns),
    ]


def test_budget_has_no_physical_name(defaults: Built):
    # changing the notifications replaces the budget; a fixed name would make that fail
    assert "BudgetName" not in defaults.props(defaults.cost.budget)["Budget"]
    assert cdk.Token.is_unresolved(defaults.cost.budget_name)


def test_alerts_wait_for_the_policies_that_let_the_services_publish(defaults: Built):
    assert defaults.topic is not None
    policy = defaults.topic.topic.node.find_child("Policy")  # the topic's AWS::SNS::TopicPolicy
    expected = {logical_id(defaults.topic.encryption_key.key), logical_id(policy)}
    assert set(defaults.resource(defaults.cost.budget)["DependsOn"]) == expected
    assert defaults.cost.anomaly_alerts is not None
    assert set(defaults.resource(defaults.cost.anomaly_alerts)["DependsOn"]) == expected


# ---- GOV-06: Cost Anomaly Detection -----------------------------------------------------------
def test_gov06_anomaly_monitor_is_scoped_to_the_cost_allocation_tag(defaults: Built):
    props = defaults.props(defaults.cost.anomaly_monitor)
    assert props["MonitorType"] == "CUSTOM"
    assert "MonitorDimension" not in props
    assert json.loads(props["MonitorSpecification"]) == {
        "Tags": {"Key": "Project", "Values": ["payflow"]}
    }
    # <construct path>-<hash>-monitor-<last block of the stack UUID>
    prefix, suffix = props["MonitorName"]["Fn::Join"][1]
    assert re.fullmatch(r"Defaults-Cost-[0-9A-F]{8}-monitor", prefix)
    assert suffix == STACK_SUFFIX


def test_gov06_immediate_anomaly_alerts_go_to_the_topic(defaults: Built):
    assert defaults.cost.anomaly_alerts is not None
    props = defaults.props(defaults.cost.anomaly_alerts)
    assert props["Frequency"] == "IMMEDIATE"
    assert props["MonitorArnList"] == [
        {"Fn::GetAtt": [logical_id(defaults.cost.anomaly_monitor), "MonitorArn"]}
    ]
    assert props["Subscribers"] == [{"Type": "SNS", "Address": _topic_ref(defaults)}]
    assert json.loads(props["ThresholdExpression"]) == _absolute("100")
    assert "Threshold" not in props
    assert defaults.cost.anomaly_summaries is None
    assert len(defaults.of_type("AWS::CE::AnomalySubscription")) == 1


# ---- publishing to the encrypted alarm topic --------------------------------------------------
@pytest.mark.parametrize(
    ("sid", "principal", "service"),
    [
        ("AwsBudgetsPublish", "budgets.amazonaws.com", "budgets"),
        ("CostAnomalyDetectionPublish", "costalerts.amazonaws.com", "ce"),
    ],
)
def test_services_may_publish_only_for_this_account(
    defaults: Built, sid: str, principal: str, service: str
):
    assert defaults.topic is not None
    conditions = {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": _source_arn(service)},
    }
    (topic_policy,) = defaults.of_type("AWS::SNS::TopicPolicy").values()
    statements = {s["Sid"]: s for s in topic_policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements[sid] == {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": principal},
        "Action": "sns:Publish",
        "Resource": _topic_ref(defaults),
        "Condition": conditions,
    }
    key = defaults.props(defaults.topic.encryption_key.key)
    key_statements = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    assert key_statements[f"{sid}Encrypted"] == {
        "Sid": f"{sid}Encrypted",
        "Effect": "Allow",
        "Principal": {"Service": principal},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": conditions,
    }


# ---- behaviour-changing arguments -------------------------------------------------------------
def test_whole_account_budget_with_email_only(variants: Built):
    props = variants.props(variants.cost.budget)
    assert "CostFilters" not in props["Budget"]
    assert props["Budget"]["BudgetLimit"] == {"Amount": 250.5, "Unit": "USD"}
    emails = [
        {"SubscriptionType": "EMAIL", "Address": "finops@example.com"},
        {"SubscriptionType": "EMAIL", "Address": "owner@example.com"},
    ]
    assert props["NotificationsWithSubscribers"] == [
        _notification("ACTUAL", 50, emails),
        _notification("FORECASTED", 90, emails),
        _notification("FORECASTED", 110, emails),
    ]
    assert "DependsOn" not in variants.resource(variants.cost.budget)
    assert variants.of_type("AWS::SNS::TopicPolicy") == {}


def test_service_monitor_and_email_summaries(variants: Built):
    monitor = variants.props(variants.cost.anomaly_monitor)
    assert monitor["MonitorType"] == "DIMENSIONAL"
    assert monitor["MonitorDimension"] == "SERVICE"
    assert "MonitorSpecification" not in monitor
    assert variants.cost.anomaly_alerts is None
    assert variants.cost.anomaly_summaries is not None
    props = variants.props(variants.cost.anomaly_summaries)
    assert props["Frequency"] == "WEEKLY"
    assert props["Subscribers"] == [
        {"Type": "EMAIL", "Address": "finops@example.com"},
        {"Type": "EMAIL", "Address": "owner@example.com"},
    ]
    assert json.loads(props["ThresholdExpression"]) == {
        "And": [
            _absolute("25"),
            {
                "Dimensions": {
                    "Key": "ANOMALY_TOTAL_IMPACT_PERCENTAGE",
                    "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
                    "Values": ["15"],
                }
            },
        ]
    }


def test_deploy_time_values(tokens: Built):
    budget = tokens.props(tokens.cost.budget)["Budget"]
    assert budget["BudgetLimit"]["Amount"] == {"Ref": "MonthlyBudget"}
    assert budget["CostFilters"] == {
        "TagKeyValue": [{"Fn::Join": ["", ["user:Project$", {"Ref": "Project"}]]}]
    }
    subscribers = tokens.props(tokens.cost.budget)["NotificationsWithSubscribers"][0]["Subscribers"]
    assert subscribers[1] == {"SubscriptionType": "EMAIL", "Address": {"Ref": "FinOpsEmail"}}
    monitor = tokens.props(tokens.cost.anomaly_monitor)
    assert monitor["MonitorSpecification"] == {
        "Fn::Join": ["", ['{"Tags":{"Key":"Project","Values":["', {"Ref": "Project"}, '"]}}']]
    }
    assert tokens.cost.anomaly_alerts is not None
    threshold = tokens.props(tokens.cost.anomaly_alerts)["ThresholdExpression"]
    assert {"Ref": "AnomalyUsd"} in threshold["Fn::Join"][1]
    assert tokens.cost.anomaly_summaries is not None
    assert tokens.props(tokens.cost.anomaly_summaries)["Frequency"] == "DAILY"


# ---- bad input --------------------------------------------------------------------------------
BAD = [
    ({"monthly_limit_usd": 0}, r"CostGuardrails: monthly_limit_usd=0 is invalid; pass the monthly"),
    ({"monthly_limit_usd": -5}, r"monthly_limit_usd=-5 is invalid"),
    ({"monthly_limit_usd": "100"}, r"monthly_limit_usd='100' is invalid"),
    ({"monthly_limit_usd": True}, r"monthly_limit_usd=True is invalid"),
    ({"cost_allocation_tag": "Project=payflow"}, r"cost_allocation_tag='Project=payflow' is inv"),
    (
        {"cost_allocation_tag": CostAllocationTag(key="aws:createdBy", values=["x"])},
        r"cost_allocation_tag.key='aws:createdBy' is invalid; use a user-defined tag key",
    ),
    (
        {"cost_allocation_tag": CostAllocationTag(key="Project", values=[])},
        r"cost_allocation_tag.values=\[\] is invalid; pass a non-empty list",
    ),
    (
        {"cost_allocation_tag": CostAllocationTag(key="Project", values="payflow")},
        r"cost_allocation_tag.values='payflow' is invalid; pass a non-empty list",
    ),
    (
        {"cost_allocation_tag": CostAllocationTag(key="Project", values=["pay$flow"])},
        r"cost_allocation_tag.values='pay\$flow' is invalid",
    ),
    ({"alarm_topic": None}, r"alarm_topic=None is invalid; GOV-06 alerts need a destination"),
    ({"alarm_topic": "arn:aws:sns:us-east-1:1:t"}, r"alarm_topic='arn:aws.* pass the stack's Al"),
    (
        {"email_addresses": [f"u{i}@example.com" for i in range(11)]},
        r"email_addresses=11 is invalid; use at most 10",
    ),
    ({"email_addresses": ["not-an-email"]}, r"email_addresses='not-an-email' is invalid"),
    (
        {"email_addresses": ["a@example.com", "a@example.com"]},
        r"email_addresses=.* is invalid; list each address once",
    ),
    ({"actual_alert_percentages": [0]}, r"actual_alert_percentages=0 is invalid; use percent"),
    ({"forecast_alert_percentages": [1001]}, r"forecast_alert_percentages=1001 is invalid"),
    ({"actual_alert_percentages": [80, 80]}, r"actual_alert_percentages=\[80, 80\] is invalid"),
    (
        {"actual_alert_percentages": [], "forecast_alert_percentages": []},
        r"actual_alert_percentages=\[\] is invalid; GOV-06 needs budget alerts",
    ),
    (
        {"actual_alert_percentages": [50, 80, 100, 120], "forecast_alert_percentages": [90, 100]},
        r"actual_alert_percentages=.* is invalid; AWS Budgets allows at most 5",
    ),
    (
        {"anomaly_monitor_scope": "SERVICE"},
        r"anomaly_monitor_scope='SERVICE' is invalid; pass an AnomalyMonitorScope",
    ),
    (
        {"cost_allocation_tag": None},
        r"anomaly_monitor_scope='COST_ALLOCATION_TAG' is invalid; a cost-allocation-tag monitor "
        r"needs cost_allocation_tag",
    ),
    ({"anomaly_threshold_usd": 0}, r"anomaly_threshold_usd=0 is invalid; pass the total impact"),
    ({"anomaly_threshold_percent": -1}, r"anomaly_threshold_percent=-1 is invalid"),
    ({"anomaly_email_frequency": "IMMEDIATE"}, r"anomaly_email_frequency='IMMEDIATE' is invalid"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_bad_input_is_rejected_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack()
    topic = _topic(stack)
    before = len(topic.topic.node.children)
    arguments: dict[str, Any] = {
        "monthly_limit_usd": 100,
        "cost_allocation_tag": PAYFLOW,
        "alarm_topic": topic,
        **overrides,
    }
    with pytest.raises(ValueError, match=message):
        CostGuardrails(stack, "Cost", **arguments)
    assert stack.node.try_find_child("Cost") is None
    assert len(topic.topic.node.children) == before


# ---- gates ------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["defaults", "variants"])
def test_gov06_audit_passes(stacks: dict[str, Built], variant: str):
    report = evaluate(AuditTemplate(stacks[variant].template), controls=[CATALOGUE["GOV-06"]])
    (result,) = report.results
    assert result.status is Status.PASS, result.outcome.items


def test_nag_clean():
    def build(stack: cdk.Stack) -> None:
        build_defaults(stack)
        build_variants(Construct(stack, "Variants"))

    assert nag_findings(build) == []


@pytest.mark.parametrize("variant", list(BUILDERS))
def test_cfn_lint_clean(stacks: dict[str, Built], variant: str):
    template = json.dumps(stacks[variant].template)
    matches = lint(template, config=ManualArgs(regions=["us-east-1", "us-east-2"]))
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []
