"""Maintenance tools of the template repository (`make golden`, `make lock`), apart from tests."""
