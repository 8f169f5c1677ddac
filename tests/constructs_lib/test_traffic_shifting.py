"""TrafficShifter (DEP-03, CMP-09, LOG-03, LOG-07, MON-02): state machine, function, notifications.

One app with two stacks is synthesized once for the module: ``Defaults`` (an
``ApplicationListenerRule`` with a weighted forward to two target groups, one gate alarm, default
arguments) and ``Variants`` (an L1 rule, an imported and a created alarm, a plain ``kms.IKey``,
two steps, a longer wait, a CodeDeploy application filter), plus one gated synth for cdk-nag.
The state machine's definition is also *run*: a small interpreter follows its states and calls
the real handler (``test_traffic_shifter_handler.py`` tests the handler alone) against stubbed
AWS clients.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Annotations, Match, Template
from botocore.stub import Stubber
from cfnlint.api import lint

from constructs_lib.acknowledgments import logical_id
from constructs_lib.encryption import EncryptionKey
from constructs_lib.handlers import traffic_shifter as handler_module
from constructs_lib.monitoring import AlarmSpec, AlarmTopic
from constructs_lib.traffic_shifting import (
    HANDLER_FILE,
    LOG_DELIVERY_ACTIONS,
    TRACING_ACTIONS,
    TrafficShifter,
)
from controls.checks import CATALOGUE
from controls.engine import evaluate
from controls.model import Status
from controls.template import Template as AuditTemplate
from tests.constructs_lib.test_traffic_shifter_handler import (
    ALARMS,
    ENVIRONMENT,
    RULE,
    alarm_states,
    expect_alarms,
    expect_shift,
)
from tests.support import cdk_json_context, nag_findings, new_stack

LISTENER_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/"
    "50dc6c495c0c9188/f2f7dc8efc522ab2"
)
IMPORTED_ALARM_ARN = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:api-health"


@dataclass
class Built:
    stack: cdk.Stack
    template: dict[str, Any]
    shifter: TrafficShifter
    topic: AlarmTopic
    rule: elbv2.ApplicationListenerRule | elbv2.CfnListenerRule
    groups: tuple[elbv2.ApplicationTargetGroup, elbv2.ApplicationTargetGroup]
    alarms: list[cloudwatch.IAlarm]

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template["Resources"])

    def of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def resource(self, construct: Any) -> dict[str, Any]:
        return dict(self.resources[logical_id(construct)])

    def props(self, construct: Any) -> dict[str, Any]:
        return dict(self.resource(construct)["Properties"])

    def definition(self) -> dict[str, Any]:
        """The state machine's definition, intrinsics replaced by readable placeholders."""
        raw = self.props(self.shifter.state_machine)["DefinitionString"]
        parts = raw["Fn::Join"][1] if isinstance(raw, dict) else [raw]
        return dict(json.loads("".join(_placeholder(p) for p in parts)))


def _placeholder(part: Any) -> str:
    if isinstance(part, str):
        return part
    if "Ref" in part:
        return "aws" if part["Ref"] == "AWS::Partition" else f"REF:{part['Ref']}"
    resource, attribute = part["Fn::GetAtt"]
    return f"GETATT:{resource}.{attribute}"


