"""Customer-managed policies every hardened Lambda function needs (IAM-05, LOG-03, LOG-07).

Three cdk-nag packs reject inline policies, so a function's role gets one managed policy per
concern. These two are the same for every function: write to its own log group, and send X-Ray
segments for active tracing.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.acknowledgments import acknowledge


def logs_and_tracing_policies(
    scope: Construct, role: iam.IRole, log_group: logs.ILogGroup, label: str
) -> tuple[iam.ManagedPolicy, iam.ManagedPolicy]:
    """``LogsPolicy`` (its own log group only) and ``TracingPolicy`` (X-Ray) on ``role``.

    ``label`` names the function in the policy descriptions.
    """
    logs_policy = iam.ManagedPolicy(
        scope,
        "LogsPolicy",
        description=f"{label}: write to its own log group only",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                sid="WriteOwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        ],
    )
    tracing_policy = iam.ManagedPolicy(
        scope,
        "TracingPolicy",
        description=f"{label}: send X-Ray trace segments (active tracing)",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                sid="SendTraceSegments",
                actions=["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                resources=["*"],
            )
        ],
    )
    acknowledge(
        tracing_policy,
        "AwsSolutions-IAM5[Resource::*]",
        "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
        "permissions; the policy holds only these two actions for active tracing (LOG-07)",
    )
    return logs_policy, tracing_policy
