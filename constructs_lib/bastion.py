"""Administrative host reached through SSM Session Manager (CMP-01..03, CMP-08, NET-10, IAM-05).

``Bastion`` is how the reference stacks give operators a way into the private network:

* **NET-10 / CMP-08** access is through Session Manager. The security group has no ingress rule
  at all by default; SSH (22) is opened only when ``ssh_ingress_cidr`` is given, from exactly
  that IPv4 block (never ``0.0.0.0/0``, never wider than /16), optionally behind a
  ``CfnCondition`` (``ssh_ingress_condition``) so a stack can leave it off by default.
  ``public=True`` (which requires ``ssh_ingress_cidr``) places the host in a public subnet with a
  public IP; otherwise it runs in the private-with-egress subnets without one.
* **CMP-01** the instance is launched from a launch template the construct builds itself, and
  *everything* that hardens the host lives in that template: the Amazon Linux 2023 AMI from the
  public SSM parameter (``MachineImage.latest_amazon_linux2023(cached_in_context=False)``, a
  deploy-time ``AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>``: no AMI map, no context
  lookup), instance type, instance profile, IMDS options, root volume, detailed monitoring, the
  network interface (subnet, security group, public IP on/off) and the optional key pair. The
  ``AWS::EC2::Instance`` only references the template's latest version and carries termination
  protection (which changes without interruption; see "Replacement" below). Why not
  ``ec2.Instance(require_imdsv2=True)``: its launch template holds only ``HttpTokens`` (no
  ``HttpEndpoint``, no hop limit) while the AMI, volumes and network settings sit on the
  instance, so the launch template would not describe the host that runs. The subnet is on the
  template's network interface too, because EC2 refuses an instance-level subnet next to
  launch-template network interfaces (which the public IP setting needs).
* **CMP-02** IMDSv2 only: ``HttpTokens: required``, ``HttpEndpoint: enabled``, hop limit 1.
* **CMP-03** a gp3 root volume encrypted with ``encryption_key``, deleted on termination. The
  instance is launched by CloudFormation with the deploying principal's credentials, so unlike
  an Auto Scaling group no service-linked role needs access to the key.
* **IAM-05** its own role and instance profile with the AWS managed
  ``AmazonSSMManagedInstanceCore`` and one customer-managed policy (``session_logs_policy``) for
  its session log group only. Customer-managed rather than inline because three nag packs reject
  inline policies.
* **LOG-03** every session is logged (streamed) to a log group the construct creates, encrypted
  with ``encryption_key``, retained, with a finite retention. Session Manager's logging settings
  live in a ``Session`` document; the account-wide default (``SSM-SessionManagerRunShell``) exists
  once per region and cannot be owned by a construct, so the bastion has its own session document
  (``session_document``) and :attr:`Bastion.ssm_session_command` names it. Operators who may
  start sessions on the bastion should be limited to that document (``ssm:StartSession`` on the
  instance and the document, ``ssm:SessionDocumentAccessCheck``), otherwise they can bypass
  logging with the default document.
* **NET-06 / NET-10** its own security group with explicit egress only: HTTPS (443) to anywhere,
  for the Session Manager endpoints (ssm, ssmmessages, ec2messages), CloudWatch Logs and the
  Amazon Linux repositories on S3. DNS, NTP and the instance metadata service are link-local and
  not filtered by security groups. :meth:`Bastion.allow_to` opens a port to a peer security
  group (e.g. the database) as separate rule resources; the inline HTTPS rule keeps CDK from
  leaving the group with EC2's default allow-all egress when a rule moves to its own resource.

Replacement: the AMI parameter is resolved on every deployment, and a new AMI (or any other
launch-template change) creates a new template version, which replaces the instance. An instance
with termination protection cannot be deleted, so deploy once with ``termination_protection=False``
(no interruption) before an update that replaces the bastion.

Key policies: the CloudWatch Logs statement for ``encryption_key`` is added with
``add_to_resource_policy``. For a key imported from another stack CDK cannot change the policy; add
the same statement where the key is defined.
"""

from __future__ import annotations

import hashlib
import re