def _inputs(stack: cdk.Stack, *, cfn_rule: bool = False) -> dict[str, Any]:
    """A weighted listener rule on an imported listener, two target groups, keys and a topic."""
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-12345678",
        vpc_cidr_block="10.0.0.0/16",
        availability_zones=["us-east-1a", "us-east-1b"],
        private_subnet_ids=["subnet-11111111", "subnet-22222222"],
        private_subnet_route_table_ids=["rtb-11111111", "rtb-22222222"],
    )
    listener = elbv2.ApplicationListener.from_application_listener_attributes(
        stack,
        "Listener",
        listener_arn=LISTENER_ARN,
        security_group=ec2.SecurityGroup.from_security_group_id(stack, "AlbSg", "sg-12345678"),
    )
    blue, green = (
        elbv2.ApplicationTargetGroup(
            stack,
            name,
            vpc=vpc,
            port=8080,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.INSTANCE,
            health_check=elbv2.HealthCheck(path="/health/deep", healthy_http_codes="200"),
        )
        for name in ("Blue", "Green")
    )
    rule: elbv2.ApplicationListenerRule | elbv2.CfnListenerRule
    if cfn_rule:
        rule = elbv2.CfnListenerRule(
            stack,
            "ApiRule",
            listener_arn=LISTENER_ARN,
            priority=10,
            conditions=[
                elbv2.CfnListenerRule.RuleConditionProperty(field="path-pattern", values=["/api/*"])
            ],
            actions=[
                elbv2.CfnListenerRule.ActionProperty(
                    type="forward",
                    forward_config=elbv2.CfnListenerRule.ForwardConfigProperty(
                        target_groups=[
                            elbv2.CfnListenerRule.TargetGroupTupleProperty(
                                target_group_arn=blue.target_group_arn, weight=100
                            ),
                            elbv2.CfnListenerRule.TargetGroupTupleProperty(
                                target_group_arn=green.target_group_arn, weight=0
                            ),
                        ]
                    ),
                )
            ],
        )
    else:
        rule = elbv2.ApplicationListenerRule(
            stack,
            "ApiRule",
            listener=listener,
            priority=10,
            conditions=[elbv2.ListenerCondition.path_patterns(["/api/*"])],
            action=elbv2.ListenerAction.weighted_forward(
                [
                    elbv2.WeightedTargetGroup(target_group=blue, weight=100),
                    elbv2.WeightedTargetGroup(target_group=green, weight=0),
                ]
            ),
        )
    topic = AlarmTopic(
        stack,
        "Alarms",
        encryption_key=EncryptionKey(stack, "TopicKey", alias="topic", description="alarm topic"),
    )
    error_rate = topic.create_alarm(
        stack,
        "ApiErrors",
        AlarmSpec(
            metric=cloudwatch.Metric(
                namespace="AWS/ApplicationELB", metric_name="HTTPCode_Target_5XX_Count"
            ),
            threshold=5,
            description="The API answers with server errors; compare blue and green",
        ),
    )
    log_key = EncryptionKey(stack, "LogKey", alias="logs", description="log groups")
    return {
        "rule": rule,
        "blue_target_group": blue,
        "green_target_group": green,
        "alarms": [error_rate],
        "alarm_topic": topic,
        "log_encryption_key": log_key,
    }


def build_defaults(stack: cdk.Stack) -> Built:
    inputs = _inputs(stack)
    shifter = TrafficShifter(stack, "Shifter", **inputs)
    return _built(stack, shifter, inputs)


def build_variants(stack: cdk.Stack) -> Built:
    inputs = _inputs(stack, cfn_rule=True)
    inputs["alarms"].append(cloudwatch.Alarm.from_alarm_arn(stack, "Health", IMPORTED_ALARM_ARN))
    inputs["log_encryption_key"] = inputs["log_encryption_key"].key  # a plain kms.IKey
    shifter = TrafficShifter(
        stack,
        "Shifter",
        **inputs,
        steps=[20, 100],
        wait_between_steps=cdk.Duration.minutes(10),
        log_retention=logs.RetentionDays.THREE_MONTHS,
        codedeploy_application=codedeploy.ServerApplication(stack, "Deploy"),
    )
    return _built(stack, shifter, inputs)


def _built(stack: cdk.Stack, shifter: TrafficShifter, inputs: dict[str, Any]) -> Built:
    return Built(
        stack,
        {},
        shifter,
        inputs["alarm_topic"],
        inputs["rule"],
        (inputs["blue_target_group"], inputs["green_target_group"]),
        inputs["alarms"],
    )


@pytest.fixture(scope="module")
def stacks() -> dict[str, Built]:
    app = cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )
    built = {
        name: build(new_stack(app, name.capitalize()))
        for name, build in (("defaults", build_defaults), ("variants", build_variants))
    }
    for entry in built.values():
        entry.template = dict(Template.from_stack(entry.stack).to_json())
    return built


@pytest.fixture(scope="module")
def defaults(stacks: dict[str, Built]) -> Built:
    return stacks["defaults"]


@pytest.fixture(scope="module")
def variants(stacks: dict[str, Built]) -> Built:
    return stacks["variants"]


def _arn(construct: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id(construct), "Arn"]}


def _ref(construct: Any) -> dict[str, Any]:
    return {"Ref": logical_id(construct)}


