-- Alert work queues (version 1): per authority, the alerts waiting for it to acknowledge,
-- disseminate, broadcast, broadcast additional information, comment, object or close. Derived
-- from the domain's AlertSummary::queues; the time-bound queues follow the facts of time the
-- scheduler records.
CREATE TABLE queue
(
    authority_id text        NOT NULL,
    alert_id     text        NOT NULL,
    -- ToBroadcast, ToAcknowledge, ToDisseminate, ToComment, ToObject, InformationToBroadcast,
    -- ToClose
    queue        text        NOT NULL,
    area         text        NOT NULL,
    kind         text        NOT NULL,
    since        timestamptz NOT NULL,
    PRIMARY KEY (authority_id, queue, alert_id)
);
CREATE INDEX queue_by_alert ON queue (alert_id);

CREATE TABLE alert_states
(
    alert_id text PRIMARY KEY,
    state    jsonb NOT NULL
);

CREATE TABLE sequences
(
    aggregate_id text PRIMARY KEY,
    sequence     bigint NOT NULL
);
