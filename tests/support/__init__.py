"""Helpers the whole test suite shares: databases, polling, signed requests."""
