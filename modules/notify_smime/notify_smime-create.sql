-- notify_smime tables (SQLite and PostgreSQL). Kamailio's version table
-- must exist (standard-create.sql).
INSERT INTO version (table_name, table_version) VALUES ('smime_cert', '1');
CREATE TABLE smime_cert (
    id INTEGER PRIMARY KEY NOT NULL,
    aor VARCHAR(255) NOT NULL,
    cert TEXT NOT NULL
);
CREATE INDEX smime_cert_aor_idx ON smime_cert (aor);

INSERT INTO version (table_name, table_version) VALUES ('smime_binding', '1');
CREATE TABLE smime_binding (
    id INTEGER PRIMARY KEY NOT NULL,
    callid VARCHAR(255) NOT NULL,
    from_tag VARCHAR(128) NOT NULL,
    pres_uri VARCHAR(255) NOT NULL,
    watcher VARCHAR(255) NOT NULL,
    source VARCHAR(16) NOT NULL,
    demanded INTEGER NOT NULL DEFAULT 0,
    expires INTEGER NOT NULL,
    cert_sha256 CHAR(64) NOT NULL,
    cert TEXT NOT NULL,
    CONSTRAINT smime_binding_dialog_idx UNIQUE (callid, from_tag)
);
CREATE INDEX smime_binding_watcher_idx ON smime_binding (watcher);
CREATE INDEX smime_binding_expires_idx ON smime_binding (expires);
