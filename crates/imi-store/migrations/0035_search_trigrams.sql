-- The directory's text search matches a part of a name or title anywhere (`LIKE '%…%'`), which
-- a b-tree cannot serve: at EU size (12,600 authorities, a machine title in each of 24
-- languages) a miss would read every row. Trigram indexes serve such patterns of three or
-- more characters. pg_trgm is a trusted extension: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE INDEX IF NOT EXISTS machine_titles_search ON machine_titles USING gin (search_key public.gin_trgm_ops);
