"""Who may move a report where."""

import pytest

from bot.domain.errors import InvalidTransition
from bot.domain.report import Status
from bot.domain.workflow import Role, allowed_moves, check_move


def test_leads_acknowledge_new_reports_and_work_them_to_resolution():
    path = [Status.NEW, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.WAITING, Status.RESOLVED, Status.CLOSED]
    for current, target in zip(path, path[1:]):
        check_move(Role.LEAD, current, target)


def test_leads_can_reopen_resolved_and_closed_reports():
    check_move(Role.LEAD, Status.RESOLVED, Status.IN_PROGRESS)
    check_move(Role.LEAD, Status.CLOSED, Status.IN_PROGRESS)


@pytest.mark.parametrize("target", [Status.NEW, Status.ACKNOWLEDGED])
def test_nothing_goes_back_to_new_or_acknowledged(target):
    for current in Status:
        assert target not in allowed_moves(Role.LEAD, current) or current is Status.NEW


def test_reporters_may_only_close():
    assert all(allowed_moves(Role.REPORTER, s) <= {Status.CLOSED} for s in Status)
    with pytest.raises(InvalidTransition):
        check_move(Role.REPORTER, Status.NEW, Status.RESOLVED)


def test_the_system_only_escalates_new_reports():
    check_move(Role.SYSTEM, Status.NEW, Status.ESCALATED)
    with pytest.raises(InvalidTransition, match="cannot be moved"):
        check_move(Role.SYSTEM, Status.ACKNOWLEDGED, Status.ESCALATED)
