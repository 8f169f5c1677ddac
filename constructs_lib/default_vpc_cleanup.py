"""Default VPC cleanup (NET-09): delete the default VPC in every enabled region but this one.

CloudFormation cannot delete resources it did not create, so a custom resource backed by the inline
handler in :mod:`constructs_lib.handlers.default_vpc_cleanup` does it. The function follows
CMP-09/LOG-03 like :class:`constructs_lib.identity.PasswordPolicy`: CMK-encrypted log group with
retention (retained), a CMK-encrypted dead-letter queue, reserved concurrency 1, X-Ray active
tracing, one customer-managed policy per concern, no environment variables (nothing to encrypt).
The handler is inlined (``ZipFile``), so the template deploys with plain CloudFormation and needs
no bootstrap bucket.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from aws_cdk import (
    Annotations,
    Aws,
    CustomResource,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.encryption import allow_log_groups
from constructs_lib.function_policies import logs_and_tracing_policies, own_dead_letter_queue
from constructs_lib.handlers import default_vpc_cleanup as _handler
from constructs_lib.validation import invalid

#: The handler module, inlined into the template as the function's ``index.py``.
HANDLER_FILE = Path(_handler.__file__)

#: Read-only EC2 calls of the handler; none supports resource-level permissions.
DESCRIBE_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRegions",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
#: Destructive EC2 calls of the handler, in the order it makes them.
DELETE_ACTIONS: tuple[str, ...] = (
    "ec2:DetachInternetGateway",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteSubnet",
    "ec2:DeleteVpc",
)
#: Every AWS call the handler makes, as IAM actions (the tests compare it with recorded calls).
EC2_ACTIONS: tuple[str, ...] = DESCRIBE_ACTIONS + DELETE_ACTIONS

_NAME = "DefaultVpcCleanup"
#: Lambda's maximum; the minimum leaves room for the handler's 60 s per-region reserve.
_MIN_TIMEOUT_S, _MAX_TIMEOUT_S = 120, 900
#: The function's default timeout: about 20 regions, a few calls each, with room to spare.
DEFAULT_TIMEOUT = Duration.minutes(10)
#: How much longer CloudFormation waits than the function can run.
_ANSWER_GRACE = Duration.minutes(2)


def default_vpc_cleanup_handler_source() -> str:
    """The handler source exactly as shipped in the function's ``ZipFile``."""
    return HANDLER_FILE.read_text(encoding="utf-8")


