"""Every id Slack sends back to us, in one place: the listeners and the manifest test read it."""

from __future__ import annotations

# Slash commands (manifest.yml `features.slash_commands`)
KUDOS_COMMAND = "/kudos"

# Shortcuts (manifest.yml `features.shortcuts`)
GIVE_KUDOS_SHORTCUT = "give_kudos"

# Modals
KUDOS_MODAL = "kudos_modal"

# Modal blocks and actions
KUDOS_RECIPIENTS_BLOCK = "kudos_recipients"
KUDOS_RECIPIENTS_ACTION = "recipients"
KUDOS_MESSAGE_BLOCK = "kudos_message"
KUDOS_MESSAGE_ACTION = "message"
KUDOS_VALUES_BLOCK = "kudos_values"
KUDOS_VALUES_ACTION = "values"

# Events we subscribe to (manifest.yml `settings.event_subscriptions.bot_events`)
BOT_EVENTS = ("app_home_opened", "user_change")

COMMANDS = (KUDOS_COMMAND,)
MESSAGE_SHORTCUTS = (GIVE_KUDOS_SHORTCUT,)
