"""Control profiles of the five reference stacks (SPEC section 2.x), as data.

``PROFILES`` is the SPEC's "Controls:" line of each stack, expanded (``NET-01..04`` → NET-01,
NET-02, NET-03, NET-04; ``all of NET`` → every NET control) in SPEC order.
``tests/controls/test_profiles.py`` re-expands the SPEC text and compares.

``PROFILE_SETTINGS`` carries the stack-specific thresholds of SPEC 2.x that tighten a control
(3 AZs, 30-day backups, separate keys, naming conventions, required outputs...).
"""

from __future__ import annotations

from controls.catalogue import Settings

# fmt: off
PROFILES: dict[str, list[str]] = {
    "TapStack": [
        "NET-01", "NET-02", "NET-03", "NET-04", "NET-05", "NET-06", "NET-07", "ENC-01", "ENC-02",
        "ENC-03", "ENC-04", "IAM-01", "IAM-05", "IAM-06", "CMP-01", "CMP-02", "CMP-03", "CMP-04",
        "CMP-05", "CMP-06", "CMP-07", "DB-01", "DB-02", "DB-03", "DB-04", "DB-05", "DB-06",
        "DB-07", "DB-08", "DB-09", "S3-01", "S3-02", "S3-03", "S3-04", "LOG-01", "LOG-02",
        "LOG-03", "LOG-04", "LOG-05", "EDGE-01", "EDGE-02", "EDGE-03", "EDGE-04", "MON-01",
        "MON-02", "MON-03", "MON-04", "RES-02", "GOV-01", "GOV-02", "GOV-03", "GOV-04", "GOV-05",
    ],
    "EnterpriseWebAppStack": [
        "NET-01", "NET-02", "NET-03", "NET-04", "NET-06", "NET-07", "NET-10", "ENC-01", "ENC-03",
        "ENC-04", "IAM-01", "IAM-05", "IAM-06", "CMP-01", "CMP-02", "CMP-03", "CMP-04", "CMP-05",
        "CMP-07", "CMP-08", "DB-01", "DB-02", "DB-03", "DB-04", "DB-05", "DB-06", "DB-07", "DB-08",
        "S3-01", "S3-02", "S3-03", "S3-04", "LOG-03", "LOG-04", "MON-01", "MON-02", "MON-04",
        "RES-01", "RES-02", "EDGE-01", "EDGE-02", "EDGE-04", "GOV-01", "GOV-02", "GOV-03",
        "GOV-04", "GOV-05",
    ],
    "CorpEnterpriseAppStack": [
        "NET-01", "NET-02", "NET-03", "NET-04", "NET-05", "NET-06", "NET-07", "NET-10", "ENC-01",
        "ENC-02", "ENC-03", "ENC-04", "IAM-01", "IAM-02", "IAM-03", "IAM-04", "IAM-05", "IAM-06",
        "CMP-01", "CMP-02", "CMP-03", "CMP-04", "CMP-05", "CMP-08", "DB-01", "DB-02", "DB-03",
        "DB-04", "DB-05", "DB-06", "DB-07", "DB-08", "DB-09", "S3-01", "S3-02", "S3-03", "S3-04",
        "LOG-01", "LOG-03", "LOG-04", "LOG-05", "EDGE-01", "EDGE-02", "EDGE-03", "EDGE-04",
        "MON-01", "MON-02", "RES-01", "RES-02", "GOV-01", "GOV-02", "GOV-03", "GOV-04", "GOV-05",
    ],
    "FinSecureStack": [
        "NET-01", "NET-02", "NET-03", "NET-04", "NET-05", "NET-06", "NET-07", "NET-08", "NET-09",
        "NET-10", "ENC-01", "ENC-02", "ENC-03", "ENC-04", "IAM-01", "IAM-02", "IAM-03", "IAM-04",
        "IAM-05", "IAM-06", "CMP-01", "CMP-02", "CMP-03", "CMP-04", "CMP-05", "CMP-09", "DB-01",
        "DB-02", "DB-03", "DB-04", "DB-05", "DB-06", "DB-07", "DB-08", "DB-09", "DB-10", "DB-11",
        "S3-01", "S3-02", "S3-03", "S3-04", "S3-05", "LOG-01", "LOG-02", "LOG-03", "LOG-04",
        "LOG-07", "EDGE-01", "EDGE-02", "EDGE-03", "EDGE-04", "MON-01", "MON-02", "RES-01",
        "RES-02", "GOV-01", "GOV-02", "GOV-03", "GOV-04", "GOV-05",
    ],
    "PayFlowStack": [
        "NET-01", "NET-02", "NET-03", "NET-04", "NET-05", "NET-06", "NET-07", "NET-08", "NET-09",
        "NET-10", "ENC-01", "ENC-02", "ENC-03", "ENC-04", "IAM-01", "IAM-05", "IAM-06", "CMP-01",
        "CMP-02", "CMP-03", "CMP-04", "CMP-05", "CMP-06", "CMP-07", "CMP-09", "DB-01", "DB-02",
        "DB-03", "DB-04", "DB-05", "DB-06", "DB-07", "DB-08", "DB-09", "DB-11", "S3-01", "S3-02",
        "S3-03", "S3-04", "LOG-01", "LOG-02", "LOG-03", "LOG-04", "LOG-05", "LOG-06", "LOG-07",
        "EDGE-01", "EDGE-02", "EDGE-03", "EDGE-04", "EDGE-05", "EDGE-06", "DEP-01", "DEP-02",
        "DEP-03", "MON-01", "MON-02", "MON-03", "MON-04", "RES-01", "RES-02", "GOV-01", "GOV-02",
        "GOV-03", "GOV-04", "GOV-05", "GOV-06",
    ],
}
# fmt: on

PROFILE_SETTINGS: dict[str, Settings] = {
    "TapStack": Settings(
        required_outputs=(
            "VPCId",
            "PublicSubnet1Id",
            "PublicSubnet2Id",
            "PrivateSubnet1Id",
            "PrivateSubnet2Id",
            "ApplicationLoadBalancerDNS",
            "RDSInstanceEndpoint",
            "AutoScalingGroupName",
            "LaunchTemplateId",
            "KMSKeyId",
            "SNSTopicArn",
            "StackName",
            "EnvironmentSuffix",
        ),
    ),
    "EnterpriseWebAppStack": Settings(
        name_pattern=r"webapp-[a-z0-9][a-z0-9-]*",
        required_condition_topics=("monitoring", "key pair"),
    ),
    "CorpEnterpriseAppStack": Settings(
        separate_key_domains=("s3", "rds", "logs"),
        name_pattern=r"corp-[a-z0-9][a-z0-9-]*-enterpriseapp",
    ),
    "FinSecureStack": Settings(
        min_backup_retention_days=30,
        separate_key_domains=("lambda", "cloudtrail"),
        compliance_terms=("PCI-DSS", "SOX"),
        db_port_parameter=True,
    ),
    "PayFlowStack": Settings(
        min_azs=3,
        alb_log_expiration_days=90,
        health_check_path="/health/deep",
        health_check_interval=30,
        deregistration_delay=30,
        required_path_patterns=("/api/*", "/webhooks/*"),
    ),
}


def settings_for(profile: str | None) -> Settings:
    """The profile's thresholds; the catalogue's own bar without a profile."""
    return PROFILE_SETTINGS.get(profile or "", Settings())
