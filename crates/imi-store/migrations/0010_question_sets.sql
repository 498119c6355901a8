-- Question sets of the information request workflow (fixtures/reference/question_sets.json),
-- loaded with the other reference data: per legislative area, pre-translated questions with
-- stable ids. Upserted idempotently; never deleted (requests refer to these ids forever).
-- Texts are JSON objects keyed by language code; English is the visible fallback.
CREATE TABLE reference.question_sets
(
    id    text PRIMARY KEY,
    area  text  NOT NULL REFERENCES reference.legislative_areas (code),
    names jsonb NOT NULL CHECK (jsonb_typeof(names) = 'object')
);
CREATE INDEX question_sets_area ON reference.question_sets (area);

CREATE TABLE reference.questions
(
    id           text PRIMARY KEY,
    question_set text    NOT NULL REFERENCES reference.question_sets (id),
    -- The question's place in its set, from 1.
    position     integer NOT NULL CHECK (position > 0),
    texts        jsonb   NOT NULL CHECK (jsonb_typeof(texts) = 'object'),
    UNIQUE (question_set, position) DEFERRABLE INITIALLY DEFERRED
);
