"""Application configuration in a hierarchical SSM Parameter Store path (DB-11).

:class:`AppParameters` writes one component's settings as plain ``String`` / ``StringList``
parameters named ``/<application>/<environment>/<component>/<key>`` (for example
``/payflow/prod/api/timeout-ms``), so IAM can scope readers to one component of one environment
and operators find every setting of a deployment under one path.

Secrets never go here: CloudFormation cannot create ``SecureString`` parameters, and anyone who
may read the path reads every value in plain text. The construct therefore refuses keys named
like secrets (password, secret, token, api key, private key, credential) and values that look
like key material (AWS access key IDs, PEM private keys, vendor tokens, JWTs, credentials in
URLs, long random-looking strings), and says to use Secrets Manager and pass the secret's ARN.

Decisions:

* **Segments** are lower-case letters, digits and single hyphens, starting with a letter
  (:data:`SEGMENT_PATTERN`). ``application`` may not start with ``aws`` or ``ssm`` (Parameter
  Store reserves those prefixes).
* **environment may be a deploy-time token** (e.g. an ``EnvironmentSuffix`` parameter): one
  template then serves several environments. The construct cannot check a token, so give the
  ``CfnParameter`` ``allowed_pattern=SEGMENT_PATTERN``. ``application``, ``component`` and the keys
  must be literal: they are the identity of the code that reads them.
* **Standard tier** only (free, 4 KB per value); values are checked against that size.
* Parameter names are physical names by necessity (the hierarchy is the point of DB-11). Only a
  name change replaces an ``AWS::SSM::Parameter``, and a new name cannot clash with the old one;
  two deployments into one account and region need different environments (or applications).
* There is no single primary resource: the parameters are children named after their keys
  (``parameters["timeout-ms"]``), so a key's logical ID stays stable when others are added.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from aws_cdk import ArnFormat, Fn, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.validation import invalid

_NAME = "AppParameters"

#: What every literal path segment must match; use it as the ``AllowedPattern`` of a
#: ``CfnParameter`` that supplies the environment at deploy time.
SEGMENT_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
_SEGMENT = re.compile(SEGMENT_PATTERN)
_MAX_SEGMENT = 64

#: Standard-tier parameters hold at most 4 KB.
MAX_VALUE_BYTES = 4096
_MAX_DESCRIPTION = 1024

#: Key names that say "this is a secret" (a superset of what the DB-11 audit check looks for).
SECRET_KEY = re.compile(
    r"pass(word)?|passwd|pwd|secret|token|api-?key|private-?key|credential", re.IGNORECASE
)

#: Values that look like key material rather than configuration.
SECRET_VALUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key ID", re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")),
    ("a PEM private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a vendor API key", re.compile(r"\b(sk|pk|rk)_(live|test)_[0-9A-Za-z]{10,}")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[0-9A-Za-z]{30,}")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[0-9A-Za-z-]{10,}")),
    ("a JSON web token", re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.")),
    ("a URL with a password", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I)),
)
#: 32+ characters of one base64/base64url word mixing upper case, lower case and digits.
_RANDOM_WORD = re.compile(r"[A-Za-z0-9+/_=-]{32,}")


def looks_like_secret(value: str) -> str | None:
    """What kind of secret ``value`` looks like, or ``None`` for ordinary configuration."""
    for kind, pattern in SECRET_VALUES:
        if pattern.search(value):
            return kind
    for word in _RANDOM_WORD.findall(value):
        classes = (r"[A-Z]", r"[a-z]", r"[0-9]")
        if all(re.search(c, word) for c in classes):
            return "a random key or password"
    return None


@dataclass(frozen=True, kw_only=True)
class AppSetting:
    """One configuration value.

    :param value: a string (``String`` parameter) or a sequence of strings (``StringList``; items
        must not contain commas). Deploy-time tokens are accepted and cannot be checked.
    :param description: what the setting controls and its unit, shown in Parameter Store.
    :param allowed_pattern: a regular expression Parameter Store enforces on later updates.
    """

    value: str | Sequence[str]
    description: str
    allowed_pattern: str | None = None


class AppParameters(Construct):
    """One component's settings under ``/<application>/<environment>/<component>/`` (DB-11).

    :param application: first path segment, e.g. ``"payflow"``.
    :param environment: second segment, e.g. ``"prod"``; may be a deploy-time token (see the
        module docstring).
    :param component: third segment, e.g. ``"api"``.
    :param settings: key (fourth segment, e.g. ``"timeout-ms"``) → :class:`AppSetting`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        application: str,
        environment: str,
        component: str,
        settings: Mapping[str, AppSetting],
    ) -> None:
        _check_segment("application", application)
        if application.startswith(("aws", "ssm")):
            raise invalid(
                _NAME,
                "application",
                application,
                "Parameter Store reserves names starting with 'aws' or 'ssm'; choose another",
            )
        if not Token.is_unresolved(environment):
            _check_segment("environment", environment)
        _check_segment("component", component)
        if not isinstance(settings, Mapping) or not settings:
            raise invalid(_NAME, "settings", settings, "pass at least one key: AppSetting")
        for key, setting in settings.items():
            _check_setting(key, setting)
        super().__init__(scope, construct_id)

        #: ``/<application>/<environment>/<component>`` (a token when environment is one).
        self.path_prefix: str = _join("/", application, environment, component)
        self.application = application
        self.environment = environment
        self.component = component
        #: Every parameter by key.
        self.parameters: dict[str, ssm.StringParameter | ssm.StringListParameter] = {}
        for key, setting in settings.items():
            self.parameters[key] = self._parameter(key, setting)
        self._read_policies: dict[str, iam.ManagedPolicy] = {}

    def _parameter(
        self, key: str, setting: AppSetting
    ) -> ssm.StringParameter | ssm.StringListParameter:
        name = self.parameter_name(key)
        if isinstance(setting.value, str):
            return ssm.StringParameter(
                self,
                key,
                parameter_name=name,
                simple_name=False,
                string_value=setting.value,
                description=setting.description,
                allowed_pattern=setting.allowed_pattern,
                tier=ssm.ParameterTier.STANDARD,
                data_type=ssm.ParameterDataType.TEXT,
            )
        return ssm.StringListParameter(
            self,
            key,
            parameter_name=name,
            simple_name=False,
            string_list_value=list(setting.value),
            description=setting.description,
            allowed_pattern=setting.allowed_pattern,
            tier=ssm.ParameterTier.STANDARD,
        )

    def parameter_name(self, key: str) -> str:
        """Full name of ``key``: ``<path_prefix>/<key>``."""
        return _join("/", self.application, self.environment, self.component, key)

    @property
    def path_arn(self) -> str:
        """ARN of the path itself (what ``ssm:GetParametersByPath`` is authorised on)."""
        return self._arn()

    @property
    def parameters_arn(self) -> str:
        """ARN pattern of every parameter below the path (``<path ARN>/*``)."""
        return self._arn("*")

    def _arn(self, *tail: str) -> str:
        # format_arn puts the "/" between "parameter" and the name itself
        return Stack.of(self).format_arn(
            service="ssm",
            resource="parameter",
            resource_name=_join(
                "/", self.application, self.environment, self.component, *tail, leading=False
            ),
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.ManagedPolicy:
        """Let ``grantee``'s role read this component's settings, and nothing else.

        ``ssm:GetParametersByPath`` on the path and ``ssm:GetParameter(s)`` on ``<path>/*``, in a
        customer-managed policy attached to the role (three cdk-nag packs reject inline policies;
        an immutable role reference such as a :class:`SecureFunction`'s works too). The
        parameters are plain strings, so no KMS permission is needed. Calling it again for the
        same role returns the same policy.
        """
        principal = grantee.grant_principal
        if not all(hasattr(principal, name) for name in ("node", "role_name", "role_arn")):
            raise invalid(
                _NAME,
                "grantee",
                type(principal).__name__,
                "pass an iam.IRole (or a construct whose grant_principal is a role); the read "
                "policy is attached to that role",
            )
        role = cast(iam.IRole, principal)
        digest = hashlib.sha256(role.node.path.encode()).hexdigest()[:8].upper()
        if digest in self._read_policies:
            return self._read_policies[digest]
        policy = iam.ManagedPolicy(
            self,
            f"ReadPolicy{digest}",
            description=f"Read the configuration under {self.path_prefix}/ only",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="ReadSettingsByPath",
                    actions=["ssm:GetParametersByPath"],
                    resources=[self.path_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadSettingsByName",
                    actions=["ssm:GetParameter", "ssm:GetParameters"],
                    resources=[self.parameters_arn],
                ),
            ],
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{nag_text(policy, self.parameters_arn)}]",
            "The wildcard covers only the parameters below this component's configuration path; "
            "ssm:GetParametersByPath on the path (granted next to it) already returns every one "
            "of them, so naming each parameter would not narrow access.",
        )
        self._read_policies[digest] = policy
        return policy


