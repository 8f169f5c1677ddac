"""Typed, frozen settings per deployment environment.

One codebase serves ``dev``, ``staging`` and ``prod``; the environment is chosen with CDK context
(``cdk synth -c environment=staging``) and defaults to ``prod`` because the reference templates are
production templates. Everything that differs between environments lives here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_logs as logs

ENVIRONMENT_CONTEXT_KEY = "environment"
DEFAULT_ENVIRONMENT = "prod"


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    """Settings for one deployment environment."""

    name: str
    #: One NAT gateway per AZ (True) or a single shared one to save cost in dev (False).
    nat_gateway_per_az: bool
    #: Multi-AZ database instances.
    multi_az_database: bool
    #: Deletion protection on databases and the load balancer; stack termination protection.
    deletion_protection: bool
    #: Retention of every CloudWatch log group.
    log_retention: logs.RetentionDays
    #: Automated database backup retention in days.
    database_backup_retention_days: int
    #: Database instance class, e.g. ``t3.medium``.
    database_instance_type: str
    #: Allocated database storage in GiB, and the autoscaling ceiling.
    database_allocated_storage_gib: int
    database_max_allocated_storage_gib: int
    #: Performance Insights (DB-05); db.t*.micro/small classes have none, so dev opts out.
    database_performance_insights: bool
    #: Application fleet instance types (mixed instances policy, first is preferred) and capacity.
    app_instance_types: tuple[str, ...]
    app_min_capacity: int
    app_max_capacity: int
    #: Why this environment relaxes controls (single-AZ database, no deletion protection); it
    #: becomes the reason of the cdk-nag acknowledgments those relaxations need.
    relaxation_reason: str = ""
    #: Governance tags (GOV-01) applied to every taggable resource.
    owner: str = "platform-engineering"
    cost_center: str = "CC-1001-infrastructure"


ENVIRONMENTS: dict[str, EnvironmentConfig] = {
    "dev": EnvironmentConfig(
        name="dev",
        nat_gateway_per_az=False,
        multi_az_database=False,
        deletion_protection=False,
        log_retention=logs.RetentionDays.ONE_MONTH,
        database_backup_retention_days=7,
        database_instance_type="t3.small",
        database_allocated_storage_gib=20,
        database_max_allocated_storage_gib=50,
        database_performance_insights=False,
        app_instance_types=("t3.micro", "t3a.micro", "t3.small"),
        app_min_capacity=2,
        app_max_capacity=3,
        relaxation_reason=(
            "dev is a throwaway environment: a single-AZ database without deletion protection "
            "and a deletable load balancer keep it cheap and easy to tear down; staging and "
            "prod keep Multi-AZ and deletion protection"
        ),
    ),
    "staging": EnvironmentConfig(
        name="staging",
        nat_gateway_per_az=True,
        multi_az_database=True,
        deletion_protection=True,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        database_backup_retention_days=7,
        database_instance_type="t3.medium",
        database_allocated_storage_gib=20,
        database_max_allocated_storage_gib=100,
        database_performance_insights=True,
        app_instance_types=("t3.small", "t3a.small", "t3.medium"),
        app_min_capacity=2,
        app_max_capacity=4,
    ),
    "prod": EnvironmentConfig(
        name="prod",
        nat_gateway_per_az=True,
        multi_az_database=True,
        deletion_protection=True,
        log_retention=logs.RetentionDays.ONE_YEAR,
        database_backup_retention_days=30,
        database_instance_type="m5.large",
        database_allocated_storage_gib=100,
        database_max_allocated_storage_gib=500,
        database_performance_insights=True,
        app_instance_types=("t3.medium", "t3.large", "m5.large"),
        app_min_capacity=2,
        app_max_capacity=6,
    ),
}


def load_config(name: str | None) -> EnvironmentConfig:
    """Return the settings for ``name`` (``None`` means the default, ``prod``)."""
    key = DEFAULT_ENVIRONMENT if name is None else name
    try:
        return ENVIRONMENTS[key]
    except KeyError:
        choices = ", ".join(sorted(ENVIRONMENTS))
        raise ValueError(
            f"context environment={key!r} is not a known environment; "
            f"pass -c environment=<one of {choices}>"
        ) from None
