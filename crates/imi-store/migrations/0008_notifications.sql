-- Notifications: operational state beside the `notifications` projection (which says WHAT is
-- to be announced, to whom, and is rebuilt from the log at will). What happened to each
-- notification since (sent by e-mail, read in the app) cannot be rebuilt from the log, so it
-- lives here, keyed by the projection's deterministic notification ids: a rebuild neither
-- resends a mail nor marks a read notification unread.

-- E-mail delivery, one row per notification once a sender has claimed it.
CREATE TABLE notification_deliveries
(
    notification_id text PRIMARY KEY,
    -- 'sending': claimed, until claimed_until; 'retry': failed, again at next_attempt_at;
    -- 'sent'; 'failed': gave up after the last attempt; 'skipped': nothing to send (no
    -- address) or older than the sender's horizon when first seen.
    state           text        NOT NULL CHECK (state IN ('sending', 'retry', 'sent', 'failed', 'skipped')),
    attempts        integer     NOT NULL DEFAULT 0,
    claimed_by      text,
    claimed_until   timestamptz,
    next_attempt_at timestamptz,
    last_error      text,
    message_id      text,
    sent_at         timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_deliveries_by_state ON notification_deliveries (state, next_attempt_at);

-- In-app: which notifications a user has read.
CREATE TABLE notification_reads
(
    user_id         text        NOT NULL,
    notification_id text        NOT NULL,
    read_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, notification_id)
);

-- Registration codes waiting to be mailed. The event keeps only the code's SHA-256; the code
-- itself is sealed under the invited authority's data key (erasing that key erases it) and
-- kept here until the mail is sent, so the sender can put it in the mail and nobody else ever
-- sees it. Deleted once sent or expired.
CREATE TABLE registration_codes
(
    code_digest  text PRIMARY KEY,
    authority_id text        NOT NULL,
    -- {"key": "Authority/<id>", "alg": "A256GCM", "nonce": "...", "ct": "..."}
    code         jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registration_codes_by_authority ON registration_codes (authority_id);

-- The scheduler's record of the time rules it acted on (one row per deadline id), so a
-- restart never acts twice and the status shows what was done when.
CREATE TABLE deadline_actions
(
    deadline_id text PRIMARY KEY,
    -- 'done': the command was accepted or found already done; 'refused': the aggregate refused it
    outcome     text        NOT NULL CHECK (outcome IN ('done', 'refused')),
    detail      text,
    acted_at    timestamptz NOT NULL DEFAULT now()
);
