"""Customer-managed KMS keys with a least-privilege key policy (ENC-01, ENC-02, RES-02).

The key policy separates three kinds of access instead of CDK's default ``kms:*`` for the account:

* **administration** — the account's IAM administrators may manage the key (create/describe/enable/
  disable/tag/schedule deletion ...) but cannot use it to encrypt or decrypt;
* **usage through AWS services** — principals of this account may use the key only when the call
  comes through one of the AWS services the key is meant for (``kms:ViaService``), so a leaked
  credential cannot decrypt data directly; identities still need an IAM grant (``grant_*``);
* **service principals** — services that act as themselves (CloudWatch Logs, CloudTrail,
  CloudWatch alarms publishing to an encrypted topic, ...) are added one by one with conditions that
  pin them to this account and, where the service supports it, to the exact resource;
* **explicit denies** — no key operation over plain HTTP, and no deletion without MFA.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib.validation import invalid, require_range

#: Key-management actions for administrators: everything except using the key on data.
ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
]

#: Cryptographic actions a key user needs; never key management.
USAGE_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
]

#: Grant actions AWS services (EBS, RDS, ...) need to attach the key to resources they manage.
GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]

#: What CloudWatch Logs needs on a key that encrypts log groups.
LOGS_SERVICE_ACTIONS = [
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
]

_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_ALIAS_NAME = re.compile(r"^[a-zA-Z0-9/_-]+$")


class EncryptionKey(Construct):
    """A rotating customer-managed key with an alias and a separated, conditioned key policy.

    :param alias: alias suffix; the alias becomes ``alias/<stack name>/<alias>`` so two stacks in
        one account never collide and the key can be replaced without a name clash.
    :param services: AWS services (``"s3"``, ``"rds"``, ``"ec2"``, ``"secretsmanager"``, ...)
        through which principals of this account may use the key (``kms:ViaService``).
    :param administrators: principals allowed to manage (not use) the key; default the account.
    :param pending_window_days: waiting period before a scheduled deletion completes (7..30).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alias: str,
        description: str,
        services: Sequence[str] = (),
        administrators: Sequence[iam.IPrincipal] | None = None,
        pending_window_days: int = 30,
    ) -> None:
        super().__init__(scope, construct_id)
        if not _ALIAS_NAME.match(alias) or alias.startswith(("alias/", "aws/")):
            raise invalid(
                "EncryptionKey",
                "alias",
                alias,
                "pass a suffix of letters, digits, '/', '_' or '-' without 'alias/' or 'aws/'",
            )
        for service in services:
            if not _SERVICE_NAME.match(service) or "." in service:
                raise invalid(
                    "EncryptionKey",
                    "services",
                    service,
                    "pass bare service names such as 's3', 'rds' or 'secretsmanager'",
                )
        require_range("EncryptionKey", "pending_window_days", pending_window_days, 7, 30)

        self.services = tuple(services)
        admins = list(administrators) if administrators else [iam.AccountRootPrincipal()]
        statements = [
            iam.PolicyStatement(
                sid="KeyAdministration",
                principals=admins,
                actions=ADMIN_ACTIONS,
                resources=["*"],
            )
        ]
        if self.services:
            via = [f"{service}.{Aws.REGION}.amazonaws.com" for service in self.services]
            scoped = {"kms:CallerAccount": Aws.ACCOUNT_ID, "kms:ViaService": via}
            statements += [
                iam.PolicyStatement(
                    sid="KeyUsageThroughAwsServices",
                    principals=[iam.AccountRootPrincipal()],
                    actions=USAGE_ACTIONS,
                    resources=["*"],
                    conditions={"StringEquals": scoped},
                ),
                iam.PolicyStatement(
                    sid="GrantsForAwsResources",
                    principals=[iam.AccountRootPrincipal()],
                    actions=GRANT_ACTIONS,
                    resources=["*"],
                    conditions={
                        "StringEquals": scoped,
                        "Bool": {"kms:GrantIsForAWSResource": "true"},
                    },
                ),
            ]

        statements += self._explicit_denies()

        self.key = kms.Key(
            self,
            "Resource",
            description=description,
            enable_key_rotation=True,
            pending_window=Duration.days(pending_window_days),
            policy=iam.PolicyDocument(statements=statements),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.alias = kms.Alias(
            self,
            "Alias",
            alias_name=Fn.join("/", ["alias", Aws.STACK_NAME, alias]),
            target_key=self.key,
        )

    @staticmethod
    def _explicit_denies() -> list[iam.PolicyStatement]:
        """Denies no allow can override (seed 001: "explicit deny statements").

        * Every key operation over plain HTTP is refused.
        * Scheduling the key's deletion needs a human signed in with MFA: automation and stolen
          access keys cannot destroy every object the key protects. (Stacks retain keys, so
          CloudFormation never schedules a deletion.)
        """
        return [
            iam.PolicyStatement(
                sid="DenyInsecureTransport",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=sorted({*USAGE_ACTIONS, *GRANT_ACTIONS, *ADMIN_ACTIONS}),
                resources=["*"],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            ),
            iam.PolicyStatement(
                sid="DenyKeyDeletionWithoutMfa",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["kms:ScheduleKeyDeletion", "kms:DeleteImportedKeyMaterial"],
                resources=["*"],
                conditions={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            ),
        ]

    @property
    def key_arn(self) -> str:
        """ARN of the key."""
        return self.key.key_arn

    @property
    def key_id(self) -> str:
        """ID of the key."""
        return self.key.key_id

    def allow_cloudwatch_logs(self) -> None:
        """Let CloudWatch Logs encrypt log groups of this account and region with the key."""
        self.allow_service_principal(
            "CloudWatchLogs",
            f"logs.{Aws.REGION}.amazonaws.com",
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                    )
                }
            },
        )
        self.allow_service_principal(
            "CloudWatchLogsDescribe",
            f"logs.{Aws.REGION}.amazonaws.com",
            actions=["kms:DescribeKey"],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )

    def allow_service_principal(
        self,
        sid: str,
        service_principal: str,
        *,
        actions: Sequence[str],
        conditions: dict[str, dict[str, object]],
    ) -> None:
        """Add a statement for an AWS service acting as itself; conditions are mandatory.

        Without a condition a service principal could use the key on behalf of any account.
        """
        if not conditions:
            raise invalid(
                "EncryptionKey",
                "conditions",
                conditions,
                "scope the service principal with aws:SourceAccount, aws:SourceArn or an "
                "encryption-context condition",
            )
        if any(action in ("kms:*", "*") for action in actions):
            raise invalid(
                "EncryptionKey",
                "actions",
                list(actions),
                "list the usage actions the service needs",
            )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service_principal)],
                actions=list(actions),
                resources=["*"],
                conditions=conditions,
            )
        )

    def grant_encrypt_decrypt(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant an identity use of the key (still limited to the key's services by the policy)."""
        return self.key.grant_encrypt_decrypt(grantee)

    def grant_decrypt(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant an identity decryption with the key (limited to the key's services)."""
        return self.key.grant_decrypt(grantee)


def allow_log_groups(
    key: kms.IKey,
    scope: Construct,
    sid: str,
    log_group_name: str = "*",
    *,
    allow_no_op: bool = False,
) -> iam.AddToResourcePolicyResult:
    """Let CloudWatch Logs encrypt this account's log groups named ``log_group_name`` with ``key``.

    The service principal is pinned with ``kms:EncryptionContext:aws:logs:arn`` to log groups of
    this account and region whose name matches the pattern. A generated group name cannot be
    named here (the group depends on the key), so such callers pass ``"*"``. For an imported key
    the statement cannot be added; the result says so (``statement_added`` is false).
    """
    stack = Stack.of(scope)
    return key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=LOGS_SERVICE_ACTIONS,
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=log_group_name,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        ),
        allow_no_op,
    )
