-- The payload archive's uniqueness on a 32-byte key instead of (source, sha256, request_json):
-- that index repeated every request's JSON (about 3 MB a year of daily runs). The key is
-- sha256(source LF sha256 LF request_json), computed alike by Payloads.save (hashlib) and here
-- (the connection's sha256 function), so the same source + body + request is still one row.
-- SQLite cannot drop a UNIQUE constraint: the table is rebuilt (ids kept, so observations and
-- quarantine rows still point at their payloads). Columns as in 0001 and 0010, plus dedup_key;
-- rows archived from now on hold request_json zlib-compressed (a BLOB) and url NULL when it is
-- the archived request's own line (payloads.py); rows carried over keep their text.
CREATE TABLE raw_payloads_new (
 id INTEGER PRIMARY KEY,
 source TEXT NOT NULL,
 url TEXT,
 request_json TEXT NOT NULL,
 status INTEGER NOT NULL,
 content_type TEXT NOT NULL DEFAULT '',
 sha256 TEXT NOT NULL,
 size INTEGER NOT NULL,
 body BLOB NOT NULL,
 fetched_at TEXT NOT NULL,
 parser_version TEXT NOT NULL,
 job TEXT NOT NULL DEFAULT '',
 partition TEXT NOT NULL DEFAULT '',
 meta TEXT,
 dedup_key BLOB NOT NULL UNIQUE
);
INSERT INTO raw_payloads_new (id, source, url, request_json, status, content_type, sha256, size, body, fetched_at,
                              parser_version, job, partition, meta, dedup_key)
    SELECT id, source, url, request_json, status, content_type, sha256, size, body, fetched_at, parser_version, job,
           partition, meta, sha256(source || char(10) || sha256 || char(10) || request_json)
    FROM raw_payloads;
DROP TABLE raw_payloads;
ALTER TABLE raw_payloads_new RENAME TO raw_payloads;
CREATE INDEX raw_payloads_source ON raw_payloads(source, fetched_at);
