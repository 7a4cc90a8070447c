"""Where training images come from: the ``MANIFEST.csv`` beside a folder of artworks, the
rows it holds for the files a run uses, and the licence terms that limit what may be done
with a model trained on them (non-commercial sets).

One reader for the CLI (``ganstyle-cli train`` records the rows on the model card) and the
desktop app (the check before Start warns about non-commercial sets).
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST_NAME = "MANIFEST.csv"
MANIFEST_SEARCH_DEPTH = 4  # the style folder and up to 3 parents
LICENSE_KEYS = ("license", "license_note", "licence", "rights")
# "NON-COMMERCIAL", "non commercial", "noncommercial", "CC-BY-NC-SA", "CC BY-NC 4.0"
_NONCOMMERCIAL = re.compile(r"non[\s-]?commercial|\bcc[\s-]by[\s-](?:[a-z]{2}[\s-])*nc\b", re.I)
# Sets published for research or testing only ("tests/benchmarks only", "research use only")
_TESTS_ONLY = re.compile(r"\b(?:tests?|benchmarks?|research)(?:/\w+)?\s+(?:use\s+)?only\b", re.I)


def find_manifest(folder: Path) -> Path | None:
    """The nearest MANIFEST.csv in ``folder`` or its parents."""
    current = Path(folder).resolve()
    for _ in range(MANIFEST_SEARCH_DEPTH):
        candidate = current / MANIFEST_NAME
        if candidate.is_file():
            return candidate
        if current.parent == current:
            break
        current = current.parent
    return None


def manifest_provenance(files: list[Path], manifest: Path) -> tuple[list[dict], dict[str, str]]:
    """Manifest rows of ``files`` (paths in it are relative to its folder) and the
    tags they share: ``{"culture": <most common culture_or_region>}``."""
    root = manifest.parent.resolve()
    try:
        with open(manifest, newline="", encoding="utf-8-sig") as fh:
            rows = {
                (row.get("path") or "").strip().replace("\\", "/"): row
                for row in csv.DictReader(fh)
            }
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        log.warning("%s: cannot be read (%s); no provenance recorded", manifest, exc)
        return [], {}
    provenance: list[dict] = []
    for f in files:
        try:
            rel = Path(f).resolve().relative_to(root).as_posix()
        except ValueError:
            continue
        row = rows.get(rel)
        if row is not None:
            provenance.append({k: (v or "") for k, v in row.items() if k is not None})
    cultures = Counter(r.get("culture_or_region", "") for r in provenance)
    cultures.pop("", None)
    tags = {"culture": cultures.most_common(1)[0][0]} if cultures else {}
    return provenance, tags


def license_text(row: Mapping[str, object]) -> str:
    return " ".join(str(row.get(k) or "") for k in LICENSE_KEYS).strip()


def is_noncommercial(text: str) -> bool:
    """The licence note forbids commercial use (NC licences and plain words)."""
    return bool(_NONCOMMERCIAL.search(text or ""))


def is_tests_only(text: str) -> bool:
    return bool(_TESTS_ONLY.search(text or ""))


def restricted_rows(rows: Iterable[Mapping[str, object]]) -> tuple[list[str], list[str]]:
    """(files whose licence is non-commercial, files released for tests/research only),
    named as the rows name them."""
    noncommercial: list[str] = []
    tests_only: list[str] = []
    for row in rows:
        text = license_text(row)
        name = str(row.get("path") or row.get("original_name") or row.get("file") or "?")
        if is_noncommercial(text):
            noncommercial.append(name)
        elif is_tests_only(text):
            tests_only.append(name)
    return noncommercial, tests_only
