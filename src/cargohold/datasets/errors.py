"""The storage routes' errors, in the one error tree (`errors.py`), with Cargo's reasons."""

from __future__ import annotations

from ..errors import BadRequest, Conflict, NotFound

__all__ = [
    "ColumnNotFound",
    "DatasetNotFound",
    "DuplicateSlug",
    "InvalidFilter",
    "InvalidRecord",
    "ModelNotCompatible",
    "ModelNotFound",
    "QueryNotAllowed",
    "RecordNotFound",
]


class DatasetNotFound(NotFound):
    reason = "datasetNotFound"
    default_message = "Dataset not found"


class ModelNotFound(NotFound):
    reason = "modelNotFound"
    default_message = "Model not found"


class RecordNotFound(NotFound):
    reason = "recordNotFound"
    default_message = "Record not found"


class ColumnNotFound(BadRequest):
    reason = "columnNotFound"


class DuplicateSlug(Conflict):
    reason = "duplicateSlug"


class ModelNotCompatible(BadRequest):
    """A model config that does not fit its dataset (a native extractor on a connector, ...)."""

    reason = "modelNotCompatible"


class InvalidRecord(BadRequest):
    reason = "invalidRecord"


class InvalidFilter(BadRequest):
    reason = "invalidFilter"


class QueryNotAllowed(BadRequest):
    """A query the guard refused, or one the database stopped; the message says why."""

    reason = "queryNotAllowed"
