"""The typed request and response contract of the service.

Every constraint here is enforced before the model sees a request: a request that breaks one gets a
400 naming the field, never a 5xx. Change these together with the model (see docs/onboarding.md).
"""

from typing import Annotated

from pydantic import BaseModel, Field

# The example model classifies iris flowers from four measurements in centimetres.
FEATURE_NAMES = ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")
N_FEATURES = len(FEATURE_NAMES)
FEATURE_MIN = 0.0
FEATURE_MAX = 100.0
MAX_BATCH_SIZE = 256
# A valid row: used for the warm-up prediction at start and in the OpenAPI examples.
EXAMPLE_ROW = (5.1, 3.5, 1.4, 0.2)

Feature = Annotated[
    float,
    Field(
        ge=FEATURE_MIN,
        le=FEATURE_MAX,
        allow_inf_nan=False,
        description=f"A measurement in cm, finite, between {FEATURE_MIN} and {FEATURE_MAX}.",
    ),
]

FeatureVector = Annotated[
    list[Feature],
    Field(
        min_length=N_FEATURES,
        max_length=N_FEATURES,
        description=f"Exactly {N_FEATURES} features, in this order: {', '.join(FEATURE_NAMES)}.",
        examples=[list(EXAMPLE_ROW)],
    ),
]

Batch = Annotated[
    list[FeatureVector],
    Field(
        min_length=1,
        max_length=MAX_BATCH_SIZE,
        description=f"Between 1 and {MAX_BATCH_SIZE} feature vectors.",
        examples=[[list(EXAMPLE_ROW), [6.7, 3.0, 5.2, 2.3]]],
    ),
]


class Prediction(BaseModel):
    """One prediction, with the model version that made it."""

    label: str = Field(description="The predicted class name.")
    probability: float = Field(ge=0.0, le=1.0, description="The probability of that class.")
    model_version: str = Field(description="The model store tag of the model that answered.")
