"""ACM certificate that exists only when a real domain is given (EDGE-02).

A reference template must deploy before anyone owns a domain, so the certificate hangs off a
CloudFormation condition (``HasValidDomain`` in seed 001): with an empty domain parameter the
certificate, the HTTPS listener and the redirect are simply absent and the stack serves HTTP.
With a domain, ACM validates by DNS; when the Route 53 hosted zone is known too, CloudFormation
creates the validation record itself, otherwise the stack waits until the operator adds the CNAME
that ACM shows in the console.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Aws, CfnCondition, Fn, Token
from aws_cdk import aws_certificatemanager as acm
from constructs import Construct

from constructs_lib.validation import invalid

_DOMAIN = r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"

#: ``AllowedPattern`` for a domain parameter that may be empty (HTTP-only deployments).
OPTIONAL_DOMAIN_PATTERN = r"^$|" + _DOMAIN[1:]
#: ``AllowedPattern`` for an optional Route 53 hosted zone ID parameter.
OPTIONAL_HOSTED_ZONE_PATTERN = r"^$|^Z[A-Z0-9]{1,32}$"


class DomainCertificate(Construct):
    """A DNS-validated ACM certificate, optionally conditional on a domain being configured.

    :param domain_name: the certificate's domain (a parameter token in reference stacks).
    :param condition: create the certificate only when this condition holds (``HasValidDomain``).
    :param hosted_zone_id: Route 53 zone for automatic validation records (token or None).
    :param hosted_zone_condition: condition under which ``hosted_zone_id`` is set; without it a
        given zone is always used.
    :param subject_alternative_names: extra names on the certificate.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_name: str,
        condition: CfnCondition | None = None,
        hosted_zone_id: str | None = None,
        hosted_zone_condition: CfnCondition | None = None,
        subject_alternative_names: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        _check_domain("domain_name", domain_name)
        for name in subject_alternative_names:
            _check_domain("subject_alternative_names", name)
        if hosted_zone_condition is not None and hosted_zone_id is None:
            raise invalid(
                "DomainCertificate",
                "hosted_zone_condition",
                hosted_zone_condition.node.id,
                "pass hosted_zone_id too, or drop the condition",
            )

        validation = None
        if hosted_zone_id is not None:
            # Raw CloudFormation casing: a struct inside Fn::If is not converted by CDK.
            option = {"DomainName": domain_name, "HostedZoneId": hosted_zone_id}
            validation = (
                Fn.condition_if(hosted_zone_condition.logical_id, [option], Aws.NO_VALUE)
                if hosted_zone_condition is not None
                else [option]
            )
        self.certificate = acm.CfnCertificate(
            self,
            "Resource",
            domain_name=domain_name,
            validation_method="DNS",
            subject_alternative_names=list(subject_alternative_names) or None,
            domain_validation_options=validation,
        )
        self.condition = condition
        if condition is not None:
            self.certificate.cfn_options.condition = condition

    @property
    def certificate_arn(self) -> str:
        """ARN of the certificate (only meaningful where the condition holds)."""
        return self.certificate.ref


def _check_domain(argument: str, value: str) -> None:
    if Token.is_unresolved(value):
        return
    if not re.match(_DOMAIN, value):
        raise invalid(
            "DomainCertificate",
            argument,
            value,
            "pass a lower-case DNS name such as app.example.com",
        )
