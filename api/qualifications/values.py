"""The shape of a draft's values: only known fields are kept, each as typed.

A draft is saved on every step and may be incomplete or wrong (the checks report that, they
never refuse the save: nothing typed is lost). What is refused is what no form can produce:
unknown shapes, strings over 1,000 characters, control or bidirectional formatting
characters (``api.kit.text``), more than 100 offices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.errors import ValidationFailed
from api.kit.text import has_bidi_controls, has_control_chars
from api.qualifications import catalog
from api.qualifications.form import KENCHIKU_CPD
from api.qualifications.offices import MAX_OFFICES

MAX_TEXT = 1000
S, B = "s", "b"
_STRS = ["s"]
PERMIT = {"authority": S, "number": S, "date": S}
FORMER = {"authority": S, "number": S, "changed_on": S, "reason": S}
CONTACT = {"department": S, "name": S, "phone": S, "fax": S, "email": S}
COMPANY = {
    "kind": S,
    "corporate_number": S,
    "name_kana": S,
    "name": S,
    "rep_title": S,
    "rep_name": S,
    "postal_code": S,
    "city_code": S,
    "address": S,
    "building": S,
    "permit": PERMIT,
    "former_permit": FORMER,
    "phone": S,
    "fax": S,
    "email": S,
    "email_kind": S,
    "local_offices": S,
    "kensaibou": S,
    "contact": CONTACT,
}
POINTS = {
    "cpds_units": S,
    "kenchiku_cpd": {key: S for key, _ in KENCHIKU_CPD},
    "zouen_cpd_units": S,
    "disability": S,
    "disaster": S,
    "adopt": S,
    "family_support": S,
    "work_style": S,
    "eco": S,
    "eco_date": S,
    "fire_brigade": S,
    "cooperating": S,
    "street_tree": S,
}
CATEGORY = {"permit_kind": S, "p": S, "staff1": S, "staff2": S, "staff_other": S, "average": S}
REVIEW = {
    "permit": {"authority": S, "number": S},
    "base_date": S,
    "insurance": {"employment": S, "health": S, "pension": S},
    "iso14001": S,
    "categories": "categories",
}
OFFICE = {
    "name_kana": S,
    "name": S,
    "rep_title": S,
    "rep_name": S,
    "postal_code": S,
    "city_code": S,
    "address": S,
    "building": S,
    "phone": S,
    "fax": S,
    "email": S,
    "email_kind": S,
    "categories": _STRS,
    "eco": S,
}
VALUES: dict[str, Any] = {
    "targets": _STRS,
    "no_tax": _STRS,
    "company": COMPANY,
    "points": POINTS,
    "review": REVIEW,
    "offices": {"mode": S, "items": "offices"},
    "attachment": {"id": S, "title": S, "checked": B},
}


def normalize(raw: Any) -> dict[str, Any]:
    """The values as stored: known fields only, each as typed; refuses impossible input."""
    walked: dict[str, Any] = _walk(raw, VALUES, "values")
    return walked


def _walk(raw: Any, spec: Any, path: str) -> Any:
    if spec == S:
        if raw is None:
            return ""
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise _bad(path)
        text = str(raw)
        if len(text) > MAX_TEXT or has_control_chars(text) or has_bidi_controls(text):
            raise ValidationFailed(
                "入力できない文字（改行・制御文字など）が含まれているか、長すぎます。",
                field=path.removeprefix("values."),
            )
        return text
    if spec == B:
        if raw is None:
            return False
        if not isinstance(raw, bool):
            raise _bad(path)
        return raw
    if isinstance(spec, list):
        if raw is None:
            return []
        if not isinstance(raw, list) or len(raw) > 100:
            raise _bad(path)
        return [_walk(x, spec[0], path) for x in raw]
    if spec == "categories":
        if raw is None:
            return {}
        if not isinstance(raw, Mapping) or len(raw) > len(catalog.CATEGORIES):
            raise _bad(path)
        return {
            str(code): _walk(row, CATEGORY, f"{path}.{code}")
            for code, row in raw.items()
            if code in catalog.CATEGORY_BY_CODE
        }
    if spec == "offices":
        if raw is None:
            return []
        if not isinstance(raw, list) or len(raw) > MAX_OFFICES:
            raise ValidationFailed(f"営業所は{MAX_OFFICES}箇所までです。", field="offices.mode")
        return [_walk(x, OFFICE, f"{path}.{i}") for i, x in enumerate(raw)]
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise _bad(path)
    return {key: _walk(raw.get(key), sub, f"{path}.{key}") for key, sub in spec.items()}


def _bad(path: str) -> ValidationFailed:
    return ValidationFailed("入力の形式が正しくありません。", field=path.removeprefix("values."))


def merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with the top-level sections of ``changes`` replacing its own (a step saves
    the sections it shows)."""
    return {**base, **{k: v for k, v in changes.items() if k in VALUES}}


def normalize_sections(raw: Any) -> dict[str, Any]:
    """Only the top-level sections present in ``raw`` (a step's autosave), normalized."""
    if not isinstance(raw, Mapping):
        raise _bad("values")
    unknown = [k for k in raw if k not in VALUES]
    if unknown:
        raise _bad(f"values.{unknown[0]}")
    return {key: _walk(raw[key], VALUES[key], f"values.{key}") for key in raw}
