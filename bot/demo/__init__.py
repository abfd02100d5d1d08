"""The offline Slack: the Web API emulator that the tests and `pulsebot demo` share.

Production code never imports this package (an import-linter contract says so).
"""
