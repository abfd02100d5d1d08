"""Who gets told what: every outbox write and its idempotency key scheme, one module per
feature. Listeners and jobs both call here, so what goes out lives in one place."""