def _statements(built: Built, policy: iam.ManagedPolicy) -> dict[str, dict[str, Any]]:
    document = built.props(policy)["PolicyDocument"]
    return {s.get("Sid", ""): s for s in document["Statement"]}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---- DEP-03: the state machine ---------------------------------------------------------------
def test_dep03_each_step_shifts_waits_checks_alarms_and_chooses(defaults: Built):
    states = defaults.definition()["States"]
    function = f"GETATT:{logical_id(defaults.shifter.function.function)}.Arn"
    assert defaults.definition()["StartAt"] == "ShiftTo10PercentGreen"
    steps = (10, 25, 50, 100)
    for index, percent in enumerate(steps):
        shift = states[f"ShiftTo{percent}PercentGreen"]
        assert shift["Type"] == "Task"
        assert shift["Resource"] == "arn:aws:states:::lambda:invoke"
        assert shift["Parameters"] == {
            "FunctionName": function,
            "Payload": {"action": "shift", "green_weight": percent},
        }
        assert shift["Next"] == f"WaitAt{percent}Percent"
        wait = states[f"WaitAt{percent}Percent"]
        assert wait == {"Type": "Wait", "Seconds": 300, "Next": f"CheckAlarmsAt{percent}Percent"}
        check = states[f"CheckAlarmsAt{percent}Percent"]
        assert check["Parameters"] == {
            "FunctionName": function,
            "Payload": {"action": "check_alarms"},
        }
        assert check["ResultPath"] == "$.alarms"
        assert check["ResultSelector"]["firing.$"] == "$.Payload.firing"
        choice = states[check["Next"]]
        assert choice["Type"] == "Choice"
        following = (
            f"ShiftTo{steps[index + 1]}PercentGreen"
            if index + 1 < len(steps)
            else "AllTrafficOnGreen"
        )
        assert choice["Default"] == following
    assert states["AllTrafficOnGreen"]["Type"] == "Succeed"
    assert len(states) == 4 * len(steps) + 3  # + rollback, its Fail, the final Succeed


def test_dep03_a_firing_alarm_routes_to_the_rollback_task(defaults: Built):
    states = defaults.definition()["States"]
    choices = {name: s for name, s in states.items() if s["Type"] == "Choice"}
    assert len(choices) == 4
    for choice in choices.values():
        assert choice["Choices"] == [
            {"Variable": "$.alarms.firing", "BooleanEquals": True, "Next": "RollbackToBlue"}
        ]
    rollback = states["RollbackToBlue"]
    assert rollback["Parameters"]["Payload"] == {"action": "rollback"}
    assert states[rollback["Next"]]["Type"] == "Fail"
    assert any(r["ErrorEquals"] == ["States.ALL"] for r in rollback["Retry"])
    assert "Catch" not in rollback


def test_dep03_a_failing_shift_or_check_also_rolls_back(defaults: Built):
    tasks = {
        name: s
        for name, s in defaults.definition()["States"].items()
        if s["Type"] == "Task" and name != "RollbackToBlue"
    }
    assert len(tasks) == 8
    for task in tasks.values():
        assert task["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RollbackToBlue"}
        ]


# ---- the definition, run against the real handler ------------------------------------------
def _path_get(data: dict[str, Any], path: str) -> Any:
    for key in path.removeprefix("$.").split("."):
        data = data[key]
    return data


def _path_put(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    keys = path.removeprefix("$.").split(".")
    target = data
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value
    return data


def run_definition(
    definition: dict[str, Any], invoke: Callable[[dict[str, Any]], Any]
) -> tuple[list[str], dict[str, Any]]:
    """Follow Task/Wait/Choice/Succeed/Fail states as Step Functions would (JSONPath subset)."""
    name: str = definition["StartAt"]
    data: dict[str, Any] = {}
    visited: list[str] = []
    while True:
        visited.append(name)
        state = definition["States"][name]
        kind = state["Type"]
        if kind in ("Succeed", "Fail"):
            return visited, data
        if kind == "Task":
            try:
                payload = invoke(state["Parameters"]["Payload"])
            except Exception as error:
                (catch,) = [c for c in state["Catch"] if c["ErrorEquals"] == ["States.ALL"]]
                _path_put(data, catch["ResultPath"], {"Error": type(error).__name__})
                name = catch["Next"]
                continue
            result = {
                key.removesuffix(".$"): _path_get({"Payload": payload}, selector)
                for key, selector in state["ResultSelector"].items()
            }
            _path_put(data, state["ResultPath"], result)
        elif kind == "Choice":
            name = next(
                (
                    c["Next"]
                    for c in state["Choices"]
                    if _path_get(data, c["Variable"]) is c["BooleanEquals"]
                ),
                state["Default"],
            )
            continue
        name = state["Next"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stubber, Stubber]]:
    """Stubbed ELB and CloudWatch clients behind ``boto3.client``, the function's environment."""
    clients = {
        service: boto3.client(
            service,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for service in ("elbv2", "cloudwatch")
    }
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "client", lambda service, *a, **k: clients[service])
    with Stubber(clients["elbv2"]) as elb, Stubber(clients["cloudwatch"]) as watch:
        yield elb, watch
        elb.assert_no_pending_responses()
        watch.assert_no_pending_responses()


