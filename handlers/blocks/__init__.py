"""Pure Block Kit builders: data in, dicts out, unit-tested without Slack."""
