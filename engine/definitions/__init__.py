"""Indicator sets: versioned JSON Schema documents with declared x- keywords (see docs/definitions.md).

``load_indicator_set`` checks everything at load time and returns a frozen model; ``mappings`` carries
values and comparisons across versions.
"""

from engine.definitions.hashing import canonical_json, content_hash
from engine.definitions.kinds import KIND_TABLE
from engine.definitions.loader import (
    check_indicator_set,
    discover,
    load_all,
    load_indicator_file,
    load_indicator_set,
    open_proposals,
)
from engine.definitions.mappings import (
    Correspondence,
    carry_forward,
    carry_forward_across,
    correspondence,
    correspondence_across,
)
from engine.definitions.model import FieldMapping, FieldSpec, IndicatorSet, MappingSpec, RuleSpec
from engine.definitions.vocabulary import SUPPORTED_KEYWORDS

__all__ = [
    "KIND_TABLE",
    "SUPPORTED_KEYWORDS",
    "Correspondence",
    "FieldMapping",
    "FieldSpec",
    "IndicatorSet",
    "MappingSpec",
    "RuleSpec",
    "canonical_json",
    "carry_forward",
    "carry_forward_across",
    "check_indicator_set",
    "content_hash",
    "correspondence",
    "correspondence_across",
    "discover",
    "load_all",
    "load_indicator_file",
    "load_indicator_set",
    "open_proposals",
]
