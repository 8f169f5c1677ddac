"""What every reference stack shares: parameters, Interface metadata, exports, tags (GOV-01..05).

A reference stack is a CloudFormation template an operator may deploy with plain CloudFormation,
so its deploy-time inputs are validated ``CfnParameter``s grouped and labelled in
``AWS::CloudFormation::Interface``, optional features hang off ``CfnCondition``s, and every key
identifier is an output exported as ``${AWS::StackName}-<Name>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from constructs import Construct, IConstruct

from config import EnvironmentConfig
from constructs_lib.acknowledgments import acknowledge
from constructs_lib.naming import NamingConvention
from constructs_lib.tagging import StandardTags, apply_standard_tags

#: ``AllowedPattern`` of an optional ACM certificate ARN parameter.
CERTIFICATE_ARN_PATTERN = r"^$|^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$"
#: ``AllowedPattern`` of an optional HTTPS webhook (PagerDuty, chat) parameter.
HTTPS_URL_PATTERN = r"^$|^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\s]*)?$"
#: A /16 private IPv4 block (the subnet layout is planned for /16).
VPC_CIDR_PATTERN = (
    r"^(10\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)|172\.(1[6-9]|2\d|3[01])|192\.168)\.0\.0/16$"
)
#: An IPv4 CIDR from /8 to /32 — never 0.0.0.0/0 or another block wider than /8.
CORPORATE_CIDR_PATTERN = (
    r"^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"/([89]|[12]\d|3[0-2])$"
)
#: Any IPv4 CIDR, 0.0.0.0/0 included: the ingress range of a public service.
IPV4_CIDR_PATTERN = (
    r"^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"/(\d|[12]\d|3[0-2])$"
)
#: ``AllowedPattern`` of an optional e-mail parameter.
EMAIL_PATTERN = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"


class ReferenceStack(cdk.Stack):
    """Base class: parameter groups, exported outputs, standard tags, termination protection."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        region: str,
        description: str,
        project: str,
        extra_tags: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            # Account-agnostic on purpose: synth never calls AWS, and `cdk deploy` targets the
            # account of the caller's credentials.
            env=cdk.Environment(region=region),
            description=description,
            termination_protection=config.deletion_protection,
        )
        self.config = config
        self.naming: NamingConvention | None = None
        self._parameter_groups: dict[str, list[str]] = {}
        self._parameter_labels: dict[str, dict[str, str]] = {}
        apply_standard_tags(
            self,
            StandardTags(
                environment=config.name,
                project=project,
                owner=config.owner,
                cost_center=config.cost_center,
                extra=extra_tags or {},
            ),
        )

    def parameter(
        self,
        name: str,
        *,
        group: str,
        label: str,
        **props: Any,
    ) -> cdk.CfnParameter:
        """Declare a validated parameter and place it in an Interface group.

        A parameter without validation (AllowedValues, AllowedPattern or Min/Max, with a
        ConstraintDescription) is refused: GOV-03 requires every input to be checked.
        """
        has_rule = any(
            key in props for key in ("allowed_values", "allowed_pattern", "min_value", "max_value")
        )
        if not has_rule or "constraint_description" not in props:
            raise ValueError(
                f"{self.node.id}: parameter {name!r} has no validation; pass allowed_values, "
                "allowed_pattern or min_value/max_value, and a constraint_description"
            )
        parameter = cdk.CfnParameter(self, name, **props)
        self._parameter_groups.setdefault(group, []).append(name)
        self._parameter_labels[name] = {"default": label}
        return parameter

    def optional_parameter(
        self,
        name: str,
        *,
        group: str,
        label: str,
        pattern: str,
        constraint: str,
        description: str,
        condition_name: str | None = None,
    ) -> tuple[cdk.CfnParameter, cdk.CfnCondition]:
        """An optional string parameter (default empty) and its ``Has<Name>`` condition."""
        parameter = self.parameter(
            name,
            group=group,
            label=label,
            type="String",
            default="",
            allowed_pattern=pattern,
            constraint_description=constraint,
            description=description,
        )
        present = cdk.Fn.condition_not(cdk.Fn.condition_equals(parameter.value_as_string, ""))
        return parameter, self.condition(condition_name or f"Has{name}", present)

    def optional_certificate_parameter(self) -> tuple[cdk.CfnParameter, cdk.CfnCondition]:
        """``CertificateArn`` (empty: HTTP only) and ``HasCertificate`` (EDGE-02, GOV-04)."""
        return self.optional_parameter(
            "CertificateArn",
            condition_name="HasCertificate",
            group="Load balancer",
            label="ACM certificate ARN (empty: HTTP only)",
            pattern=CERTIFICATE_ARN_PATTERN,
            constraint="empty, or an ACM certificate ARN in this region",
            description="ACM certificate for the HTTPS listener; leave empty to serve HTTP only.",
        )

    def optional_email_parameter(self) -> tuple[cdk.CfnParameter, cdk.CfnCondition]:
        """``AlertEmail`` (empty: no e-mail subscription) and ``HasAlertEmail`` (MON-01)."""
        return self.optional_parameter(
            "AlertEmail",
            group="Monitoring",
            label="E-mail address for alarms (empty: none)",
            pattern=EMAIL_PATTERN,
            constraint="empty, or one e-mail address",
            description="Receives alarm and OK notifications after confirming the subscription.",
        )

    def optional_webhook_parameter(self) -> tuple[cdk.CfnParameter, cdk.CfnCondition]:
        """``AlertWebhookUrl`` (empty: none) and ``HasAlertWebhook`` for HTTPS alarms (MON-01)."""
        return self.optional_parameter(
            "AlertWebhookUrl",
            group="Monitoring",
            label="HTTPS endpoint for alarms, e.g. PagerDuty (empty: none)",
            pattern=HTTPS_URL_PATTERN,
            constraint="empty, or an https:// URL",
            description="Receives alarm and OK notifications over HTTPS (SNS HTTPS subscription).",
            condition_name="HasAlertWebhook",
        )

    def condition(self, name: str, expression: cdk.ICfnConditionExpression) -> cdk.CfnCondition:
        """Declare a named condition for an optional feature (GOV-04)."""
        return cdk.CfnCondition(self, name, expression=expression)

    def export(self, name: str, value: str, description: str, **props: Any) -> cdk.CfnOutput:
        """Output ``value`` exported as ``${AWS::StackName}-<name>`` (GOV-05).

        Outputs live under their own scope so an output may share its name with a parameter
        (``EnvironmentSuffix``); the logical ID is pinned to ``name``.
        """
        found = self.node.try_find_child("Outputs")
        outputs = found if isinstance(found, Construct) else Construct(self, "Outputs")
        output = cdk.CfnOutput(
            outputs,
            name,
            value=value,
            description=description,
            export_name=cdk.Fn.sub("${AWS::StackName}-" + name),
            **props,
        )
        output.override_logical_id(name)
        return output

    def export_all(self, outputs: Sequence[tuple[str, str, str]]) -> None:
        """Export several ``(name, value, description)`` outputs."""
        for name, value, description in outputs:
            self.export(name, value, description)

    def use_naming(self, template: str, **fixed: str) -> NamingConvention:
        """Set this stack's naming convention (GOV-02), e.g. ``corp-{resource_type}-{app}``."""
        self.naming = NamingConvention(template, fixed)
        return self.naming

    def name_everything(self, field_name: str) -> None:
        """Give every taggable resource a conventional ``Name`` derived from its construct path.

        Call last: resources created afterwards keep CDK's default names.
        """
        if self.naming is None:
            raise ValueError(f"{self.node.id}: call use_naming(...) before name_everything(...)")
        self.naming.tag_everything(self, field_name)

    def name_tag(self, construct: IConstruct, **values: str) -> str:
        """Tag ``construct``'s own resource with its conventional ``Name``."""
        if self.naming is None:
            raise ValueError(f"{self.node.id}: call use_naming(...) before name_tag(...)")
        return self.naming.tag(construct, **values)

    def acknowledge_relaxation(self, construct: IConstruct, *findings: str) -> None:
        """Acknowledge findings caused by this environment's documented relaxations."""
        if not self.config.relaxation_reason:
            raise ValueError(
                f"{self.node.id}: environment {self.config.name!r} relaxes a control without a "
                "relaxation_reason; add one to its EnvironmentConfig"
            )
        for finding in findings:
            acknowledge(construct, finding, self.config.relaxation_reason)

    def publish_interface(self) -> None:
        """Write ``AWS::CloudFormation::Interface``; call once all parameters are declared."""
        self.template_options.metadata = {
            "AWS::CloudFormation::Interface": {
                "ParameterGroups": [
                    {"Label": {"default": group}, "Parameters": names}
                    for group, names in self._parameter_groups.items()
                ],
                "ParameterLabels": self._parameter_labels,
            }
        }
