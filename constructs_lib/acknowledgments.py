"""cdk-nag / CloudFormation-validation acknowledgments with an enforced reason.

Every acknowledgment names exactly one finding (``AwsSolutions-IAM4[Policy::...]`` style IDs are
one finding) on the construct that causes it, and says why the finding is acceptable. The helper
refuses vague reasons so that a reviewer can always check the claim.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct

#: A reason shorter than this cannot say what is accepted and why.
MIN_REASON_LENGTH = 40

_VAGUE_REASONS = {"ok", "n/a", "na", "fine", "not needed", "false positive", "todo", "suppressed"}


def check_reason(finding: str, reason: str) -> None:
    """Raise ``ValueError`` unless ``reason`` is a specific, checkable justification."""
    text = reason.strip()
    if text.lower() in _VAGUE_REASONS or len(text) < MIN_REASON_LENGTH:
        raise ValueError(
            f"acknowledge: reason={reason!r} for {finding} is too vague; say in at least "
            f"{MIN_REASON_LENGTH} characters what is accepted and why it is safe"
        )
    if "," in finding or " " in finding.strip():
        raise ValueError(
            f"acknowledge: finding={finding!r} names more than one finding; acknowledge each "
            "finding ID separately"
        )


#: The cdk-nag packs ``app.py`` registers; their rule IDs start with ``<pack>-``.
NAG_PACKS = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")


def qualified_id(finding: str) -> str:
    """The plugin-qualified ID the report expects, e.g. ``AwsSolutions::AwsSolutions-S1``.

    IDs that already name their plugin (``CloudFormation-Validate::F3002``) pass unchanged.
    """
    if "::" in finding.split("[", 1)[0]:
        return finding
    for pack in NAG_PACKS:
        if finding.startswith(f"{pack}-"):
            return f"{pack}::{finding}"
    raise ValueError(
        f"acknowledge: finding={finding!r} belongs to no registered pack {NAG_PACKS}; "
        "pass '<plugin>::<rule>' for other validation plugins"
    )


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one validation finding on ``scope`` (and its children) with a reason."""
    check_reason(finding, reason)
    Validations.of(scope).acknowledge(Acknowledgment(id=qualified_id(finding), reason=reason))


def acknowledge_all(scope: IConstruct, findings: dict[str, str]) -> None:
    """Acknowledge several findings on one construct, each with its own reason."""
    for finding, reason in findings.items():
        acknowledge(scope, finding, reason)


#: What cdk-nag reports for a security-group ingress rule whose CIDR or port is a deploy-time value
#: (a parameter or ``Fn::GetAtt``): it cannot resolve the token, so it cannot rule out a world-open
#: CIDR or an administrative port.
DEPLOY_TIME_RULE_FINDINGS = (
    "AwsSolutions-EC23",
    *(
        f"{pack}-{rule}"
        for pack in NAG_PACKS[1:]
        for rule in ("EC2RestrictedCommonPorts", "EC2RestrictedSSH")
    ),
)


def acknowledge_deploy_time_rule(scope: IConstruct, reason: str) -> None:
    """Acknowledge :data:`DEPLOY_TIME_RULE_FINDINGS` on ``scope``: say where the value comes from
    and what bounds it, so a reviewer can check that it is neither world-open nor an admin port."""
    for finding in DEPLOY_TIME_RULE_FINDINGS:
        acknowledge(scope, finding, reason)


def logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical ID of ``construct`` (or of its default child), for finding IDs.

    cdk-nag embeds logical IDs in some finding IDs, e.g.
    ``AwsSolutions-IAM5[Resource::<LogBucketA1B2C3D4.Arn>/*]``.
    """
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    if not isinstance(element, CfnElement):
        raise ValueError(f"logical_id: {construct.node.path} has no CloudFormation resource")
    resolved = Stack.of(element).resolve(element.logical_id)
    assert isinstance(resolved, str)
    return resolved
