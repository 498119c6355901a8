-- The notification outbox (version 3): what IMI announces, to whom, derived from the log.
-- One row per (event, recipient); the id is deterministic (`<type>/<aggregate>/<sequence>/<n>`)
-- so a rebuild produces the same ids, and the delivery and read state kept beside it in the
-- public schema (notification_deliveries, notification_reads) stays attached.
-- No personal data in the clear: the address of an invited authority travels sealed as the
-- event carried it; users' and authorities' addresses are looked up when a mail is sent.
-- Keys are compared byte by byte (COLLATE "C"): they are identifiers, never sorted for a
-- reader's language, and byte order lets PostgreSQL compare them without the locale (at the
-- EU's size a rebuild in about 0.9x of the time, docs/BENCHMARKS.md).
-- Where a key is joined to another table's (the directory, the users' roles), the query names
-- that table's collation, so that its index still serves the join.
CREATE TABLE notifications
(
    -- the key (below)
    id                  text        COLLATE "C" NOT NULL,
    -- feed position of the event that caused it: the order the in-app stream follows
    xid                bigint      NOT NULL,
    position            bigint      NOT NULL,
    kind                text        NOT NULL,
    aggregate_type      text        NOT NULL,
    aggregate_id        text        NOT NULL,
    -- who: an authority (all its users, or those holding `role`, in `area` when given) or one user
    recipient_authority text        COLLATE "C",
    recipient_user      text        COLLATE "C",
    area                text,
    role                text,
    -- where the mail goes: 'sealed' (the address in `email`), 'user', 'authority', or 'none'
    email_to            text        NOT NULL CHECK (email_to IN ('sealed', 'user', 'authority', 'none')),
    email               jsonb,
    -- non-personal facts the texts name (ids, dates, areas)
    params              jsonb       NOT NULL,
    created_at          timestamptz NOT NULL
);

-- What later events need from earlier ones: each invited authority's sealed address and
-- inviting coordinator.
CREATE TABLE invitations
(
    authority_id text COLLATE "C" PRIMARY KEY,
    invited_by   text  NOT NULL,
    email        jsonb NOT NULL
);

CREATE TABLE sequences
(
    aggregate_type text   COLLATE "C" NOT NULL,
    aggregate_id   text   COLLATE "C" NOT NULL,
    sequence       bigint NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- Who each information request involves, for the announcements of its later events.
CREATE TABLE requests
(
    request_id             text COLLATE "C" PRIMARY KEY,
    area                   text NOT NULL,
    requesting             text NOT NULL,
    responding             text NOT NULL,
    requesting_coordinator text NOT NULL,
    responding_coordinator text,
    -- whether it ever reached the responding side (nothing is announced there before)
    dispatched             boolean NOT NULL
);

-- Who each alert involves (initiating authority, coordinators, postboxes, recipients).
CREATE TABLE alerts
(
    alert_id            text COLLATE "C" PRIMARY KEY,
    initiating          text   NOT NULL,
    coordinator         text,
    closing_coordinator text,
    involved            text[] NOT NULL
);

-- Indexes for readers only: `apply` never reads through these, so a rebuild creates them
-- once its tables are full. So are the keys `apply` never reads through: a rebuild that wrote
-- a key twice fails when it adds them, and nothing is swapped in.
CREATE INDEX notifications_in_feed_order ON notifications (xid, position, id);
CREATE INDEX notifications_by_user ON notifications (recipient_user, xid, position) WHERE recipient_user IS NOT NULL;
CREATE INDEX notifications_by_authority ON notifications (recipient_authority, xid, position);
CREATE INDEX notifications_to_mail ON notifications (created_at) WHERE email_to <> 'none';
ALTER TABLE notifications ADD PRIMARY KEY (id);
