"""Test doubles that load through the production plugin hook (docent/plugins.py)."""