def nag_text(scope: Construct, value: str) -> str:
    """``value`` as cdk-nag writes it in finding IDs (``<AWS::Region>``, ``<Param>``, ...)."""

    def visit(node: object) -> str:
        if isinstance(node, str):
            return node.replace("${", "<").replace("}", ">")
        if isinstance(node, dict) and len(node) == 1:
            ((name, args),) = node.items()
            if name == "Fn::Join":
                delimiter, items = args
                return str(delimiter).join(visit(item) for item in items)
            if name == "Fn::GetAtt":
                return f"<{visit(args[0])}.{visit(args[1])}>"
            if name == "Ref":
                return f"<{visit(args)}>"
            if name in ("Fn::Sub", "Fn::ImportValue"):
                return visit(args)
        return str(node)

    return visit(Stack.of(scope).resolve(value))


def _join(separator: str, *parts: str, leading: bool = True) -> str:
    """``/a/b/c`` (``a/b/c`` without ``leading``); a ``Fn::Join`` when a part is a token."""
    items = ["", *parts] if leading else list(parts)
    if any(Token.is_unresolved(part) for part in parts):
        return Fn.join(separator, items)
    return separator.join(items)


def _check_segment(argument: str, value: object) -> None:
    if not isinstance(value, str) or not _SEGMENT.match(value) or len(value) > _MAX_SEGMENT:
        raise invalid(
            _NAME,
            argument,
            value,
            f"use 1-{_MAX_SEGMENT} lower-case letters, digits and single hyphens, starting with "
            "a letter (e.g. 'payflow', 'prod', 'api', 'timeout-ms')",
        )


