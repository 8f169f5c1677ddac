"""Blue/green traffic shifting with alarm gates and rollback (DEP-03).

:class:`TrafficShifter` moves an ALB listener rule's weighted forward action from the blue to the
green target group in steps, checks the release's alarms after every step, and moves all traffic
back to blue as soon as one of them is in ALARM. Deployment state changes are published to the
alarm topic.

* a **Lambda function** (:class:`~constructs_lib.serverless.SecureFunction`, code inlined from
  :mod:`constructs_lib.handlers.traffic_shifter`) with three actions: ``shift`` (green N %, blue
  100-N %, every other field of the rule's actions kept), ``check_alarms`` (an alarm in ALARM,
  or a gate alarm that no longer exists, counts as firing) and ``rollback`` (100 % blue). It may
  modify only this rule and read only the gate alarms;
* a **Step Functions state machine**: for every step *shift → wait → check alarms → choice*;
  a firing alarm, or a shift/check that still fails after retries, leads to the rollback task and
  a ``Fail`` state, otherwise the next step, and ``Succeed`` after 100 %. Logging (level ALL,
  without execution data) to a CMK-encrypted log group with retention, X-Ray tracing, its own
  role with one customer-managed policy per concern;
* **EventBridge rules** for this state machine's execution status changes and for CodeDeploy
  deployment state changes, each turned into a readable sentence (input transformer) on the alarm
  topic; events EventBridge cannot deliver land in an encrypted, retained dead-letter queue;
* an **alarm on the function's errors** through the alarm topic (MON-02).

Nothing starts an execution by itself: a pipeline or an operator starts it after the green fleet
is healthy (:meth:`TrafficShifter.grant_start_execution`). The function changes the rule at run
time, so the listener's weight parameters in the stack no longer describe the live weights; the
next stack update sets the rule back to the parameter values. Run one execution at a time: the
function's reserved concurrency of 1 keeps two weight changes from racing (each is a read, then a
write of the rule), but two executions would still take turns moving the weights. An execution
times out after ``len(steps) * (wait_between_steps + 5 minutes) + 30 minutes``.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Annotations, Aws, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.encryption import EncryptionKey, allow_log_groups
from constructs_lib.handlers import traffic_shifter as _handler
from constructs_lib.monitoring import AlarmSpec, AlarmTopic
from constructs_lib.serverless import SecureFunction
from constructs_lib.validation import invalid

_NAME = "TrafficShifter"

#: The handler module, inlined into the template as the function's ``index.py``.
HANDLER_FILE = Path(_handler.__file__)

#: Percent of traffic on green after each step.
DEFAULT_STEPS: tuple[int, ...] = (10, 25, 50, 100)
#: How long each step runs before its alarms are checked.
DEFAULT_WAIT = Duration.minutes(5)
_MIN_WAIT_S, _MAX_WAIT_S = 60, 24 * 3600
#: The function reads alarm names from one environment variable (Lambda allows 4 KB in total).
MAX_ALARMS = 10

#: What Step Functions needs to deliver execution logs to CloudWatch Logs (vended log delivery);
#: none of these actions supports resource-level permissions.
LOG_DELIVERY_ACTIONS: tuple[str, ...] = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)
#: X-Ray actions of a traced state machine (no resource-level permissions).
TRACING_ACTIONS: tuple[str, ...] = (
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)

_NO_VPC_REASON = (
    "the traffic shifter calls only the public Elastic Load Balancing and CloudWatch APIs of its "
    "region and reaches no private resource in a VPC"
)

ListenerRule = elbv2.ApplicationListenerRule | elbv2.CfnListenerRule
CodeDeployApplication = (
    codedeploy.IServerApplication | codedeploy.ILambdaApplication | codedeploy.IEcsApplication
)


def traffic_shifter_handler_source() -> str:
    """The handler source exactly as shipped in the function's ``ZipFile``."""
    return HANDLER_FILE.read_text(encoding="utf-8")


