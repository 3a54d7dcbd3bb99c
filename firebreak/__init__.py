"""Firebreak: incident-response runbooks as code that runs."""