from aws_cdk import Aws, CfnCondition, CfnParameter, Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.encryption import allow_log_groups
from constructs_lib.validation import invalid, require_cidr, require_non_empty

_NAME = "Bastion"

#: Instance type used when ``instance_type`` is not given.
DEFAULT_INSTANCE_TYPE = "t3.micro"

#: Root volume size: the Amazon Linux 2023 AMI's snapshot size.
ROOT_VOLUME_SIZE_GIB = 8

#: Minutes after which Session Manager ends an idle session.
IDLE_SESSION_TIMEOUT_MINUTES = 20

#: The widest block ``ssh_ingress_cidr`` may be (a /16 is already 65,536 addresses).
SSH_MIN_PREFIX = 16

#: ``AllowedPattern`` for a stack parameter that feeds ``ssh_ingress_cidr``: an IPv4 block from
#: /16 to /32 (``0.0.0.0/0`` and anything wider than /16 fail at deploy time as they fail here).
SSH_INGRESS_CIDR_PATTERN = (
    r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}"
    r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/(1[6-9]|2[0-9]|3[0-2])$"
)
#: The same for an optional parameter (empty = no SSH); needs ``ssh_ingress_condition``.
OPTIONAL_SSH_INGRESS_CIDR_PATTERN = r"^$|" + SSH_INGRESS_CIDR_PATTERN

