"""Argument validation shared by every construct.

Bad input must fail before any CloudFormation is produced, with a message that names the
construct, the argument, the value that was given and how to fix it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from aws_cdk import Token


def invalid(construct: str, argument: str, value: Any, fix: str) -> ValueError:
    """Build the one error shape used across the library.

    >>> str(invalid("SecureVpc", "max_azs", 1, "use 2 or more"))
    'SecureVpc: max_azs=1 is invalid; use 2 or more'
    """
    return ValueError(f"{construct}: {argument}={value!r} is invalid; {fix}")


def require_range(construct: str, argument: str, value: float, low: int, high: int) -> None:
    """Raise unless ``low <= value <= high``; tokens (deploy-time values) are accepted as is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(construct, argument, value, f"pass a number between {low} and {high}")
    if Token.is_unresolved(value):
        return
    if not low <= value <= high:
        raise invalid(construct, argument, value, f"use a value between {low} and {high}")


def require_choice(construct: str, argument: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise unless ``value`` is one of ``choices``."""
    allowed = list(choices)
    if value not in allowed:
        raise invalid(construct, argument, value, f"use one of {allowed}")


def require_cidr(
    construct: str, argument: str, value: str, *, allow_world: bool = False, min_prefix: int = 0
) -> None:
    """Raise unless ``value`` is an IPv4 CIDR block (tokens pass; the parameter validates them).

    ``allow_world=False`` rejects ``0.0.0.0/0``; ``min_prefix`` rejects blocks wider than /N.
    """
    if Token.is_unresolved(value):
        return
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise invalid(
            construct, argument, value, f"pass an IPv4 CIDR such as 10.0.0.0/16 ({error})"
        ) from error
    if not allow_world and network.prefixlen == 0:
        raise invalid(
            construct, argument, value, "a world-open CIDR is not allowed; pass your network's CIDR"
        )
    if network.prefixlen < min_prefix:
        raise invalid(construct, argument, value, f"use a prefix of /{min_prefix} or longer")


def require_non_empty(construct: str, argument: str, value: str | None) -> None:
    """Raise when a string argument is missing or blank."""
    if value is None or (not Token.is_unresolved(value) and not value.strip()):
        raise invalid(construct, argument, value, "pass a non-empty value")
