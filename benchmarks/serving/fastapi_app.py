"""The baseline: the same model behind plain FastAPI + uvicorn, same contract, no batching.

Run by the serving benchmark inside the generated repository's environment:
    GP_PACKAGE=iris_classifier MODEL_TAG=iris-classifier:<version> uvicorn ...:app
"""

import importlib
import os

from fastapi import FastAPI
from pydantic import BaseModel

package = os.environ["GP_PACKAGE"]
model = importlib.import_module(f"{package}.model").load(os.environ["MODEL_TAG"])
schema = importlib.import_module(f"{package}.schema")


class Request(BaseModel):
    features: schema.FeatureVector


app = FastAPI()


@app.post("/predict")
def predict(request: Request) -> schema.Prediction:
    label, probability = model.predict([request.features])[0]
    return schema.Prediction(label=label, probability=probability, model_version=model.version)
