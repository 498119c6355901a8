-- Failed sign-ins, per login name and per client address (imi_store::throttle): mutable
-- counters every gateway process shares and a restart keeps, never events. A login name is
-- counted whether or not it exists, so throttling does not tell which do.
CREATE TABLE login_throttle
(
    scope        text        NOT NULL CHECK (scope IN ('login', 'address')),
    key          text        NOT NULL,
    -- Failed (or still running) attempts: since the last success or lockout for a login,
    -- within the window starting at window_start for an address.
    failures     integer     NOT NULL DEFAULT 0,
    window_start timestamptz NOT NULL,
    -- Lockouts in a row (each twice as long as the one before), and when the last one ends.
    lockouts     integer     NOT NULL DEFAULT 0,
    locked_until timestamptz,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX login_throttle_updated_at ON login_throttle (updated_at);
