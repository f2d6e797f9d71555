"""The emulator tests' own fixtures, reused: an emulator delivering over HTTP to a Bolt app the test
listens with, so that the contract tests read what the emulator really sends."""

from tests.emulator.conftest import app_secret, bolt_http

__all__ = ["app_secret", "bolt_http"]
