"""Unexpected errors are logged by class and stack, never by message."""

import logging

from bot.incidents import log_incident


def test_an_incident_logs_the_error_class_and_place_but_not_its_message(caplog):
    log = logging.getLogger("test")
    try:
        raise ValueError("SECRET report words")
    except ValueError as error:
        incident = log_incident(log, "report.submit", error)
    assert incident in caplog.text and "ValueError" in caplog.text and "test_incidents.py" in caplog.text
    assert "SECRET" not in caplog.text
