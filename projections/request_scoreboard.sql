-- The facts behind the Single Market Scoreboard's IMI indicators (version 3): one row per
-- request sent, with the responding Member State, the area and the dates the indicators are
-- computed from, and the rating's two answers; and their sums per responding Member State,
-- area and calendar day (UTC), and per calendar month. No content, no personal data, no
-- authority.
-- Identifiers compare byte by byte (COLLATE "C"; docs/PROJECTIONS.md, "The tables").
CREATE TABLE facts
(
    request_id              text COLLATE "C" PRIMARY KEY,
    area                    text        NOT NULL,
    responding_member_state text        NOT NULL,
    sent_at                 timestamptz NOT NULL,
    accepted_at             timestamptz,
    fully_answered_at       timestamptz,
    -- The answer date in force when the full reply was sent.
    due_date                date,
    timeliness              smallint,
    effort                  smallint,
    rated_at                timestamptz,
    withdrawn_at            timestamptz
);

-- Numerators and counts (never averages, so any set of days adds up exactly). A request
-- counts in the day it was sent for (1), in the day of its full reply for (2) and (3), in
-- the day of its rating for (4) and (5).
CREATE TABLE day_sums
(
    day                     date    NOT NULL,
    area                    text    NOT NULL,
    member_state            text    NOT NULL,
    -- Sent that day: accepted within 7 days; accepted at all; never accepted and not
    -- withdrawn within its 7 days (decided, late, once the 7 days have passed).
    accepted_in_time        integer NOT NULL,
    accepted                integer NOT NULL,
    unaccepted              integer NOT NULL,
    -- Fully answered that day: how many, their days from sending (each request's days as a
    -- numeric, summed exactly), how many by the answer date in force.
    answered                integer NOT NULL,
    days_to_answer          numeric NOT NULL,
    answered_by_date        integer NOT NULL,
    -- Rated that day: how many, how many negative on timeliness, on effort.
    rated                   integer NOT NULL,
    negative_timeliness     integer NOT NULL,
    negative_effort         integer NOT NULL,
    PRIMARY KEY (day, area, member_state)
);

-- The same per calendar month (`month` is its first day): a long period reads its whole
-- months here and only the days at its edges in `day_sums`.
CREATE TABLE month_sums
(
    month                   date    NOT NULL,
    area                    text    NOT NULL,
    member_state            text    NOT NULL,
    accepted_in_time        integer NOT NULL,
    accepted                integer NOT NULL,
    unaccepted              integer NOT NULL,
    answered                integer NOT NULL,
    days_to_answer          numeric NOT NULL,
    answered_by_date        integer NOT NULL,
    rated                   integer NOT NULL,
    negative_timeliness     integer NOT NULL,
    negative_effort         integer NOT NULL,
    PRIMARY KEY (month, area, member_state)
);

-- The aggregate's state per request (its snapshot form), folded from the feed.
CREATE TABLE request_states
(
    request_id text COLLATE "C" PRIMARY KEY,
    state      jsonb NOT NULL
);

CREATE TABLE sequences
(
    aggregate_id text COLLATE "C" PRIMARY KEY,
    sequence     bigint NOT NULL
);

-- Indexes for readers only: `apply` never reads through these, so a rebuild creates them
-- once its tables are full.
-- The requests still within their 7 days to be accepted, whose figure depends on `now`.
CREATE INDEX facts_unaccepted ON facts (sent_at) WHERE accepted_at IS NULL;
