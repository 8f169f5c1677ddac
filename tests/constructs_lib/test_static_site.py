"""StaticSite: a private bucket served only through CloudFront with OAC (S3-05, ENC-04).

Controls: S3-05 (origin access control, bucket never public), ENC-04 (redirect-to-https /
https-only, TLSv1.2_2021+ with a certificate), S3-01..S3-04 for the content and log buckets.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint

from constructs_lib.encryption import EncryptionKey
from constructs_lib.static_site import DEFAULT_CONTENT_SECURITY_POLICY, StaticSite
from constructs_lib.storage import SecureBucket
from tests.support import cdk_json_context, nag_findings, new_stack

CERT_ARN = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
EU_CERT_ARN = "arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
WEB_ACL_ARN = (
    "arn:aws:wafv2:us-east-1:111122223333:global/webacl/site/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
)
KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
SSE_S3 = "Site content is public web content; SSE-S3 keeps it encrypted at rest"
ACCESS_LOGS_REASON = "S3 server access logging delivers only to SSE-S3 buckets"
CSP = "default-src 'self'; img-src 'self' data:"


@dataclass(frozen=True)
class Built:
    stack: cdk.Stack
    site: StaticSite
    template: Template

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template.to_json()["Resources"]
        return resources

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def one(self, kind: str) -> tuple[str, dict[str, Any]]:
        ((logical_id, resource),) = self.of_type(kind).items()
        return logical_id, resource

    @property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.one("AWS::CloudFront::Distribution")[1]["Properties"][
            "DistributionConfig"
        ]
        return config

    def bucket_id(self, construct: s3.IBucket) -> str:
        resolved = self.stack.resolve(construct.bucket_name)
        ref: str = resolved["Ref"]
        return ref

    def policy(self, bucket_id: str) -> list[dict[str, Any]]:
        (statements,) = [
            r["Properties"]["PolicyDocument"]["Statement"]
            for r in self.of_type("AWS::S3::BucketPolicy").values()
            if r["Properties"]["Bucket"] == {"Ref": bucket_id}
        ]
        result: list[dict[str, Any]] = statements
        return result


def _app() -> cdk.App:
    return cdk.App(
        context=cdk_json_context(),
        outdir=tempfile.mkdtemp(prefix="cdk-test-"),
        builtin_cloud_formation_validation=False,
    )


def _build_default(stack: cdk.Stack) -> StaticSite:
    key = EncryptionKey(stack, "Key", alias="site", description="Site content", services=["s3"])
    access_logs = SecureBucket(
        stack,
        "AccessLogs",
        access_log_destination=True,
        s3_managed_encryption_reason=ACCESS_LOGS_REASON,
    )
    return StaticSite(stack, "Site", access_logs_bucket=access_logs.bucket, content_key=key.key)


def _build_custom(stack: cdk.Stack) -> StaticSite:
    access_logs = SecureBucket(
        stack,
        "AccessLogs",
        access_log_destination=True,
        s3_managed_encryption_reason=ACCESS_LOGS_REASON,
    )
    return StaticSite(
        stack,
        "Site",
        access_logs_bucket=access_logs.bucket,
        s3_managed_encryption_reason=SSE_S3,
        certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERT_ARN),
        domain_names=["www.example.com", "example.com"],
        minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2025,
        viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        content_security_policy=CSP,
        price_class="PriceClass_All",
        web_acl_arn=WEB_ACL_ARN,
        allowed_countries=["DE", "FR"],
        log_bucket=s3.Bucket.from_bucket_name(stack, "CloudFrontLogs", "cloudfront-logs-bucket"),
        log_prefix="site/",
    )


def _build_conditional(stack: cdk.Stack) -> StaticSite:
    """A deploy-time certificate and domain under a condition; a CMK-encrypted log bucket."""
    key = EncryptionKey(stack, "Key", alias="site", description="Site content", services=["s3"])
    access_logs = SecureBucket(
        stack,
        "AccessLogs",
        access_log_destination=True,
        s3_managed_encryption_reason=ACCESS_LOGS_REASON,
    )
    arn = cdk.CfnParameter(stack, "SiteCertificateArn", default="")
    domain = cdk.CfnParameter(stack, "SiteDomainName", default="")
    condition = cdk.CfnCondition(
        stack,
        "HasSiteCertificate",
        expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(arn.value_as_string, "")),
    )
    return StaticSite(
        stack,
        "Site",
        access_logs_bucket=access_logs.bucket,
        content_key=key.key,
        certificate=acm.Certificate.from_certificate_arn(stack, "Cert", arn.value_as_string),
        domain_names=[domain.value_as_string],
        certificate_condition=condition,
        log_key=key.key,
    )


@pytest.fixture(scope="module")
def built() -> dict[str, Built]:
    result = {}
    for name, build in (
        ("default", _build_default),
        ("custom", _build_custom),
        ("conditional", _build_conditional),
    ):
        stack = new_stack(_app())
        site = build(stack)
        result[name] = Built(stack, site, Template.from_stack(stack))
    return result


# --- S3-05: origin access control, private bucket -------------------------------------------


@pytest.mark.parametrize("name", ["default", "custom"])
def test_s3_05_origin_uses_origin_access_control_not_oai(
    built: dict[str, Built], name: str
) -> None:
    b = built[name]
    oac_id, oac = b.one("AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"] | {"Name": None} == {
        "Name": None,
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    (origin,) = b.config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert origin["DomainName"] == {
        "Fn::GetAtt": [b.bucket_id(b.site.bucket), "RegionalDomainName"]
    }
    assert b.of_type("AWS::CloudFront::CloudFrontOriginAccessIdentity") == {}


@pytest.mark.parametrize("name", ["default", "custom"])
def test_s3_05_content_bucket_is_never_public(built: dict[str, Built], name: str) -> None:
    b = built[name]
    bucket = b.resources[b.bucket_id(b.site.bucket)]
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "WebsiteConfiguration" not in props
    assert bucket["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("name", ["default", "custom"])
def test_s3_05_bucket_policy_grants_reads_only_to_this_distribution(
    built: dict[str, Built], name: str
) -> None:
    b = built[name]
    distribution_id, _ = b.one("AWS::CloudFront::Distribution")
    allows = [s for s in b.policy(b.bucket_id(b.site.bucket)) if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Action": "s3:GetObject",
            "Condition": {
                "StringEquals": {
                    "AWS:SourceArn": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":cloudfront::",
                                {"Ref": "AWS::AccountId"},
                                ":distribution/",
                                {"Ref": distribution_id},
                            ],
                        ]
                    }
                }
            },
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Resource": {
                "Fn::Join": ["", [{"Fn::GetAtt": [b.bucket_id(b.site.bucket), "Arn"]}, "/*"]]
            },
        }
    ]
    source_arn = allows[0]["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]
    assert b.stack.resolve(b.site.distribution_arn)["Fn::Join"][1][-1] == source_arn[-1]


def test_s3_05_content_key_lets_only_this_accounts_distributions_decrypt(
    built: dict[str, Built],
) -> None:
    b = built["default"]
    bucket = b.resources[b.bucket_id(b.site.bucket)]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    _, key = b.one("AWS::KMS::Key")
    cloudfront_statements = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}
    ]
    assert cloudfront_statements == [
        {
            "Action": "kms:Decrypt",
            "Condition": {
                "ArnLike": {
                    "AWS:SourceArn": {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":cloudfront::",
                                {"Ref": "AWS::AccountId"},
                                ":distribution/*",
                            ],
                        ]
                    }
                }
            },
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Resource": "*",
        }
    ]


def _references(value: Any) -> set[str]:
    if isinstance(value, dict):
        if "Ref" in value:
            return {value["Ref"]}
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        return set().union(*(_references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value))
    return set()


@pytest.mark.parametrize("name", ["default", "custom"])
def test_s3_05_no_dependency_cycle_between_key_bucket_and_distribution(
    built: dict[str, Built], name: str
) -> None:
    resources = built[name].resources
    graph = {
        logical_id: _references(r.get("Properties", {})) & resources.keys()
        for logical_id, r in resources.items()
    }
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"cycle: {' -> '.join((*path, node))}"
        if node not in done:
            for dependency in graph[node]:
                visit(dependency, (*path, node))
            done.add(node)

    for node in graph:
        visit(node, ())


def test_imported_content_key_needs_a_manual_key_policy_statement() -> None:
    # CDK cannot edit an imported key's policy; the finding stays visible to the caller, who must
    # add the cloudfront.amazonaws.com kms:Decrypt statement and acknowledge it.
    def build(stack: cdk.Stack) -> None:
        key = kms.Key.from_key_arn(stack, "Key", KEY_ARN)
        logs = SecureBucket(
            stack,
            "AccessLogs",
            access_log_destination=True,
            s3_managed_encryption_reason=ACCESS_LOGS_REASON,
        )
        StaticSite(stack, "Site", access_logs_bucket=logs.bucket, content_key=key)

    assert nag_findings(build) == [
        "Annotation::@aws-cdk/aws-cloudfront-origins:updateImportedKeyPolicyOac "
        "at TestStack/Site/Resource/Origin1"
    ]


def test_s3_01_sse_s3_only_with_a_named_reason(built: dict[str, Built]) -> None:
    b = built["custom"]
    bucket = b.resources[b.bucket_id(b.site.bucket)]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert b.of_type("AWS::KMS::Key") == {}


def test_s3_02_content_bucket_logs_to_the_access_log_bucket(built: dict[str, Built]) -> None:
    b = built["default"]
    props = b.resources[b.bucket_id(b.site.bucket)]["Properties"]
    (access_logs_id,) = [k for k in b.of_type("AWS::S3::Bucket") if k.startswith("AccessLogs")]
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": access_logs_id},
        "LogFilePrefix": "static-site-content/",
    }


# --- ENC-04: HTTPS to viewers ---------------------------------------------------------------


def test_enc04_viewers_are_redirected_to_https_by_default(built: dict[str, Built]) -> None:
    assert built["default"].config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == (
        "redirect-to-https"
    )


def test_enc04_https_only_option(built: dict[str, Built]) -> None:
    assert built["custom"].config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "https-only"


def test_enc04_minimum_protocol_version_with_a_certificate(built: dict[str, Built]) -> None:
    config = built["custom"].config
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": CERT_ARN,
        "MinimumProtocolVersion": "TLSv1.2_2025",
        "SslSupportMethod": "sni-only",
    }
    assert config["Aliases"] == ["www.example.com", "example.com"]


def test_enc04_default_certificate_has_no_ignored_tls_setting(built: dict[str, Built]) -> None:
    # CloudFront's *.cloudfront.net certificate fixes the policy at TLSv1 (acknowledged CFR4).
    config = built["default"].config
    assert "ViewerCertificate" not in config
    assert "Aliases" not in config


# --- Response headers, delivery settings ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "csp"), [("default", DEFAULT_CONTENT_SECURITY_POLICY), ("custom", CSP)]
)
def test_security_response_headers(built: dict[str, Built], name: str, csp: str) -> None:
    b = built[name]
    policy_id, policy = b.one("AWS::CloudFront::ResponseHeadersPolicy")
    assert b.config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": policy_id}
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers == {
        "ContentSecurityPolicy": {"ContentSecurityPolicy": csp, "Override": True},
        "ContentTypeOptions": {"Override": True},
        "FrameOptions": {"FrameOption": "DENY", "Override": True},
        "ReferrerPolicy": {"Override": True, "ReferrerPolicy": "strict-origin-when-cross-origin"},
        "StrictTransportSecurity": {
            "AccessControlMaxAgeSec": 63072000,
            "IncludeSubdomains": True,
            "Override": True,
            "Preload": True,
        },
        "XSSProtection": {"ModeBlock": True, "Override": True, "Protection": True},
    }


def test_delivery_defaults(built: dict[str, Built]) -> None:
    config = built["default"].config
    behavior = config["DefaultCacheBehavior"]
    assert config["DefaultRootObject"] == "index.html"
    assert config["HttpVersion"] == "http2and3"
    assert config["IPV6Enabled"] is True
    assert config["PriceClass"] == "PriceClass_100"
    assert behavior["Compress"] is True
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert "WebACLId" not in config
    assert "Restrictions" not in config


def test_price_class_waf_and_geo_restriction_options(built: dict[str, Built]) -> None:
    config = built["custom"].config
    assert config["PriceClass"] == "PriceClass_All"
    assert config["WebACLId"] == WEB_ACL_ARN
    assert config["Restrictions"] == {
        "GeoRestriction": {"Locations": ["DE", "FR"], "RestrictionType": "whitelist"}
    }


# --- Logging --------------------------------------------------------------------------------


def test_standard_logs_go_to_a_dedicated_acl_enabled_log_bucket(built: dict[str, Built]) -> None:
    b = built["default"]
    log_id = b.bucket_id(b.site.log_bucket)
    assert log_id != b.bucket_id(b.site.bucket)
    assert b.config["Logging"] == {
        "Bucket": {"Fn::GetAtt": [log_id, "RegionalDomainName"]},
        "IncludeCookies": False,
        "Prefix": "cloudfront/",
    }
    bucket = b.resources[log_id]
    props = bucket["Properties"]
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogs247031D9"}
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365
    assert bucket["DeletionPolicy"] == "Retain"
    sids = {s.get("Sid") for s in b.policy(log_id)}
    assert {"DenyLogDeletion", "DenyRetentionTampering"} <= sids


def test_given_log_bucket_is_used_and_none_created(built: dict[str, Built]) -> None:
    b = built["custom"]
    assert "cloudfront-logs-bucket" in json.dumps(b.config["Logging"]["Bucket"])
    assert b.stack.resolve(b.site.log_bucket.bucket_name) == "cloudfront-logs-bucket"
    assert b.config["Logging"]["Prefix"] == "site/"
    assert set(b.of_type("AWS::S3::Bucket")) == {
        b.bucket_id(b.site.bucket),
        *[k for k in b.of_type("AWS::S3::Bucket") if k.startswith("AccessLogs")],
    }
    assert len(b.of_type("AWS::S3::Bucket")) == 2


def test_public_attributes(built: dict[str, Built]) -> None:
    b = built["default"]
    site = b.site
    distribution_id, _ = b.one("AWS::CloudFront::Distribution")
    assert site.distribution.node.id == "Resource"
    assert b.stack.resolve(site.distribution_id) == {"Ref": distribution_id}
    assert b.stack.resolve(site.domain_name) == {"Fn::GetAtt": [distribution_id, "DomainName"]}
    assert isinstance(site.response_headers_policy, cloudfront.ResponseHeadersPolicy)
    assert site.bucket is site.content.bucket


# --- conditional certificate, CMK log bucket --------------------------------------------------
def test_enc04_conditional_certificate_is_fn_if_with_tls12_2021_or_the_default(
    built: dict[str, Built],
) -> None:
    config = built["conditional"].config
    assert config["ViewerCertificate"] == {
        "Fn::If": [
            "HasSiteCertificate",
            {
                "AcmCertificateArn": {"Ref": "SiteCertificateArn"},
                "SslSupportMethod": "sni-only",
                "MinimumProtocolVersion": "TLSv1.2_2021",
            },
            {"CloudFrontDefaultCertificate": True},
        ]
    }
    assert config["Aliases"] == {
        "Fn::If": ["HasSiteCertificate", [{"Ref": "SiteDomainName"}], {"Ref": "AWS::NoValue"}]
    }


def test_s3_01_log_bucket_uses_the_log_key_and_delivery_may_use_it(
    built: dict[str, Built],
) -> None:
    b = built["conditional"]
    bucket = b.of_type("AWS::S3::Bucket")[b.bucket_id(b.site.log_bucket)]
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    (key,) = b.of_type("AWS::KMS::Key").values()
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "CloudFrontStandardLogDelivery"
    ]
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert statement["Action"] == "kms:GenerateDataKey*"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


# --- Bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "content_key=None"),
        ({"domain_names": ["www.example.com"]}, "domain_names=.*need a certificate"),
        ({"certificate": "cert"}, "certificate=.*domain_names"),
        (
            {"certificate": "eu-cert", "domain_names": ["www.example.com"]},
            "certificate=.*us-east-1",
        ),
        ({"certificate": "cert", "domain_names": ["WWW example"]}, "domain_names='WWW example'"),
        (
            {"viewer_protocol_policy": cloudfront.ViewerProtocolPolicy.ALLOW_ALL},
            "viewer_protocol_policy=",
        ),
        (
            {"minimum_protocol_version": cloudfront.SecurityPolicyProtocol.TLS_V1_2_2019},
            "minimum_protocol_version=",
        ),
        ({"price_class": "PriceClass100"}, "price_class='PriceClass100'"),
        (
            {"web_acl_arn": WEB_ACL_ARN.replace("us-east-1", "eu-west-1")},
            "web_acl_arn=.*CLOUDFRONT",
        ),
        ({"web_acl_arn": WEB_ACL_ARN.replace("global", "regional")}, "web_acl_arn="),
        ({"allowed_countries": ["de"]}, "allowed_countries='de'"),
        ({"allowed_countries": ["DE"], "blocked_countries": ["FR"]}, "blocked_countries="),
        ({"content_security_policy": " "}, "content_security_policy="),
        ({"default_root_object": "/index.html"}, "default_root_object="),
        ({"s3_managed_encryption_reason": "short"}, "s3_managed_encryption_reason="),
        (
            {"certificate_condition": "condition"},
            "certificate_condition=.* is invalid; a condition needs the certificate",
        ),
    ],
)
def test_bad_input_raises_before_anything_is_created(kwargs: dict[str, Any], match: str) -> None:
    stack = new_stack(_app())
    logs = s3.Bucket.from_bucket_name(stack, "AccessLogs", "access-logs-bucket")
    certificates = {
        "cert": acm.Certificate.from_certificate_arn(stack, "Cert", CERT_ARN),
        "eu-cert": acm.Certificate.from_certificate_arn(stack, "EuCert", EU_CERT_ARN),
    }
    if "certificate" in kwargs:
        kwargs = {**kwargs, "certificate": certificates[kwargs["certificate"]]}
    if "certificate_condition" in kwargs:
        condition = cdk.CfnCondition(stack, "HasCert", expression=cdk.Fn.condition_equals("a", "a"))
        kwargs = {**kwargs, "certificate_condition": condition}
    if not ({"content_key", "s3_managed_encryption_reason"} & kwargs.keys()) and kwargs:
        kwargs = {**kwargs, "s3_managed_encryption_reason": SSE_S3}
    with pytest.raises(ValueError, match=f"^StaticSite: {match}"):
        StaticSite(stack, "Site", access_logs_bucket=logs, **kwargs)
    assert stack.node.try_find_child("Site") is None


# --- Gates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [_build_default, _build_custom, _build_conditional],
    ids=["default", "custom", "conditional"],
)
def test_nag_clean(build: Any) -> None:
    assert nag_findings(build) == []


@pytest.mark.parametrize("name", ["default", "custom", "conditional"])
def test_cfn_lint_reports_nothing(built: dict[str, Built], name: str) -> None:
    template = json.dumps(built[name].template.to_json())
    matches = lint(template, config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []
