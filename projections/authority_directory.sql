-- Authority directory (version 3: a trigram index for the text search): every authority, invited ones included (queries list
-- registered ones only: validated, or awaiting validation for callers allowed to see those).
-- No personal data: the contact person and users' identities are not here; `contact` holds the
-- office's own contact details. One row per authority is the entry, read whole; the other
-- tables index it for searches.
CREATE TABLE authorities
(
    authority_id           text PRIMARY KEY,
    -- Invited | AwaitingValidation | Validated
    status                 text        NOT NULL,
    member_state           text        NOT NULL,
    -- NationalCoordinator | SuperDelegatedCoordinator | LegislativeAreaCoordinator |
    -- DelegatedCoordinator | CompetentAuthority
    kind                   text        NOT NULL,
    region                 text,
    -- NULL until the authority has registered (invited only).
    official_name          text,
    -- {language: title}
    informal_titles        jsonb       NOT NULL,
    description            text,
    -- {address, postal_code, city, phone, email, website}: the office's, not a person's.
    contact                jsonb       NOT NULL,
    coordinated_areas      text[]      NOT NULL,
    invited_by             text,
    validating_coordinator text,
    -- {area: {access_coordinator, workflows: {requests|alerts: {role, linked_coordinators,
    -- flags}}, competences: [{list, code}], professions, service_activities}}
    areas                  jsonb       NOT NULL,
    linked_authorities     text[]      NOT NULL,
    invited_at             timestamptz,
    registered_at          timestamptz,
    validated_at           timestamptz,
    updated_at             timestamptz NOT NULL,
    -- Official name and informal titles, folded (lower case, no accents), separated by U+001F.
    search_key             text        NOT NULL
);

-- The areas an authority has access to, with its access coordinator there.
CREATE TABLE areas
(
    authority_id       text NOT NULL,
    area               text NOT NULL,
    access_coordinator text NOT NULL,
    PRIMARY KEY (authority_id, area)
);

-- Its role in each workflow of each area.
CREATE TABLE workflows
(
    authority_id text NOT NULL,
    area         text NOT NULL,
    workflow     text NOT NULL,
    role         text NOT NULL,
    PRIMARY KEY (authority_id, area, workflow)
);

-- Competences (term EconomicActivities or PolicyAreas), professions (term profession) and
-- service activities (term service_activity) per area.
CREATE TABLE area_terms
(
    authority_id text NOT NULL,
    area         text NOT NULL,
    term         text NOT NULL,
    code         text NOT NULL,
    PRIMARY KEY (authority_id, area, term, code)
);

CREATE TABLE sequences
(
    aggregate_id text PRIMARY KEY,
    sequence     bigint NOT NULL
);

-- Indexes for readers only: `apply` never reads through these, so a rebuild creates them
-- once its tables are full.
CREATE INDEX authorities_member_state ON authorities (member_state, authority_id);
-- The text search's `LIKE '%…%'` (pg_trgm, created by the store's migrations).
CREATE INDEX authorities_search ON authorities USING gin (search_key public.gin_trgm_ops);
CREATE INDEX areas_by_area ON areas (area, authority_id);
CREATE INDEX workflows_by_role ON workflows (role, area, authority_id);
CREATE INDEX area_terms_by_code ON area_terms (term, code, authority_id);
