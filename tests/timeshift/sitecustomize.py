"""Tests only: a process started by the tests lives on their moved wall clock.

The test run puts this folder on the PYTHONPATH of every server and CLI it starts when
TESTS_TIME_SHIFT_DAYS is set, so they share the test process's moved clock (and request
signatures stay within Slack's 5 minutes). Never a product setting: only tests/ reads it.
"""

from clock_shift import start_shift

start_shift()
