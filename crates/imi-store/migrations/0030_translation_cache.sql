-- Machine translations of texts, kept so that a text is sent to the engine once per language
-- pair. Never in the event log: a translation is derived, engine-dependent and disposable.
-- A row of personal data (`key_id` set) is keyed by the SHA-256 of the sealed value's
-- ciphertext (never of the clear text, which a hash would let anyone confirm by guessing) and
-- holds the translation sealed under the same exchange key; erasing that key deletes its rows
-- (the trigger below), whoever erases it. Texts without personal data (informal titles) have
-- no key and are keyed by the SHA-256 of their clear text.
CREATE TABLE translation_cache
(
    key_id        text        NOT NULL DEFAULT '',
    text_hash     bytea       NOT NULL,
    source_lang   text        NOT NULL,
    target_lang   text        NOT NULL,
    -- sealed JSON ({"key", "alg", "nonce", "ct"}) for personal data; {"text": ...} otherwise
    translation   jsonb       NOT NULL,
    engine        text        NOT NULL,
    -- the language translated through when no direct pair exists
    pivot         text,
    translated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, text_hash, source_lang, target_lang)
);

CREATE FUNCTION translation_cache_erase() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM translation_cache WHERE key_id = NEW.key_id;
  RETURN NULL;
END $$;

CREATE TRIGGER translation_cache_erase AFTER INSERT OR UPDATE OF erased_at ON data_keys
  FOR EACH ROW WHEN (NEW.erased_at IS NOT NULL) EXECUTE FUNCTION translation_cache_erase();
