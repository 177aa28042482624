"""Masking holds whatever shape a stored draft has: a draft saves what was sent (nothing lost), so a
section sent as a list must not carry a personal value past the mask."""

from __future__ import annotations

from engine.definitions import load_indicator_file
from engine.masking import MASK, mask_document
from tests.conftest import ROOT

V1 = load_indicator_file(ROOT / "definitions/indicators/village_basic/v1.json")


def test_personal_fields_are_masked_in_the_shape_the_definition_gives():
    masked = mask_document(V1, {"filler": {"filler_name": "陈芳", "filler_phone": "13900001234"}})
    assert masked["filler"]["filler_phone"] == MASK


def test_a_section_stored_in_another_shape_is_masked_whole():
    for odd in ([{"filler_phone": "13900001234"}], "13900001234", [["13900001234"]]):
        assert mask_document(V1, {"filler": odd})["filler"] == MASK


def test_a_section_without_personal_fields_is_shown_in_any_shape():
    assert mask_document(V1, {"population": [1, 2]})["population"] == [1, 2]
