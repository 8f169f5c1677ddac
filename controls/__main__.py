"""``python -m controls audit TEMPLATE ...`` — same as the ``hardened-stacks`` command."""

from __future__ import annotations

import sys

from controls.cli import main

sys.exit(main())
