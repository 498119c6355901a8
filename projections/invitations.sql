-- Invitations to register (version 1): each invited authority from its invitation until it
-- registers, for the inviting coordinator's data administrators. The address the code was sent
-- to is kept exactly as the event carries it: sealed under the invited authority's key.
CREATE TABLE invitations
(
    authority_id  text PRIMARY KEY,
    invited_by    text        NOT NULL,
    member_state  text        NOT NULL,
    kind          text        NOT NULL,
    region        text,
    areas         text[]      NOT NULL,
    -- {"key": "Authority/<id>", "alg": "A256GCM", "nonce": "...", "ct": "..."}
    contact_email jsonb       NOT NULL,
    invited_at    timestamptz NOT NULL,
    renewals      integer     NOT NULL,
    renewed_at    timestamptz,
    expires_at    timestamptz NOT NULL,
    -- pending | expired | registered
    state         text        NOT NULL,
    registered_at timestamptz
);
CREATE INDEX invitations_by_coordinator ON invitations (invited_by, invited_at DESC, authority_id);

CREATE TABLE sequences
(
    aggregate_id text PRIMARY KEY,
    sequence     bigint NOT NULL
);
