-- Attachments of information requests: their bytes, outside the events (events list them by
-- SHA-256, size and media type, with the file name sealed).
--
-- Decision: the content is sealed under the data key of its exchange (`key_id`, e.g.
-- `InformationRequest/<id>`), the same AES-256-GCM seal as personal data in events (a sealed
-- JSON string of the base64 bytes). Attachments routinely hold personal data (certificates,
-- diplomas, decisions), so they must go where erasure goes: erasing the exchange's data key
-- (crypto-shredding) makes its attachments unreadable at once, with no second deletion path to
-- forget. Addressing is therefore per exchange: the key is (key_id, sha256 of the clear
-- content). A global content address would let the same file be shared between exchanges,
-- which would both link unrelated exchanges (who sent the same document to whom) and keep a
-- file readable after one of its exchanges was erased.
CREATE TABLE attachments
(
    key_id     text        NOT NULL CHECK (key_id <> ''),
    sha256     text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size       bigint      NOT NULL CHECK (size > 0),
    media_type text        NOT NULL,
    -- imi_domain::sealed::Sealed of the base64 content, under key_id.
    content    jsonb       NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, sha256)
);
