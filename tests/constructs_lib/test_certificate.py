"""DomainCertificate: DNS-validated ACM certificate behind a condition (EDGE-02)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from constructs_lib.certificate import (
    OPTIONAL_DOMAIN_PATTERN,
    OPTIONAL_HOSTED_ZONE_PATTERN,
    DomainCertificate,
)
from tests.support import new_stack


@pytest.fixture(scope="module")
def conditional() -> dict[str, Any]:
    stack = new_stack()
    domain = cdk.CfnParameter(
        stack, "DomainName", default="", allowed_pattern=OPTIONAL_DOMAIN_PATTERN
    )
    zone = cdk.CfnParameter(
        stack, "HostedZoneId", default="", allowed_pattern=OPTIONAL_HOSTED_ZONE_PATTERN
    )
    has_domain = cdk.CfnCondition(
        stack,
        "HasValidDomain",
        expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(domain, "")),
    )
    has_zone = cdk.CfnCondition(
        stack, "HasHostedZone", expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(zone, ""))
    )
    DomainCertificate(
        stack,
        "Certificate",
        domain_name=domain.value_as_string,
        condition=has_domain,
        hosted_zone_id=zone.value_as_string,
        hosted_zone_condition=has_zone,
    )
    return dict(Template.from_stack(stack).to_json())


def _certificate(template: dict[str, Any]) -> dict[str, Any]:
    certificate: dict[str, Any]
    [certificate] = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CertificateManager::Certificate"
    ]
    return certificate


def test_certificate_exists_only_with_a_valid_domain(conditional: dict[str, Any]) -> None:
    certificate = _certificate(conditional)
    assert certificate["Condition"] == "HasValidDomain"
    assert certificate["Properties"]["ValidationMethod"] == "DNS"
    assert certificate["Properties"]["DomainName"] == {"Ref": "DomainName"}


def test_validation_records_only_when_the_hosted_zone_is_known(conditional: dict[str, Any]) -> None:
    options = _certificate(conditional)["Properties"]["DomainValidationOptions"]
    assert options == {
        "Fn::If": [
            "HasHostedZone",
            [{"DomainName": {"Ref": "DomainName"}, "HostedZoneId": {"Ref": "HostedZoneId"}}],
            {"Ref": "AWS::NoValue"},
        ]
    }


def test_literal_domain_without_condition() -> None:
    stack = new_stack()
    DomainCertificate(stack, "Certificate", domain_name="app.example.com")
    certificate = _certificate(dict(Template.from_stack(stack).to_json()))
    assert "Condition" not in certificate
    assert certificate["Properties"]["DomainName"] == "app.example.com"


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        (OPTIONAL_DOMAIN_PATTERN, "", True),
        (OPTIONAL_DOMAIN_PATTERN, "app.example.com", True),
        (OPTIONAL_DOMAIN_PATTERN, "*.example.com", True),
        (OPTIONAL_DOMAIN_PATTERN, "not a domain", False),
        (OPTIONAL_DOMAIN_PATTERN, "example", False),
        (OPTIONAL_HOSTED_ZONE_PATTERN, "", True),
        (OPTIONAL_HOSTED_ZONE_PATTERN, "Z0123456789ABCDEFGHIJ", True),
        (OPTIONAL_HOSTED_ZONE_PATTERN, "zone-1", False),
    ],
)
def test_parameter_patterns(pattern: str, value: str, matches: bool) -> None:
    import re

    assert bool(re.match(pattern, value)) is matches


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"domain_name": "Not A Domain"}, r"domain_name='Not A Domain'.*DNS name"),
        ({"domain_name": "a.example.com", "subject_alternative_names": ["bad name"]}, "subject"),
    ],
)
def test_bad_input_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DomainCertificate(new_stack(), "Certificate", **kwargs)


def test_zone_condition_without_zone_is_refused() -> None:
    stack = new_stack()
    condition = cdk.CfnCondition(stack, "C", expression=cdk.Fn.condition_equals("a", "a"))
    with pytest.raises(ValueError, match=r"hosted_zone_condition='C'.*hosted_zone_id"):
        DomainCertificate(
            stack, "Certificate", domain_name="a.example.com", hosted_zone_condition=condition
        )
