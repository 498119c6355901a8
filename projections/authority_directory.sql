-- Authority directory (version 1): every registered authority, searchable by name and informal
-- title in any language, by Member State and kind. No personal data.
CREATE TABLE authorities
(
    authority_id  text PRIMARY KEY,
    member_state  text        NOT NULL,
    kind          text        NOT NULL,
    official_name text        NOT NULL,
    registered_at timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX authorities_member_state ON authorities (member_state, official_name);

CREATE TABLE informal_titles
(
    authority_id text NOT NULL,
    language     text NOT NULL,
    title        text NOT NULL,
    PRIMARY KEY (authority_id, language)
);
