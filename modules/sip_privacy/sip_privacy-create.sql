-- sip_privacy tables (SQLite and PostgreSQL). Kamailio's version table
-- must exist (standard-create.sql). Both are read into shared memory at
-- start-up and by the RPC sip_privacy.reload, never per message.

-- A subscriber's public identities (RFC 3325, 3GPP TS 24.229): a sip, sips
-- or tel URI each; exactly one per user with is_default = 1, the one
-- asserted when the request names no other (P-Preferred-Identity).
INSERT INTO version (table_name, table_version) VALUES ('sp_identity', '1');
CREATE TABLE sp_identity (
    id INTEGER PRIMARY KEY NOT NULL,
    username VARCHAR(64) NOT NULL,
    domain VARCHAR(128) NOT NULL,
    identity VARCHAR(400) NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT sp_identity_idx UNIQUE (username, domain, identity)
);

-- Network-provided identity blocking: the methods for which the network
-- hides the user's identity when the request carries no Privacy header,
-- e.g. 'SUBSCRIBE,MESSAGE', or '*' for every method.
INSERT INTO version (table_name, table_version) VALUES ('sp_blocking', '1');
CREATE TABLE sp_blocking (
    id INTEGER PRIMARY KEY NOT NULL,
    username VARCHAR(64) NOT NULL,
    domain VARCHAR(128) NOT NULL,
    methods VARCHAR(256) NOT NULL
);
CREATE INDEX sp_blocking_user_idx ON sp_blocking (username, domain);
