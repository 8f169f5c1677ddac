"""Blue/green EC2 service behind a weighted ALB rule, released by CodeDeploy (DEP-01, DEP-02).

``BlueGreenService`` is the PayFlow API tier (SPEC 2.5): two identical :class:`HardenedFleet` s
(``Blue`` and ``Green``), each registered in its own target group of a :class:`SecureLoadBalancer`,
and one listener rule that forwards the service's paths to both groups with weights.

* **DEP-01** the rule's forward action lists the blue and the green target group with
  ``blue_weight`` / ``green_weight``. Pass numbers for fixed weights or
  ``CfnParameter.value_as_number`` tokens (MinValue 0, MaxValue 100) so a deployment, or the
  traffic shifter that rewrites the rule (``rule``), moves traffic between the colours.
* **DEP-02** a CodeDeploy ``ServerApplication`` with one in-place deployment group per colour
  (``BlueDeployment`` / ``GreenDeployment``), with traffic control on the colour's target group
  and automatic rollback on a failed deployment and when an alarm fires. The alarms are the
  caller's ``rollback_alarms`` plus the colour's own unhealthy-host alarm.
* **EDGE-04** both target groups use explicit deep health checks (``/health/deep`` every 30 s,
  timeout, thresholds, matcher over the target protocol) and a 30 s deregistration delay.
* **EDGE-05** the rule matches path patterns (default ``/api/*``).
* **CMP-01..07** come with :class:`HardenedFleet`; the service adds a mixed instances policy
  (``t3.medium``, ``t3.large``, ``m5.large``), target tracking on CPU (70 %) and on
  ``ALBRequestCountPerTarget`` (1000), step scaling for spikes, predictive scaling and
  launch/terminate lifecycle hooks to each fleet.

Why one in-place deployment group per fleet instead of CodeDeploy's own EC2 blue/green: CodeDeploy
blue/green for Auto Scaling groups copies the group into a new, CloudFormation-unmanaged group and
deletes the original after the release, so the template's fleets (and their scaling policies,
hooks and signals) would drift away from what is deployed; it also shifts all traffic of a target
group at once instead of by weight. Here both fleets stay CloudFormation resources: a release is
deployed to the idle colour (weight 0) by its deployment group, then the weights move (stack
parameters or the traffic shifter). A failure or an alarm during the deployment rolls that
colour back to its last good revision while the live colour keeps serving.

Deployment configuration: ``CodeDeployDefault.OneAtATime`` by default. With the minimum of two
instances per fleet it keeps at least one instance of the colour in service and stops at the first
failed instance; ``HalfAtATime`` halves the time for larger fleets.

CodeDeploy agent: the deployment groups do *not* use CDK's ``install_agent``. That appends its
install script to the user data *after* HardenedFleet's readiness probe and lifecycle-hook
completion (the instance would be in service, and would have signalled CloudFormation, before the
agent exists), runs a full ``yum update``, toggles ``set +e`` and grants the download in the role's
inline default policy (``IAMNoInlinePolicy``). Instead the agent is installed by the first
``user_data_commands`` of each fleet, under HardenedFleet's ``set -euo pipefail``: a failed install
fails the instance's signal, and the readiness probe only runs once the agent is up. The
installer is downloaded over HTTPS (the fleet's only egress) from the regional, public CodeDeploy
bucket; no IAM permission is needed for it.

Listener: the rule is attached to the listener that serves traffic. Without a certificate that is
the HTTP listener; with a certificate the HTTPS listener (HTTP redirects). With a *conditional*
certificate the rule's ``ListenerArn`` is ``Fn::If(condition, HTTPS listener, HTTP listener)``:
one unconditional rule resource that the fleets may depend on, on HTTPS whenever it exists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnCondition, Duration, Fn, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.compute import HardenedFleet
from constructs_lib.load_balancing import SecureLoadBalancer
from constructs_lib.monitoring import error_rate_percent
from constructs_lib.validation import invalid, require_choice, require_range

_NAME = "BlueGreenService"

#: The mixed instances policy SPEC 2.5 asks for, in on-demand priority order.
DEFAULT_INSTANCE_TYPES: tuple[str, ...] = ("t3.medium", "t3.large", "m5.large")
DEFAULT_HEALTH_CHECK_PATH = "/health/deep"
DEFAULT_PATH_PATTERNS: tuple[str, ...] = ("/api/*",)
#: The colours, in the order of the forward action.
COLOURS: tuple[str, ...] = ("blue", "green")
#: CodeDeploy accepts at most ten alarms per deployment group; one is the colour's own.
MAX_ROLLBACK_ALARMS = 9
#: ALB: at most five condition values per rule.
MAX_PATH_PATTERNS = 5
CODEDEPLOY_SERVICE_POLICY = "service-role/AWSCodeDeployRole"

#: What an ALB accepts in a path pattern (``*`` and ``?`` are wildcards), at most 128 characters.
_PATH_PATTERN = re.compile(r"^/[A-Za-z0-9_\-.$/~\"'@:+&*?]{0,127}$")
#: The health check path is also polled by the fleet's user data: no quotes, no spaces.
_HEALTH_PATH = re.compile(r"^/[A-Za-z0-9._~/%?=&+-]{0,1023}$")
_HTTP_CODES = re.compile(r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$")


def codedeploy_agent_commands(region: str, url_suffix: str = "amazonaws.com") -> list[str]:
    """User-data commands that install and start the CodeDeploy agent on Amazon Linux 2023.

    The installer comes over HTTPS from the region's public CodeDeploy bucket. The commands run
    under ``set -euo pipefail`` (HardenedFleet), so any failing step fails the instance's
    CloudFormation signal.
    """
    installer = f"https://aws-codedeploy-{region}.s3.{region}.{url_suffix}/latest/install"
    return [
        "# DEP-02: CodeDeploy agent (installs the revisions of this fleet's deployment group)",
        "dnf install -y ruby",
        "codedeploy_installer=$(mktemp)",
        "curl --fail --silent --show-error --location --max-time 120 "
        f"--output \"$codedeploy_installer\" '{installer}'",
        'chmod 0700 "$codedeploy_installer"',
        '"$codedeploy_installer" auto',
        'rm -f "$codedeploy_installer"',
        "systemctl enable --now codedeploy-agent",
    ]


class BlueGreenService(Construct):
    """Blue and green hardened fleets behind one weighted, path-based ALB rule, with CodeDeploy.

    :param vpc: the VPC of the fleets and the load balancer.
    :param subnets: the private application subnets of the fleets (two AZs or more).
    :param load_balancer: the ALB; the construct adds two target groups and one listener rule.
    :param encryption_key: customer key of the fleets' root volumes (and log groups).
    :param log_encryption_key: separate key for the fleets' log groups (default
        ``encryption_key``).
    :param alarm_topic: SNS topic for scaling notifications and the construct's alarms.
    :param rollback_alarms: 1..9 alarms that stop and roll back a deployment of either colour.
    :param blue_weight: weight of the blue target group, 0..100 or a number token (a Number
        ``CfnParameter`` with MinValue 0 and MaxValue 100). Default 100.
    :param green_weight: weight of the green target group, as ``blue_weight``. Default 0.
    :param path_patterns: 1..5 path patterns of the rule, each starting with ``/``.
    :param priority: the rule's priority on its listener (1..50000, unique per listener).
    :param instance_types: three or more instance types of one architecture (mixed instances).
    :param min_capacity: instances per fleet, 2 or more.
    :param max_capacity: maximum per fleet, above ``min_capacity``.
    :param desired_capacity: per fleet, a number or a token; default none (scaling decides).
    :param http_put_response_hop_limit: IMDSv2 hop limit, 1 or 2 (containers).
    :param app_port: port the application listens on; target groups use it over HTTP.
    :param health_check_path: deep health check of the target groups and the readiness probe.
    :param health_check_interval: 5..300 s, longer than ``health_check_timeout`` (2..120 s).
    :param healthy_threshold: consecutive successes before a target is healthy (2..10).
    :param unhealthy_threshold: consecutive failures before a target is unhealthy (2..10).
    :param healthy_http_codes: the matcher, e.g. ``"200"`` or ``"200-299"``.
    :param deregistration_delay: connection draining of a target (0..3600 s).
    :param cpu_target_percent: CPU target tracking and predictive scaling target (10..90).
    :param requests_per_target: ``ALBRequestCountPerTarget`` target (1..1000000 per minute).
    :param deployment_config: CodeDeploy configuration of both deployment groups
        (default ``ServerDeploymentConfig.ONE_AT_A_TIME``).
    :param revision_bucket: bucket holding the CodeDeploy revisions; the instances may read
        its objects (and decrypt them through S3 when the bucket has a customer key).
    :param user_data_commands: install and start the application's first version; run after
        the CloudWatch and CodeDeploy agents, before the readiness probe.
    :param app_log_path: application log file shipped by the CloudWatch agent.
    :param log_retention: retention of the fleets' log groups (finite).
    :param enable_xray: let the CloudWatch agent relay X-Ray segments (LOG-07).

    Public children: ``blue`` and ``green`` (:class:`HardenedFleet`), ``blue_target_group`` and
    ``green_target_group``, ``rule`` (ID ``Resource``; the ``elbv2.ApplicationListenerRule``)
    and ``cfn_rule``, ``listener`` (the L2 listener the rule is bound to), ``application``,
    ``deployment_role``, ``blue_deployment_group`` and ``green_deployment_group``,
    ``blue_unhealthy_alarm`` and ``green_unhealthy_alarm``, ``revision_policy`` (``None``
    without ``revision_bucket``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        load_balancer: SecureLoadBalancer,
        encryption_key: kms.IKey,
        log_encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic,
        rollback_alarms: Sequence[cloudwatch.IAlarm],
        blue_weight: int | float = 100,
        green_weight: int | float = 0,
        path_patterns: Sequence[str] = DEFAULT_PATH_PATTERNS,
        priority: int = 10,
        instance_types: Sequence[str] = DEFAULT_INSTANCE_TYPES,
        min_capacity: int = 2,
        max_capacity: int = 6,
        desired_capacity: int | float | None = None,
        http_put_response_hop_limit: int = 1,
        app_port: int = 80,
        health_check_path: str = DEFAULT_HEALTH_CHECK_PATH,
        health_check_interval: Duration | None = None,
        health_check_timeout: Duration | None = None,
        healthy_threshold: int = 2,
        unhealthy_threshold: int = 3,
        healthy_http_codes: str = "200",
        deregistration_delay: Duration | None = None,
        cpu_target_percent: int = 70,
        requests_per_target: int = 1000,
        deployment_config: codedeploy.IServerDeploymentConfig | None = None,
        revision_bucket: s3.IBucket | None = None,
        user_data_commands: Sequence[str] = (),
        app_log_path: str = "/var/log/app/app.log",
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        enable_xray: bool = False,
    ) -> None:
        interval = health_check_interval or Duration.seconds(30)
        timeout = health_check_timeout or Duration.seconds(5)
        draining = deregistration_delay or Duration.seconds(30)
        if not isinstance(load_balancer, SecureLoadBalancer):
            raise invalid(
                _NAME, "load_balancer", load_balancer, "pass the stack's SecureLoadBalancer"
            )
        alarms = _validate_alarms(rollback_alarms)
        _validate_weights(blue_weight, green_weight)
        patterns = _validate_path_patterns(path_patterns)
        _validate_integer("priority", priority, 1, 50_000)
        types = _validate_instance_types(instance_types)
        _validate_hop_limit(http_put_response_hop_limit)
        _validate_integer("app_port", app_port, 1, 65535)
        _validate_health_check(
            health_check_path=health_check_path,
            interval=interval,
            timeout=timeout,
            healthy_threshold=healthy_threshold,
            unhealthy_threshold=unhealthy_threshold,
            healthy_http_codes=healthy_http_codes,
            deregistration_delay=draining,
        )
        _validate_integer("cpu_target_percent", cpu_target_percent, 10, 90)
        _validate_integer("requests_per_target", requests_per_target, 1, 1_000_000)
        if isinstance(user_data_commands, str):
            raise invalid(
                _NAME, "user_data_commands", user_data_commands, "pass a list of shell commands"
            )
        super().__init__(scope, construct_id)
        self.load_balancer = load_balancer
        self.alarm_topic = alarm_topic
        self.path_patterns = patterns
        self.revision_policy: iam.ManagedPolicy | None = None
        self._extra_target_group_names: dict[str, list[str]] = {}
        stack = Stack.of(self)

        # ---- CMP-01..07: two identical fleets (the fleet validates the pass-through settings
        # before it creates anything; blue is built first, so nothing exists when it refuses).
        fleet_settings: dict[str, Any] = {
            "vpc": vpc,
            "subnets": subnets,
            "encryption_key": encryption_key,
            "log_encryption_key": log_encryption_key,
            "alarm_topic": alarm_topic,
            "mixed_instance_types": types,
            "min_capacity": min_capacity,
            "max_capacity": max_capacity,
            "desired_capacity": desired_capacity,
            "http_put_response_hop_limit": http_put_response_hop_limit,
            "app_port": app_port,
            "health_check_path": health_check_path,
            "app_log_path": app_log_path,
            "log_retention": log_retention,
            "user_data_commands": [
                *codedeploy_agent_commands(stack.region, stack.url_suffix),
                *user_data_commands,
            ],
            "enable_xray": enable_xray,
        }
        #: The blue fleet (``Blue``); the live colour with the default weights.
        self.blue = HardenedFleet(self, "Blue", **fleet_settings)
        #: The green fleet (``Green``); the idle colour a release is deployed to first.
        self.green = HardenedFleet(self, "Green", **fleet_settings)

        # ---- EDGE-04: one target group per colour, deep health checks, 30 s draining ---------
        target_settings: dict[str, Any] = {
            "port": app_port,
            "protocol": elbv2.ApplicationProtocol.HTTP,
            "target_type": elbv2.TargetType.INSTANCE,
            "health_check_path": health_check_path,
            "health_check_interval": interval,
            "health_check_timeout": timeout,
            "healthy_threshold": healthy_threshold,
            "unhealthy_threshold": unhealthy_threshold,
            "healthy_http_codes": healthy_http_codes,
            "deregistration_delay": draining,
        }
        self._app_port = app_port
        self._health_check_path = health_check_path
        self.blue_target_group = load_balancer.add_target_group(
            f"{construct_id}Blue", **target_settings
        )
        self.green_target_group = load_balancer.add_target_group(
            f"{construct_id}Green", **target_settings
        )

        # ---- DEP-01 / EDGE-05: the weighted, path-based rule ----------------------------------
        https, https_condition = _https_listener(load_balancer)
        #: The listener the rule is bound to (HTTPS when it exists unconditionally, else HTTP).
        self.listener = load_balancer.http_listener
        if https is not None and https_condition is None:
            self.listener = https
        self.rule = elbv2.ApplicationListenerRule(
            self,
            "Resource",
            listener=self.listener,
            priority=priority,
            conditions=[elbv2.ListenerCondition.path_patterns(patterns)],
            action=elbv2.ListenerAction.weighted_forward(
                [
                    elbv2.WeightedTargetGroup(
                        target_group=self.blue_target_group, weight=blue_weight
                    ),
                    elbv2.WeightedTargetGroup(
                        target_group=self.green_target_group, weight=green_weight
                    ),
                ]
            ),
        )
        cfn_rule = self.rule.node.default_child
        assert isinstance(cfn_rule, elbv2.CfnListenerRule)
        self.cfn_rule = cfn_rule
        if https is not None and https_condition is not None:
            # The HTTPS listener exists only under the certificate condition: the rule stays
            # unconditional (the fleets depend on it) and sits on HTTPS whenever that exists.
            self.cfn_rule.listener_arn = Token.as_string(
                Fn.condition_if(
                    https_condition.logical_id, https.listener_arn, self.listener.listener_arn
                )
            )

        # ---- CMP-04/06: attach, scale, hooks --------------------------------------------------
        for fleet, target_group in (
            (self.blue, self.blue_target_group),
            (self.green, self.green_target_group),
        ):
            # Before attaching: CDK would otherwise open the port with its own generic rule.
            load_balancer.connect_to(fleet.security_group, app_port)
            fleet.attach_to_target_group(target_group)
            fleet.scale_on_cpu(target_utilization_percent=cpu_target_percent)
            fleet.scale_on_request_count(target_requests_per_target=requests_per_target)
            fleet.add_step_scaling()
            fleet.add_predictive_scaling(target_utilization_percent=cpu_target_percent)
            fleet.add_lifecycle_hooks()

        if revision_bucket is not None:
            self.revision_policy = self._grant_revision_read(revision_bucket)

        # ---- DEP-02: CodeDeploy with automatic rollback ---------------------------------------
        self.blue_unhealthy_alarm = self._unhealthy_alarm("BlueUnhealthyHosts", "blue")
        self.green_unhealthy_alarm = self._unhealthy_alarm("GreenUnhealthyHosts", "green")
        self.application = codedeploy.ServerApplication(self, "Application")
        self.deployment_role = iam.Role(
            self,
            "DeploymentRole",
            assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
            description="CodeDeploy service role of a BlueGreenService (in-place, per colour)",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(CODEDEPLOY_SERVICE_POLICY)
            ],
        )
        acknowledge(
            self.deployment_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSCodeDeployRole]",
            "AWSCodeDeployRole is the AWS-maintained service-role policy CodeDeploy needs to "
            "manage Auto Scaling lifecycle hooks, (de)register instances in the target group and "
            "read the rollback alarms; its actions cannot be scoped to the generated group names.",
        )
        config = deployment_config or codedeploy.ServerDeploymentConfig.ONE_AT_A_TIME
        self.blue_deployment_group = self._deployment_group(
            "BlueDeployment", "blue", config, [*alarms, self.blue_unhealthy_alarm]
        )
        self.green_deployment_group = self._deployment_group(
            "GreenDeployment", "green", config, [*alarms, self.green_unhealthy_alarm]
        )

    # ---- construction helpers ----------------------------------------------------------------
    def _grant_revision_read(self, bucket: s3.IBucket) -> iam.ManagedPolicy:
        statements = [
            iam.PolicyStatement(
                sid="ReadDeploymentRevisions",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[bucket.arn_for_objects("*")],
            )
        ]
        if bucket.encryption_key is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="DecryptRevisionsThroughS3",
                    actions=["kms:Decrypt"],
                    resources=[bucket.encryption_key.key_arn],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"s3.{Stack.of(self).region}.amazonaws.com"
                        }
                    },
                )
            )
        policy = iam.ManagedPolicy(
            self,
            "RevisionPolicy",
            description="CodeDeploy agent: read deployment revisions from the revision bucket",
            roles=[self.blue.role, self.green.role],
            statements=statements,
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{_nag_text(Stack.of(self).resolve(bucket.bucket_arn))}"
            "/*]",
            "The CodeDeploy agent downloads revision bundles whose keys each release chooses; "
            "read access is limited to the objects of the one revision bucket.",
        )
        return policy

    def _unhealthy_alarm(self, alarm_id: str, colour: str) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            metric=self.metric_unhealthy_host_count(colour),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"The {colour} fleet has failed its deep health check for 3 minutes; a running "
                f"CodeDeploy deployment to {colour} stops and rolls back. Check the instances' "
                "application logs."
            ),
        )
        action = cloudwatch_actions.SnsAction(self.alarm_topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        return alarm

    def _deployment_group(
        self,
        group_id: str,
        colour: str,
        config: codedeploy.IServerDeploymentConfig,
        alarms: list[cloudwatch.IAlarm],
    ) -> codedeploy.ServerDeploymentGroup:
        """In-place deployments to one colour's fleet, with traffic control on its group."""
        fleet = self.blue if colour == "blue" else self.green
        group = codedeploy.ServerDeploymentGroup(
            self,
            group_id,
            application=self.application,
            role=self.deployment_role,
            auto_scaling_groups=[fleet.auto_scaling_group],
            install_agent=False,
            load_balancers=[codedeploy.LoadBalancer.application(self._target_group(colour))],
            deployment_config=config,
            alarms=alarms,
            ignore_poll_alarms_failure=False,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, deployment_in_alarm=True, stopped_deployment=False
            ),
        )
        cfn = group.node.default_child
        assert isinstance(cfn, codedeploy.CfnDeploymentGroup)
        # CloudFormation's default, stated: CodeDeploy never copies the CloudFormation fleet.
        cfn.add_property_override("DeploymentStyle.DeploymentType", "IN_PLACE")
        return group

    def serve_colour_through(
        self,
        colour: str,
        load_balancer: SecureLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
    ) -> None:
        """Also serve one colour through ``target_group`` of another load balancer.

        For a DNS canary: a second ALB whose target group holds the green fleet. The fleet is
        registered in the group (request-count scaling still follows the colour's own group), the
        other ALB may reach the fleet on the application port, and the colour's deployment group
        takes the group under traffic control too, so CodeDeploy drains an instance from both
        load balancers before it installs a revision.
        """
        require_choice(_NAME, "colour", colour, COLOURS)
        if not isinstance(load_balancer, SecureLoadBalancer) or load_balancer is self.load_balancer:
            node = getattr(load_balancer, "node", None)
            raise invalid(
                _NAME,
                "load_balancer",
                node.path if node is not None else load_balancer,
                "pass another SecureLoadBalancer than the service's own",
            )
        cfn_group = target_group.node.default_child
        if (
            not isinstance(cfn_group, elbv2.CfnTargetGroup)
            or target_group.node.scope is not load_balancer
        ):
            raise invalid(
                _NAME,
                "target_group",
                target_group.node.path,
                "pass a target group of that load balancer (SecureLoadBalancer.add_target_group "
                "or its target_group)",
            )
        port = Stack.of(self).resolve(cfn_group.port)
        if port != self._app_port:
            raise invalid(
                _NAME,
                "target_group",
                target_group.node.path,
                f"targets on port {port!r}, not the service's app_port {self._app_port}; give the "
                "group the service's port (SecureLoadBalancer target_port)",
            )
        health = Stack.of(self).resolve(cfn_group.health_check_path)
        if health != self._health_check_path:
            raise invalid(
                _NAME,
                "target_group",
                target_group.node.path,
                f"health-check {health!r}, not the service's {self._health_check_path!r}; give "
                "the group the same deep health check",
            )
        fleet = self.blue if colour == "blue" else self.green
        load_balancer.connect_to(fleet.security_group, self._app_port)
        fleet.register_in_additional_target_group(target_group)
        deployment_group = (
            self.blue_deployment_group if colour == "blue" else self.green_deployment_group
        )
        cfn_deployment = deployment_group.node.default_child
        assert isinstance(cfn_deployment, codedeploy.CfnDeploymentGroup)
        extra = self._extra_target_group_names.setdefault(colour, [])
        extra.append(target_group.target_group_name)
        cfn_deployment.add_property_override(
            "LoadBalancerInfo.TargetGroupInfoList",
            [
                {"Name": name}
                for name in [
                    self._target_group(colour).target_group_name,
                    *extra,
                ]
            ],
        )

    def _target_group(self, colour: str) -> elbv2.ApplicationTargetGroup:
        require_choice(_NAME, "colour", colour, COLOURS)
        return self.blue_target_group if colour == "blue" else self.green_target_group

    # ---- metrics -----------------------------------------------------------------------------
    def metric_target_5xx_count(
        self, colour: str, *, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """5xx responses of one colour's targets (``HTTPCode_Target_5XX_Count``, Sum)."""
        return self._target_group(colour).metrics.http_code_target(
            elbv2.HttpCodeTarget.TARGET_5XX_COUNT,
            period=period or Duration.minutes(1),
            statistic="Sum",
        )

    def metric_request_count(
        self, colour: str, *, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """Requests routed to one colour (``RequestCount`` of its target group, Sum)."""
        return self._target_group(colour).metrics.request_count(
            period=period or Duration.minutes(1), statistic="Sum"
        )

    def metric_p99_latency(
        self, colour: str, *, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """99th percentile of one colour's response time in seconds (``TargetResponseTime``)."""
        return self._target_group(colour).metrics.target_response_time(
            period=period or Duration.minutes(1), statistic="p99"
        )

    def metric_unhealthy_host_count(
        self, colour: str, *, period: Duration | None = None
    ) -> cloudwatch.Metric:
        """Unhealthy targets of one colour (``UnHealthyHostCount``, Maximum)."""
        return self._target_group(colour).metrics.unhealthy_host_count(
            period=period or Duration.minutes(1), statistic="Maximum"
        )

    def metric_error_rate_percent(
        self, *, period: Duration | None = None
    ) -> cloudwatch.MathExpression:
        """Target 5xx responses of both colours as a percentage of their requests, 0 when idle."""
        window = period or Duration.minutes(1)
        errors = cloudwatch.MathExpression(
            expression="FILL(blue5xx, 0) + FILL(green5xx, 0)",
            using_metrics={
                "blue5xx": self.metric_target_5xx_count("blue", period=window),
                "green5xx": self.metric_target_5xx_count("green", period=window),
            },
            label="Target 5xx",
            period=window,
        )
        requests = cloudwatch.MathExpression(
            expression="FILL(bluerequests, 0) + FILL(greenrequests, 0)",
            using_metrics={
                "bluerequests": self.metric_request_count("blue", period=window),
                "greenrequests": self.metric_request_count("green", period=window),
            },
            label="Requests",
            period=window,
        )
        return error_rate_percent(errors, requests, label="Target 5xx rate (%)", period=window)


def _https_listener(
    load_balancer: SecureLoadBalancer,
) -> tuple[elbv2.ApplicationListener | None, CfnCondition | None]:
    """The load balancer's HTTPS listener (if any) and the condition it is created under."""
    listener = load_balancer.https_listener
    if listener is None:
        return None, None
    cfn = listener.node.default_child
    assert isinstance(cfn, elbv2.CfnListener)
    return listener, cfn.cfn_options.condition


# ---- validation ----------------------------------------------------------------------------------
def _validate_integer(argument: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(_NAME, argument, value, f"pass a whole number between {low} and {high}")
    require_range(_NAME, argument, value, low, high)


def _validate_hop_limit(hop_limit: int) -> None:
    if isinstance(hop_limit, bool) or hop_limit not in (1, 2):
        raise invalid(
            _NAME,
            "http_put_response_hop_limit",
            hop_limit,
            "use 1 (IMDSv2 for the instance only), or 2 for containers on a bridge network",
        )


def _validate_alarms(rollback_alarms: Sequence[cloudwatch.IAlarm]) -> list[cloudwatch.IAlarm]:
    if rollback_alarms is None or isinstance(rollback_alarms, str) or _is_alarm(rollback_alarms):
        raise invalid(
            _NAME,
            "rollback_alarms",
            rollback_alarms,
            "pass a list of CloudWatch alarms, e.g. [error_rate_alarm, latency_alarm]",
        )
    alarms = list(rollback_alarms)
    if not alarms:
        raise invalid(
            _NAME,
            "rollback_alarms",
            alarms,
            "pass at least one alarm (e.g. the service's error-rate alarm): a deployment stops "
            "and rolls back when one fires (DEP-02)",
        )
    if len(alarms) > MAX_ROLLBACK_ALARMS:
        raise invalid(
            _NAME,
            "rollback_alarms",
            f"{len(alarms)} alarms",
            f"pass at most {MAX_ROLLBACK_ALARMS}: CodeDeploy takes ten per deployment group and "
            "the construct adds the fleet's unhealthy-host alarm (use a composite alarm)",
        )
    for alarm in alarms:
        if not _is_alarm(alarm):
            raise invalid(_NAME, "rollback_alarms", alarm, "pass cloudwatch.IAlarm objects")
    return alarms


def _is_alarm(value: object) -> bool:
    """jsii interfaces cannot be used with isinstance; an alarm has a name and an ARN."""
    return hasattr(value, "alarm_name") and hasattr(value, "alarm_arn")


def _validate_weights(blue_weight: float, green_weight: float) -> None:
    for argument, weight in (("blue_weight", blue_weight), ("green_weight", green_weight)):
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise invalid(
                _NAME,
                argument,
                weight,
                "pass a whole number 0..100 or a Number parameter's value_as_number",
            )
        if Token.is_unresolved(weight):
            continue
        if weight != int(weight) or not 0 <= weight <= 100:
            raise invalid(
                _NAME,
                argument,
                weight,
                "use a whole number between 0 and 100, or a Number parameter (MinValue 0, "
                "MaxValue 100)",
            )
    fixed = [w for w in (blue_weight, green_weight) if not Token.is_unresolved(w)]
    if len(fixed) == 2 and sum(fixed) == 0:
        raise invalid(
            _NAME,
            "green_weight",
            green_weight,
            "with blue_weight=0 the rule would send no traffic anywhere; give one colour weight",
        )


def _validate_path_patterns(path_patterns: Sequence[str]) -> list[str]:
    if isinstance(path_patterns, str):
        raise invalid(_NAME, "path_patterns", path_patterns, "pass a list such as ['/api/*']")
    patterns = list(path_patterns)
    if not 1 <= len(patterns) <= MAX_PATH_PATTERNS:
        raise invalid(
            _NAME,
            "path_patterns",
            patterns,
            f"pass 1 to {MAX_PATH_PATTERNS} patterns (an ALB rule takes at most five values)",
        )
    for pattern in patterns:
        if not isinstance(pattern, str) or not _PATH_PATTERN.match(pattern):
            raise invalid(
                _NAME,
                "path_patterns",
                pattern,
                "start each pattern with '/' and use at most 128 of A-Z a-z 0-9 _-.$/~\"'@:+& "
                "and the wildcards * and ?, e.g. '/api/*'",
            )
    if len(set(patterns)) != len(patterns):
        raise invalid(_NAME, "path_patterns", patterns, "list each pattern once")
    return patterns


def _validate_instance_types(instance_types: Sequence[str]) -> list[str]:
    if isinstance(instance_types, str):
        raise invalid(
            _NAME,
            "instance_types",
            instance_types,
            "pass a list such as ['t3.medium', 't3.large', 'm5.large']",
        )
    types = list(instance_types)
    if len(types) < 3:
        raise invalid(
            _NAME,
            "instance_types",
            types,
            "pass at least 3 instance types (mixed instances policy, e.g. "
            "['t3.medium', 't3.large', 'm5.large']) so capacity survives one type running out",
        )
    return types


def _seconds(argument: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, Duration):
        raise invalid(_NAME, argument, value, f"pass a Duration between {low} and {high} seconds")
    seconds = value.to_seconds()
    if seconds != int(seconds) or not low <= seconds <= high:
        raise invalid(
            _NAME,
            argument,
            value.to_human_string(),
            f"use a whole number of seconds between {low} and {high}",
        )
    return int(seconds)


def _validate_health_check(
    *,
    health_check_path: str,
    interval: Duration,
    timeout: Duration,
    healthy_threshold: int,
    unhealthy_threshold: int,
    healthy_http_codes: str,
    deregistration_delay: Duration,
) -> None:
    if not isinstance(health_check_path, str) or not _HEALTH_PATH.match(health_check_path):
        raise invalid(
            _NAME,
            "health_check_path",
            health_check_path,
            "pass a URL path that starts with '/', without spaces or quotes, e.g. /health/deep",
        )
    interval_seconds = _seconds("health_check_interval", interval, 5, 300)
    timeout_seconds = _seconds("health_check_timeout", timeout, 2, 120)
    if timeout_seconds >= interval_seconds:
        raise invalid(
            _NAME,
            "health_check_timeout",
            f"{timeout_seconds}s",
            f"use less than health_check_interval ({interval_seconds}s)",
        )
    _validate_integer("healthy_threshold", healthy_threshold, 2, 10)
    _validate_integer("unhealthy_threshold", unhealthy_threshold, 2, 10)
    if not isinstance(healthy_http_codes, str) or not _HTTP_CODES.match(healthy_http_codes):
        raise invalid(
            _NAME,
            "healthy_http_codes",
            healthy_http_codes,
            "use HTTP codes such as '200', '200-299' or '200,302'",
        )
    if not all(200 <= int(code) <= 499 for code in re.split(r"[,-]", healthy_http_codes)):
        raise invalid(
            _NAME, "healthy_http_codes", healthy_http_codes, "use codes between 200 and 499"
        )
    _seconds("deregistration_delay", deregistration_delay, 0, 3600)


def _nag_text(value: Any) -> str:
    """A resolved value as cdk-nag writes it in finding IDs, e.g. ``<Bucket.Arn>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_nag_text(part) for part in parts)
    raise invalid(_NAME, "revision_bucket", value, "pass a bucket whose ARN CDK can render")


__all__ = [
    "COLOURS",
    "DEFAULT_HEALTH_CHECK_PATH",
    "DEFAULT_INSTANCE_TYPES",
    "DEFAULT_PATH_PATTERNS",
    "BlueGreenService",
    "codedeploy_agent_commands",
]
