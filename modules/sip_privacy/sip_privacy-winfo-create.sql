-- sip_privacy: the anonymous subscriptions of a Presence Server
-- (sp_winfo_mark(), modparam winfo_table), SQLite and PostgreSQL.
-- On PostgreSQL the id columns are SERIAL (scripts/provision-pg.sh
-- rewrites INTEGER PRIMARY KEY, SQLite's self-numbering row id).
-- Kamailio's version table must exist (standard-create.sql).
INSERT INTO version (table_name, table_version) VALUES ('sp_winfo', '1');
CREATE TABLE sp_winfo (
    id INTEGER PRIMARY KEY NOT NULL,
    callid VARCHAR(255) NOT NULL,
    presentity VARCHAR(255) NOT NULL,
    watcher VARCHAR(255) NOT NULL,
    expires INTEGER NOT NULL,
    CONSTRAINT sp_winfo_callid_idx UNIQUE (callid)
);
CREATE INDEX sp_winfo_expires_idx ON sp_winfo (expires);
-- winfo_db_lookup (a cluster): a "waiting" watcher looked up by presentity
CREATE INDEX sp_winfo_presentity_idx ON sp_winfo (presentity);
