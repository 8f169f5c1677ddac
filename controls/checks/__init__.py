"""The check modules, one per area; importing this package registers every control."""

from __future__ import annotations

from controls.catalogue import Control, registry
from controls.checks import (  # noqa: F401  (imported for their @control registrations)
    audit_logging,
    compute,
    database,
    delivery,
    edge,
    encryption,
    governance,
    iam,
    monitoring,
    network,
    resilience,
    storage,
)

CATALOGUE: dict[str, Control] = registry()
"""Every control by ID, in SPEC order."""
