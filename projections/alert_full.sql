-- Alerts, full view (version 2): the content and every entry of the alert's history (sent back,
-- additional information and requests, closure proposal, comments, objections, rejection,
-- withdrawal). Personal data and free text stay exactly as the events carry them: sealed under
-- the alert's key (Alert/<id>); the gateway opens them only for callers whose view level
-- allows, and nothing opens once the key is erased.
CREATE TABLE alerts
(
    alert_id   text PRIMARY KEY,
    -- {"Services": {...}} or {"ProfessionalQualifications": {...}}, sealed values inside
    content    jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE entries
(
    alert_id       text        NOT NULL,
    sequence       bigint      NOT NULL,
    -- SentBack, Information, InformationRequest, ClosureProposal, Comment, ClosureRejection,
    -- Objection, Withdrawal
    entry          text        NOT NULL,
    authority_id   text        NOT NULL,
    information_id text,
    -- Whether additional information or a closure proposal was broadcast by its coordinator
    -- (other entries: true).
    broadcast      boolean     NOT NULL,
    -- Sealed ({"key": "Alert/<id>", ...}).
    text           jsonb       NOT NULL,
    attachments    jsonb       NOT NULL,
    at             timestamptz NOT NULL,
    PRIMARY KEY (alert_id, sequence)
);

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
