"""Prometheus metrics, in one registry per process (`GET /metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "pulsebot_slack_requests_total",
    "Requests from Slack by kind and status",
    ["kind", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "pulsebot_slack_request_seconds", "Time from request to ack", registry=REGISTRY
)
OUTBOX_SENT = Counter(
    "pulsebot_outbox_sent_total", "Outbox calls Slack accepted", ["method"], registry=REGISTRY
)
OUTBOX_RETRIED = Counter(
    "pulsebot_outbox_retried_total",
    "Outbox calls scheduled again",
    ["method", "reason"],
    registry=REGISTRY,
)
OUTBOX_FAILED = Counter(
    "pulsebot_outbox_failed_total",
    "Outbox calls given up for good",
    ["method", "error"],
    registry=REGISTRY,
)
OUTBOX_RECONCILED = Counter(
    "pulsebot_outbox_reconciled_total",
    "Posts whose answer was lost, looked for in Slack before posting again: found (not posted "
    "again), not_found (posted), unverified (history unreadable: posted, may show twice)",
    ["result"],
    registry=REGISTRY,
)