class DefaultVpcCleanup(Construct):
    """Deletes the default VPC of every enabled region except the stack's region (NET-09).

    On Create and Update the function lists the account's enabled regions
    (``DescribeRegions(AllRegions=False)``), keeps the stack's region, and in each other region
    looks for VPCs with ``isDefault=true`` (no other VPC is ever looked at). A default VPC that
    still has network interfaces is skipped and reported; otherwise its internet gateways are
    detached and deleted, its subnets deleted, then the VPC (its default security group, network
    ACL and main route table go with it). A region without a default VPC needs nothing, so the
    resource is safe to re-run. ``dry_run=True`` only reports what would be deleted.

    The response ``Data`` (``resource.get_att_string("<region>")``, see :meth:`outcome`) and the
    function's log map every region to one short outcome: ``kept: deployment region``,
    ``deleted vpc-...``, ``would-delete vpc-... (1 igw, 3 subnets)``,
    ``skipped vpc-...: 2 network interfaces``, ``none`` or ``error: <code>``. The reason
    CloudFormation shows counts them (``deleted 2, kept 1, none 14``). An error in one region
    (e.g. an SCP denying it, or a ``DependencyViolation`` from resources someone added to the
    default VPC) is reported and the other regions proceed; only a failure of the whole run (the
    region list cannot be read, bad properties) answers FAILED. Deleting the resource does nothing:
    default VPCs are never re-created.

    Permissions are exactly the EC2 calls the handler makes (:data:`EC2_ACTIONS`); the destructive
    ones are limited to this account's VPCs, subnets and internet gateways and denied in the
    stack's region by an ``aws:RequestedRegion`` condition, so not even a handler bug can delete
    the deployment region's default VPC. Default VPCs carry no tags and IAM has no "is default"
    condition key, so nothing narrower is possible.

    CloudFormation invokes the function asynchronously; an invocation that fails outside the
    handler's own error handling (e.g. the runtime cannot start) lands in ``dead_letter_queue``
    (CMK-encrypted, SSL only, 14 days, retained), where an operator can see which request
    CloudFormation waited for in vain.

    :param encryption_key: CMK for the function's log group and dead-letter queue; the construct
        adds the key-policy statement CloudWatch Logs needs (an imported key must already allow
        it) and lets the function's role use the key for the queue through SQS only.
    :param dry_run: report what would be deleted and delete nothing.
    :param log_retention: retention of the function's log group; must be finite (LOG-03).
    :param timeout: function timeout, 2..15 minutes; every region is visited in turn. Regions the
        function cannot start with less than a minute left are reported as ``error: out of time``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        dry_run: bool = False,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        timeout: Duration = DEFAULT_TIMEOUT,
    ) -> None:
        _validate(
            encryption_key=encryption_key,
            dry_run=dry_run,
            log_retention=log_retention,
            timeout=timeout,
        )
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        #: The region whose default VPC is kept: the stack's (a token when region-agnostic).
        self.keep_region: str = stack.region
        self.dry_run = dry_run

        _allow_cloudwatch_logs(self, encryption_key)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self,
            "Role",
            description="Deletes default VPCs outside the deployment region (NET-09)",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )

        def ec2_arns(resource: str) -> str:
            return stack.format_arn(service="ec2", region="*", resource=resource, resource_name="*")

        self.policy = iam.ManagedPolicy(
            self,
            "Ec2Access",
            description="Find default VPCs in every region and delete them outside this region",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="FindDefaultVpcs",
                    actions=list(DESCRIBE_ACTIONS),
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="DeleteDefaultVpcsOutsideDeploymentRegion",
                    actions=list(DELETE_ACTIONS),
                    resources=[
                        ec2_arns("internet-gateway"),
                        ec2_arns("subnet"),
                        ec2_arns("vpc"),
                    ],
                    conditions={"StringNotEquals": {"aws:RequestedRegion": self.keep_region}},
                ),
            ],
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "FindDefaultVpcs holds only ec2:DescribeRegions, DescribeVpcs, "
            "DescribeNetworkInterfaces, DescribeInternetGateways and DescribeSubnets, which "
            "support no resource-level permissions; every delete is in a separate, scoped "
            "statement",
        )
        # cdk-nag prints the partition as resolved ("aws" in a stack with a region).
        partition = "<AWS::Partition>" if Token.is_unresolved(stack.partition) else stack.partition
        for resource in ("internet-gateway", "subnet", "vpc"):
            acknowledge(
                self.policy,
                f"AwsSolutions-IAM5[Resource::arn:{partition}:ec2:*:<AWS::AccountId>:{resource}/*]",
                "the default VPCs to delete are found at run time in every region and carry no "
                f"tags, and IAM has no is-default condition key, so the {resource} ARN can only "
                "be limited to this account; deletes are denied in the deployment region "
                "(aws:RequestedRegion)",
            )
        self.logs_policy, self.tracing_policy = logs_and_tracing_policies(
            self, self.role, self.log_group, "Default-VPC cleanup function"
        )

        self.dead_letter_queue, self.dead_letter_policy = own_dead_letter_queue(
            self, self.role, encryption_key, "Default-VPC cleanup function"
        )

        self.function = lambda_.Function(
            self,
            "Function",
            description="Deletes default VPCs outside the deployment region (NET-09)",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline(default_vpc_cleanup_handler_source()),
            timeout=timeout,
            memory_size=128,
            reserved_concurrent_executions=1,
            tracing=lambda_.Tracing.ACTIVE,
            # Permissions live in the managed policies above. Referencing the role by ARN keeps
            # CDK from adding an inline policy for tracing and a DependsOn that duplicates the
            # GetAtt (cfn-lint W3005); the custom resource below waits for the policies.
            role=iam.Role.from_role_arn(self, "RoleReference", self.role.role_arn, mutable=False),
            log_group=self.log_group,
            dead_letter_queue=self.dead_letter_queue,
        )
        for finding in (
            "HIPAA.Security-LambdaInsideVPC",
            "NIST.800.53.R5-LambdaInsideVPC",
            "PCI.DSS.321-LambdaInsideVPC",
        ):
            acknowledge(
                self.function,
                finding,
                "the function calls only public regional EC2 endpoints of every region and the "
                "CloudFormation response URL and reaches no private resource; it deletes VPCs, so "
                "it must not depend on one",
            )

        self.resource = CustomResource(
            self,
            "Resource",
            resource_type="Custom::DefaultVpcCleanup",
            service_token=self.function.function_arn,
            service_timeout=Duration.seconds(timeout.to_seconds() + _ANSWER_GRACE.to_seconds()),
            properties={"KeepRegion": self.keep_region, "DryRun": "true" if dry_run else "false"},
        )
        # The policies are not children of the role, so the function could run before them.
        self.resource.node.add_dependency(
            self.policy, self.logs_policy, self.tracing_policy, self.dead_letter_policy
        )

    def outcome(self, region: str) -> str:
        """What the last run did in ``region`` (``Fn::GetAtt`` on the response ``Data``)."""
        return self.resource.get_att_string(region)


def _validate(
    *,
    encryption_key: kms.IKey,
    dry_run: bool,
    log_retention: logs.RetentionDays,
    timeout: Duration,
) -> None:
    """Reject bad arguments before anything is created."""
    if encryption_key is None or not hasattr(encryption_key, "add_to_resource_policy"):
        raise invalid(
            _NAME, "encryption_key", encryption_key, "pass the kms.IKey for the log group"
        )
    if not isinstance(dry_run, bool):
        raise invalid(_NAME, "dry_run", dry_run, "pass True or False")
    if not isinstance(log_retention, logs.RetentionDays):
        raise invalid(_NAME, "log_retention", log_retention, "pass a logs.RetentionDays member")
    if log_retention == logs.RetentionDays.INFINITE:
        raise invalid(
            _NAME,
            "log_retention",
            log_retention,
            "LOG-03 needs an explicit retention; pick a finite RetentionDays such as ONE_YEAR",
        )
    if not isinstance(timeout, Duration) or Token.is_unresolved(timeout.to_string()):
        raise invalid(_NAME, "timeout", timeout, "pass a Duration such as Duration.minutes(10)")
    seconds = timeout.to_seconds()
    if not _MIN_TIMEOUT_S <= seconds <= _MAX_TIMEOUT_S:
        raise invalid(
            _NAME,
            "timeout",
            timeout.to_human_string(),
            "use 2 to 15 minutes: the function visits every region in turn and stops starting "
            "regions a minute before its timeout; Lambda allows at most 15",
        )


def _allow_cloudwatch_logs(scope: Construct, key: kms.IKey) -> None:
    """Let CloudWatch Logs use ``key`` for this account's log groups in this region.

    The condition cannot name the function's log group: its ARN depends on the key (a cycle), and
    a fixed name would block re-creating the stack after a RETAIN delete.
    """
    suffix = hashlib.sha256(scope.node.path.encode()).hexdigest()[:8].upper()
    result = allow_log_groups(
        key, scope, f"CloudWatchLogsDefaultVpcCleanup{suffix}", allow_no_op=True
    )
    if not result.statement_added:
        Annotations.of(scope).add_warning_v2(
            "hardened-stacks:DefaultVpcCleanup:importedKey",
            "encryption_key is imported, so DefaultVpcCleanup cannot add the key-policy statement "
            f"that lets logs.{Aws.REGION}.amazonaws.com use it; add it where the key is defined",
        )
