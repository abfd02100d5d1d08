"""Getting messages to Slack exactly once, at a pace Slack accepts."""