def _invoke(payload: dict[str, Any]) -> Any:
    return handler_module.handler(payload, None)


def test_running_the_definition_an_alarm_at_25_percent_rolls_back_to_blue(
    defaults: Built, aws: tuple[Stubber, Stubber]
):
    elb, watch = aws
    expect_shift(elb, blue=90, green=10)
    expect_alarms(watch, ALARMS, alarm_states(**dict.fromkeys(ALARMS, "OK")))
    expect_shift(elb, blue=75, green=25, before=(90, 10))
    expect_alarms(watch, ALARMS, alarm_states(**{ALARMS[0]: "ALARM", ALARMS[1]: "OK"}))
    expect_shift(elb, blue=100, green=0, before=(75, 25))
    visited, data = run_definition(defaults.definition(), _invoke)
    assert visited[-2:] == ["RollbackToBlue", "RolledBack"]
    assert "ShiftTo50PercentGreen" not in visited
    assert data["rollback"] == {"blue": 100, "green": 0}
    assert data["alarms"]["alarming"] == [ALARMS[0]]


def test_running_the_definition_quiet_alarms_reach_100_percent(
    defaults: Built, aws: tuple[Stubber, Stubber]
):
    elb, watch = aws
    before = (100, 0)
    for percent in (10, 25, 50, 100):
        expect_shift(elb, blue=100 - percent, green=percent, before=before)
        expect_alarms(watch, ALARMS, alarm_states(**dict.fromkeys(ALARMS, "OK")))
        before = (100 - percent, percent)
    visited, data = run_definition(defaults.definition(), _invoke)
    assert visited[-1] == "AllTrafficOnGreen"
    assert "RollbackToBlue" not in visited
    assert data["weights"] == {"blue": 0, "green": 100}


def test_running_the_definition_a_failing_shift_rolls_back(
    defaults: Built, aws: tuple[Stubber, Stubber]
):
    elb, _ = aws
    elb.add_client_error("describe_rules", "AccessDenied", expected_params={"RuleArns": [RULE]})
    expect_shift(elb, blue=100, green=0)
    visited, data = run_definition(defaults.definition(), _invoke)
    assert visited == ["ShiftTo10PercentGreen", "RollbackToBlue", "RolledBack"]
    assert data["error"] == {"Error": "ClientError"}


# ---- logging, tracing, identity ------------------------------------------------------------
def test_log03_log07_state_machine_logs_everything_to_a_cmk_group_and_is_traced(defaults: Built):
    shifter = defaults.shifter
    props = defaults.props(shifter.state_machine)
    assert props["LoggingConfiguration"] == {
        "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": _arn(shifter.log_group)}}],
        "IncludeExecutionData": False,
        "Level": "ALL",
    }
    assert props["TracingConfiguration"] == {"Enabled": True}
    group = defaults.resource(shifter.log_group)
    assert group["Properties"]["KmsKeyId"] == _arn(_log_key(defaults))
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["DeletionPolicy"] == "Retain"


def test_log03_log_key_lets_cloudwatch_logs_use_it(defaults: Built):
    statements = [
        s
        for s in defaults.props(_log_key(defaults))["KeyPolicy"]["Statement"]
        if s.get("Sid", "").startswith("CloudWatchLogsTrafficShifter")
    ]
    (statement,) = statements
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert "kms:EncryptionContext:aws:logs:arn" in statement["Condition"]["ArnLike"]


