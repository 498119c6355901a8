-- Users of each authority (version 2): for its local data administrators and the data
-- administrators of its validating coordinator. The identity (name, e-mail, login) is personal
-- data and is kept exactly as the event carries it: sealed under the user's own data key, opened
-- by the gateway for callers allowed to see it, unreadable once the key is erased. No
-- credentials: only that and when a password was reset, and by whom.
CREATE TABLE users
(
    authority_id                     text        NOT NULL,
    user_id                          text        NOT NULL,
    -- {"key": "User/<id>", "alg": "A256GCM", "nonce": "...", "ct": "..."}
    identity                         jsonb       NOT NULL,
    local_data_administrator         boolean     NOT NULL,
    active                           boolean     NOT NULL,
    -- {area: [role, ...]}
    roles                            jsonb       NOT NULL,
    registered_at                    timestamptz NOT NULL,
    updated_at                       timestamptz NOT NULL,
    password_resets                  integer     NOT NULL,
    last_password_reset_at           timestamptz,
    last_password_reset_by_user      text,
    last_password_reset_by_authority text,
    PRIMARY KEY (authority_id, user_id)
);
CREATE INDEX users_by_id ON users (user_id);

-- One row per role a user holds in an area, for "who holds role R in area A".
CREATE TABLE user_roles
(
    authority_id text NOT NULL,
    user_id      text NOT NULL,
    area         text NOT NULL,
    role         text NOT NULL,
    PRIMARY KEY (authority_id, user_id, area, role)
);
CREATE INDEX user_roles_by_role ON user_roles (authority_id, area, role);

-- Each authority's named contact person (personal data), sealed under the authority's key as
-- the event carries it; no row when it names none.
CREATE TABLE contact_persons
(
    authority_id   text PRIMARY KEY,
    -- {"key": "Authority/<id>", "alg": "A256GCM", "nonce": "...", "ct": "..."}
    contact_person jsonb NOT NULL
);

CREATE TABLE sequences
(
    aggregate_id text PRIMARY KEY,
    sequence     bigint NOT NULL
);
