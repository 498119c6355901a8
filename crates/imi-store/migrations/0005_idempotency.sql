-- Finds the events a client request already produced, by the idempotency key it sent, so a
-- retried request is answered without running its command twice.
CREATE INDEX events_idempotency ON events (aggregate_type, aggregate_id, (metadata ->> 'idempotency_key'))
    WHERE metadata ->> 'idempotency_key' IS NOT NULL;