#: ``family.size`` such as ``t3.micro``, ``m7g.2xlarge``, ``u-6tb1.metal``.
_INSTANCE_TYPE = re.compile(
    r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\."
    r"(nano|micro|small|medium|large|[0-9]*xlarge|metal(-[0-9]+xl)?)$"
)
#: Characters EC2 accepts in a security-group rule description.
_RULE_DESCRIPTION = re.compile(r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{1,255}$")
#: Characters EC2 accepts in a key pair name (ASCII, up to 255).
_KEY_PAIR_NAME = re.compile(r"^[\x20-\x7e]{1,255}$")

_SSH_DESCRIPTION = "SSH from the administrative network (explicitly requested)"


class Bastion(Construct):
    """A Session-Manager bastion host, hardened by default.

    :param vpc: the VPC of the host.
    :param subnets: where the host runs (the first selected subnet). Default: the
        private-with-egress subnets, or the public subnets with ``public=True``. Public subnets
        only with ``public=True``; isolated subnets need interface endpoints for SSM.
    :param log_encryption_key: separate customer key for the session log group; default
        ``encryption_key``.
    :param encryption_key: customer key for the root volume and the session log group; the
        construct adds the key-policy statement CloudWatch Logs needs.
    :param instance_type: instance type (default ``t3.micro``); the AMI architecture follows it.
    :param ssh_ingress_cidr: IPv4 block allowed to reach SSH (22); none by default. A literal
        must be a /16 or narrower block other than ``0.0.0.0/0``. A token must be the value of a
        ``CfnParameter`` of the same stack with ``allowed_pattern=SSH_INGRESS_CIDR_PATTERN`` (or
        ``OPTIONAL_SSH_INGRESS_CIDR_PATTERN`` together with ``ssh_ingress_condition``), so
        CloudFormation applies the same limits at deploy time.
    :param ssh_ingress_condition: with ``ssh_ingress_cidr``, the condition the SSH rule is
        created under (e.g. "an administrative CIDR was given").
    :param key_pair_name: EC2 key pair for SSH (a name or a token); none by default.
    :param key_pair_condition: with ``key_pair_name``, the condition under which the key pair is
        set (``Fn::If`` with ``AWS::NoValue`` otherwise), so a stack can make it optional.
    :param log_retention: retention of the session log group (finite, default one year).
    :param public: place the host in a public subnet with a public IP; requires
        ``ssh_ingress_cidr``.
    :param termination_protection: enable EC2 termination protection (default on). Turning it
        off is a relaxation the caller acknowledges (``AwsSolutions-EC29``) with its own reason.

    Public children: ``instance`` (ID ``Resource``, an ``ec2.CfnInstance``), ``launch_template``,
    ``machine_image``, ``role``, ``instance_profile``, ``session_logs_policy``,
    ``security_group``, ``ssh_ingress`` (``None`` without ``ssh_ingress_cidr``), ``key_pair``
    (``None`` without ``key_pair_name``), ``log_group``, ``session_document``. Values:
    ``instance_id``, ``instance_arn``, ``ssm_session_command``, ``public_ip`` (``None`` unless
    ``public=True``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey,
        log_encryption_key: kms.IKey | None = None,
        subnets: ec2.SubnetSelection | None = None,
        instance_type: str = DEFAULT_INSTANCE_TYPE,
        ssh_ingress_cidr: str | None = None,
        ssh_ingress_condition: CfnCondition | None = None,
        key_pair_name: str | None = None,
        key_pair_condition: CfnCondition | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        public: bool = False,
        termination_protection: bool = True,
    ) -> None:
        _validate_arguments(
            scope,
            instance_type=instance_type,
            ssh_ingress_cidr=ssh_ingress_cidr,
            ssh_ingress_condition=ssh_ingress_condition,
            key_pair_name=key_pair_name,
            key_pair_condition=key_pair_condition,
            log_retention=log_retention,
            public=public,
            termination_protection=termination_protection,
        )
        subnet = _select_subnet(vpc, subnets, public=public)
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        suffix = hashlib.sha256(self.node.path.encode()).hexdigest()[:8].upper()

        # ---- LOG-03: the session log group, CMK-encrypted and retained ----------------------
        log_key = log_encryption_key or encryption_key
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=log_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        allow_log_groups(log_key, self, f"CloudWatchLogsBastion{suffix}")
        self.session_document = ssm.CfnDocument(
            self,
            "SessionDocument",
            document_type="Session",
            document_format="JSON",
            content={
                "schemaVersion": "1.0",
                "description": "Bastion shell sessions, streamed to an encrypted log group",
                "sessionType": "Standard_Stream",
                "inputs": {
                    "cloudWatchLogGroupName": self.log_group.log_group_name,
                    "cloudWatchEncryptionEnabled": True,
                    "cloudWatchStreamingEnabled": True,
                    "idleSessionTimeout": str(IDLE_SESSION_TIMEOUT_MINUTES),
                    "runAsEnabled": False,
                },
            },
        )

        # ---- IAM-05: own role and instance profile, one policy per concern ------------------
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Bastion instance role: SSM agent (Session Manager), own session log group",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore"),
            ],
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "AmazonSSMManagedInstanceCore]",
            "AmazonSSMManagedInstanceCore is the AWS-maintained minimum for the SSM agent, which "
            "is how this bastion is reached (Session Manager instead of SSH, NET-10); its ssm, "
            "ssmmessages and ec2messages actions do not support resource-level scoping.",
        )
        self.session_logs_policy = iam.ManagedPolicy(
            self,
            "SessionLogsPolicy",
            description="SSM agent: stream Session Manager sessions to the bastion's log group",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="WriteSessionLogGroup",
                    actions=[
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[self.log_group.log_group_arn],
                ),
                iam.PolicyStatement(
                    sid="CheckSessionLogGroupEncryption",
                    actions=["logs:DescribeLogGroups"],
                    resources=["*"],
                ),
            ],
        )
        acknowledge(
            self.session_logs_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "logs:DescribeLogGroups has no resource-level permissions; the SSM agent calls it "
            "(read-only) to verify that the session log group is KMS-encrypted before a session "
            "starts (cloudWatchEncryptionEnabled). Writes are limited to the bastion's group.",
        )
        self.instance_profile = iam.InstanceProfile(self, "InstanceProfile", role=self.role)

        # ---- NET-06 / NET-10: own security group, explicit egress, no ingress ---------------
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Bastion: Session Manager over HTTPS egress; no ingress unless requested",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "HTTPS to Session Manager (ssm, ssmmessages, ec2messages), CloudWatch Logs and "
            "Amazon Linux repos on S3",
        )
        self.ssh_ingress: ec2.CfnSecurityGroupIngress | None = None
        if ssh_ingress_cidr is not None:
            self.ssh_ingress = ec2.CfnSecurityGroupIngress(
                self,
                "SshIngress",
                group_id=self.security_group.security_group_id,
                ip_protocol="tcp",
                from_port=22,
                to_port=22,
                cidr_ip=ssh_ingress_cidr,
                description=_SSH_DESCRIPTION,
            )
            if ssh_ingress_condition is not None:
                self.ssh_ingress.cfn_options.condition = ssh_ingress_condition
            if Token.is_unresolved(ssh_ingress_cidr):
                _acknowledge_parameter_cidr(self.ssh_ingress)

        # ---- CMP-01/02/03: the launch template holds every setting of the host --------------
        architecture = ec2.InstanceType(instance_type).architecture
        # cached_in_context=False: a deploy-time SSM parameter, never a synth-time lookup.
        self.machine_image = ec2.MachineImage.latest_amazon_linux2023(
            cpu_type=(
                ec2.AmazonLinuxCpuType.ARM_64
                if architecture == ec2.InstanceArchitecture.ARM_64
                else ec2.AmazonLinuxCpuType.X86_64
            ),
            cached_in_context=False,
        )
        self.key_pair: ec2.IKeyPair | None = None
        if key_pair_name is not None:
            self.key_pair = ec2.KeyPair.from_key_pair_name(
                self,
                "KeyPair",
                key_pair_name
                if key_pair_condition is None
                else Token.as_string(
                    Fn.condition_if(key_pair_condition.logical_id, key_pair_name, Aws.NO_VALUE)
                ),
            )
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=self.machine_image,
            instance_type=ec2.InstanceType(instance_type),
            instance_profile=self.instance_profile,
            security_group=self.security_group,
            associate_public_ip_address=public,
            key_pair=self.key_pair,
            http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
            http_endpoint=True,
            http_put_response_hop_limit=1,
            detailed_monitoring=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        ROOT_VOLUME_SIZE_GIB,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        encrypted=True,
                        kms_key=encryption_key,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        # The primary interface carries the subnet too: EC2 refuses an instance-level subnet
        # next to launch-template network interfaces (the public IP setting needs one).
        cfn_template = self.launch_template.node.default_child
        assert isinstance(cfn_template, ec2.CfnLaunchTemplate)
        cfn_template.add_property_override(
            "LaunchTemplateData.NetworkInterfaces.0.SubnetId", subnet.subnet_id
        )
        cfn_template.add_property_override(
            "LaunchTemplateData.NetworkInterfaces.0.DeleteOnTermination", True
        )

        self.instance = ec2.CfnInstance(
            self,
            "Resource",
            launch_template=ec2.CfnInstance.LaunchTemplateSpecificationProperty(
                launch_template_id=self.launch_template.launch_template_id,
                version=self.launch_template.latest_version_number,
            ),
            disable_api_termination=termination_protection,
        )

        _acknowledge_launch_template_settings(self.instance)

        # ---- access ------------------------------------------------------------------------
        self.instance_id: str = self.instance.ref
        #: ``arn:<partition>:ec2:<region>:<account>:instance/<id>``, e.g. for an AWS Backup
        #: selection (``instance`` is an L1, not an ``ec2.IInstance``).
        self.instance_arn: str = stack.format_arn(
            service="ec2", resource="instance", resource_name=self.instance.ref
        )
        self.ssm_session_command: str = (
            f"aws ssm start-session --target {self.instance.ref} "
            f"--document-name {self.session_document.ref} --region {stack.region}"
        )
        self.public_ip: str | None = self.instance.attr_public_ip if public else None

    def allow_to(self, peer: ec2.ISecurityGroup, port: ec2.Port, description: str) -> None:
        """Allow the bastion to reach ``peer`` on ``port`` (e.g. the database port).

        A separate egress rule resource on the bastion's group and the matching ingress rule on
        ``peer``; the inline HTTPS egress rule stays, so the group never falls back to EC2's
        default allow-all egress.
        """
        if not isinstance(port, ec2.Port):
            raise invalid(_NAME, "port", port, "pass an ec2.Port such as ec2.Port.tcp(3306)")
        _validate_rule_description(description)
        self.security_group.connections.allow_to(peer, port, description)


# ---- cdk-nag acknowledgments -----------------------------------------------------------------
def _acknowledge_launch_template_settings(instance: ec2.CfnInstance) -> None:
    """Rules that read only AWS::EC2::Instance properties; the launch template holds them."""
    monitoring = (
        "The rule reads only the instance's own Monitoring property; the instance is launched "
        "from the construct's launch template, whose LaunchTemplateData.Monitoring.Enabled is "
        "true (detailed monitoring, asserted by the construct tests)."
    )
    profile = (
        "The rule reads only the instance's own IamInstanceProfile property; the instance is "
        "launched from the construct's launch template, whose LaunchTemplateData."
        "IamInstanceProfile is the bastion's own profile (asserted by the construct tests)."
    )
    in_vpc = (
        "The rule reads only the instance's SubnetId; the subnet is set on the launch "
        "template's primary network interface (LaunchTemplateData.NetworkInterfaces[0].SubnetId, "
        "a subnet of the given VPC), because EC2 refuses an instance-level SubnetId next to "
        "launch-template network interfaces."
    )
    acknowledge(instance, "AwsSolutions-EC28", monitoring)
    acknowledge(instance, "HIPAA.Security-EC2InstanceDetailedMonitoringEnabled", monitoring)
    for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"):
        acknowledge(instance, f"{pack}-EC2InstanceProfileAttached", profile)
        acknowledge(instance, f"{pack}-EC2InstancesInVPC", in_vpc)


def _acknowledge_parameter_cidr(rule: ec2.CfnSecurityGroupIngress) -> None:
    """The rules cannot evaluate a parameter; the construct checked the parameter's pattern."""
    reason = (
        "CidrIp is a stack parameter the rule cannot evaluate at synth; the construct accepted "
        "it only because the parameter's AllowedPattern is SSH_INGRESS_CIDR_PATTERN (or its "
        "optional form with a condition), which admits only IPv4 blocks of /16 to /32, so "
        "CloudFormation rejects 0.0.0.0/0 before SSH could open to the world."
    )
    acknowledge(rule, "AwsSolutions-EC23", reason)
    for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"):
        acknowledge(rule, f"{pack}-EC2RestrictedSSH", reason)
        acknowledge(rule, f"{pack}-EC2RestrictedCommonPorts", reason)


# ---- validation ------------------------------------------------------------------------------
def _validate_arguments(
    scope: Construct,
    *,
    instance_type: str,
    ssh_ingress_cidr: str | None,
    ssh_ingress_condition: CfnCondition | None,
    key_pair_name: str | None,
    key_pair_condition: CfnCondition | None,
    log_retention: logs.RetentionDays,
    public: bool,
    termination_protection: bool,
) -> None:
    if not isinstance(instance_type, str) or not _INSTANCE_TYPE.match(instance_type):
        raise invalid(
            _NAME, "instance_type", instance_type, "pass an instance type such as 't3.micro'"
        )
    if ssh_ingress_cidr is not None:
        _validate_ssh_cidr(scope, ssh_ingress_cidr, ssh_ingress_condition)
    elif ssh_ingress_condition is not None:
        raise invalid(
            _NAME,
            "ssh_ingress_condition",
            ssh_ingress_condition.node.path,
            "pass it only together with ssh_ingress_cidr",
        )
    if key_pair_name is not None:
        require_non_empty(_NAME, "key_pair_name", key_pair_name)
        if not Token.is_unresolved(key_pair_name) and not _KEY_PAIR_NAME.match(key_pair_name):
            raise invalid(_NAME, "key_pair_name", key_pair_name, "pass the name of an EC2 key pair")
    elif key_pair_condition is not None:
        raise invalid(
            _NAME,
            "key_pair_condition",
            key_pair_condition.node.path,
            "pass it only together with key_pair_name",
        )
    if log_retention == logs.RetentionDays.INFINITE:
        raise invalid(_NAME, "log_retention", log_retention, "choose a finite retention (LOG-03)")
    for argument, value in (("public", public), ("termination_protection", termination_protection)):
        if not isinstance(value, bool):
            raise invalid(_NAME, argument, value, "pass True or False")
    if public and ssh_ingress_cidr is None:
        raise invalid(
            _NAME,
            "public",
            public,
            "a public bastion needs ssh_ingress_cidr (your administrative network); without SSH "
            "use the default private bastion and Session Manager",
        )


def _validate_ssh_cidr(scope: Construct, value: str, condition: CfnCondition | None) -> None:
    """A literal: /16 or narrower, not the world. A token: a parameter with our AllowedPattern."""
    if not isinstance(value, str):
        raise invalid(_NAME, "ssh_ingress_cidr", value, "pass an IPv4 CIDR such as 203.0.113.0/24")
    if not Token.is_unresolved(value):
        require_cidr(_NAME, "ssh_ingress_cidr", value, min_prefix=SSH_MIN_PREFIX)
        return
    stack = Stack.of(scope)
    resolved = stack.resolve(value)
    name = resolved.get("Ref") if isinstance(resolved, dict) and len(resolved) == 1 else None
    parameter = next(
        (
            child
            for child in stack.node.find_all()
            if isinstance(child, CfnParameter) and stack.resolve(child.logical_id) == name
        ),
        None,
    )
    if parameter is None:
        raise invalid(
            _NAME,
            "ssh_ingress_cidr",
            resolved,
            "pass a literal CIDR or the value of a CfnParameter of this stack with "
            "allowed_pattern=SSH_INGRESS_CIDR_PATTERN",
        )
    if parameter.allowed_pattern == SSH_INGRESS_CIDR_PATTERN:
        return
    if parameter.allowed_pattern == OPTIONAL_SSH_INGRESS_CIDR_PATTERN:
        if condition is None:
            raise invalid(
                _NAME,
                "ssh_ingress_cidr",
                resolved,
                f"parameter {name} may be empty; pass ssh_ingress_condition (true only when it "
                "is not) so no SSH rule with an empty CIDR is created",
            )
        return
    raise invalid(
        _NAME,
        "ssh_ingress_cidr",
        resolved,
        f"give parameter {name} allowed_pattern=SSH_INGRESS_CIDR_PATTERN (or "
        "OPTIONAL_SSH_INGRESS_CIDR_PATTERN with ssh_ingress_condition) so CloudFormation rejects "
        "0.0.0.0/0 and blocks wider than /16",
    )


def _select_subnet(
    vpc: ec2.IVpc, subnets: ec2.SubnetSelection | None, *, public: bool
) -> ec2.ISubnet:
    """The subnet the host runs in: the first of the selection, public only when requested."""
    selection = subnets or ec2.SubnetSelection(
        subnet_type=ec2.SubnetType.PUBLIC if public else ec2.SubnetType.PRIVATE_WITH_EGRESS
    )
    try:
        selected = vpc.select_subnets(
            availability_zones=selection.availability_zones,
            one_per_az=selection.one_per_az,
            subnet_filters=selection.subnet_filters,
            subnet_group_name=selection.subnet_group_name,
            subnets=selection.subnets,
            subnet_type=selection.subnet_type,
        )
    except RuntimeError as error:
        raise invalid(
            _NAME, "subnets", selection.subnet_type, f"select subnets the VPC has ({error})"
        ) from error
    if not selected.subnets:
        raise invalid(_NAME, "subnets", selection.subnet_type, "select at least one subnet")
    public_ids = {subnet.subnet_id for subnet in vpc.public_subnets}
    ids = [subnet.subnet_id for subnet in selected.subnets]
    if public and not all(subnet_id in public_ids for subnet_id in ids):
        raise invalid(
            _NAME, "subnets", ids, "select public subnets for a public bastion (public=True)"
        )
    if not public and selected.has_public:
        raise invalid(
            _NAME,
            "subnets",
            ids,
            "select private subnets, or pass public=True with ssh_ingress_cidr for a public "
            "bastion",
        )
    return selected.subnets[0]


def _validate_rule_description(description: str) -> None:
    require_non_empty(_NAME, "description", description)
    if not _RULE_DESCRIPTION.match(description):
        raise invalid(
            _NAME,
            "description",
            description,
            "use up to 255 letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*",
        )


__all__ = ["OPTIONAL_SSH_INGRESS_CIDR_PATTERN", "SSH_INGRESS_CIDR_PATTERN", "Bastion"]
