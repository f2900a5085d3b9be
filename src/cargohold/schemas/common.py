"""Shared wire pieces: camelCase models, UUID v4, and the error body."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from .safe import readable

__all__ = ["UUID4", "CamelModel", "ErrorBody", "RequestModel", "check_uuid4"]


def check_uuid4(value: uuid.UUID) -> uuid.UUID:
    if value.version != 4 or value.variant != uuid.RFC_4122:
        raise ValueError("must be a UUID v4")
    return value


UUID4 = Annotated[uuid.UUID, AfterValidator(check_uuid4)]
"""Cargo's ids: UUID v4 only (variant 8/9/a/b)."""


class CamelModel(BaseModel):
    """A wire model: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True, from_attributes=True
    )

    @model_validator(mode="after")
    def _readable(self) -> CamelModel:
        # Every wire model can be answered, whatever a row holds: a value stored before the input
        # checks (deep JSON, a lone surrogate) is repaired here instead of failing the whole read.
        for name, value in self.__dict__.items():
            if isinstance(value, str | dict | list):
                fixed = readable(value)
                if fixed is not value:
                    self.__dict__[name] = fixed
        return self


class RequestModel(CamelModel):
    """A request body: an unknown top-level field is a 400 naming it (Cargo's
    `additionalProperties: false`)."""

    model_config = ConfigDict(extra="forbid", validate_by_name=False, validate_by_alias=True)


class ErrorBody(BaseModel):
    errorMessage: str = Field(description="What went wrong, for a person to read.")
    reason: str | None = Field(default=None, description="A machine-readable code, e.g. `chatNotFound`.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad input: the message names the field"},
    401: {"model": ErrorBody, "description": "Missing or invalid API token"},
    404: {"model": ErrorBody, "description": "Not found in this workspace"},
    413: {"model": ErrorBody, "description": "The request body is larger than `CARGOHOLD_MAX_BODY_BYTES`"},
}