def _log_key(built: Built) -> Any:
    found = built.stack.node.try_find_child("LogKey")
    assert isinstance(found, EncryptionKey)
    return found.key


def test_state_machine_has_its_own_role_with_one_policy_per_concern(defaults: Built):
    shifter = defaults.shifter
    props = defaults.props(shifter.state_machine)
    assert props["RoleArn"] == _arn(shifter.role)
    trust = defaults.props(shifter.role)["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
        }
    ]
    invoke = _statements(defaults, shifter.invoke_policy)
    assert invoke == {
        "InvokeTrafficShifter": {
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": _arn(shifter.function.function),
            "Sid": "InvokeTrafficShifter",
        }
    }
    delivery = _statements(defaults, shifter.log_delivery_policy)["DeliverExecutionLogs"]
    assert delivery["Action"] == list(LOG_DELIVERY_ACTIONS)
    tracing = _statements(defaults, shifter.tracing_policy)["SendTraces"]
    assert tracing["Action"] == list(TRACING_ACTIONS)
    for policy in (shifter.invoke_policy, shifter.log_delivery_policy, shifter.tracing_policy):
        assert defaults.props(policy)["Roles"] == [_ref(shifter.role)]
    # Step Functions checks the log-delivery permissions when it creates the machine.
    assert set(defaults.resource(shifter.state_machine)["DependsOn"]) >= {
        logical_id(shifter.log_delivery_policy),
        logical_id(shifter.invoke_policy),
    }
    assert defaults.of_type("AWS::IAM::Policy") == {}  # no inline policies anywhere


def test_iam_modify_rule_only_on_this_rule_and_alarms_read_only_the_gates(defaults: Built):
    shifter = defaults.shifter
    statements = _statements(defaults, shifter.shift_policy)
    assert statements["ShiftWeightsOfOneRule"]["Action"] == "elasticloadbalancing:ModifyRule"
    assert statements["ShiftWeightsOfOneRule"]["Resource"] == _ref(defaults.rule)
    assert statements["ReadRuleActions"]["Action"] == "elasticloadbalancing:DescribeRules"
    assert statements["ReadRuleActions"]["Resource"] == "*"
    assert statements["ReadGateAlarms"]["Action"] == "cloudwatch:DescribeAlarms"
    assert statements["ReadGateAlarms"]["Resource"] == _arn(defaults.alarms[0])
    assert defaults.props(shifter.shift_policy)["Roles"] == [_ref(shifter.function.role)]
    # nothing else in the template may change a listener or a rule
    modifying = [
        statement
        for policy in defaults.of_type("AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            a.startswith("elasticloadbalancing:Modify") or a == "elasticloadbalancing:*"
            for a in _as_list(statement["Action"])
        )
    ]
    assert modifying == [statements["ShiftWeightsOfOneRule"]]


def test_policy_actions_are_exactly_the_handlers_calls(defaults: Built):
    called = {"elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyRule"}
    called |= {"cloudwatch:DescribeAlarms"}  # the only calls the handler makes (see its tests)
    source = HANDLER_FILE.read_text(encoding="utf-8")
    assert set(re.findall(r"\.(describe_rules|modify_rule|describe_alarms)\(", source)) == {
        "describe_rules",
        "modify_rule",
        "describe_alarms",
    }
    actions = {
        action
        for s in _statements(defaults, defaults.shifter.shift_policy).values()
        for action in _as_list(s["Action"])
    }
    assert actions == called


# ---- the function ----------------------------------------------------------------------------
def test_cmp09_function_is_inlined_configured_and_hardened(defaults: Built):
    shifter = defaults.shifter
    props = defaults.props(shifter.function.function)
    assert props["Code"] == {"ZipFile": HANDLER_FILE.read_text(encoding="utf-8")}
    assert props["Handler"] == "index.handler"
    assert props["ReservedConcurrentExecutions"] == 1
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert "VpcConfig" not in props
    blue, green = defaults.groups
    variables = props["Environment"]["Variables"]
    assert variables["RULE_ARN"] == _ref(defaults.rule)
    assert variables["BLUE_TARGET_GROUP_ARN"] == _ref(blue)
    assert variables["GREEN_TARGET_GROUP_ARN"] == _ref(green)
    assert variables["ALARM_NAMES"] == {"Fn::Join": ["", ['["', _ref(defaults.alarms[0]), '"]']]}
    assert props["KmsKeyArn"]  # SecureFunction's own environment key


