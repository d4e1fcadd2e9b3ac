"""Partial updates (PATCH bodies): a field left out keeps its value; ``null`` is accepted only
for the fields that may be empty in the stored record (issue 7 item 8: ``"name": null`` was
stored, and every list that had to render the record answered 500 from then on).

``class OrganizationUpdate(Patch)`` with ``nullable = frozenset({"code"})``: an explicit
``null`` anywhere else is a 422 naming the field, and the OpenAPI schema shows those fields
as not nullable.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from api.errors import ValidationFailed

NULL_MESSAGE = "この項目は空（null）にできません。"


def _drop_null(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    nullable: frozenset[str] = getattr(cls, "nullable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name in nullable or "anyOf" not in prop:
            continue
        kept = [branch for branch in prop["anyOf"] if branch != {"type": "null"}]
        if len(kept) == 1:
            del prop["anyOf"]
            prop.update(kept[0])
        else:
            prop["anyOf"] = kept
        if prop.get("default", 0) is None:
            del prop["default"]


class Patch(BaseModel):
    """Base of PATCH bodies; list the fields that may be cleared in ``nullable``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null)

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise PydanticCustomError("null_not_allowed", NULL_MESSAGE)
        return value


def renderable(read_model: type[BaseModel], record: dict[str, Any]) -> None:
    """Refuse (400) a change whose result the API could not show: a record that cannot
    render must never be stored."""
    try:
        read_model.model_validate(record)
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")})
        raise ValidationFailed(
            "この変更を保存すると内容を表示できなくなります。", fields=fields
        ) from exc
