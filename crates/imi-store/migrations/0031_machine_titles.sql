-- Authorities' informal titles machine-translated into the EU languages nobody typed one in.
-- Derived from the directory (a typed title always wins) and the translation engine; never in
-- the event log, rebuilt at will (delete the rows: the title filler translates again). Titles
-- hold no personal data. `source_title` is the typed title translated: when it changes, the
-- translation is made again. `search_key` is the title as the directory search compares it.
CREATE TABLE machine_titles
(
    authority_id    text        NOT NULL,
    language        text        NOT NULL,
    title           text        NOT NULL,
    source_language text        NOT NULL,
    source_title    text        NOT NULL,
    engine          text        NOT NULL,
    pivot           text,
    translated_at   timestamptz NOT NULL,
    search_key      text        NOT NULL,
    PRIMARY KEY (authority_id, language)
);