def test_mon02_function_errors_alarm_notifies_the_topic(defaults: Built):
    alarm = defaults.props(defaults.shifter.errors_alarm)
    assert alarm["Namespace"] == "AWS/Lambda"
    assert alarm["MetricName"] == "Errors"
    assert alarm["Dimensions"] == [
        {"Name": "FunctionName", "Value": _ref(defaults.shifter.function.function)}
    ]
    assert alarm["AlarmActions"] == [_ref(defaults.topic.topic)]
    assert alarm["OKActions"] == [_ref(defaults.topic.topic)]
    assert alarm["TreatMissingData"] == "notBreaching"


# ---- notifications ---------------------------------------------------------------------------
def test_dep03_execution_status_changes_go_to_the_topic_with_a_readable_message(defaults: Built):
    shifter = defaults.shifter
    rule = defaults.props(shifter.execution_rule)
    assert rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"stateMachineArn": [_ref(shifter.state_machine)]},
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == _ref(defaults.topic.topic)
    assert target["DeadLetterConfig"] == {"Arn": _arn(shifter.dead_letter_queue)}
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"]["detail-status"] == "$.detail.status"
    assert transformer["InputTemplate"].startswith(
        '"Traffic shift <detail-name> is <detail-status>'
    )


def test_dep03_codedeploy_state_changes_go_to_the_topic(defaults: Built):
    shifter = defaults.shifter
    rule = defaults.props(shifter.deployment_rule)
    assert rule["EventPattern"] == {
        "source": ["aws.codedeploy"],
        "detail-type": ["CodeDeploy Deployment State-change Notification"],
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == _ref(defaults.topic.topic)
    assert target["DeadLetterConfig"] == {"Arn": _arn(shifter.dead_letter_queue)}
    assert "<detail-state>" in target["InputTransformer"]["InputTemplate"]


def test_notification_dead_letter_queue_is_encrypted_retained_and_scoped(defaults: Built):
    shifter = defaults.shifter
    queue = defaults.resource(shifter.dead_letter_queue)
    assert queue["Properties"]["KmsMasterKeyId"] == _arn(defaults.topic.encryption_key.key)
    assert queue["DeletionPolicy"] == "Retain"
    assert queue["UpdateReplacePolicy"] == "Retain"
    policies = [
        p
        for p in defaults.of_type("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [_ref(shifter.dead_letter_queue)]
    ]
    (policy,) = policies
    senders = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert sorted(json.dumps(s["Condition"]) for s in senders) == sorted(
        json.dumps({"ArnEquals": {"aws:SourceArn": _arn(rule)}})
        for rule in (shifter.execution_rule, shifter.deployment_rule)
    )


def test_eventbridge_may_publish_only_from_this_accounts_rules(defaults: Built):
    (topic_policy,) = defaults.of_type("AWS::SNS::TopicPolicy").values()
    events_statements = [
        s
        for s in topic_policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    (statement,) = events_statements  # no unconditioned grant added by the CDK target
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
    }
    assert ":rule/*" in json.dumps(statement["Condition"]["ArnLike"])
    key_statements = [
        s
        for s in defaults.props(defaults.topic.encryption_key.key)["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    (key_statement,) = key_statements
    assert key_statement["Condition"] == statement["Condition"]
    assert key_statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_public_attributes_and_methods(defaults: Built):
    shifter = defaults.shifter
    assert shifter.state_machine.node.id == "Resource"
    assert shifter.steps == (10, 25, 50, 100)
    assert shifter.state_machine_arn == shifter.state_machine.state_machine_arn
    operator = iam.Role(defaults.stack, "Operator", assumed_by=iam.AccountRootPrincipal())
    grant = shifter.grant_start_execution(operator)
    assert grant.success
    metric = shifter.metric_failed()
    assert (metric.namespace, metric.metric_name) == ("AWS/States", "ExecutionsFailed")


def test_no_synth_warnings(defaults: Built):
    annotations = Annotations.from_stack(defaults.stack)
    assert annotations.find_warning("*", Match.any_value()) == []
    assert annotations.find_error("*", Match.any_value()) == []


# ---- behaviour-changing arguments -----------------------------------------------------------
def test_steps_wait_and_retention_arguments(variants: Built):
    definition = variants.definition()
    states = definition["States"]
    assert definition["StartAt"] == "ShiftTo20PercentGreen"
    assert [
        s["Parameters"]["Payload"].get("green_weight")
        for s in states.values()
        if s["Type"] == "Task"
    ] == [20, None, 100, None, None]
    assert states["WaitAt20Percent"]["Seconds"] == 600
    assert states["AlarmFiringAt20Percent"]["Default"] == "ShiftTo100PercentGreen"
    assert states["AlarmFiringAt100Percent"]["Default"] == "AllTrafficOnGreen"
    assert definition["TimeoutSeconds"] == 2 * (600 + 300) + 1800
    for group in (variants.shifter.log_group, variants.shifter.function.log_group):
        assert variants.props(group)["RetentionInDays"] == 90


def test_l1_rule_and_every_gate_alarm_are_used(variants: Built):
    shifter = variants.shifter
    statements = _statements(variants, shifter.shift_policy)
    rule_arn = {"Fn::GetAtt": [logical_id(variants.rule), "RuleArn"]}
    assert statements["ShiftWeightsOfOneRule"]["Resource"] == rule_arn
    assert sorted(map(json.dumps, statements["ReadGateAlarms"]["Resource"])) == sorted(
        map(json.dumps, [_arn(variants.alarms[0]), IMPORTED_ALARM_ARN])
    )
    variables = variants.props(shifter.function.function)["Environment"]["Variables"]
    assert variables["RULE_ARN"] == rule_arn
    assert variables["ALARM_NAMES"] == {
        "Fn::Join": ["", ['["', _ref(variants.alarms[0]), '","api-health"]']]
    }


def test_codedeploy_application_filters_the_deployment_rule(variants: Built):
    application = variants.stack.node.find_child("Deploy")
    rule = variants.props(variants.shifter.deployment_rule)
    assert rule["EventPattern"]["detail"] == {"application": [_ref(application)]}


def test_plain_kms_key_is_used_for_both_log_groups(variants: Built):
    key = _log_key(variants)
    for group in (variants.shifter.log_group, variants.shifter.function.log_group):
        assert variants.props(group)["KmsKeyId"] == _arn(key)


# ---- bad input -------------------------------------------------------------------------------
BAD: list[tuple[dict[str, Any], str]] = [
    ({"alarms": []}, r"alarms=\[\] is invalid; pass at least one cloudwatch.IAlarm"),
    ({"alarms": "api-5xx"}, r"alarms='api-5xx' is invalid"),
    ({"alarms": ["api-5xx"]}, r"alarms='api-5xx' is invalid; every entry must be"),
    ({"steps": [10, 50, 25, 100]}, r"steps=\[10, 50, 25, 100\] is invalid; steps must strictly"),
    ({"steps": [10, 10, 100]}, r"steps=\[10, 10, 100\] is invalid; steps must strictly"),
    ({"steps": (10, 25, 50)}, r"steps=\(10, 25, 50\) is invalid; the last step must move all"),
    ({"steps": [0, 100]}, r"steps=\[0, 100\] is invalid; pass whole percentages"),
    ({"steps": [50, 120]}, r"steps=\[50, 120\] is invalid"),
    ({"steps": [12.5, 100]}, r"steps=\[12.5, 100\] is invalid"),
    ({"steps": []}, r"steps=\[\] is invalid"),
    (
        {"wait_between_steps": cdk.Duration.seconds(30)},
        r"wait_between_steps='30 seconds' .* 1 minute",
    ),
    ({"wait_between_steps": cdk.Duration.days(2)}, r"wait_between_steps='2 days' is invalid"),
    ({"wait_between_steps": 300}, r"wait_between_steps=300 is invalid; pass a Duration"),
    ({"log_retention": logs.RetentionDays.INFINITE}, r"log_retention=.* LOG-03 needs"),
    ({"log_encryption_key": None}, r"log_encryption_key=None is invalid; LOG-03 needs a CMK"),
    ({"rule": LISTENER_ARN}, r"rule='arn:.*' is invalid; pass the elbv2.ApplicationListenerRule"),
    ({"green_target_group": "blue"}, r"green_target_group='blue' is invalid"),
    ({"alarm_topic": "arn:aws:sns:us-east-1:1:t"}, r"alarm_topic=.* pass the stack's AlarmTopic"),
    ({"codedeploy_application": "payflow"}, r"codedeploy_application='payflow' is invalid"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD)
def test_bad_input_is_rejected_before_anything_is_created(overrides: dict[str, Any], message: str):
    stack = new_stack()
    arguments = {**_inputs(stack), **overrides}
    with pytest.raises(ValueError, match=rf"^TrafficShifter: {message}"):
        TrafficShifter(stack, "Shifter", **arguments)
    assert stack.node.try_find_child("Shifter") is None


def test_same_blue_and_green_group_is_rejected():
    stack = new_stack()
    arguments = _inputs(stack)
    arguments["green_target_group"] = arguments["blue_target_group"]
    with pytest.raises(ValueError, match=r"green_target_group=.* pass two different target groups"):
        TrafficShifter(stack, "Shifter", **arguments)


def test_more_gate_alarms_than_the_environment_holds_are_rejected():
    stack = new_stack()
    arguments = _inputs(stack)
    arguments["alarms"] = [
        cloudwatch.Alarm.from_alarm_arn(stack, f"A{i}", f"{IMPORTED_ALARM_ARN}-{i}")
        for i in range(11)
    ]
    with pytest.raises(
        ValueError, match=r"alarms='11 alarms' is invalid; .*cloudwatch.CompositeAlarm"
    ):
        TrafficShifter(stack, "Shifter", **arguments)


def test_imported_log_key_is_reported():
    stack = new_stack()
    arguments = _inputs(stack)
    arguments["log_encryption_key"] = kms.Key.from_key_arn(
        stack,
        "Imported",
        "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555",
    )
    TrafficShifter(stack, "Shifter", **arguments)
    Annotations.from_stack(stack).has_warning(
        "/TestStack/Shifter", Match.string_like_regexp("^log_encryption_key is imported")
    )


# ---- gates -------------------------------------------------------------------------------------
def test_nag_clean():
    assert nag_findings(build_defaults) == []


@pytest.mark.parametrize("variant", ["defaults", "variants"])
def test_cfn_lint_clean(stacks: dict[str, Built], variant: str):
    matches = lint(json.dumps(stacks[variant].template), regions=["us-east-1"])
    assert [f"{m.rule.id} {m.message} {m.path}" for m in matches] == []


def test_dep03_audit_passes_on_a_template_with_a_weighted_listener_rule(defaults: Built):
    rules = [
        r
        for r in defaults.of_type("AWS::ElasticLoadBalancingV2::ListenerRule").values()
        if len(r["Properties"]["Actions"][0]["ForwardConfig"]["TargetGroups"]) == 2
    ]
    assert rules  # the weighted blue/green rule the shifter works on
    report = evaluate(AuditTemplate(defaults.template), controls=[CATALOGUE["DEP-03"]])
    (result,) = report.results
    assert result.status is Status.PASS, [i.message for i in result.outcome.items]
    passed = {i.message for i in result.outcome.items if i.status is Status.PASS}
    assert passed >= {
        "invokes a Lambda",
        "Wait state",
        "Choice state",
        "alarm check",
        "rollback",
        "a role may shift listener weights",
        "deployment state published to SNS",
    }


@pytest.mark.parametrize("control", ["LOG-03", "CMP-09", "ENC-02", "ENC-03", "RES-02"])
def test_audit_of_the_controls_the_construct_owns(defaults: Built, control: str):
    report = evaluate(AuditTemplate(defaults.template), controls=[CATALOGUE[control]])
    (result,) = report.results
    assert result.status is Status.PASS, [
        f"{i.logical_id}: {i.message}" for i in result.outcome.items if i.status is not Status.PASS
    ]


def test_mon02_audit_sees_the_lambda_errors_alarm_and_complete_alarms(defaults: Built):
    report = evaluate(AuditTemplate(defaults.template), controls=[CATALOGUE["MON-02"]])
    (result,) = report.results
    items = result.outcome.items
    errors_alarm = logical_id(defaults.shifter.errors_alarm)
    assert any(i.logical_id == errors_alarm and i.message == "Lambda errors alarm" for i in items)
    # the test stack's target groups need an unhealthy-hosts alarm; the shifter's alarm is complete
    assert [i.message for i in items if i.status is not Status.PASS] == ["no unhealthy hosts alarm"]
