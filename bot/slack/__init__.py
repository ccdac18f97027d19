"""The Slack adapter: Bolt listeners that translate payloads to handler calls and render replies as Block Kit."""
