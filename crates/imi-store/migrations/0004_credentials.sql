-- Credentials are mutable and never enter events: events only record that a password was set
-- or reset, and by whom. A login name maps to one user of one authority.
CREATE TABLE credentials
(
    user_id       text PRIMARY KEY,
    authority_id  text NOT NULL,
    login         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    failed_logins integer NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
