"""Test support shared by tests/ and bench/: fakes of the remote side (Slack Web API, Socket Mode, clock,
notifier), the Slack bot harness and builders of test records. Never imported by the product."""
