-- Reference data (fixtures/reference, loaded by `imi seed`): the EEA Member States, the EU's
-- official languages, the legislative areas (IMI modules) and their workflows, the two keyword
-- lists, professions and service activities per area, the registers database and the
-- helpdesks. Upserted idempotently; never deleted (events refer to these codes).
-- Names and other texts are JSON objects keyed by language code ({"en": ..., "fr": ...}).
CREATE SCHEMA reference;

CREATE TABLE reference.languages
(
    code  text PRIMARY KEY,
    names jsonb NOT NULL CHECK (jsonb_typeof(names) = 'object')
);

CREATE TABLE reference.member_states
(
    code      text PRIMARY KEY,
    names     jsonb   NOT NULL CHECK (jsonb_typeof(names) = 'object'),
    eu_member boolean NOT NULL
);

CREATE TABLE reference.legislative_areas
(
    code      text PRIMARY KEY,
    names     jsonb  NOT NULL CHECK (jsonb_typeof(names) = 'object'),
    -- The workflows the area offers: 'requests' and/or 'alerts'.
    workflows text[] NOT NULL CHECK (workflows <@ ARRAY['requests', 'alerts']::text[]),
    -- The Union act the area implements, e.g. 'Directive 2005/36/EC'.
    act       text   NOT NULL
);

CREATE TABLE reference.keywords
(
    list  text  NOT NULL CHECK (list IN ('economic_activity', 'policy_area')),
    code  text  NOT NULL,
    names jsonb NOT NULL CHECK (jsonb_typeof(names) = 'object'),
    PRIMARY KEY (list, code)
);

CREATE TABLE reference.professions
(
    area  text  NOT NULL REFERENCES reference.legislative_areas (code),
    code  text  NOT NULL,
    names jsonb NOT NULL CHECK (jsonb_typeof(names) = 'object'),
    PRIMARY KEY (area, code)
);

CREATE TABLE reference.service_activities
(
    area  text  NOT NULL REFERENCES reference.legislative_areas (code),
    code  text  NOT NULL,
    names jsonb NOT NULL CHECK (jsonb_typeof(names) = 'object'),
    PRIMARY KEY (area, code)
);

CREATE TABLE reference.registers
(
    register_id           text PRIMARY KEY,
    member_state          text   NOT NULL REFERENCES reference.member_states (code),
    names                 jsonb  NOT NULL CHECK (jsonb_typeof(names) = 'object'),
    content               jsonb,
    coverage              jsonb,
    access_conditions     jsonb,
    fees                  jsonb,
    url                   text,
    responsible_authority text,
    languages             text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX registers_member_state ON reference.registers (member_state);

CREATE TABLE reference.helpdesks
(
    helpdesk_id  text PRIMARY KEY,
    -- NULL: the European Commission's helpdesk.
    member_state text REFERENCES reference.member_states (code),
    names        jsonb  NOT NULL CHECK (jsonb_typeof(names) = 'object'),
    email        text,
    phone        text,
    url          text,
    languages    text[] NOT NULL DEFAULT '{}'
);
