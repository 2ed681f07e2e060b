"""The platform's Kubernetes policies: checkov custom checks (Python) and policies (YAML).

checkov loads every file of this folder (`--external-checks-dir`); it needs this file to load the
Python ones. `make policy` runs them on the chart rendered with every values file.
"""
