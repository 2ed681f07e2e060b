"""Batch scoring, in rooms: see score.py, its command line."""