class TrafficShifter(Construct):
    """Alarm-gated, stepwise blue→green shifting of one listener rule, with rollback (DEP-03).

    :param rule: the listener rule whose forward action lists both target groups with weights
        (``elbv2.ApplicationListenerRule`` or ``elbv2.CfnListenerRule``). Only this rule can be
        modified by the function.
    :param blue_target_group: the group serving the current release; gets ``100 - N`` percent.
    :param green_target_group: the group serving the new release; gets ``N`` percent.
    :param alarms: 1 to :data:`MAX_ALARMS` alarms that gate every step (metric or composite); any
        of them in ALARM after a step rolls back. Combine more in a composite alarm.
    :param alarm_topic: the stack's :class:`~constructs_lib.monitoring.AlarmTopic`; execution and
        deployment state changes, and the function's errors alarm, are sent there. Its key also
        encrypts the notifications' dead-letter queue.
    :param log_encryption_key: CMK for the function's and the state machine's log groups; the
        construct adds the key-policy statement CloudWatch Logs needs (an imported key must
        already allow it; a warning says so).
    :param steps: percentages of traffic on green, strictly increasing whole numbers from 1 to
        100, ending at 100 (default :data:`DEFAULT_STEPS`).
    :param wait_between_steps: how long each step runs before the alarms are read, 1 minute to
        1 day (default 5 minutes). Make it longer than the alarms' evaluation window.
    :param log_retention: finite retention of both log groups (LOG-03).
    :param codedeploy_application: publish only this application's CodeDeploy deployment state
        changes; default every CodeDeploy deployment of the account and region.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rule: ListenerRule,
        blue_target_group: elbv2.IApplicationTargetGroup,
        green_target_group: elbv2.IApplicationTargetGroup,
        alarms: Sequence[cloudwatch.IAlarm],
        alarm_topic: AlarmTopic,
        log_encryption_key: kms.IKey | EncryptionKey,
        steps: Sequence[int] = DEFAULT_STEPS,
        wait_between_steps: Duration = DEFAULT_WAIT,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        codedeploy_application: CodeDeployApplication | None = None,
    ) -> None:
        _validate(
            rule=rule,
            blue_target_group=blue_target_group,
            green_target_group=green_target_group,
            alarms=alarms,
            alarm_topic=alarm_topic,
            log_encryption_key=log_encryption_key,
            steps=steps,
            wait_between_steps=wait_between_steps,
            log_retention=log_retention,
            codedeploy_application=codedeploy_application,
        )
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        log_key = (
            log_encryption_key.key
            if isinstance(log_encryption_key, EncryptionKey)
            else log_encryption_key
        )
        #: Percent of traffic on green after each step.
        self.steps: tuple[int, ...] = tuple(steps)
        #: ARN of the listener rule the function may modify.
        self.rule_arn: str = (
            rule.listener_rule_arn
            if isinstance(rule, elbv2.ApplicationListenerRule)
            else rule.attr_rule_arn
        )
        self.alarms: tuple[cloudwatch.IAlarm, ...] = tuple(alarms)

        # ---- the function --------------------------------------------------------------------
        self.function = SecureFunction(
            self,
            "Function",
            code=lambda_.Code.from_inline(traffic_shifter_handler_source()),
            handler="index.handler",
            description="Shifts blue/green weights of one listener rule and reads its gate alarms",
            log_encryption_key=log_key,
            environment={
                "RULE_ARN": self.rule_arn,
                "BLUE_TARGET_GROUP_ARN": blue_target_group.target_group_arn,
                "GREEN_TARGET_GROUP_ARN": green_target_group.target_group_arn,
                "ALARM_NAMES": stack.to_json_string([a.alarm_name for a in self.alarms]),
            },
            no_vpc_reason=_NO_VPC_REASON,
            reserved_concurrency=1,
            memory_size=128,
            timeout=Duration.seconds(30),
            log_retention=log_retention,
        )
        self.shift_policy = iam.ManagedPolicy(
            self,
            "ShiftPolicy",
            description=f"{self.node.path}: change the weights of one listener rule, read alarms",
            roles=[self.function.role],
            statements=[
                iam.PolicyStatement(
                    sid="ShiftWeightsOfOneRule",
                    actions=["elasticloadbalancing:ModifyRule"],
                    resources=[self.rule_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadRuleActions",
                    actions=["elasticloadbalancing:DescribeRules"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="ReadGateAlarms",
                    actions=["cloudwatch:DescribeAlarms"],
                    resources=[a.alarm_arn for a in self.alarms],
                ),
            ],
        )
        acknowledge(
            self.shift_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "only elasticloadbalancing:DescribeRules has Resource *: Describe* actions of Elastic "
            "Load Balancing support no resource-level permissions; ModifyRule is scoped to the "
            "one rule and DescribeAlarms to the gate alarms",
        )
        self.errors_alarm = alarm_topic.create_alarm(
            self,
            "FunctionErrorsAlarm",
            AlarmSpec(
                metric=self.function.metric_errors(period=Duration.minutes(1)),
                threshold=1,
                evaluation_periods=1,
                description=(
                    "The traffic-shifter function failed (shift, alarm check or rollback): read "
                    "its log group and the state machine's last execution; traffic may be split"
                ),
            ),
        )

        # ---- the state machine's identity and logs -------------------------------------------
        suffix = hashlib.sha256(self.node.path.encode()).hexdigest()[:8].upper()
        if not allow_log_groups(
            log_key, self, f"CloudWatchLogsTrafficShifter{suffix}", allow_no_op=True
        ).statement_added:
            Annotations.of(self).add_warning_v2(
                "hardened-stacks:TrafficShifter:importedLogKey",
                "log_encryption_key is imported, so TrafficShifter cannot add the key-policy "
                f"statement that lets logs.{Aws.REGION}.amazonaws.com use it; add it where the "
                "key is defined",
            )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=log_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self,
            "Role",
            description=f"Execution role of the traffic-shifting state machine {self.node.path}",
            assumed_by=iam.ServicePrincipal(
                "states.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
        )
        self.invoke_policy = iam.ManagedPolicy(
            self,
            "InvokePolicy",
            description=f"{self.node.path}: invoke the traffic-shifter function only",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="InvokeTrafficShifter",
                    actions=["lambda:InvokeFunction"],
                    resources=[self.function.function_arn],
                )
            ],
        )
        self.log_delivery_policy = iam.ManagedPolicy(
            self,
            "LogDeliveryPolicy",
            description=f"{self.node.path}: deliver execution logs to CloudWatch Logs",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="DeliverExecutionLogs",
                    actions=list(LOG_DELIVERY_ACTIONS),
                    resources=["*"],
                )
            ],
        )
        acknowledge(
            self.log_delivery_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions delivers execution logs through CloudWatch Logs log deliveries; "
            "CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, "
            "ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies and "
            "DescribeLogGroups support no resource-level permissions",
        )
        self.tracing_policy = iam.ManagedPolicy(
            self,
            "TracingPolicy",
            description=f"{self.node.path}: send X-Ray traces of executions",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="SendTraces",
                    actions=list(TRACING_ACTIONS),
                    resources=["*"],
                )
            ],
        )
        acknowledge(
            self.tracing_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules and GetSamplingTargets "
            "support no resource-level permissions; the policy holds only these for tracing",
        )

        # ---- the definition ------------------------------------------------------------------
        definition = Construct(self, "Definition")
        function = self.function.function
        #: Moves all traffic back to blue; reached from every alarm choice and failed task.
        self.rollback_task = tasks.LambdaInvoke(
            definition,
            "RollbackToBlue",
            lambda_function=function,
            payload=sfn.TaskInput.from_object({"action": "rollback"}),
            result_selector={"blue.$": "$.Payload.blue", "green.$": "$.Payload.green"},
            result_path="$.rollback",
            comment="Alarm fired or shifting failed: send 100 % of traffic to blue",
        )
        self.rollback_task.add_retry(
            errors=["States.ALL"],
            max_attempts=5,
            interval=Duration.seconds(5),
            backoff_rate=2,
        )
        self.rollback_task.next(
            sfn.Fail(
                definition,
                "RolledBack",
                error="TrafficShiftRolledBack",
                cause="A gate alarm fired or a shift failed; all traffic is back on blue",
            )
        )
        following: sfn.IChainable = sfn.Succeed(
            definition, "AllTrafficOnGreen", comment="Every step passed its alarm check"
        )
        for percent in reversed(self.steps):
            shift = tasks.LambdaInvoke(
                definition,
                f"ShiftTo{percent}PercentGreen",
                lambda_function=function,
                payload=sfn.TaskInput.from_object({"action": "shift", "green_weight": percent}),
                result_selector={"blue.$": "$.Payload.blue", "green.$": "$.Payload.green"},
                result_path="$.weights",
            )
            check = tasks.LambdaInvoke(
                definition,
                f"CheckAlarmsAt{percent}Percent",
                lambda_function=function,
                payload=sfn.TaskInput.from_object({"action": "check_alarms"}),
                result_selector={
                    "firing.$": "$.Payload.firing",
                    "alarming.$": "$.Payload.alarming",
                    "missing.$": "$.Payload.missing",
                },
                result_path="$.alarms",
            )
            for task in (shift, check):
                task.add_catch(self.rollback_task, errors=["States.ALL"], result_path="$.error")
            choice = (
                sfn.Choice(definition, f"AlarmFiringAt{percent}Percent")
                .when(sfn.Condition.boolean_equals("$.alarms.firing", True), self.rollback_task)
                .otherwise(following)
            )
            shift.next(
                sfn.Wait(
                    definition,
                    f"WaitAt{percent}Percent",
                    time=sfn.WaitTime.duration(wait_between_steps),
                )
            ).next(check).next(choice)
            following = shift
        wait_seconds = wait_between_steps.to_seconds()
        self.state_machine = sfn.StateMachine(
            self,
            "Resource",
            comment=(
                f"Shift traffic to green in steps {list(self.steps)} %, check alarms after each "
                "step, rollback to blue when one fires"
            ),
            definition_body=sfn.DefinitionBody.from_chainable(following),
            role=iam.Role.from_role_arn(self, "RoleReference", self.role.role_arn, mutable=False),
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
            tracing_enabled=True,
            timeout=Duration.seconds(len(self.steps) * (wait_seconds + 300) + 1800),
        )
        # Step Functions checks the role's log-delivery permissions when it creates the machine.
        self.state_machine.node.add_dependency(
            self.invoke_policy, self.log_delivery_policy, self.tracing_policy, self.shift_policy
        )

        # ---- notifications -------------------------------------------------------------------
        self.dead_letter_queue = sqs.Queue(
            self,
            "NotificationDeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=alarm_topic.encryption_key.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "this queue is itself the dead-letter queue of the deployment notification rules; a "
            "dead-letter queue of a dead-letter queue would only move the same events",
        )
        # EventBridge publishes to the CMK-encrypted topic and writes to the queue with that key.
        alarm_topic.allow_publish_from(
            f"TrafficShifterEvents{suffix}", "events.amazonaws.com", "events", "rule/*"
        )
        # A reference, so the target adds no unconditioned statement to the topic policy.
        topic = sns.Topic.from_topic_arn(self, "AlarmTopicReference", alarm_topic.topic_arn)

        def field(path: str) -> str:
            return events.EventField.from_path(path)

        self.execution_rule = events.Rule(
            self,
            "ExecutionStatusRule",
            description="Traffic-shift execution status changes to the alarm topic",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [self.state_machine.state_machine_arn]},
            ),
        )
        self.execution_rule.add_target(
            targets.SnsTopic(
                topic,
                message=events.RuleTargetInput.from_text(
                    f"Traffic shift {field('$.detail.name')} is {field('$.detail.status')} "
                    f"at {field('$.time')} (state machine {field('$.detail.stateMachineArn')}). "
                    "FAILED: a gate alarm fired or a shift failed, and the rollback sent all "
                    "traffic to blue unless the execution history shows that it failed too."
                ),
                dead_letter_queue=self.dead_letter_queue,
            )
        )
        detail = (
            {"application": [codedeploy_application.application_name]}
            if codedeploy_application is not None
            else None
        )
        self.deployment_rule = events.Rule(
            self,
            "DeploymentStateRule",
            description="CodeDeploy deployment state changes to the alarm topic",
            event_pattern=events.EventPattern(
                source=["aws.codedeploy"],
                detail_type=["CodeDeploy Deployment State-change Notification"],
                detail=detail,
            ),
        )
        self.deployment_rule.add_target(
            targets.SnsTopic(
                topic,
                message=events.RuleTargetInput.from_text(
                    f"CodeDeploy deployment {field('$.detail.deploymentId')} of "
                    f"{field('$.detail.application')}/{field('$.detail.deploymentGroup')} is "
                    f"{field('$.detail.state')} at {field('$.time')} in {field('$.region')}."
                ),
                dead_letter_queue=self.dead_letter_queue,
            )
        )
        for notification_rule in (self.execution_rule, self.deployment_rule):
            Annotations.of(notification_rule).acknowledge_warning(
                "@aws-cdk/aws-events:ruleUnresolvedEnvironment",
                "the target is the stack's own alarm topic, referenced by ARN so that CDK adds no "
                "unconditioned publish grant; rule and topic share the stack's account and region",
            )

    # ------------------------------------------------------------------------------------------
    @property
    def state_machine_arn(self) -> str:
        """ARN of the state machine."""
        return self.state_machine.state_machine_arn

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` (a pipeline role, an operator group) to start a traffic shift."""
        return self.state_machine.grant_start_execution(grantee)

    def metric_failed(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Executions that failed (rolled back, or could not even roll back)."""
        return self.state_machine.metric_failed(period=period)


def _validate(
    *,
    rule: object,
    blue_target_group: object,
    green_target_group: object,
    alarms: object,
    alarm_topic: object,
    log_encryption_key: object,
    steps: object,
    wait_between_steps: object,
    log_retention: object,
    codedeploy_application: object,
) -> None:
    """Reject bad arguments before anything is created."""
    if not isinstance(rule, elbv2.ApplicationListenerRule | elbv2.CfnListenerRule):
        raise invalid(
            _NAME,
            "rule",
            rule,
            "pass the elbv2.ApplicationListenerRule (or CfnListenerRule) that forwards to both "
            "target groups",
        )
    for argument, group in (
        ("blue_target_group", blue_target_group),
        ("green_target_group", green_target_group),
    ):
        if not hasattr(group, "target_group_arn"):
            raise invalid(_NAME, argument, group, "pass an elbv2.IApplicationTargetGroup")
    if blue_target_group is green_target_group:
        raise invalid(
            _NAME,
            "green_target_group",
            "the blue target group",
            "pass two different target groups: green receives the new release",
        )
    if isinstance(alarms, str | bytes) or not isinstance(alarms, Sequence) or not alarms:
        raise invalid(
            _NAME,
            "alarms",
            alarms,
            "pass at least one cloudwatch.IAlarm that gates every step (e.g. the service's "
            "composite alarm)",
        )
    for alarm in alarms:
        if not hasattr(alarm, "alarm_arn") or not hasattr(alarm, "alarm_name"):
            raise invalid(_NAME, "alarms", alarm, "every entry must be a cloudwatch.IAlarm")
    if len(alarms) > MAX_ALARMS:
        raise invalid(
            _NAME,
            "alarms",
            f"{len(alarms)} alarms",
            f"pass at most {MAX_ALARMS}; combine more in a cloudwatch.CompositeAlarm",
        )
    if not isinstance(alarm_topic, AlarmTopic):
        raise invalid(_NAME, "alarm_topic", alarm_topic, "pass the stack's AlarmTopic")
    key = log_encryption_key.key if isinstance(log_encryption_key, EncryptionKey) else None
    if key is None and not hasattr(log_encryption_key, "add_to_resource_policy"):
        raise invalid(
            _NAME, "log_encryption_key", log_encryption_key, "LOG-03 needs a CMK; pass a kms.IKey"
        )
    fix = (
        "pass whole percentages of traffic on green that strictly increase from 1 to 100 and "
        "end at 100, e.g. (10, 25, 50, 100)"
    )
    if isinstance(steps, str | bytes) or not isinstance(steps, Sequence) or not steps:
        raise invalid(_NAME, "steps", steps, fix)
    values = list(steps)
    if any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 100 for v in values):
        raise invalid(_NAME, "steps", steps, fix)
    if any(a >= b for a, b in itertools.pairwise(values)):
        raise invalid(_NAME, "steps", steps, f"steps must strictly increase; {fix}")
    if values[-1] != 100:
        raise invalid(_NAME, "steps", steps, f"the last step must move all traffic; {fix}")
    if not isinstance(wait_between_steps, Duration) or Token.is_unresolved(
        wait_between_steps.to_string()
    ):
        raise invalid(
            _NAME, "wait_between_steps", wait_between_steps, "pass a Duration such as minutes(5)"
        )
    try:
        seconds = wait_between_steps.to_seconds()
    except Exception as error:  # jsii: not a whole number of seconds
        raise invalid(
            _NAME, "wait_between_steps", wait_between_steps.to_human_string(), "use whole seconds"
        ) from error
    if not _MIN_WAIT_S <= seconds <= _MAX_WAIT_S:
        raise invalid(
            _NAME,
            "wait_between_steps",
            wait_between_steps.to_human_string(),
            "use 1 minute to 1 day, longer than the gate alarms' evaluation window",
        )
    if not isinstance(log_retention, logs.RetentionDays):
        raise invalid(_NAME, "log_retention", log_retention, "pass a logs.RetentionDays member")
    if log_retention == logs.RetentionDays.INFINITE:
        raise invalid(
            _NAME,
            "log_retention",
            log_retention,
            "LOG-03 needs an explicit retention; pick a finite RetentionDays such as ONE_YEAR",
        )
    if codedeploy_application is not None and not hasattr(
        codedeploy_application, "application_name"
    ):
        raise invalid(
            _NAME,
            "codedeploy_application",
            codedeploy_application,
            "pass a CodeDeploy application (e.g. codedeploy.ServerApplication) or omit it",
        )
