"""An in-project Slack Web API emulator for the tests and the demo.

`server` serves it over HTTP and owns recording, rate limits and faults; `users`,
`conversations`, `chat`, `views` and `files` answer their method families over the workspace
that `state` holds; `blockkit` checks blocks and views as Slack does; `parsing` and `webapi` are
what a request becomes on the way in and out; `limits` models Slack's rate limits.
"""

from bot.demo.emulator.server import LOST_AFTER, LOST_BEFORE, SlackEmulator
from bot.demo.emulator.webapi import Call

__all__ = ["LOST_AFTER", "LOST_BEFORE", "Call", "SlackEmulator"]
