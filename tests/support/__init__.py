"""What the tests share: factories of events, lanes on the real services, and helpers to read them back.

Fixtures live in tests/conftest.py (pytest finds them); everything a test
imports comes from here, never from a conftest.
"""
