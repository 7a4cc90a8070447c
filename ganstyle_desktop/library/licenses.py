"""What a licence note allows: free text (as manifests and catalogs hold it) read for
the two restrictions that matter before training or shipping a model."""

from __future__ import annotations

import re
from collections.abc import Iterable

NON_COMMERCIAL = "non-commercial"
TESTS_ONLY = "tests and benchmarks only"

_NON_COMMERCIAL = re.compile(r"non[-\s]?commercial|\bCC[-\s]?BY[-\w]*NC\b", re.IGNORECASE)
_TESTS_ONLY = re.compile(r"tests?\s+(and|&)\s+benchmarks?\s+only|do not ship", re.IGNORECASE)


def restriction_of(licenses: str | Iterable[str]) -> str:
    """The strongest restriction any of ``licenses`` states: :data:`TESTS_ONLY`,
    :data:`NON_COMMERCIAL`, or "" when none is stated."""
    texts = [licenses] if isinstance(licenses, str) else list(licenses)
    if any(_TESTS_ONLY.search(t) for t in texts):
        return TESTS_ONLY
    if any(_NON_COMMERCIAL.search(t) for t in texts):
        return NON_COMMERCIAL
    return ""
