"""Customer-managed policies every hardened Lambda function needs (IAM-05, LOG-03, LOG-07) and
its own dead-letter queue (CMP-09).

Three cdk-nag packs reject inline policies, so a function's role gets one managed policy per
concern. These are the same for every function: write to its own log group, send X-Ray segments
for active tracing, and send failed asynchronous events to its own encrypted dead-letter queue.
"""

from __future__ import annotations

import re

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
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
    return logs_policy, tracing_policy(scope, role, label)


def tracing_policy(
    scope: Construct, role: iam.IRole, label: str, construct_id: str = "TracingPolicy"
) -> iam.ManagedPolicy:
    """X-Ray segments for a function with active tracing (LOG-07), on ``role``."""
    policy = iam.ManagedPolicy(
        scope,
        construct_id,
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
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
        "permissions; the policy holds only these two actions for active tracing (LOG-07)",
    )
    return policy


def own_dead_letter_queue(
    scope: Construct,
    role: iam.IRole,
    key: kms.IKey,
    label: str,
    *,
    queue_id: str = "DeadLetterQueue",
    policy_id: str = "DeadLetterPolicy",
) -> tuple[sqs.Queue, iam.ManagedPolicy]:
    """A function's own dead-letter queue (KMS, TLS only, 14 days, retained) and the policy on
    ``role`` that lets Lambda send failed asynchronous events to it (CMP-09).

    CloudFormation invokes custom-resource handlers asynchronously: an event the handler cannot
    answer after Lambda's retries lands here instead of vanishing.
    """
    queue = sqs.Queue(
        scope,
        queue_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        removal_policy=RemovalPolicy.RETAIN,
    )
    acknowledge(
        queue,
        "AwsSolutions-SQS3",
        f"this queue is itself the dead-letter queue of the {label.lower()}; a dead-letter "
        "queue of a dead-letter queue would only move the same failed events",
    )
    # The key policy must name the role too: KMS grants nothing through IAM alone unless the key
    # policy delegates to the account for this service (an imported key: its owner adds this).
    words = "".join(word.capitalize() for word in re.split(r"[^A-Za-z0-9]+", label) if word)
    via_sqs = {"StringEquals": {"kms:ViaService": f"sqs.{Stack.of(scope).region}.amazonaws.com"}}
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=f"DeadLettersOnlyAs{words}Role",
            principals=[iam.ArnPrincipal(role.role_arn)],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],
            conditions=via_sqs,
        ),
        True,
    )
    policy = iam.ManagedPolicy(
        scope,
        policy_id,
        description=f"{label}: send failed events to its own DLQ",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                sid="SendToOwnDeadLetterQueue",
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
            ),
            iam.PolicyStatement(
                sid="EncryptForOwnDeadLetterQueue",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"sqs.{Stack.of(scope).region}.amazonaws.com"
                    }
                },
            ),
        ],
    )
    return queue, policy