def _check_setting(key: object, setting: object) -> None:
    _check_segment("settings key", key)
    assert isinstance(key, str)
    if SECRET_KEY.search(key):
        raise invalid(
            _NAME,
            "settings key",
            key,
            "secrets go to Secrets Manager, not Parameter Store (DB-11); store the secret "
            "there and pass its ARN, or rename the key if it is not a secret",
        )
    if not isinstance(setting, AppSetting):
        raise invalid(
            _NAME, f"settings[{key!r}]", setting, "pass AppSetting(value=..., description=...)"
        )
    _check_value(key, setting.value)
    description = setting.description
    if not isinstance(description, str) or not description.strip():
        raise invalid(
            _NAME,
            f"settings[{key!r}].description",
            description,
            "say what the setting controls (and its unit)",
        )
    if len(description) > _MAX_DESCRIPTION:
        raise invalid(
            _NAME,
            f"settings[{key!r}].description",
            f"{description[:40]}...",
            f"use at most {_MAX_DESCRIPTION} characters",
        )
    pattern = setting.allowed_pattern
    if pattern is not None:
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            raise invalid(
                _NAME,
                f"settings[{key!r}].allowed_pattern",
                pattern,
                f"pass a valid regular expression ({error})",
            ) from error
        values = [setting.value] if isinstance(setting.value, str) else list(setting.value)
        for value in values:
            if not Token.is_unresolved(value) and not compiled.search(value):
                raise invalid(
                    _NAME,
                    f"settings[{key!r}].value",
                    value,
                    f"the value does not match allowed_pattern {pattern!r}; fix one of them",
                )


def _check_value(key: str, value: object) -> None:
    argument = f"settings[{key!r}].value"
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        items = list(value)
        for item in items:
            if not Token.is_unresolved(item) and "," in item:
                raise invalid(_NAME, argument, item, "StringList items must not contain commas")
    else:
        raise invalid(
            _NAME,
            argument,
            value,
            "pass a string (String) or a non-empty list of strings (StringList); SecureString "
            "is not supported by CloudFormation and secrets belong in Secrets Manager",
        )
    literal = [item for item in items if not Token.is_unresolved(item)]
    for item in literal:
        if not item.strip():
            raise invalid(_NAME, argument, item, "pass a non-empty value")
        kind = looks_like_secret(item)
        if kind is not None:
            raise invalid(
                _NAME,
                argument,
                f"{item[:6]}...",
                f"the value looks like {kind}; secrets go to Secrets Manager, not Parameter "
                "Store (DB-11): store it there and pass the secret's ARN",
            )
    if len(",".join(literal).encode()) > MAX_VALUE_BYTES:
        raise invalid(
            _NAME,
            argument,
            f"{','.join(literal)[:20]}...",
            f"standard-tier parameters hold at most {MAX_VALUE_BYTES} bytes; split the setting",
        )


__all__ = [
    "MAX_VALUE_BYTES",
    "SECRET_KEY",
    "SEGMENT_PATTERN",
    "AppParameters",
    "AppSetting",
    "looks_like_secret",
    "nag_text",
]
