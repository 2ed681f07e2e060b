"""The baseline: the same model behind plain FastAPI + uvicorn, same contract, no batching.

Run by the serving benchmark inside the generated repository's environment:
    GP_PACKAGE=iris_classifier MODEL_TAG=iris-classifier:<version> uvicorn ...:app
"""

import importlib
import os

from fastapi import FastAPI

package = os.environ["GP_PACKAGE"]
store = importlib.import_module(f"{package}.model")
payloads = importlib.import_module(f"{package}.payloads")
spec = importlib.import_module(f"{package}.spec")
model = store.load(os.environ["MODEL_TAG"])
classes = store.CONTRACT.task.classes  # the benchmark serves the default (classification) answers

app = FastAPI()


@app.get("/readyz")
def readyz() -> dict:
    """Ready once the module is imported, that is once the model is loaded (as the service's)."""
    return {"ready": True}


@app.post("/predict")
def predict(request: payloads.Features) -> payloads.Prediction:
    probabilities = model.predict(spec.encode(store.CONTRACT.features, [request.__dict__]))[0]
    best = int(probabilities.argmax())
    return payloads.Prediction(
        label=classes[best],
        probability=float(probabilities[best]),
        probabilities=dict(zip(classes, probabilities.tolist(), strict=True)),
        model_version=model.version,
    )
