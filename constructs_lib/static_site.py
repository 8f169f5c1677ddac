"""A static website in a private S3 bucket served only through CloudFront (S3-05, ENC-04).

``StaticSite`` creates:

* the **content bucket** — a :class:`~constructs_lib.storage.SecureBucket` (block public access,
  owner enforced, versioned, TLS-only policy, access logs, lifecycle, Retain). It is never public:
  its bucket policy allows ``s3:GetObject`` only to ``cloudfront.amazonaws.com`` with
  ``AWS:SourceArn`` equal to *this* distribution's ARN (origin access control, not the legacy
  origin access identity);
* the **distribution** (ID ``"Resource"``) — ``redirect-to-https`` (or ``https-only``), HTTP/2 and
  HTTP/3, IPv6, compression, ``index.html`` as default root object, a security response headers
  policy, standard access logs, a price class, optional geo restriction and an optional
  CLOUDFRONT-scope WAF web ACL;
* the **log bucket** for CloudFront standard logs, unless one is passed in.

Encryption of the content
    With ``content_key`` the content bucket uses SSE-KMS with that key. CloudFront (through OAC)
    can read SSE-KMS objects only if the key policy lets ``cloudfront.amazonaws.com`` call
    ``kms:Decrypt``. AWS's example conditions that statement on ``AWS:SourceArn`` = the
    distribution ARN, but that is a **dependency cycle** in one template: the key policy (a property
    of ``AWS::KMS::Key``) would reference the distribution, the distribution references the bucket,
    and the bucket's encryption references the key. (Putting the key in another stack only turns it
    into a cycle between stacks.) The key statement is therefore scoped to *distributions of this
    account* (``ArnLike AWS:SourceArn arn:<partition>:cloudfront::<account>:distribution/*``). CDK's
    ``S3BucketOrigin.with_origin_access_control`` writes exactly that statement (``kms:Decrypt``
    only, for read access) into the key policy of a key defined in the app, so this construct
    does not add a second one; for an *imported* key CDK cannot edit the policy and the key's
    owner must add it. The exact distribution is still enforced where it matters: S3 only calls
    KMS for a request the *bucket policy* has allowed, and that policy names this distribution's
    ARN exactly.
    Without a key, ``s3_managed_encryption_reason`` must say why SSE-S3 is acceptable.

TLS
    ``minimum_protocol_version`` (default ``TLSv1.2_2021``) is applied by CloudFront **only with a
    custom certificate** (``certificate`` + ``domain_names``; the certificate must be in
    us-east-1). With the default ``*.cloudfront.net`` certificate CloudFront fixes the viewer
    security policy at ``TLSv1``, so clients may negotiate TLS 1.0/1.1; that case is acknowledged
    for cdk-nag (and only that case). Origin traffic to S3 is always HTTPS.

Logging
    CloudFront standard (legacy) logs are written by the ``awslogsdelivery`` account using S3
    ACLs, so their bucket must allow ACLs (``BucketOwnerPreferred``). The dedicated log bucket this
    construct creates is a ``SecureBucket`` with that single relaxation, plus SSE-S3 (see
    :data:`LOG_BUCKET_SSE_S3_REASON`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Aws, CfnCondition, Duration, Fn, Resource, Token
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge
from constructs_lib.storage import LifecyclePolicy, SecureBucket
from constructs_lib.validation import invalid, require_choice, require_non_empty

_NAME = "StaticSite"

#: CloudFront price classes by their CloudFormation names.
PRICE_CLASSES: dict[str, cloudfront.PriceClass] = {
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
}

#: Viewer security policies that satisfy ENC-04 (TLS 1.2 with modern ciphers, or newer).
ALLOWED_MINIMUM_PROTOCOLS = (
    cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
    cloudfront.SecurityPolicyProtocol.TLS_V1_2_2025,
    cloudfront.SecurityPolicyProtocol.TLS_V1_3_2025,
)

#: Viewer protocol policies that never serve content over plain HTTP.
ALLOWED_VIEWER_PROTOCOLS = (
    cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
    cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
)

#: A restrictive default Content-Security-Policy for a static site without third-party content.
DEFAULT_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'; upgrade-insecure-requests"
)

#: HSTS max-age: two years, the value the preload list recommends (it requires one year or more).
HSTS_MAX_AGE = Duration.days(730)

#: CloudFront's viewer certificates (and CLOUDFRONT-scope web ACLs) live in this region only.
CLOUDFRONT_REGION = "us-east-1"

LOG_BUCKET_SSE_S3_REASON = (
    "CloudFront standard logs are delivered by the awslogsdelivery account through S3 ACLs; an "
    "SSE-KMS log bucket would need a key-policy grant to delivery.logs.amazonaws.com whose "
    "documented form is not scoped to this distribution, so the log bucket uses SSE-S3"
)

_WEB_ACL_ARN = re.compile(
    r"^arn:aws[a-z-]*:wafv2:(?P<region>[a-z0-9-]+):\d{12}:global/webacl/[A-Za-z0-9_-]+/[0-9a-f-]+$"
)
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ARN_REGION = re.compile(r"^arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):")


class StaticSite(Construct):
    """A private S3 bucket behind a hardened CloudFront distribution with origin access control.

    :param access_logs_bucket: dedicated bucket receiving S3 server access logs of the content
        bucket (and of the CloudFront log bucket this construct creates).
    :param content_key: customer-managed key for the content bucket (SSE-KMS); the CloudFront
        ``kms:Decrypt`` statement lands in its key policy through the OAC origin (see the module
        docstring for its scope). Required unless ``s3_managed_encryption_reason`` is given.
    :param s3_managed_encryption_reason: encrypt the content with SSE-S3 instead; say why
        (20 characters or more, recorded with the cdk-nag acknowledgments).
    :param certificate: ACM certificate in us-east-1 for ``domain_names``; without it CloudFront
        serves ``*.cloudfront.net`` with its default certificate (TLSv1 security policy).
    :param domain_names: alternate domain names (CNAMEs); require ``certificate``.
    :param certificate_condition: use ``certificate`` and ``domain_names`` only while this stack
        condition holds (e.g. a ``SiteCertificateArn`` parameter is set); otherwise CloudFront
        serves its default certificate. Both become ``Fn::If`` in the template.
    :param minimum_protocol_version: viewer TLS policy with a certificate (TLSv1.2_2021 or newer).
    :param viewer_protocol_policy: ``REDIRECT_TO_HTTPS`` (default) or ``HTTPS_ONLY``.
    :param content_security_policy: the ``Content-Security-Policy`` header value.
    :param price_class: ``PriceClass_100`` (default), ``PriceClass_200`` or ``PriceClass_All``.
    :param web_acl_arn: ARN of a WAFv2 web ACL with scope CLOUDFRONT (created in us-east-1).
    :param allowed_countries: serve only to these ISO 3166-1 alpha-2 countries.
    :param blocked_countries: never serve to these countries (exclusive with ``allowed_countries``).
    :param log_bucket: bucket for CloudFront standard logs; it must allow ACLs
        (``BucketOwnerPreferred``). Default: a dedicated bucket created here.
    :param log_key: encrypt the log bucket this construct creates with this customer key
        (SSE-KMS) instead of SSE-S3; the key policy gets the statement CloudFront's log delivery
        (``delivery.logs.amazonaws.com``) needs, limited to this account.
    :param log_prefix: key prefix of the CloudFront standard logs.
    :param default_root_object: object served for ``/``.
    :param lifecycle: lifecycle of the content bucket.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access_logs_bucket: s3.IBucket,
        content_key: kms.IKey | None = None,
        s3_managed_encryption_reason: str | None = None,
        certificate: acm.ICertificate | None = None,
        domain_names: Sequence[str] = (),
        certificate_condition: CfnCondition | None = None,
        minimum_protocol_version: cloudfront.SecurityPolicyProtocol = (
            cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021
        ),
        viewer_protocol_policy: cloudfront.ViewerProtocolPolicy = (
            cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS
        ),
        content_security_policy: str = DEFAULT_CONTENT_SECURITY_POLICY,
        price_class: str = "PriceClass_100",
        web_acl_arn: str | None = None,
        allowed_countries: Sequence[str] = (),
        blocked_countries: Sequence[str] = (),
        log_bucket: s3.IBucket | None = None,
        log_key: kms.IKey | None = None,
        log_prefix: str = "cloudfront/",
        default_root_object: str = "index.html",
        lifecycle: LifecyclePolicy | None = None,
    ) -> None:
        _validate(
            content_key=content_key,
            s3_managed_encryption_reason=s3_managed_encryption_reason,
            certificate=certificate,
            domain_names=domain_names,
            certificate_condition=certificate_condition,
            minimum_protocol_version=minimum_protocol_version,
            viewer_protocol_policy=viewer_protocol_policy,
            content_security_policy=content_security_policy,
            price_class=price_class,
            web_acl_arn=web_acl_arn,
            allowed_countries=allowed_countries,
            blocked_countries=blocked_countries,
            default_root_object=default_root_object,
        )
        super().__init__(scope, construct_id)

        #: The private content bucket (S3-01..S3-03, S3-05).
        self.content = SecureBucket(
            self,
            "Content",
            encryption_key=content_key,
            s3_managed_encryption_reason=s3_managed_encryption_reason,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix="static-site-content/",
            lifecycle=lifecycle,
        )
        self.bucket: s3.IBucket = self.content.bucket

        #: The bucket receiving CloudFront standard logs.
        if log_bucket is not None and log_key is not None:
            raise invalid(
                _NAME,
                "log_key",
                log_key.node.path,
                "a log_bucket was given; its owner sets its key",
            )
        self.log_bucket: s3.IBucket = log_bucket or self._create_log_bucket(
            access_logs_bucket, log_key
        )

        #: Security headers: HSTS preload, nosniff, DENY framing, referrer policy, XSS, CSP.
        self.response_headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="Security headers for a static site: HSTS preload, CSP, nosniff, DENY framing",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=HSTS_MAX_AGE,
                    include_subdomains=True,
                    preload=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
                xss_protection=cloudfront.ResponseHeadersXSSProtection(
                    protection=True, mode_block=True, override=True
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy, override=True
                ),
            ),
        )

        geo_restriction = None
        if allowed_countries:
            geo_restriction = cloudfront.GeoRestriction.allowlist(*allowed_countries)
        elif blocked_countries:
            geo_restriction = cloudfront.GeoRestriction.denylist(*blocked_countries)

        #: The distribution (S3-05, ENC-04).
        self.distribution = cloudfront.Distribution(
            self,
            "Resource",
            comment="Static site served from a private S3 bucket through origin access control",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(
                    self.bucket,
                    origin_access_levels=[cloudfront.AccessLevel.READ],
                ),
                viewer_protocol_policy=viewer_protocol_policy,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.response_headers_policy,
                compress=True,
            ),
            default_root_object=default_root_object,
            certificate=certificate,
            domain_names=list(domain_names) or None,
            # Applied only with a custom certificate; CDK warns and CloudFront ignores it otherwise.
            minimum_protocol_version=minimum_protocol_version if certificate else None,
            ssl_support_method=cloudfront.SSLMethod.SNI if certificate else None,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_ipv6=True,
            price_class=PRICE_CLASSES[price_class],
            web_acl_id=web_acl_arn,
            geo_restriction=geo_restriction,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix=log_prefix,
            log_includes_cookies=False,
        )
        if certificate_condition is not None:
            assert certificate is not None  # validated
            self._make_certificate_conditional(
                certificate, list(domain_names), certificate_condition, minimum_protocol_version
            )
        self._acknowledge(
            certificate=certificate,
            certificate_condition=certificate_condition,
            web_acl_arn=web_acl_arn,
            geo_restricted=geo_restriction is not None,
            content_key=content_key,
        )

    def _make_certificate_conditional(
        self,
        certificate: acm.ICertificate,
        domain_names: list[str],
        condition: CfnCondition,
        minimum_protocol_version: cloudfront.SecurityPolicyProtocol,
    ) -> None:
        cfn = self.distribution.node.default_child
        assert isinstance(cfn, cloudfront.CfnDistribution)
        cfn.add_property_override(
            "DistributionConfig.ViewerCertificate",
            Fn.condition_if(
                condition.logical_id,
                {
                    "AcmCertificateArn": certificate.certificate_arn,
                    "SslSupportMethod": "sni-only",
                    "MinimumProtocolVersion": _protocol_name(minimum_protocol_version),
                },
                {"CloudFrontDefaultCertificate": True},
            ),
        )
        acknowledge(
            cfn,
            "CloudFormation-Validate::F3014",
            f"ViewerCertificate is Fn::If({condition.node.id}, ACM certificate, CloudFront "
            "default certificate): each branch names exactly one certificate source, but the "
            "validator reads both branches at once",
        )
        cfn.add_property_override(
            "DistributionConfig.Aliases",
            Fn.condition_if(condition.logical_id, domain_names, Aws.NO_VALUE),
        )

    def _create_log_bucket(
        self, access_logs_bucket: s3.IBucket, log_key: kms.IKey | None
    ) -> s3.IBucket:
        """An immutable SecureBucket (S3-04) whose one relaxation is ACLs for log delivery."""
        if log_key is not None:
            log_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="CloudFrontStandardLogDelivery",
                    principals=[iam.ServicePrincipal("delivery.logs.amazonaws.com")],
                    actions=["kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
                )
            )
        logs = SecureBucket(
            self,
            "Logs",
            encryption_key=log_key,
            s3_managed_encryption_reason=None if log_key else LOG_BUCKET_SSE_S3_REASON,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix="static-site-cloudfront-logs/",
            lifecycle=LifecyclePolicy(expire_after_days=365),
            immutable=True,
        )
        # CloudFront standard logging writes through the awslogsdelivery account with an ACL
        # grant; BucketOwnerEnforced disables ACLs and makes delivery fail. BucketOwnerPreferred
        # still gives this account ownership of every delivered object. Public access stays blocked.
        cfn_bucket = logs.bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.add_property_override(
            "OwnershipControls.Rules",
            [{"ObjectOwnership": "BucketOwnerPreferred"}],
        )
        return logs.bucket

    def _acknowledge(
        self,
        *,
        certificate: acm.ICertificate | None,
        certificate_condition: CfnCondition | None,
        web_acl_arn: str | None,
        geo_restricted: bool,
        content_key: kms.IKey | None,
    ) -> None:
        resource = self.distribution.node.default_child
        assert resource is not None
        if certificate_condition is not None:
            acknowledge(
                resource,
                "AwsSolutions-CFR4",
                f"The viewer certificate is Fn::If({certificate_condition.node.id}): with the "
                "certificate the policy is TLSv1.2_2021 or newer; only while no certificate is "
                "configured does CloudFront serve *.cloudfront.net with its fixed TLSv1 policy.",
            )
        elif certificate is None:
            acknowledge(
                resource,
                "AwsSolutions-CFR4",
                "No certificate was passed, so CloudFront serves *.cloudfront.net with its default "
                "certificate, whose viewer security policy is fixed at TLSv1; pass certificate and "
                "domain_names to enforce TLSv1.2_2021. Viewers are redirected to HTTPS regardless.",
            )
        if web_acl_arn is None:
            reason = (
                "No CLOUDFRONT-scope web ACL was passed (it must be created in us-east-1, "
                "outside this regional stack); the site serves only static GET/HEAD content from "
                "a private bucket. Pass web_acl_arn to attach one."
            )
            for finding in (
                "AwsSolutions-CFR2",
                "NIST.800.53.R5-CloudFrontDistributionWAFIntegration",
                "PCI.DSS.321-CloudFrontDistributionWAFIntegration",
            ):
                acknowledge(resource, finding, reason)
        if not geo_restricted:
            acknowledge(
                resource,
                "AwsSolutions-CFR1",
                "The static site is public content meant for viewers in every country; pass "
                "allowed_countries or blocked_countries when a legal restriction applies.",
            )
        if content_key is not None:
            # CDK's OAC origin scopes the key statement to this account's distributions to avoid
            # the key -> distribution -> bucket -> key cycle (see the module docstring).
            # CDK attaches its warning to the key's parent construct (key.node.scope).
            acknowledge(
                content_key.node.scope or content_key,
                "Annotation::@aws-cdk/aws-cloudfront-origins:wildcardKeyPolicyForOac",
                "Naming the distribution in the key policy would create a key -> distribution -> "
                "bucket -> key cycle; the key statement is limited to this account's "
                "distributions and the bucket policy pins AWS:SourceArn to this distribution.",
            )

    @property
    def domain_name(self) -> str:
        """The distribution's ``*.cloudfront.net`` domain name."""
        return self.distribution.distribution_domain_name

    @property
    def distribution_id(self) -> str:
        """The distribution ID."""
        return self.distribution.distribution_id

    @property
    def distribution_arn(self) -> str:
        """The distribution ARN (``arn:<partition>:cloudfront::<account>:distribution/<id>``)."""
        return self.distribution.distribution_arn

    def grant_deploy(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let a deployment role upload site content (and encrypt it with the content key)."""
        return self.content.grant_write(grantee)


def _protocol_name(protocol: cloudfront.SecurityPolicyProtocol) -> str:
    """CloudFront's name of a security policy: ``TLS_V1_2_2021`` → ``TLSv1.2_2021``."""
    match = re.fullmatch(r"TLS_V(\d)(?:_(\d))?_(\d{4})", protocol.name)
    if match is None:  # pragma: no cover - every policy _validate accepts has a year
        raise invalid(_NAME, "minimum_protocol_version", protocol.name, "use TLSv1.2_2021+")
    major, minor, year = match.groups()
    return f"TLSv{major}.{minor}_{year}" if minor else f"TLSv{major}_{year}"


def _validate(
    *,
    content_key: kms.IKey | None,
    s3_managed_encryption_reason: str | None,
    certificate: acm.ICertificate | None,
    domain_names: Sequence[str],
    certificate_condition: CfnCondition | None,
    minimum_protocol_version: cloudfront.SecurityPolicyProtocol,
    viewer_protocol_policy: cloudfront.ViewerProtocolPolicy,
    content_security_policy: str,
    price_class: str,
    web_acl_arn: str | None,
    allowed_countries: Sequence[str],
    blocked_countries: Sequence[str],
    default_root_object: str,
) -> None:
    if content_key is None and not s3_managed_encryption_reason:
        raise invalid(
            _NAME,
            "content_key",
            None,
            "pass a customer-managed kms.IKey, or s3_managed_encryption_reason='<why SSE-S3>'",
        )
    if s3_managed_encryption_reason is not None and len(s3_managed_encryption_reason) < 20:
        raise invalid(
            _NAME,
            "s3_managed_encryption_reason",
            s3_managed_encryption_reason,
            "say why SSE-S3 is acceptable for the site content (20 characters or more)",
        )
    if content_key is not None and s3_managed_encryption_reason:
        raise invalid(
            _NAME,
            "s3_managed_encryption_reason",
            s3_managed_encryption_reason,
            "a content_key was given; pass one of the two",
        )
    if certificate_condition is not None and certificate is None:
        raise invalid(
            _NAME,
            "certificate_condition",
            certificate_condition.logical_id,
            "a condition needs the certificate (and domain_names) it switches on",
        )
    if domain_names and certificate is None:
        raise invalid(
            _NAME,
            "domain_names",
            list(domain_names),
            "alternate domain names need a certificate: pass an ACM certificate from us-east-1",
        )
    if certificate is not None and not domain_names:
        raise invalid(
            _NAME,
            "certificate",
            certificate.node.path,
            "a certificate is only used with domain_names; pass the names it covers",
        )
    for name in domain_names:
        if not Token.is_unresolved(name) and not _DOMAIN.match(name):
            raise invalid(
                _NAME, "domain_names", name, "pass lower-case DNS names such as www.example.com"
            )
    if certificate is not None:
        region = _certificate_region(certificate)
        if region is not None and region != CLOUDFRONT_REGION:
            raise invalid(
                _NAME,
                "certificate",
                certificate.certificate_arn,
                f"CloudFront only uses ACM certificates from {CLOUDFRONT_REGION}; request or "
                "import it there",
            )
    require_choice(
        _NAME,
        "viewer_protocol_policy",
        viewer_protocol_policy,
        ALLOWED_VIEWER_PROTOCOLS,
    )
    require_choice(
        _NAME,
        "minimum_protocol_version",
        minimum_protocol_version,
        ALLOWED_MINIMUM_PROTOCOLS,
    )
    require_choice(_NAME, "price_class", price_class, PRICE_CLASSES)
    require_non_empty(_NAME, "content_security_policy", content_security_policy)
    require_non_empty(_NAME, "default_root_object", default_root_object)
    if default_root_object.startswith("/"):
        raise invalid(_NAME, "default_root_object", default_root_object, "drop the leading slash")
    if web_acl_arn is not None and not Token.is_unresolved(web_acl_arn):
        match = _WEB_ACL_ARN.match(web_acl_arn)
        if match is None or match["region"] != CLOUDFRONT_REGION:
            raise invalid(
                _NAME,
                "web_acl_arn",
                web_acl_arn,
                "pass the ARN of a WAFv2 web ACL with scope CLOUDFRONT, created in us-east-1 "
                "(arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>)",
            )
    if allowed_countries and blocked_countries:
        raise invalid(
            _NAME,
            "blocked_countries",
            list(blocked_countries),
            "CloudFront takes an allow list or a deny list, not both; drop one",
        )
    for argument, countries in (
        ("allowed_countries", allowed_countries),
        ("blocked_countries", blocked_countries),
    ):
        for country in countries:
            if not _COUNTRY.match(country):
                raise invalid(_NAME, argument, country, "use ISO 3166-1 alpha-2 codes such as 'DE'")


def _certificate_region(certificate: acm.ICertificate) -> str | None:
    """The certificate's region when it is known at synth time, else ``None``."""
    arn = certificate.certificate_arn
    if not Token.is_unresolved(arn):
        match = _ARN_REGION.match(arn)
        return match["region"] if match else None
    if not Resource.is_owned_resource(certificate):
        return None  # imported from a deploy-time ARN: the stack's parameter pattern checks it
    region = certificate.env.region
    return None if Token.is_unresolved(region) else region
