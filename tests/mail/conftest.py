"""A real SMTP server (aiosmtpd on 127.0.0.1) for the mail tests."""

from __future__ import annotations

import pytest

from tests.fakes.smtp import SmtpServer


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()
