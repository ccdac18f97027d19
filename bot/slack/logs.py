"""Loggers for Bolt and slack_sdk that cannot leak what they handle.

Bolt logs whole request bodies in some messages (a rejected signature, an unhandled request, a
failed listener), and slack_sdk logs request parameters at DEBUG: either could carry report text,
names or tokens. The libraries get their own loggers whose filter keeps warnings and errors only,
cut to their fixed head (Bolt puts the variable part in brackets) with no arguments or tracebacks.
"""

from __future__ import annotations

import logging

# Bolt warns about these at construction when SLACK_BOT_TOKEN is also in the environment; harmless.
_EXPECTED = ("As you gave `client` as well", "As `installation_store` or `authorize` has been used")


class WithholdDetails(logging.Filter):
    """Pass warnings and errors as their fixed wording only; drop everything below WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return False
        message = str(record.msg)
        if message.startswith(_EXPECTED):
            return False
        head = message.split("(", 1)[0].split(":", 1)[0].strip()[:80]
        record.msg = f"{head} (details withheld)"
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def library_logger(name: str) -> logging.Logger:
    """A logger for a Slack library, under `staffsafe.lib`, with details withheld."""
    logger = logging.getLogger(f"staffsafe.lib.{name}")
    if not any(isinstance(f, WithholdDetails) for f in logger.filters):
        logger.addFilter(WithholdDetails())
    logger.setLevel(logging.WARNING)
    return logger


def quiet_slack_libraries() -> None:
    """Raise the Slack libraries' own module loggers to WARNING, whatever the root level is."""
    for name in ("slack_bolt", "slack_sdk"):
        logging.getLogger(name).setLevel(logging.WARNING)
