"""iris-classifier: the model service package."""
