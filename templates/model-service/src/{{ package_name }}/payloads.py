"""The request and response types of the service, built from the model contract.

Each feature becomes a named field with its rule: a number must be finite and within its bounds, a
categorical one of its values, and only a nullable feature may be null or left out. A request that
breaks a rule gets a 400 naming the field, never a 5xx; unknown fields are rejected too, so a typo
in a feature name never silently becomes a missing value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model
from pydantic_core import PydanticCustomError

from .model import CONTRACT
from .settings import MAX_BATCH_SIZE
from .spec import Feature, Integer, Numeric


def _nullable(schema: dict[str, Any]) -> None:
    """OpenAPI 3.0 (what BentoML serves) has no `type: "null"`: the type with `nullable: true`."""
    options = [option for option in schema.pop("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    schema["nullable"] = True


def _whole(value: float) -> float:
    if not value.is_integer():
        raise PydanticCustomError("whole_number", "Input should be a whole number")
    return value


def _field(feature: Feature) -> tuple[Any, Any]:
    if isinstance(feature, Integer):  # a number too, whose fraction must be 0
        rule = f"a whole number from {feature.minimum} to {feature.maximum}"
        kind: Any = Annotated[
            float,
            Field(
                ge=feature.minimum,
                le=feature.maximum,
                allow_inf_nan=False,
                strict=True,
                json_schema_extra={"type": "integer"},
            ),
            AfterValidator(_whole),
        ]
    elif isinstance(feature, Numeric):
        rule = f"a finite number from {feature.minimum} to {feature.maximum}"
        kind = Annotated[
            float,
            Field(ge=feature.minimum, le=feature.maximum, allow_inf_nan=False, strict=True),
        ]
    else:
        rule = "one of " + ", ".join(repr(v) for v in feature.values)
        kind = Literal[feature.values]
    description = " ".join(filter(None, [feature.description, f"({rule})."]))
    if feature.nullable:
        return kind | None, Field(
            default=None, description=description + " May be null.", json_schema_extra=_nullable
        )
    return kind, Field(description=description)


Features: type[BaseModel] = create_model(
    "Features",
    # OpenAPI 3.0's `example` (BentoML serves OpenAPI 3.0.2, whose schema objects take no
    # JSON Schema `examples` list).
    __config__=ConfigDict(extra="forbid", json_schema_extra={"example": CONTRACT.examples[0]}),
    __doc__="One row of named input features.",
    **{feature.name: _field(feature) for feature in CONTRACT.features},
)

Batch = Annotated[
    list[Features],  # type: ignore[valid-type]
    Field(
        min_length=1,
        max_length=MAX_BATCH_SIZE,
        description=f"Between 1 and {MAX_BATCH_SIZE} rows, each an object of named features.",
        # OpenAPI 3.0's `example`: JSON Schema's `examples` list is not allowed there.
        json_schema_extra={"example": [*CONTRACT.examples]},
    ),
]

_VERSION = Field(description="The model store version of the model that answered.")

Prediction: type[BaseModel] = create_model(
    "Prediction",
    __doc__=CONTRACT.task.response_doc,
    **CONTRACT.task.response_fields(),
    model_version=(str, _VERSION),
)


# A value the request did not send, or that could not be read.
ABSENT = object()


def problem(loc: Sequence[str | int], message: str, value: Any = ABSENT) -> str:
    """One refused value, worded alike in a 400's `error` and a batch reject's reason:
    `field: why (got value)`."""
    field = ".".join(map(str, loc)) or "row"
    return f"{field}: {message}" + ("" if value is ABSENT else f" (got {value!r})")


def value_at(document: Any, loc: Sequence[str | int]) -> Any:
    """The value at a validation error's location in a request body, or ABSENT."""
    for key in loc:
        in_object = isinstance(document, dict) and key in document
        in_list = isinstance(document, list) and isinstance(key, int) and 0 <= key < len(document)
        if not (in_object or in_list):
            return ABSENT
        document = document[key]
    return document


def rows_of(items: list[BaseModel]) -> list[dict[str, Any]]:
    """Validated request rows as plain dicts of feature name to value."""
    return [item.__dict__ for item in items]


if __name__ == "__main__":
    # `make request`: the contract's first example, as the body of a /predict request.
    print(json.dumps(CONTRACT.examples[0]))
