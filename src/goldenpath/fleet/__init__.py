"""Keeping a fleet of generated repositories on the current template: status and update."""
