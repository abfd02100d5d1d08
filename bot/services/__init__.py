"""The domain: plain typed Python over a Session and a clock; no Slack imports."""
