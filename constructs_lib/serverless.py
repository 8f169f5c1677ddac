"""Lambda functions that are secure by default (CMP-09, ENC-01..03, LOG-03, LOG-07).

:class:`SecureFunction` wires a function with:

* **its own environment key** — an :class:`~constructs_lib.encryption.EncryptionKey` (rotation,
  alias, admin/usage separation, explicit denies) whose key policy lets *only this function's
  role* decrypt, and only through Lambda (environment variables) or SQS (its dead-letter queue);
  deployers may only *encrypt* through Lambda. The role gets the matching grant in a
  customer-managed policy. The key policy names the role ARN rather than pinning
  ``kms:EncryptionContext:LambdaFunctionName``: the function's name is known only after the
  function exists, and the function needs the key first (a cycle); a fixed physical name would
  block replacement. The role is created for this function alone, so the principal pins it;
* a **dead-letter queue** (SQS, encrypted with the environment key, TLS only, 14 days, retained)
  for failed asynchronous invocations, or the queue passed in;
* X-Ray **active tracing**, **reserved concurrency**, and a **log group** encrypted with the
  caller's ``log_encryption_key`` with finite retention, retained;
* optionally the **VPC**: subnets and a security group whose egress is explicit (HTTPS to the VPC
  CIDR for interface endpoints by default; add more with ``security_group.add_egress_rule``).

Every permission lives in customer-managed policies (three cdk-nag packs reject inline policies):
the function references its role by ARN (immutable), so CDK adds no inline policy of its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Annotations, Aws, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.acknowledgments import MIN_REASON_LENGTH, acknowledge, check_reason
from constructs_lib.encryption import EncryptionKey, allow_log_groups
from constructs_lib.function_policies import logs_and_tracing_policies
from constructs_lib.validation import invalid, require_range

_NAME = "SecureFunction"

#: Newest Python runtime that both CDK and cfn-lint know (and AwsSolutions-L1 accepts).
DEFAULT_RUNTIME = lambda_.Runtime.PYTHON_3_14

#: Lambda sets these itself; a function may not override them.
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

#: What the Lambda resource schema accepts (cfn-lint E3002): a letter, then 1+ letters/digits/_.
_VARIABLE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]+$")
_ALIAS = re.compile(r"^[a-zA-Z0-9/_-]+$")

#: ENI management Lambda needs for a function in a VPC (AWSLambdaVPCAccessExecutionRole's
#: actions, without the logs actions the function's own log policy already grants).
VPC_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)


class SecureFunction(Construct):
    """A Lambda function meeting CMP-09 by default.

    :param code: the function's code (``lambda_.Code``).
    :param handler: entry point, e.g. ``"index.handler"``.
    :param log_encryption_key: CMK for the log group; the construct adds the key-policy statement
        CloudWatch Logs needs (an imported key must already allow it; a warning says so).
    :param runtime: default :data:`DEFAULT_RUNTIME`.
    :param environment: environment variables, encrypted with ``environment_key``. Keep secrets
        in Secrets Manager and pass their ARNs (DB-11).
    :param environment_key: use this key instead of creating one; its policy must let the
        function's role decrypt (the construct adds the statement when the key is not imported).
    :param alias: suffix of the created key's alias (``alias/<stack>/<alias>``); default derived
        from the construct path.
    :param vpc: run the function in this VPC (CMP-09: when it reaches private resources).
    :param subnets: subnets in ``vpc``; default CDK's choice (private subnets).
    :param security_group: use this group instead of creating one with explicit egress.
    :param no_vpc_reason: required when ``vpc`` is not given: why the function reaches no private
        resource (at least 40 characters); it becomes the cdk-nag acknowledgment.
    :param reserved_concurrency: reserved concurrent executions, at least 1 (default 10).
    :param timeout: 1 second .. 15 minutes (default 30 seconds).
    :param memory_size: 128..10240 MB (default 256).
    :param log_retention: finite retention of the log group (LOG-03).
    :param dead_letter_queue: queue for failed asynchronous invocations; default one is created.
    :param description: function description.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        handler: str,
        log_encryption_key: kms.IKey | EncryptionKey,
        runtime: lambda_.Runtime = DEFAULT_RUNTIME,
        environment: Mapping[str, str] | None = None,
        environment_key: kms.IKey | EncryptionKey | None = None,
        alias: str | None = None,
        vpc: ec2.IVpc | None = None,
        subnets: ec2.SubnetSelection | None = None,
        security_group: ec2.ISecurityGroup | None = None,
        no_vpc_reason: str | None = None,
        reserved_concurrency: int = 10,
        timeout: Duration | None = None,
        memory_size: int = 256,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        dead_letter_queue: sqs.IQueue | None = None,
        description: str | None = None,
    ) -> None:
        log_key = _unwrap(log_encryption_key)
        given_key = _unwrap(environment_key)
        timeout = timeout if timeout is not None else Duration.seconds(30)
        variables = dict(environment or {})
        _validate(
            code=code,
            handler=handler,
            log_key=log_key,
            runtime=runtime,
            variables=variables,
            environment_key=environment_key,
            alias=alias,
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            no_vpc_reason=no_vpc_reason,
            reserved_concurrency=reserved_concurrency,
            timeout=timeout,
            memory_size=memory_size,
            log_retention=log_retention,
            dead_letter_queue=dead_letter_queue,
        )
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        region = stack.region

        # ---- identity ----------------------------------------------------------------------
        self.role = iam.Role(
            self,
            "Role",
            description=f"Execution role of {self.node.path} only",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )

        # ---- ENC-01/02: the function's own key ---------------------------------------------
        #: The key created by the construct (``None`` when ``environment_key`` was passed).
        self.own_key: EncryptionKey | None = None
        if given_key is None:
            suffix = hashlib.sha256(self.node.path.encode()).hexdigest()[:8]
            self.own_key = EncryptionKey(
                self,
                "EnvironmentKey",
                alias=alias or f"lambda/{construct_id}-{suffix}",
                description=f"Environment variables and dead letters of {self.node.path}",
            )
            given_key = self.own_key.key
        self.environment_key: kms.IKey = given_key
        self._allow_role_on_key(region, own_queue=dead_letter_queue is None)

        # ---- LOG-03: log group --------------------------------------------------------------
        assert log_key is not None  # checked by _validate
        _allow_cloudwatch_logs(self, log_key)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            encryption_key=log_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )

        # ---- dead-letter queue --------------------------------------------------------------
        self.dead_letter_queue: sqs.IQueue
        if dead_letter_queue is None:
            queue = sqs.Queue(
                self,
                "DeadLetterQueue",
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=self.environment_key,
                enforce_ssl=True,
                retention_period=Duration.days(14),
                removal_policy=RemovalPolicy.RETAIN,
            )
            acknowledge(
                queue,
                "AwsSolutions-SQS3",
                "This queue is itself the dead-letter queue of the function's failed "
                "asynchronous invocations; a dead-letter queue for it would only move the "
                "same events once more.",
            )
            self.dead_letter_queue = queue
        else:
            self.dead_letter_queue = dead_letter_queue

        # ---- network ------------------------------------------------------------------------
        self.security_group: ec2.ISecurityGroup | None = None
        if vpc is not None:
            if security_group is None:
                group = ec2.SecurityGroup(
                    self,
                    "SecurityGroup",
                    vpc=vpc,
                    description=f"{self.node.path}: explicit egress only",
                    allow_all_outbound=False,
                )
                group.add_egress_rule(
                    ec2.Peer.ipv4(vpc.vpc_cidr_block),
                    ec2.Port.tcp(443),
                    "HTTPS to interface VPC endpoints in the VPC",
                )
                security_group = group
            self.security_group = security_group

        # ---- customer-managed policies ------------------------------------------------------
        self.policies = self._policies(region, vpc is not None)

        # ---- the function -------------------------------------------------------------------
        self.function = lambda_.Function(
            self,
            "Resource",
            code=code,
            handler=handler,
            runtime=runtime,
            description=description,
            environment=variables or None,
            environment_encryption=self.environment_key,
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue=self.dead_letter_queue,
            log_group=self.log_group,
            vpc=vpc,
            vpc_subnets=subnets if vpc is not None else None,
            security_groups=[security_group] if security_group is not None else None,
            # Permissions live in the customer-managed policies; an immutable reference keeps CDK
            # from adding inline policies (tracing, DLQ, VPC) and the AWS-managed VPC policy.
            role=iam.Role.from_role_arn(self, "RoleReference", self.role.role_arn, mutable=False),
        )
        # Lambda checks the role's ENI and queue permissions when it creates the function.
        self.function.node.add_dependency(*self.policies)
        if vpc is None:
            assert no_vpc_reason is not None  # checked by _validate
            for pack in ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321"):
                acknowledge(self.function, f"{pack}-LambdaInsideVPC", no_vpc_reason)

    # --------------------------------------------------------------------------------------
    def _allow_role_on_key(self, region: str, *, own_queue: bool) -> None:
        """Key-policy statements: the role decrypts; deployers encrypt; both only via services."""
        key = self.environment_key
        role_arn = self.role.role_arn
        statements = [
            iam.PolicyStatement(
                sid="EncryptEnvironmentThroughLambda",
                principals=[iam.AccountRootPrincipal()],
                actions=["kms:Encrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "kms:CallerAccount": Aws.ACCOUNT_ID,
                        "kms:ViaService": f"lambda.{region}.amazonaws.com",
                    }
                },
            ),
            iam.PolicyStatement(
                sid="DecryptEnvironmentOnlyAsTheFunctionRole",
                principals=[iam.ArnPrincipal(role_arn)],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": f"lambda.{region}.amazonaws.com"}},
            ),
        ]
        if own_queue:
            statements.append(
                iam.PolicyStatement(
                    sid="DeadLettersOnlyAsTheFunctionRole",
                    principals=[iam.ArnPrincipal(role_arn)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],
                    conditions={"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}},
                )
            )
        added = [
            key.add_to_resource_policy(statement, True).statement_added for statement in statements
        ]
        if not all(added):
            Annotations.of(self).add_warning_v2(
                "hardened-stacks:SecureFunction:importedKey",
                "environment_key is imported, so SecureFunction cannot add the key-policy "
                "statements that let the function's role decrypt (via Lambda and SQS); add them "
                "where the key is defined",
            )

    def _policies(self, region: str, in_vpc: bool) -> list[iam.ManagedPolicy]:
        path = self.node.path
        logs_policy, tracing_policy = logs_and_tracing_policies(
            self, self.role, self.log_group, path
        )
        key_arn = self.environment_key.key_arn
        data_policy = iam.ManagedPolicy(
            self,
            "EnvironmentPolicy",
            description=f"{path}: decrypt its environment, send to its dead-letter queue",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="DecryptEnvironmentThroughLambda",
                    actions=["kms:Decrypt"],
                    resources=[key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"lambda.{region}.amazonaws.com"}
                    },
                ),
                iam.PolicyStatement(
                    sid="SendDeadLetters",
                    actions=["sqs:SendMessage"],
                    resources=[self.dead_letter_queue.queue_arn],
                ),
                *(
                    [
                        iam.PolicyStatement(
                            sid="EncryptDeadLettersThroughSqs",
                            actions=["kms:Decrypt", "kms:GenerateDataKey"],
                            resources=[queue_key.key_arn],
                            conditions={
                                "StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}
                            },
                        )
                    ]
                    if (queue_key := self.dead_letter_queue.encryption_master_key) is not None
                    else []
                ),
            ],
        )
        policies = [logs_policy, tracing_policy, data_policy]
        if in_vpc:
            vpc_policy = iam.ManagedPolicy(
                self,
                "VpcAccessPolicy",
                description=f"{path}: manage the network interfaces Lambda places in the VPC",
                roles=[self.role],
                statements=[
                    iam.PolicyStatement(
                        sid="ManageVpcNetworkInterfaces",
                        actions=list(VPC_ACTIONS),
                        resources=["*"],
                    )
                ],
            )
            acknowledge(
                vpc_policy,
                "AwsSolutions-IAM5[Resource::*]",
                "Lambda creates, describes and deletes the function's network interfaces before "
                "their IDs exist; ec2:Describe* and ENI creation for Lambda support no narrower "
                "resource (the actions of AWSLambdaVPCAccessExecutionRole, without logs)",
            )
            policies.append(vpc_policy)
        return policies

    # --------------------------------------------------------------------------------------
    @property
    def function_arn(self) -> str:
        """ARN of the function."""
        return self.function.function_arn

    @property
    def function_name(self) -> str:
        """Name of the function (generated)."""
        return self.function.function_name

    def metric_errors(self, **kwargs: Any) -> cloudwatch.Metric:
        """The function's ``Errors`` metric (sum over 5 minutes unless overridden)."""
        return self.function.metric_errors(**kwargs)

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to invoke the function (a service principal gets a permission)."""
        return self.function.grant_invoke(grantee)


def _unwrap(key: kms.IKey | EncryptionKey | None) -> kms.IKey | None:
    return key.key if isinstance(key, EncryptionKey) else key


def _allow_cloudwatch_logs(scope: Construct, key: kms.IKey) -> None:
    """Let CloudWatch Logs use ``key`` for this account's log groups in this region.

    The condition cannot name the function's log group: its ARN depends on the key (a cycle), and
    a fixed name would block re-creating the stack after a RETAIN delete.
    """
    suffix = hashlib.sha256(scope.node.path.encode()).hexdigest()[:8].upper()
    result = allow_log_groups(key, scope, f"CloudWatchLogsFunction{suffix}", allow_no_op=True)
    if not result.statement_added:
        Annotations.of(scope).add_warning_v2(
            "hardened-stacks:SecureFunction:importedLogKey",
            "log_encryption_key is imported, so SecureFunction cannot add the key-policy "
            f"statement that lets logs.{Aws.REGION}.amazonaws.com use it; add it where the key "
            "is defined",
        )


def _validate(
    *,
    code: object,
    handler: object,
    log_key: object,
    runtime: object,
    variables: dict[str, Any],
    environment_key: object,
    alias: object,
    vpc: object,
    subnets: object,
    security_group: object,
    no_vpc_reason: object,
    reserved_concurrency: object,
    timeout: object,
    memory_size: object,
    log_retention: object,
    dead_letter_queue: object,
) -> None:
    """Reject bad arguments before anything is created."""
    if not isinstance(code, lambda_.Code):
        raise invalid(_NAME, "code", code, "pass a lambda_.Code (from_asset, from_inline, ...)")
    if not isinstance(handler, str) or not handler.strip():
        raise invalid(_NAME, "handler", handler, "pass the entry point, e.g. 'index.handler'")
    if log_key is None or not hasattr(log_key, "add_to_resource_policy"):
        raise invalid(_NAME, "log_encryption_key", log_key, "LOG-03 needs a CMK; pass a kms.IKey")
    if not isinstance(runtime, lambda_.Runtime):
        raise invalid(_NAME, "runtime", runtime, "pass a lambda_.Runtime such as PYTHON_3_14")
    for name, value in variables.items():
        if not isinstance(name, str) or not _VARIABLE.match(name):
            raise invalid(
                _NAME, "environment", name, "use 2+ characters: a letter, then letters, digits or _"
            )
        if name in RESERVED_VARIABLES:
            raise invalid(_NAME, "environment", name, "Lambda reserves this name; rename it")
        if not isinstance(value, str):
            raise invalid(_NAME, f"environment[{name!r}]", value, "values must be strings")
    unwrapped = (
        environment_key.key if isinstance(environment_key, EncryptionKey) else environment_key
    )
    if unwrapped is not None and not hasattr(unwrapped, "add_to_resource_policy"):
        raise invalid(_NAME, "environment_key", environment_key, "pass a kms.IKey or omit it")
    if alias is not None:
        if environment_key is not None:
            raise invalid(
                _NAME, "alias", alias, "alias names the key the construct creates; drop it"
            )
        if not isinstance(alias, str) or not _ALIAS.match(alias) or alias.startswith("alias/"):
            raise invalid(_NAME, "alias", alias, "use letters, digits, '/', '_' or '-'")
    if vpc is None:
        for argument, value in (("subnets", subnets), ("security_group", security_group)):
            if value is not None:
                raise invalid(_NAME, argument, value, "pass vpc as well, or drop it")
        if not isinstance(no_vpc_reason, str) or len(no_vpc_reason.strip()) < MIN_REASON_LENGTH:
            raise invalid(
                _NAME,
                "vpc",
                None,
                "CMP-09 puts functions that reach private resources in the VPC; pass vpc, or "
                f"no_vpc_reason='<why it reaches none, at least {MIN_REASON_LENGTH} characters>'",
            )
        check_reason("LambdaInsideVPC", no_vpc_reason)
    else:
        if not isinstance(vpc, ec2.Vpc) and not hasattr(vpc, "vpc_cidr_block"):
            raise invalid(_NAME, "vpc", vpc, "pass an ec2.IVpc")
        if no_vpc_reason is not None:
            raise invalid(
                _NAME, "no_vpc_reason", no_vpc_reason, "the function runs in vpc; drop the reason"
            )
    if isinstance(reserved_concurrency, float) and not Token.is_unresolved(reserved_concurrency):
        raise invalid(_NAME, "reserved_concurrency", reserved_concurrency, "pass a whole number")
    require_range(_NAME, "reserved_concurrency", reserved_concurrency, 1, 1000)  # type: ignore[arg-type]
    if not isinstance(timeout, Duration):
        raise invalid(_NAME, "timeout", timeout, "pass a Duration such as Duration.seconds(30)")
    seconds = timeout.to_seconds()
    if not Token.is_unresolved(seconds) and not 1 <= seconds <= 900:
        raise invalid(_NAME, "timeout", timeout.to_human_string(), "use 1 second to 15 minutes")
    require_range(_NAME, "memory_size", memory_size, 128, 10240)  # type: ignore[arg-type]
    if not isinstance(log_retention, logs.RetentionDays):
        raise invalid(_NAME, "log_retention", log_retention, "pass a logs.RetentionDays member")
    if log_retention == logs.RetentionDays.INFINITE:
        raise invalid(
            _NAME,
            "log_retention",
            log_retention,
            "LOG-03 needs an explicit retention; pick a finite RetentionDays such as ONE_YEAR",
        )
    if dead_letter_queue is not None and not hasattr(dead_letter_queue, "queue_arn"):
        raise invalid(_NAME, "dead_letter_queue", dead_letter_queue, "pass an sqs.IQueue")
