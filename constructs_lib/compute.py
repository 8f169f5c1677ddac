"""Hardened EC2 fleet: launch template + Auto Scaling group (CMP-01..07, IAM-05, LOG-03, NET-06).

``HardenedFleet`` is how the reference stacks run EC2 application servers:

* **CMP-01** a launch template (never a launch configuration) whose AMI is Amazon Linux 2023 from
  the public SSM parameter ``/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-<arch>``.
  CDK's ``MachineImage.latest_amazon_linux2023(cached_in_context=False)`` renders it as an
  ``AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>`` template parameter that CloudFormation
  resolves at deploy time: no AMI mapping, no literal AMI ID, no context lookup at synth. (That
  template parameter is CDK's mechanism; the construct itself declares no ``CfnParameter``.)
* **CMP-02** IMDSv2 only: ``HttpTokens: required``, ``HttpEndpoint: enabled``, hop limit 1
  (``http_put_response_hop_limit=2`` for containers on a bridge network).
* **CMP-03** a gp3 root volume encrypted with ``encryption_key``, deleted on termination. EC2 Auto
  Scaling launches instances through its service-linked role ``AWSServiceRoleForAutoScaling``, so
  the construct adds the key-policy statements that role needs (usage only through EC2, grants
  only for AWS resources); without them every launch fails with ``Client.InternalError``. KMS
  rejects a key policy that names a role which does not exist yet (the service-linked role
  appears with the account's first group), so the statements match the role by
  ``aws:PrincipalArn`` under a ``*`` principal restricted to this account.
* **IAM-05** its own role and instance profile with the AWS managed
  ``AmazonSSMManagedInstanceCore`` (Session Manager instead of SSH) and
  ``CloudWatchAgentServerPolicy`` (the agent), plus one customer-managed policy per concern: logs
  (the fleet's group only), cfn-signal (this stack only), lifecycle hooks, X-Ray, secrets.
  Customer-managed rather than inline policies because three nag packs reject inline policies
  (``IAMNoInlinePolicy``). ``role`` is public; prefer :meth:`HardenedFleet.grant_secrets_read`
  over ``secret.grant_read(fleet.role)``, which writes an inline default policy.
* **CMP-04** the group spans the given private subnets (two AZs or more), has at least two
  instances, all group metrics and notifications of every scaling event to ``alarm_topic``. It
  uses EC2 health checks with a grace period until :meth:`HardenedFleet.attach_to_target_group`
  switches it to ELB health checks.
* **CMP-05** ``CreationPolicy`` and a rolling ``UpdatePolicy`` that wait for resource signals.
  The user data signals through CDK's exit trap (``cfn-signal -e $exitCode``) and runs under
  ``set -euo pipefail``, so any failing step signals failure. Its last step polls the application
  on ``http://127.0.0.1:<app_port><health_check_path>`` and exits 1 if it never answers, so only
  a healthy instance signals success.
* **CMP-06** target tracking on CPU and on ``ALBRequestCountPerTarget``, step scaling for CPU
  spikes, predictive scaling, launch/terminate lifecycle hooks (methods) and a mixed instances
  policy (``mixed_instance_types``).
* **CMP-07 / LOG-03 / LOG-07** the user data installs and configures the CloudWatch agent: memory,
  disk and swap metrics, and ``/var/log/messages`` (rsyslog is installed; Amazon Linux 2023 keeps
  only the journal by default), the cloud-init output and the application log shipped into a
  log group the construct creates, encrypted with ``encryption_key`` and retained. With
  ``enable_xray=True`` the agent also takes the X-Ray daemon's place (UDP 2000).
* **NET-06** its own security group without allow-all egress. By default only HTTPS (443) to
  anywhere: the instances need it for the AWS APIs (SSM, CloudWatch, CloudFormation signals, KMS,
  Auto Scaling, X-Ray), whether or not the VPC has interface endpoints, and for the Amazon Linux
  package repositories, which are served from S3 over HTTPS. DNS, NTP and the instance metadata
  service are link-local and not filtered by security groups. Everything else is opened per peer
  security group with :meth:`~HardenedFleet.allow_from` / :meth:`~HardenedFleet.allow_to`, each a
  separate, described rule resource.

Key policies: the statements for ``encryption_key`` (and for the alarm topic's key, when the topic
exposes one) are added with ``add_to_resource_policy``. For a key imported from another stack CDK
cannot change the policy; add the same statements where the key is defined.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

import jsii
from aws_cdk import (
    ArnFormat,
    Aws,
    CfnElement,
    Duration,
    IStableStringProducer,
    Lazy,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct, Dependable

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.encryption import allow_log_groups
from constructs_lib.validation import invalid, require_choice, require_non_empty, require_range

_NAME = "HardenedFleet"

#: Instance type used when neither ``instance_type`` nor ``mixed_instance_types`` is given.
DEFAULT_INSTANCE_TYPE = "t3.micro"

#: ``family.size`` such as ``t3.micro``, ``m7g.2xlarge``, ``u-6tb1.metal``, ``mac2-m2pro.metal``.
_INSTANCE_TYPE = re.compile(
    r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\."
    r"(nano|micro|small|medium|large|[0-9]*xlarge|metal(-[0-9]+xl)?)$"
)
#: URL path of the readiness probe; it is embedded in a shell command: no quotes, no spaces.
_HEALTH_PATH = re.compile(r"^/[A-Za-z0-9._~/%?=&+-]*$")
#: Absolute path of the application log (embedded in the agent configuration and the shell).
_LOG_PATH = re.compile(r"^/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$")
#: Characters EC2 accepts in a security-group rule description.
_RULE_DESCRIPTION = re.compile(r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{1,255}$")

#: CloudWatch agent files on Amazon Linux 2023.
AGENT_CONFIG_PATH = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"

#: Seconds between two readiness probes in the user data.
READINESS_INTERVAL_SECONDS = 10

#: The role EC2 Auto Scaling launches instances and publishes notifications with.
AUTOSCALING_SERVICE_LINKED_ROLE = (
    "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
)

#: Lifecycle hook names; unique per group only, so a fixed name never blocks a replacement.
LAUNCH_HOOK_NAME = "instance-launching"
TERMINATE_HOOK_NAME = "instance-terminating"


class HardenedFleet(Construct):
    """Launch template + Auto Scaling group of Amazon Linux 2023 instances, hardened by default.

    :param vpc: the VPC of the fleet.
    :param subnets: the private application subnets (two AZs or more, no public subnet).
    :param log_encryption_key: separate customer key for the log group (a logs data domain);
        default ``encryption_key``.
    :param encryption_key: customer key for the root volumes and the log group; the construct adds
        the key-policy statements EC2 Auto Scaling and CloudWatch Logs need.
    :param alarm_topic: SNS topic for every scaling notification.
    :param instance_type: instance type (default ``t3.micro``); the AMI architecture follows it.
        Not allowed together with ``mixed_instance_types``.
    :param min_capacity: 2 or more, so an instance or an AZ can fail.
    :param max_capacity: above ``min_capacity``, so a rolling update can add an instance first.
    :param desired_capacity: a number or a token (e.g. a stack's ``InstanceCount`` parameter).
        Default none: a deployment then never resets the size scaling policies chose.
    :param root_volume_size_gib: size of the gp3 root volume (8..16384).
    :param http_put_response_hop_limit: 1 (default), or 2 for containers on a bridge network.
    :param app_port: port the application listens on (readiness probe and peer ingress).
    :param health_check_path: path the user data polls before it signals success.
    :param app_log_path: application log file the CloudWatch agent ships.
    :param log_retention: retention of the fleet's log group (finite).
    :param mixed_instance_types: three or more instance types of one CPU architecture for a mixed
        instances policy, in on-demand priority order.
    :param on_demand_percentage_above_base_capacity: with ``mixed_instance_types``, the on-demand
        share above ``min_capacity`` (default 100; lower values add Spot with capacity rebalance).
    :param user_data_commands: shell commands that install and start the application; they run
        under ``set -euo pipefail`` after the CloudWatch agent setup, before the readiness probe.
    :param health_check_grace_period: time before health checks count (default 5 minutes).
    :param signal_timeout: how long CloudFormation waits for success signals at creation and for
        each rolling-update batch (default 15 minutes).
    :param readiness_timeout: how long the user data polls the application before it fails
        (default 10 minutes); shorter than ``signal_timeout``.
    :param enable_xray: let the CloudWatch agent receive X-Ray segments and send them (LOG-07).

    Public children: ``auto_scaling_group`` (ID ``Resource``), ``launch_template``, ``role``,
    ``instance_profile``, ``security_group``, ``log_group``, ``machine_image``, ``user_data`` and
    the policies ``logs_policy``, ``signal_policy``, ``xray_policy``, ``lifecycle_policy``,
    ``secrets_policy`` (``None`` until used). Pass application setup as ``user_data_commands``:
    commands added to ``user_data`` afterwards run after the readiness probe.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        encryption_key: kms.IKey,
        log_encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic,
        instance_type: str | None = None,
        min_capacity: int = 2,
        max_capacity: int = 6,
        desired_capacity: int | float | None = None,
        root_volume_size_gib: int = 20,
        http_put_response_hop_limit: int = 1,
        app_port: int = 80,
        health_check_path: str = "/health",
        app_log_path: str = "/var/log/app/app.log",
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        mixed_instance_types: Sequence[str] | None = None,
        on_demand_percentage_above_base_capacity: int = 100,
        user_data_commands: Sequence[str] = (),
        health_check_grace_period: Duration | None = None,
        signal_timeout: Duration | None = None,
        readiness_timeout: Duration | None = None,
        enable_xray: bool = False,
    ) -> None:
        grace = health_check_grace_period or Duration.minutes(5)
        signal_wait = signal_timeout or Duration.minutes(15)
        readiness = readiness_timeout or Duration.minutes(10)
        types = _validate_instance_types(instance_type, mixed_instance_types)
        _validate_capacity(min_capacity, max_capacity, desired_capacity)
        _validate_instance_settings(
            root_volume_size_gib=root_volume_size_gib,
            http_put_response_hop_limit=http_put_response_hop_limit,
            app_port=app_port,
            health_check_path=health_check_path,
            app_log_path=app_log_path,
            log_retention=log_retention,
            user_data_commands=user_data_commands,
        )
        require_range(
            _NAME,
            "on_demand_percentage_above_base_capacity",
            on_demand_percentage_above_base_capacity,
            0,
            100,
        )
        if mixed_instance_types is None and on_demand_percentage_above_base_capacity != 100:
            raise invalid(
                _NAME,
                "on_demand_percentage_above_base_capacity",
                on_demand_percentage_above_base_capacity,
                "Spot capacity needs mixed_instance_types; leave it at 100",
            )
        if readiness.to_seconds() >= signal_wait.to_seconds():
            raise invalid(
                _NAME,
                "readiness_timeout",
                readiness.to_human_string(),
                f"use less than signal_timeout={signal_wait.to_human_string()} so a failed "
                "readiness probe is signalled before CloudFormation stops waiting",
            )
        _validate_subnets(vpc, subnets)
        super().__init__(scope, construct_id)

        self.app_port = app_port
        self.health_check_path = health_check_path
        self.encryption_key = encryption_key
        self._readiness = readiness
        self._suffix = hashlib.sha256(self.node.path.encode()).hexdigest()[:8].upper()
        self._target_group: elbv2.IApplicationTargetGroup | None = None
        self._additional_target_groups: list[elbv2.IApplicationTargetGroup] = []
        self._launch_hook: autoscaling.LifecycleHook | None = None
        self.lifecycle_policy: iam.ManagedPolicy | None = None
        self.secrets_policy: iam.ManagedPolicy | None = None
        self.xray_policy: iam.ManagedPolicy | None = None

        # ---- LOG-03: the fleet's log group, CMK-encrypted and retained ---------------------
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=log_encryption_key or encryption_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self._add_key_statements(encryption_key, log_encryption_key or encryption_key, alarm_topic)

        # ---- IAM-05: own role and instance profile, one policy per concern ------------------
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Instance role of a HardenedFleet: SSM, CloudWatch agent, own log group",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore"),
                iam.ManagedPolicy.from_aws_managed_policy_name("CloudWatchAgentServerPolicy"),
            ],
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "AmazonSSMManagedInstanceCore]",
            "AmazonSSMManagedInstanceCore is the AWS-maintained minimum for the SSM agent "
            "(Session Manager instead of SSH, NET-10); its ssm, ssmmessages and ec2messages "
            "actions do not support resource-level scoping.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "CloudWatchAgentServerPolicy]",
            "CloudWatchAgentServerPolicy is the AWS-maintained policy of the CloudWatch agent "
            "(CMP-07); cloudwatch:PutMetricData and ec2:DescribeTags/DescribeVolumes cannot be "
            "scoped to resources.",
        )
        self.instance_profile = iam.InstanceProfile(self, "InstanceProfile", role=self.role)
        self.logs_policy = iam.ManagedPolicy(
            self,
            "LogsPolicy",
            description="CloudWatch agent: write to the fleet's own log group",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="WriteFleetLogGroup",
                    actions=[
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[self.log_group.log_group_arn],
                )
            ],
        )
        self.signal_policy = iam.ManagedPolicy(
            self,
            "SignalPolicy",
            description="cfn-signal: report readiness to this stack only",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="SignalThisStack",
                    actions=["cloudformation:SignalResource"],
                    resources=[Aws.STACK_ID],
                )
            ],
        )
        if enable_xray:
            self.xray_policy = self._create_xray_policy()

        # ---- NET-06: own security group, explicit egress, described rules -------------------
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="HardenedFleet instances: HTTPS egress only, app port from allowed peers",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "HTTPS to AWS APIs (SSM, CloudWatch, CloudFormation, KMS) and Amazon Linux repos on S3",
        )

        # ---- CMP-01/02/03/07: launch template -----------------------------------------------
        architecture = ec2.InstanceType(types[0]).architecture
        self.user_data = ec2.UserData.for_linux()
        self._add_user_data(user_data_commands, app_log_path, enable_xray)
        # cached_in_context=False: a deploy-time SSM parameter, never a synth-time lookup.
        self.machine_image = ec2.MachineImage.latest_amazon_linux2023(
            cpu_type=(
                ec2.AmazonLinuxCpuType.ARM_64
                if architecture == ec2.InstanceArchitecture.ARM_64
                else ec2.AmazonLinuxCpuType.X86_64
            ),
            cached_in_context=False,
        )
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=self.machine_image,
            instance_type=None if mixed_instance_types else ec2.InstanceType(types[0]),
            instance_profile=self.instance_profile,
            security_group=self.security_group,
            user_data=self.user_data,
            http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
            http_endpoint=True,
            http_put_response_hop_limit=http_put_response_hop_limit,
            detailed_monitoring=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        root_volume_size_gib,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        encrypted=True,
                        kms_key=encryption_key,
                        delete_on_termination=True,
                    ),
                )
            ],
        )

        # ---- CMP-04/05: the Auto Scaling group ----------------------------------------------
        mixed_policy = None
        if mixed_instance_types:
            mixed_policy = autoscaling.MixedInstancesPolicy(
                launch_template=self.launch_template,
                launch_template_overrides=[
                    autoscaling.LaunchTemplateOverrides(instance_type=ec2.InstanceType(name))
                    for name in types
                ],
                instances_distribution=autoscaling.InstancesDistribution(
                    on_demand_allocation_strategy=(
                        autoscaling.OnDemandAllocationStrategy.PRIORITIZED
                    ),
                    on_demand_base_capacity=min_capacity,
                    on_demand_percentage_above_base_capacity=(
                        on_demand_percentage_above_base_capacity
                    ),
                    spot_allocation_strategy=(
                        autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED
                    ),
                ),
            )
        self.auto_scaling_group = autoscaling.AutoScalingGroup(
            self,
            "Resource",
            vpc=vpc,
            vpc_subnets=subnets,
            launch_template=None if mixed_policy else self.launch_template,
            mixed_instances_policy=mixed_policy,
            capacity_rebalance=True if on_demand_percentage_above_base_capacity < 100 else None,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            desired_capacity=desired_capacity,
            health_checks=autoscaling.HealthChecks.ec2(grace_period=grace),
            default_instance_warmup=grace,
            group_metrics=[autoscaling.GroupMetrics.all()],
            notifications=[
                autoscaling.NotificationConfiguration(
                    topic=alarm_topic, scaling_events=autoscaling.ScalingEvents.ALL
                )
            ],
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                max_batch_size=1,
                min_instances_in_service=min_capacity,
                pause_time=signal_wait,
                wait_on_resource_signals=True,
            ),
        )
        # CMP-05: the CreationPolicy comes from CDK's Signals helper but is set on the L1: passed
        # as ``signals=`` the L2 would grant cloudformation:SignalResource into the role's inline
        # default policy, which three nag packs reject. SignalPolicy carries that grant instead.
        self._cfn_group.cfn_options.creation_policy = autoscaling.Signals.wait_for_min_capacity(
            timeout=signal_wait
        ).render_creation_policy(min_capacity=min_capacity)
        self.user_data.add_signal_on_exit_command(self.auto_scaling_group)

        if desired_capacity is not None:
            acknowledge(
                self.auto_scaling_group,
                "Annotation::@aws-cdk/aws-autoscaling:desiredCapacitySet",
                "desired_capacity is set only when the caller passes it (e.g. a stack's "
                "InstanceCount parameter); resetting the group to that size on deployment is the "
                "requested behaviour, and scaling policies still act between deployments.",
            )
        if mixed_policy:
            self._acknowledge_mixed_instances_rules()

    # ---- construction helpers ----------------------------------------------------------------
    @property
    def _cfn_group(self) -> autoscaling.CfnAutoScalingGroup:
        cfn = self.auto_scaling_group.node.default_child
        assert isinstance(cfn, autoscaling.CfnAutoScalingGroup)
        return cfn

    def _add_key_statements(
        self, key: kms.IKey, log_key: kms.IKey, alarm_topic: sns.ITopic
    ) -> None:
        """Key-policy statements for CloudWatch Logs and EC2 Auto Scaling (CMP-03, LOG-03)."""
        stack = Stack.of(self)
        allow_log_groups(log_key, self, f"CloudWatchLogsFleet{self._suffix}")
        # KMS refuses a key policy that names a role which does not exist yet, and the Auto
        # Scaling service-linked role only appears with the account's first group. So the role
        # is matched by ``aws:PrincipalArn`` under a ``*`` principal pinned to this account.
        service_linked_role_arn = stack.format_arn(
            service="iam",
            region="",
            resource="role",
            resource_name=AUTOSCALING_SERVICE_LINKED_ROLE,
        )
        only_that_role = {
            "ArnEquals": {"aws:PrincipalArn": service_linked_role_arn},
            "StringEquals": {"kms:CallerAccount": Aws.ACCOUNT_ID},
        }
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"AutoScalingVolumes{self._suffix}",
                principals=[iam.AnyPrincipal()],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions={
                    **only_that_role,
                    "StringEquals": {
                        "kms:CallerAccount": Aws.ACCOUNT_ID,
                        "kms:ViaService": f"ec2.{stack.region}.amazonaws.com",
                    },
                },
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"AutoScalingVolumeGrants{self._suffix}",
                principals=[iam.AnyPrincipal()],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={**only_that_role, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        # Notifications to a CMK-encrypted topic are published by the same service-linked role.
        topic_key = alarm_topic.master_key
        if topic_key is not None:
            topic_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"AutoScalingNotifications{self._suffix}",
                    principals=[iam.AnyPrincipal()],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],
                    conditions={
                        **only_that_role,
                        "StringEquals": {
                            "kms:CallerAccount": Aws.ACCOUNT_ID,
                            "kms:ViaService": f"sns.{stack.region}.amazonaws.com",
                        },
                    },
                )
            )

    def _create_xray_policy(self) -> iam.ManagedPolicy:
        policy = iam.ManagedPolicy(
            self,
            "XRayPolicy",
            description="CloudWatch agent as X-Ray daemon: send segments, read sampling rules",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="XRaySegmentsAndSampling",
                    actions=[
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                        "xray:GetSamplingStatisticSummaries",
                    ],
                    resources=["*"],
                )
            ],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments, PutTelemetryRecords and the sampling reads do not support "
            "resource-level permissions; the policy holds only these five actions.",
        )
        return policy

    def _acknowledge_mixed_instances_rules(self) -> None:
        """cdk-nag follows only ``LaunchTemplate``, not ``MixedInstancesPolicy.LaunchTemplate``."""
        imds_reason = (
            "The rule reads only the group's LaunchTemplate property; with a mixed instances "
            "policy the launch template is referenced from MixedInstancesPolicy and sets "
            "HttpTokens: required (CMP-02, asserted by the construct tests)."
        )
        acknowledge(
            self.auto_scaling_group,
            "AwsSolutions-EC26",
            "The rule reads only the group's LaunchTemplate property and errors on a mixed "
            "instances policy; that policy's launch template encrypts the gp3 root volume with "
            "the customer key (CMP-03, asserted by the construct tests).",
        )
        acknowledge(self.auto_scaling_group, "HIPAA.Security-EC2IMDSv2Enabled", imds_reason)
        acknowledge(self.auto_scaling_group, "NIST.800.53.R5-EC2IMDSv2Enabled", imds_reason)

    # ---- user data ---------------------------------------------------------------------------
    def _add_user_data(
        self, user_data_commands: Sequence[str], app_log_path: str, enable_xray: bool
    ) -> None:
        """Agent, then the application, then the readiness probe (CMP-05, CMP-07)."""
        attempts = max(1, int(self._readiness.to_seconds()) // READINESS_INTERVAL_SECONDS)
        url = f"http://127.0.0.1:{self.app_port}{self.health_check_path}"
        log_dir = app_log_path.rsplit("/", 1)[0] or "/"
        self.user_data.add_commands(
            "set -euo pipefail",
            "# CMP-07: CloudWatch agent (memory, disk, swap; system and application logs)",
            "dnf install -y amazon-cloudwatch-agent aws-cfn-bootstrap rsyslog",
            "systemctl enable --now rsyslog",
            f"install -d -m 0755 {log_dir}",
            f"cat > {AGENT_CONFIG_PATH} <<'CWAGENTCONFIG'",
            self._agent_config(app_log_path, enable_xray),
            "CWAGENTCONFIG",
            f"{AGENT_CTL} -a fetch-config -m ec2 -s -c file:{AGENT_CONFIG_PATH}",
            "# Application",
            *user_data_commands,
            f"# CMP-05: readiness - exit 1 (failure signal) unless {url} answers",
            "ready=0",
            f"for attempt in $(seq 1 {attempts}); do",
            f"  if curl --fail --silent --show-error --output /dev/null --max-time 5 '{url}'; then",
            "    ready=1",
            "    break",
            "  fi",
            '  echo "readiness probe $attempt failed, retrying"',
            f"  sleep {READINESS_INTERVAL_SECONDS}",
            "done",
            'if [ "$ready" -ne 1 ]; then',
            f"  echo 'application never became healthy on {url}' >&2",
            "  exit 1",
            "fi",
            Lazy.string(_LifecycleCommands(self)),
        )

    def _agent_config(self, app_log_path: str, enable_xray: bool) -> str:
        log_group = self.log_group.log_group_name

        def collect(path: str, stream: str) -> dict[str, str]:
            return {
                "file_path": path,
                "log_group_name": log_group,
                "log_stream_name": f"{{instance_id}}/{stream}",
            }

        config: dict[str, object] = {
            "agent": {"metrics_collection_interval": 60},
            "metrics": {
                "namespace": "CWAgent",
                "append_dimensions": {
                    "AutoScalingGroupName": "${aws:AutoScalingGroupName}",
                    "InstanceId": "${aws:InstanceId}",
                },
                "aggregation_dimensions": [["AutoScalingGroupName"]],
                "metrics_collected": {
                    "mem": {"measurement": ["mem_used_percent"]},
                    "disk": {
                        "measurement": ["used_percent", "inodes_free"],
                        "resources": ["/"],
                        "drop_device": True,
                    },
                    "swap": {"measurement": ["swap_used_percent"]},
                },
            },
            "logs": {
                "logs_collected": {
                    "files": {
                        "collect_list": [
                            collect("/var/log/messages", "messages"),
                            collect("/var/log/cloud-init-output.log", "cloud-init-output"),
                            collect(app_log_path, "app"),
                        ]
                    }
                }
            },
        }
        if enable_xray:
            config["traces"] = {"traces_collected": {"xray": {}}}
        return json.dumps(config, indent=2)

    def _lifecycle_commands(self) -> str:
        """Complete the launch hook once healthy; rendered at synth, after add_lifecycle_hooks."""
        if self._launch_hook is None:
            return "# no launch lifecycle hook"
        region = Stack.of(self).region
        describe = (
            f"aws autoscaling describe-auto-scaling-instances --region {region} "
            '--instance-ids "$instance_id" --output text --query'
        )
        return "\n".join(
            [
                "# CMP-06: complete the launch hook; instances of a new group are not in it",
                "imds_token=$(curl --fail --silent --request PUT "
                "--header 'X-aws-ec2-metadata-token-ttl-seconds: 300' "
                "http://169.254.169.254/latest/api/token)",
                'instance_id=$(curl --fail --silent --header "X-aws-ec2-metadata-token: '
                '$imds_token" http://169.254.169.254/latest/meta-data/instance-id)',
                f"state=$({describe} 'AutoScalingInstances[0].LifecycleState')",
                'if [ "$state" = "Pending:Wait" ]; then',
                f"  group=$({describe} 'AutoScalingInstances[0].AutoScalingGroupName')",
                f"  aws autoscaling complete-lifecycle-action --region {region} "
                f'--auto-scaling-group-name "$group" --lifecycle-hook-name {LAUNCH_HOOK_NAME} '
                '--instance-id "$instance_id" --lifecycle-action-result CONTINUE',
                "fi",
            ]
        )

    # ---- load balancing and network ----------------------------------------------------------
    def attach_to_target_group(self, target_group: elbv2.IApplicationTargetGroup) -> None:
        """Register the group in an ALB target group and switch to ELB health checks (CMP-04).

        The grace period set at construction applies to the ELB health checks as well.
        """
        if self._target_group is not None:
            raise invalid(
                _NAME,
                "target_group",
                target_group.node.path,
                f"already attached to {self._target_group.node.path}; use one fleet per target "
                "group (blue/green: one fleet per colour)",
            )
        self.auto_scaling_group.attach_to_application_target_group(target_group)
        self._target_group = target_group
        self._cfn_group.health_check_type = "ELB"

    def register_in_additional_target_group(
        self, target_group: elbv2.IApplicationTargetGroup
    ) -> None:
        """Also register the group's instances in ``target_group`` (e.g. a second, canary ALB).

        The target group of :meth:`attach_to_target_group` stays the primary one: request-count
        scaling follows it. Open the other load balancer's path to the fleet first
        (``SecureLoadBalancer.connect_to``), or CDK adds its own generic rule.
        """
        if self._target_group is None:
            raise invalid(
                _NAME,
                "target_group",
                target_group.node.path,
                "call attach_to_target_group() with the primary target group first",
            )
        if target_group is self._target_group or target_group in self._additional_target_groups:
            raise invalid(
                _NAME,
                "target_group",
                target_group.node.path,
                "the fleet is already registered in this target group",
            )
        self.auto_scaling_group.attach_to_application_target_group(target_group)
        self._additional_target_groups.append(target_group)

    def allow_from(self, peer: ec2.ISecurityGroup, *, description: str) -> None:
        """Allow ``peer`` (e.g. the load balancer's group) to reach ``app_port``.

        A separate ingress rule resource; the matching egress rule is added to ``peer`` when
        ``peer`` restricts its egress.
        """
        _validate_rule_description(description)
        self.security_group.connections.allow_from(peer, ec2.Port.tcp(self.app_port), description)

    def allow_to(self, peer: ec2.ISecurityGroup, port: ec2.Port, *, description: str) -> None:
        """Allow the instances to reach ``peer`` on ``port`` (e.g. the database port).

        A separate egress rule resource and the matching ingress rule on ``peer``.
        """
        _validate_rule_description(description)
        self.security_group.connections.allow_to(peer, port, description)

    # ---- IAM ---------------------------------------------------------------------------------
    def grant_secrets_read(self, *secrets: secretsmanager.ISecret) -> iam.ManagedPolicy:
        """Let the instances read exactly these secrets (IAM-05), in a policy of its own.

        Adds ``kms:Decrypt`` through Secrets Manager for secrets encrypted with a customer key.
        Call once with every secret the application needs.
        """
        if not secrets:
            raise invalid(_NAME, "secrets", (), "pass at least one secret")
        if self.secrets_policy is not None:
            raise invalid(
                _NAME,
                "secrets",
                [secret.node.path for secret in secrets],
                "call grant_secrets_read() once with all secrets",
            )
        statements = [
            iam.PolicyStatement(
                sid="ReadApplicationSecrets",
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[secret.secret_arn for secret in secrets],
            )
        ]
        key_arns = list(
            dict.fromkeys(s.encryption_key.key_arn for s in secrets if s.encryption_key)
        )
        if key_arns:
            statements.append(
                iam.PolicyStatement(
                    sid="DecryptSecretsThroughSecretsManager",
                    actions=["kms:Decrypt"],
                    resources=key_arns,
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": (
                                f"secretsmanager.{Stack.of(self).region}.amazonaws.com"
                            )
                        }
                    },
                )
            )
        self.secrets_policy = iam.ManagedPolicy(
            self,
            "SecretsPolicy",
            description="Read the secrets the application needs",
            roles=[self.role],
            statements=statements,
        )
        return self.secrets_policy

    # ---- CMP-06: scaling ---------------------------------------------------------------------
    def scale_on_cpu(
        self, *, target_utilization_percent: int = 70, disable_scale_in: bool = False
    ) -> autoscaling.TargetTrackingScalingPolicy:
        """Target tracking on the group's average CPU utilization (default 70 %)."""
        require_range(_NAME, "target_utilization_percent", target_utilization_percent, 10, 90)
        return self.auto_scaling_group.scale_on_cpu_utilization(
            "CpuTargetTracking",
            target_utilization_percent=target_utilization_percent,
            disable_scale_in=disable_scale_in,
        )

    def scale_on_request_count(
        self, *, target_requests_per_target: int = 1000
    ) -> autoscaling.TargetTrackingScalingPolicy:
        """Target tracking on ``ALBRequestCountPerTarget`` (requests per target per minute).

        Call :meth:`attach_to_target_group` first, with a target group that a listener of an
        application load balancer already forwards to. Built like CDK's
        ``AutoScalingGroup.scale_on_request_count``, except that the policy depends only on the
        load-balancer attachments its ``ResourceLabel`` does not already reference (CDK's helper
        adds a redundant ``DependsOn`` on the listener, cfn-lint W3005).
        """
        require_range(_NAME, "target_requests_per_target", target_requests_per_target, 1, 1_000_000)
        target_group = self._target_group
        if not isinstance(target_group, elbv2.ApplicationTargetGroup):
            raise invalid(
                _NAME,
                "target_group",
                None if target_group is None else target_group.node.path,
                "call attach_to_target_group() with an ApplicationTargetGroup of this app first",
            )
        label = (
            f"{target_group.first_load_balancer_full_name}/{target_group.target_group_full_name}"
        )
        policy = autoscaling.TargetTrackingScalingPolicy(
            self,
            "RequestCountTargetTracking",
            auto_scaling_group=self.auto_scaling_group,
            predefined_metric=autoscaling.PredefinedMetric.ALB_REQUEST_COUNT_PER_TARGET,
            resource_label=label,
            target_value=target_requests_per_target,
        )
        stack = Stack.of(self)
        referenced = json.dumps(stack.resolve(label))
        for root in Dependable.of(target_group.load_balancer_attached).dependency_roots:
            element = root if isinstance(root, CfnElement) else root.node.default_child
            if isinstance(element, CfnElement):
                logical_id = stack.resolve(element.logical_id)
                if json.dumps({"Ref": logical_id}) in referenced:
                    continue
            policy.node.add_dependency(root)
        return policy

    def add_step_scaling(
        self,
        *,
        scale_out_at_percent: int = 85,
        scale_out_by: int = 2,
        surge_at_percent: int = 95,
        surge_by: int = 4,
    ) -> autoscaling.StepScalingPolicy:
        """Step scaling for CPU spikes on the 1-minute maximum, faster than target tracking.

        Above ``scale_out_at_percent`` add ``scale_out_by`` instances, above ``surge_at_percent``
        add ``surge_by``; scale-in is left to target tracking.
        """
        require_range(_NAME, "scale_out_at_percent", scale_out_at_percent, 50, 99)
        require_range(_NAME, "surge_at_percent", surge_at_percent, scale_out_at_percent + 1, 100)
        require_range(_NAME, "scale_out_by", scale_out_by, 1, 100)
        require_range(_NAME, "surge_by", surge_by, scale_out_by, 100)
        return self.auto_scaling_group.scale_on_metric(
            "CpuStepScaling",
            metric=self.metric_cpu_utilization(period=Duration.minutes(1), statistic="Maximum"),
            scaling_steps=[
                autoscaling.ScalingInterval(lower=scale_out_at_percent, change=scale_out_by),
                autoscaling.ScalingInterval(lower=surge_at_percent, change=surge_by),
            ],
            adjustment_type=autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            estimated_instance_warmup=Duration.minutes(5),
        )

    def add_predictive_scaling(
        self,
        *,
        target_utilization_percent: int = 70,
        mode: str = "ForecastAndScale",
        scheduling_buffer: Duration | None = None,
    ) -> autoscaling.CfnScalingPolicy:
        """Predictive scaling on CPU (L1: CDK has no L2). Forecasts start after 24 h of data."""
        require_range(_NAME, "target_utilization_percent", target_utilization_percent, 10, 90)
        require_choice(_NAME, "mode", mode, ["ForecastAndScale", "ForecastOnly"])
        buffer_seconds = int((scheduling_buffer or Duration.minutes(5)).to_seconds())
        require_range(_NAME, "scheduling_buffer", buffer_seconds, 0, 3600)
        policy = autoscaling.CfnScalingPolicy
        return policy(
            self,
            "PredictiveScaling",
            auto_scaling_group_name=self.auto_scaling_group.auto_scaling_group_name,
            policy_type="PredictiveScaling",
            predictive_scaling_configuration=policy.PredictiveScalingConfigurationProperty(
                metric_specifications=[
                    policy.PredictiveScalingMetricSpecificationProperty(
                        target_value=target_utilization_percent,
                        predefined_metric_pair_specification=(
                            policy.PredictiveScalingPredefinedMetricPairProperty(
                                predefined_metric_type="ASGCPUUtilization"
                            )
                        ),
                    )
                ],
                mode=mode,
                scheduling_buffer_time=buffer_seconds,
                max_capacity_breach_behavior="HonorMaxCapacity",
            ),
        )

    def add_lifecycle_hooks(
        self,
        *,
        launch_heartbeat_timeout: Duration | None = None,
        launch_default_result: autoscaling.DefaultResult = autoscaling.DefaultResult.ABANDON,
        terminate_heartbeat_timeout: Duration | None = None,
        terminate_default_result: autoscaling.DefaultResult = autoscaling.DefaultResult.CONTINUE,
    ) -> tuple[autoscaling.LifecycleHook, autoscaling.LifecycleHook]:
        """Launch and terminate lifecycle hooks (CMP-06).

        A launching instance waits in ``Pending:Wait`` until its user data has seen the
        application healthy and completes the hook; one that never does is abandoned (and
        replaced) after ``launch_heartbeat_timeout`` (default: readiness timeout + 5 minutes).
        Instances launched while CloudFormation creates the group are not held: the hooks are
        created after the group. A terminating instance gets ``terminate_heartbeat_timeout``
        (default 5 minutes) to drain and flush its logs before termination continues.
        """
        if self._launch_hook is not None:
            raise invalid(
                _NAME, "add_lifecycle_hooks", "second call", "add the lifecycle hooks once"
            )
        launch_timeout = launch_heartbeat_timeout or self._readiness.plus(Duration.minutes(5))
        terminate_timeout = terminate_heartbeat_timeout or Duration.minutes(5)
        if launch_timeout.to_seconds() <= self._readiness.to_seconds():
            raise invalid(
                _NAME,
                "launch_heartbeat_timeout",
                launch_timeout.to_human_string(),
                f"use more than readiness_timeout={self._readiness.to_human_string()}",
            )
        for argument, timeout in (
            ("launch_heartbeat_timeout", launch_timeout),
            ("terminate_heartbeat_timeout", terminate_timeout),
        ):
            require_range(_NAME, argument, int(timeout.to_seconds()), 30, 7200)

        stack = Stack.of(self)
        self.lifecycle_policy = iam.ManagedPolicy(
            self,
            "LifecyclePolicy",
            description="Complete this fleet's launch lifecycle hook once the instance is healthy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="FindOwnGroupAndState",
                    actions=["autoscaling:DescribeAutoScalingInstances"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="CompleteOwnLaunchHook",
                    actions=["autoscaling:CompleteLifecycleAction"],
                    resources=[
                        stack.format_arn(
                            service="autoscaling",
                            resource="autoScalingGroup",
                            resource_name="*:autoScalingGroupName/*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    ],
                    # The tags CloudFormation puts on the group: this stack, this group. The
                    # group's name would create a dependency on the group, whose creation waits
                    # for instances that need this policy.
                    conditions={
                        "StringEquals": {
                            "autoscaling:ResourceTag/aws:cloudformation:stack-id": Aws.STACK_ID,
                            "autoscaling:ResourceTag/aws:cloudformation:logical-id": (
                                self._cfn_group.logical_id
                            ),
                        }
                    },
                ),
            ],
        )
        acknowledge(
            self.lifecycle_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "autoscaling:DescribeAutoScalingInstances does not support resource-level "
            "permissions; the instance uses it read-only to find its own group and state.",
        )
        acknowledge(
            self.lifecycle_policy,
            f"AwsSolutions-IAM5[Resource::arn:{_nag_text(stack.partition, 'AWS::Partition')}:"
            f"autoscaling:{_nag_text(stack.region, 'AWS::Region')}:"
            f"{_nag_text(stack.account, 'AWS::AccountId')}:autoScalingGroup:*:"
            "autoScalingGroupName/*]",
            "CompleteLifecycleAction is limited by resource-tag conditions to the group with this "
            "stack's ID and this fleet's logical ID; the group's name and ID are generated.",
        )
        launch = self.auto_scaling_group.add_lifecycle_hook(
            "LaunchHook",
            lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_LAUNCHING,
            lifecycle_hook_name=LAUNCH_HOOK_NAME,
            heartbeat_timeout=launch_timeout,
            default_result=launch_default_result,
        )
        terminate = self.auto_scaling_group.add_lifecycle_hook(
            "TerminateHook",
            lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
            lifecycle_hook_name=TERMINATE_HOOK_NAME,
            heartbeat_timeout=terminate_timeout,
            default_result=terminate_default_result,
        )
        self._launch_hook = launch
        return launch, terminate

    # ---- metrics -----------------------------------------------------------------------------
    def metric_cpu_utilization(
        self, *, period: Duration | None = None, statistic: str = "Average"
    ) -> cloudwatch.Metric:
        """CPU utilization of the group's instances (default: 5-minute average)."""
        return cloudwatch.Metric(
            namespace="AWS/EC2",
            metric_name="CPUUtilization",
            dimensions_map={
                "AutoScalingGroupName": self.auto_scaling_group.auto_scaling_group_name
            },
            statistic=statistic,
            period=period or Duration.minutes(5),
        )


@jsii.implements(IStableStringProducer)
class _LifecycleCommands:
    """Renders the launch-hook completion at synth time, after add_lifecycle_hooks() ran."""

    def __init__(self, fleet: HardenedFleet) -> None:
        self._fleet = fleet

    def produce(self) -> str:
        return self._fleet._lifecycle_commands()


def _nag_text(value: str, pseudo_parameter: str) -> str:
    """A stack attribute as cdk-nag writes it in finding IDs (``<AWS::Region>`` for a token)."""
    return f"<{pseudo_parameter}>" if Token.is_unresolved(value) else value


def _validate_instance_types(
    instance_type: str | None, mixed_instance_types: Sequence[str] | None
) -> list[str]:
    """The instance types of the fleet, first = the AMI's architecture and top priority."""
    if mixed_instance_types is None:
        name = DEFAULT_INSTANCE_TYPE if instance_type is None else instance_type
        _validate_instance_type("instance_type", name)
        return [name]
    if instance_type is not None:
        raise invalid(
            _NAME,
            "instance_type",
            instance_type,
            "leave it unset with mixed_instance_types; list the type there instead",
        )
    if isinstance(mixed_instance_types, str):
        raise invalid(
            _NAME,
            "mixed_instance_types",
            mixed_instance_types,
            "pass a list such as ['t3.medium', 't3.large', 'm5.large']",
        )
    names = list(mixed_instance_types)
    if len(names) < 3:
        raise invalid(
            _NAME,
            "mixed_instance_types",
            names,
            "pass at least 3 instance types so capacity survives one type being unavailable",
        )
    for name in names:
        _validate_instance_type("mixed_instance_types", name)
    if len(set(names)) != len(names):
        raise invalid(_NAME, "mixed_instance_types", names, "list each instance type once")
    if len({ec2.InstanceType(name).architecture for name in names}) > 1:
        raise invalid(
            _NAME,
            "mixed_instance_types",
            names,
            "use one CPU architecture (all x86_64 or all arm64): they share one AMI",
        )
    return names


def _validate_instance_type(argument: str, value: object) -> None:
    if not isinstance(value, str) or not _INSTANCE_TYPE.match(value):
        raise invalid(
            _NAME, argument, value, "pass an instance type such as 't3.micro' or 'm5.large'"
        )


def _validate_capacity(
    min_capacity: int, max_capacity: int, desired_capacity: int | float | None
) -> None:
    require_range(_NAME, "min_capacity", min_capacity, 2, 1000)
    require_range(_NAME, "max_capacity", max_capacity, 3, 1000)
    if max_capacity <= min_capacity:
        raise invalid(
            _NAME,
            "max_capacity",
            max_capacity,
            f"use more than min_capacity={min_capacity} so a rolling update can launch a "
            "replacement before it terminates an instance",
        )
    if desired_capacity is not None:
        require_range(_NAME, "desired_capacity", desired_capacity, min_capacity, max_capacity)


def _validate_instance_settings(
    *,
    root_volume_size_gib: int,
    http_put_response_hop_limit: int,
    app_port: int,
    health_check_path: str,
    app_log_path: str,
    log_retention: logs.RetentionDays,
    user_data_commands: Sequence[str],
) -> None:
    require_range(_NAME, "root_volume_size_gib", root_volume_size_gib, 8, 16384)
    if isinstance(http_put_response_hop_limit, bool) or http_put_response_hop_limit not in (1, 2):
        raise invalid(
            _NAME,
            "http_put_response_hop_limit",
            http_put_response_hop_limit,
            "use 1, or 2 only for containers that reach IMDS through a bridge network",
        )
    require_range(_NAME, "app_port", app_port, 1, 65535)
    if not isinstance(health_check_path, str) or not _HEALTH_PATH.match(health_check_path):
        raise invalid(
            _NAME,
            "health_check_path",
            health_check_path,
            "pass a URL path that starts with '/', without spaces or quotes, e.g. /health",
        )
    if not isinstance(app_log_path, str) or not _LOG_PATH.match(app_log_path):
        raise invalid(
            _NAME,
            "app_log_path",
            app_log_path,
            "pass an absolute file path such as /var/log/app/app.log",
        )
    if log_retention == logs.RetentionDays.INFINITE:
        raise invalid(_NAME, "log_retention", log_retention, "choose a finite retention (LOG-03)")
    if isinstance(user_data_commands, str) or not all(
        isinstance(command, str) for command in user_data_commands
    ):
        raise invalid(
            _NAME, "user_data_commands", user_data_commands, "pass a list of shell commands"
        )


def _validate_subnets(vpc: ec2.IVpc, subnets: ec2.SubnetSelection) -> None:
    selected = vpc.select_subnets(
        availability_zones=subnets.availability_zones,
        one_per_az=subnets.one_per_az,
        subnet_filters=subnets.subnet_filters,
        subnet_group_name=subnets.subnet_group_name,
        subnets=subnets.subnets,
        subnet_type=subnets.subnet_type,
    )
    if selected.has_public:
        raise invalid(
            _NAME,
            "subnets",
            [subnet.subnet_id for subnet in selected.subnets],
            "select the private application subnets; instances never sit in public subnets",
        )
    if len(set(selected.availability_zones)) < 2:
        raise invalid(
            _NAME,
            "subnets",
            selected.availability_zones,
            "select private subnets in at least two availability zones (CMP-04)",
        )


def _validate_rule_description(description: str) -> None:
    require_non_empty(_NAME, "description", description)
    if not _RULE_DESCRIPTION.match(description):
        raise invalid(
            _NAME,
            "description",
            description,
            "use up to 255 letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*",
        )


__all__ = ["HardenedFleet"]
