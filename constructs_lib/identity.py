"""Identity guards: MFA enforcement, the account password policy, access-key and MFA rules.

* :class:`MfaEnforcement` (IAM-02) — a customer-managed policy, attached to a group the construct
  creates, that denies everything except MFA self-service while ``aws:MultiFactorAuthPresent`` is
  false or absent: AWS's well-known "force MFA" pattern, scoped to the caller's own user.
* :class:`PasswordPolicy` (IAM-03) — CloudFormation has no account-password-policy type, so a
  custom resource backed by the inline handler in :mod:`constructs_lib.handlers.password_policy`
  sets it. The function follows CMP-09/LOG-03: CMK-encrypted log group with retention (retained),
  reserved concurrency, X-Ray active tracing, one customer-managed policy per concern, no
  environment variables (nothing to encrypt).
* :class:`AccessKeyGuards` (IAM-04) — AWS Config managed rules that flag old access keys and users
  or a root account without MFA.

The handler is inlined (``ZipFile``) rather than shipped as an asset so the template deploys with
plain CloudFormation and needs no bootstrap bucket (see ``constructs_lib.network`` for the same
choice and its reasons).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

from aws_cdk import (
    Annotations,
    Aws,
    CustomResource,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_config as config
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from constructs_lib.acknowledgments import MIN_REASON_LENGTH, acknowledge
from constructs_lib.encryption import allow_log_groups
from constructs_lib.function_policies import logs_and_tracing_policies, own_dead_letter_queue
from constructs_lib.handlers import password_policy as _handler
from constructs_lib.validation import invalid, require_choice, require_range

# ------------------------------------------------------------------------------------- IAM-02

#: What a user may do before signing in with MFA: see the account and its password rules, change
#: the own password, and set up the own virtual MFA device. ``sts:GetSessionToken`` is how CLI
#: users obtain MFA-authenticated credentials, so it must not be denied either.
MFA_SELF_SERVICE_ACTIONS: tuple[str, ...] = (
    "iam:ChangePassword",
    "iam:CreateVirtualMFADevice",
    "iam:EnableMFADevice",
    "iam:GetAccountPasswordPolicy",
    "iam:GetUser",
    "iam:ListAccountAliases",
    "iam:ListMFADevices",
    "iam:ListVirtualMFADevices",
    "iam:ResyncMFADevice",
    "sts:GetSessionToken",
)

#: IAM user and group names: letters, digits and ``+=,.@_-`` (1..128).
_IAM_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")


def _is_iam_name(name: object) -> bool:
    """A literal IAM user/group name, or a token (checked by IAM at deploy time)."""
    if not isinstance(name, str):
        return False
    return Token.is_unresolved(name) or _IAM_NAME.match(name) is not None


class MfaEnforcement(Construct):
    """A group whose members can do nothing but MFA self-service until they sign in with MFA.

    The policy (``policy``, ID ``"Resource"``) has one ``Deny`` with ``NotAction`` =
    :data:`MFA_SELF_SERVICE_ACTIONS` under ``BoolIfExists aws:MultiFactorAuthPresent = false``
    (``IfExists`` also catches long-term access keys, whose requests carry no MFA key), and the
    allows that make the self-service work, each limited to the caller's own user
    (``user/${aws:username}``). Deactivating an MFA device needs MFA. Permissions for real work
    come from other policies; this one only takes them away until MFA is present.

    Limits of the pattern: users must have the default path ``/`` (``${aws:username}`` carries no
    path), and a virtual MFA device must be named after its user (``mfa/${aws:username}``; the
    console's "device name" field, ``--virtual-mfa-device-name`` in the CLI), so nobody can create
    or squat devices under other names.

    :param group_name: physical group name; default generated (a fixed name blocks replacement).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, group_name: str | None = None
    ) -> None:
        if group_name is not None and not _is_iam_name(group_name):
            raise invalid(
                "MfaEnforcement",
                "group_name",
                group_name,
                "use 1..128 letters, digits or +=,.@_- , or omit it for a generated name",
            )
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        own_user = stack.format_arn(
            service="iam", region="", resource="user", resource_name="${aws:username}"
        )
        own_mfa_device = stack.format_arn(
            service="iam", region="", resource="mfa", resource_name="${aws:username}"
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Resource",
            description="IAM-02: deny all but MFA self-service unless signed in with MFA",
            statements=[
                iam.PolicyStatement(
                    sid="AllowViewAccountInfo",
                    actions=[
                        "iam:GetAccountPasswordPolicy",
                        "iam:ListAccountAliases",
                        "iam:ListVirtualMFADevices",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="AllowManageOwnPassword",
                    actions=["iam:ChangePassword", "iam:GetUser"],
                    resources=[own_user],
                ),
                iam.PolicyStatement(
                    sid="AllowCreateOwnVirtualMfaDevice",
                    actions=["iam:CreateVirtualMFADevice"],
                    resources=[own_mfa_device],
                ),
                iam.PolicyStatement(
                    sid="AllowManageOwnMfaDevices",
                    actions=["iam:EnableMFADevice", "iam:ListMFADevices", "iam:ResyncMFADevice"],
                    resources=[own_user],
                ),
                iam.PolicyStatement(
                    sid="AllowDeactivateOwnMfaDeviceOnlyWithMfa",
                    actions=["iam:DeactivateMFADevice"],
                    resources=[own_user],
                    conditions={"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                ),
                iam.PolicyStatement(
                    sid="DenyAllExceptMfaSelfServiceWithoutMfa",
                    effect=iam.Effect.DENY,
                    not_actions=list(MFA_SELF_SERVICE_ACTIONS),
                    resources=["*"],
                    conditions={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                ),
            ],
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "AllowViewAccountInfo holds only iam:GetAccountPasswordPolicy, "
            "iam:ListAccountAliases and iam:ListVirtualMFADevices, which support no resource-level "
            "permissions; every other allow is limited to the caller's own user or MFA device",
        )
        self.group = iam.Group(self, "Group", group_name=group_name, managed_policies=[self.policy])
        for finding in ("HIPAA.Security-IAMGroupHasUsers", "PCI.DSS.321-IAMGroupHasUsers"):
            acknowledge(
                self.group,
                finding,
                "the group is the attachment point of the IAM-02 policy; members join with "
                "add_user or through user management outside this template, and an empty group "
                "grants nothing",
            )

    def add_user(self, user: iam.IUser) -> None:
        """Make ``user`` a member of the group (an imported user gets a ``UserToGroupAddition``)."""
        self.group.add_user(user)


# ------------------------------------------------------------------------------------- IAM-03

#: What :class:`PasswordPolicy` restores when it is deleted with ``on_delete="restore"``.
BASELINE_PASSWORD_POLICY: dict[str, Any] = dict(_handler.BASELINE)

#: The handler module, inlined into the template as the function's ``index.py``.
HANDLER_FILE = Path(_handler.__file__)

_POLICY = "PasswordPolicy"
_BASELINE_REUSE: int = BASELINE_PASSWORD_POLICY["PasswordReusePrevention"]
_BASELINE_MAX_AGE: int = BASELINE_PASSWORD_POLICY["MaxPasswordAge"]


def password_policy_handler_source() -> str:
    """The handler source exactly as shipped in the function's ``ZipFile``."""
    return HANDLER_FILE.read_text(encoding="utf-8")


class PasswordPolicy(Construct):
    """The IAM account password policy (IAM-03), set by an inline custom-resource function.

    Defaults follow the CIS AWS Foundations Benchmark: 14+ characters, all four character
    classes, the last 24 passwords not reusable, 90-day maximum age, users may change their own
    password, no hard expiry. Shorter passwords are refused; leaving out a character class,
    blocking fewer than 24 previous passwords or a maximum age over 90 days needs
    ``allow_weaker_policy_reason`` (the catalogue audit fails IAM-03 for each of them).

    The password policy is account-wide: deploy one ``PasswordPolicy`` per account (in one stack,
    one region), or the stacks overwrite each other. The custom resource's physical ID is fixed, so
    updates never replace it. Deleting it, by default, restores :data:`BASELINE_PASSWORD_POLICY`
    (the defaults above), so removing the stack never leaves the account without a policy;
    ``on_delete="delete"`` removes the policy instead. Each change logs the policy it replaced.

    :param encryption_key: CMK for the function's log group; the construct adds the key-policy
        statement CloudWatch Logs needs (an imported key must already allow it).
    :param dead_letter_key: CMK of the function's dead-letter queue (default
        ``encryption_key``); pass a queue-domain key where logs must keep their own key.
    :param minimum_length: 14..128 characters.
    :param require_uppercase: require an upper-case letter (A-Z).
    :param require_lowercase: require a lower-case letter (a-z).
    :param require_numbers: require a digit.
    :param require_symbols: require a non-alphanumeric character.
    :param reuse_prevention: number of previous passwords that cannot be reused, 1..24.
    :param max_age_days: days until a password expires, 1..1095.
    :param allow_users_to_change: users may change their own password (console).
    :param hard_expiry: expired passwords can only be reset by an administrator.
    :param on_delete: ``"restore"`` the baseline (default) or ``"delete"`` the account's policy
        when the resource is deleted.
    :param allow_weaker_policy_reason: why the policy may be weaker than IAM-03; required exactly
        when a ``require_*`` argument is ``False``, ``reuse_prevention`` < 24 or
        ``max_age_days`` > 90.
    :param log_retention: retention of the function's log group; must be finite (LOG-03).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        minimum_length: int = 14,
        require_uppercase: bool = True,
        require_lowercase: bool = True,
        require_numbers: bool = True,
        require_symbols: bool = True,
        reuse_prevention: int = 24,
        max_age_days: int = 90,
        allow_users_to_change: bool = True,
        hard_expiry: bool = False,
        on_delete: Literal["restore", "delete"] = "restore",
        allow_weaker_policy_reason: str | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        dead_letter_key: kms.IKey | None = None,
    ) -> None:
        flags = {
            "require_uppercase": require_uppercase,
            "require_lowercase": require_lowercase,
            "require_numbers": require_numbers,
            "require_symbols": require_symbols,
            "allow_users_to_change": allow_users_to_change,
            "hard_expiry": hard_expiry,
        }
        _validate_password_policy(
            encryption_key=encryption_key,
            numbers={
                "minimum_length": (minimum_length, 14, 128),
                "reuse_prevention": (reuse_prevention, 1, 24),
                "max_age_days": (max_age_days, 1, 1095),
            },
            flags=flags,
            on_delete=on_delete,
            allow_weaker_policy_reason=allow_weaker_policy_reason,
            log_retention=log_retention,
        )
        super().__init__(scope, construct_id)

        #: The ``UpdateAccountPasswordPolicy`` arguments the custom resource applies.
        self.settings: dict[str, Any] = {
            "MinimumPasswordLength": minimum_length,
            "RequireUppercaseCharacters": require_uppercase,
            "RequireLowercaseCharacters": require_lowercase,
            "RequireNumbers": require_numbers,
            "RequireSymbols": require_symbols,
            "PasswordReusePrevention": reuse_prevention,
            "MaxPasswordAge": max_age_days,
            "AllowUsersToChangePassword": allow_users_to_change,
            "HardExpiry": hard_expiry,
        }
        self.on_delete = on_delete

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
            description="Sets the IAM account password policy (IAM-03 custom resource)",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.policy = iam.ManagedPolicy(
            self,
            "PasswordPolicyAccess",
            description="Read, set and delete the IAM account password policy; nothing else",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="ManageAccountPasswordPolicy",
                    actions=[
                        "iam:DeleteAccountPasswordPolicy",
                        "iam:GetAccountPasswordPolicy",
                        "iam:UpdateAccountPasswordPolicy",
                    ],
                    resources=["*"],
                )
            ],
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "iam:GetAccountPasswordPolicy, iam:UpdateAccountPasswordPolicy and "
            "iam:DeleteAccountPasswordPolicy act on the account-wide password policy and support "
            "no resource-level permissions; the policy holds only these three actions",
        )
        self.logs_policy, self.tracing_policy = logs_and_tracing_policies(
            self, self.role, self.log_group, "Password-policy function"
        )
        self.dead_letter_queue, self.dead_letter_policy = own_dead_letter_queue(
            self, self.role, dead_letter_key or encryption_key, "Password-policy function"
        )

        self.function = lambda_.Function(
            self,
            "Function",
            description="Sets the IAM account password policy (IAM-03 custom resource)",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline(password_policy_handler_source()),
            timeout=Duration.minutes(2),
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
        reasons = {
            "LambdaInsideVPC": (
                "the function calls only the global IAM API and the CloudFormation response URL "
                "and reaches no private resource, so it needs no VPC, subnets or NAT route"
            ),
        }
        for finding in (
            "HIPAA.Security-LambdaInsideVPC",
            "NIST.800.53.R5-LambdaInsideVPC",
            "PCI.DSS.321-LambdaInsideVPC",
        ):
            acknowledge(self.function, finding, reasons[finding.split("-", 1)[1]])

        self.resource = CustomResource(
            self,
            "Resource",
            resource_type="Custom::AccountPasswordPolicy",
            service_token=self.function.function_arn,
            service_timeout=Duration.minutes(10),
            properties={**self.settings, "OnDelete": on_delete},
        )
        # The policies are not children of the role, so the function could run before them.
        self.resource.node.add_dependency(
            self.policy, self.logs_policy, self.tracing_policy, self.dead_letter_policy
        )


def _validate_password_policy(
    *,
    encryption_key: kms.IKey,
    numbers: dict[str, tuple[float, int, int]],
    flags: dict[str, bool],
    on_delete: str,
    allow_weaker_policy_reason: str | None,
    log_retention: logs.RetentionDays,
) -> None:
    """Reject bad arguments before anything is created."""
    if encryption_key is None or not hasattr(encryption_key, "add_to_resource_policy"):
        raise invalid(
            _POLICY, "encryption_key", encryption_key, "pass the kms.IKey for the log group"
        )
    for argument, (value, low, high) in numbers.items():
        require_range(_POLICY, argument, value, low, high)
        if isinstance(value, float) and not Token.is_unresolved(value) and not value.is_integer():
            raise invalid(_POLICY, argument, value, "pass a whole number")
    for argument, flag in flags.items():
        if not isinstance(flag, bool):
            raise invalid(_POLICY, argument, flag, "pass True or False")
    require_choice(_POLICY, "on_delete", on_delete, ("restore", "delete"))
    weakened = _weakened(numbers, flags)
    reason = allow_weaker_policy_reason
    if weakened and (not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_LENGTH):
        argument, weak_value, requirement = weakened[0]
        raise invalid(
            _POLICY,
            argument,
            weak_value,
            f"IAM-03 requires {requirement}; to relax the policy pass "
            f"allow_weaker_policy_reason='<why, at least {MIN_REASON_LENGTH} characters>'",
        )
    if reason is not None and not weakened:
        raise invalid(
            _POLICY,
            "allow_weaker_policy_reason",
            reason,
            "the policy meets IAM-03, so there is nothing to allow; drop the argument",
        )
    if not isinstance(log_retention, logs.RetentionDays):
        raise invalid(_POLICY, "log_retention", log_retention, "pass a logs.RetentionDays member")
    if log_retention == logs.RetentionDays.INFINITE:
        raise invalid(
            _POLICY,
            "log_retention",
            log_retention,
            "LOG-03 needs an explicit retention; pick a finite RetentionDays such as ONE_YEAR",
        )


def _weakened(
    numbers: dict[str, tuple[float, int, int]], flags: dict[str, bool]
) -> list[tuple[str, object, str]]:
    """Arguments below the IAM-03 baseline: (argument, value, what IAM-03 requires)."""
    found: list[tuple[str, object, str]] = [
        (name, flag, "every character class")
        for name, flag in flags.items()
        if name.startswith("require_") and not flag
    ]
    reuse = numbers["reuse_prevention"][0]
    if not Token.is_unresolved(reuse) and reuse < _BASELINE_REUSE:
        found.append(("reuse_prevention", reuse, f"the last {_BASELINE_REUSE} passwords blocked"))
    age = numbers["max_age_days"][0]
    if not Token.is_unresolved(age) and age > _BASELINE_MAX_AGE:
        found.append(("max_age_days", age, f"expiry within {_BASELINE_MAX_AGE} days"))
    return found


def _allow_cloudwatch_logs(scope: Construct, key: kms.IKey) -> None:
    """Let CloudWatch Logs use ``key`` for this account's log groups in this region.

    The condition cannot name the function's log group: its ARN depends on the key (a cycle), and
    a fixed name would block re-creating the stack after a RETAIN delete.
    """
    suffix = hashlib.sha256(scope.node.path.encode()).hexdigest()[:8].upper()
    result = allow_log_groups(key, scope, f"CloudWatchLogsPasswordPolicy{suffix}", allow_no_op=True)
    if not result.statement_added:
        Annotations.of(scope).add_warning_v2(
            "hardened-stacks:PasswordPolicy:importedKey",
            "encryption_key is imported, so PasswordPolicy cannot add the key-policy statement "
            f"that lets logs.{Aws.REGION}.amazonaws.com use it; add it where the key is defined",
        )


# ------------------------------------------------------------------------------------- IAM-04


class AccessKeyGuards(Construct):
    """AWS Config managed rules for credentials (IAM-04).

    ``access-keys-rotated`` (keys older than ``max_access_key_age_days``),
    ``iam-user-mfa-enabled``, ``mfa-enabled-for-iam-console-access`` and
    ``root-account-mfa-enabled``; all four are periodic and evaluated every
    ``evaluation_frequency``. The rules are peers, so none has the ID ``"Resource"``; ``rules``
    lists them. Config rules need a configuration recorder in the region: pass it (e.g. a
    ``ConfigRecorder`` or its ``recorder``) as ``depends_on`` when the same stack creates it.

    :param max_access_key_age_days: 1..90 (CIS: rotate at least every 90 days); a number token
        is accepted.
    :param depends_on: construct the rules are created after (the Config recorder).
    :param evaluation_frequency: how often the periodic rules run.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        max_access_key_age_days: int = 90,
        depends_on: IConstruct | None = None,
        evaluation_frequency: config.MaximumExecutionFrequency = (
            config.MaximumExecutionFrequency.TWENTY_FOUR_HOURS
        ),
    ) -> None:
        name = "AccessKeyGuards"
        require_range(name, "max_access_key_age_days", max_access_key_age_days, 1, 90)
        if isinstance(max_access_key_age_days, float) and not Token.is_unresolved(
            max_access_key_age_days
        ):
            raise invalid(name, "max_access_key_age_days", max_access_key_age_days, "pass days")
        if depends_on is not None and not Construct.is_construct(depends_on):
            raise invalid(name, "depends_on", depends_on, "pass a construct such as the recorder")
        if not isinstance(evaluation_frequency, config.MaximumExecutionFrequency):
            raise invalid(
                name,
                "evaluation_frequency",
                evaluation_frequency,
                "pass a config.MaximumExecutionFrequency member",
            )
        super().__init__(scope, construct_id)

        def rule(
            rule_id: str, identifier: str, parameters: dict[str, Any] | None = None
        ) -> config.ManagedRule:
            managed = config.ManagedRule(
                self,
                rule_id,
                identifier=identifier,
                input_parameters=parameters,
                maximum_execution_frequency=evaluation_frequency,
            )
            if depends_on is not None:
                managed.node.add_dependency(depends_on)
            return managed

        identifiers = config.ManagedRuleIdentifiers
        self.access_keys_rotated = rule(
            "AccessKeysRotated",
            identifiers.ACCESS_KEYS_ROTATED,
            {"maxAccessKeyAge": max_access_key_age_days},
        )
        self.iam_user_mfa_enabled = rule("IamUserMfaEnabled", identifiers.IAM_USER_MFA_ENABLED)
        self.console_mfa_enabled = rule(
            "ConsoleMfaEnabled", identifiers.MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS
        )
        self.root_account_mfa_enabled = rule(
            "RootAccountMfaEnabled", identifiers.ROOT_ACCOUNT_MFA_ENABLED
        )
        self.rules: list[config.ManagedRule] = [
            self.access_keys_rotated,
            self.iam_user_mfa_enabled,
            self.console_mfa_enabled,
            self.root_account_mfa_enabled,
        ]
