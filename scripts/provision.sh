#!/usr/bin/env bash
# Create a run folder for both roles: a demo CA and certificates, one SQLite
# file per role with Kamailio's own schema, the demo users, alice's
# pres-rules and each role's tls.cfg. Leaves an existing folder alone.
#
#   scripts/provision.sh RUN_DIR
# Environment: PCSCF_IP, PS_IP, XCAP_PORT (as for scripts/role.sh).
set -euo pipefail

run=${1:?usage: provision.sh RUN_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
: "${PCSCF_IP:=127.0.0.10}" "${PS_IP:=127.0.0.20}" "${XCAP_PORT:=5443}"
domain=example.com
schema=/usr/share/kamailio/db_sqlite

if [ -f "$run/.provisioned" ]; then
	exit 0
fi
mkdir -p "$run"
run=$(cd "$run" && pwd)
umask 077
mkdir -p "$run/certs" "$run/pcscf" "$run/ps"
certs="$run/certs"

# ---- certificates -------------------------------------------------------
ossl() { openssl "$@" 2>>"$certs/openssl.log" >/dev/null; }
ossl req -x509 -newkey rsa:2048 -nodes -days 825 -keyout "$certs/ca.key" \
	-out "$certs/ca.pem" -subj "/O=presence-security demo/CN=Demo CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign"

# issue NAME SUBJECT_CN SAN KEY_USAGE EXT_KEY_USAGE
issue() {
	local name=$1 cn=$2 san=$3 ku=$4 eku=$5
	ossl req -newkey rsa:2048 -nodes -keyout "$certs/$name.key" \
		-out "$certs/$name.csr" -subj "/O=presence-security demo/CN=$cn"
	printf 'basicConstraints=CA:FALSE\nsubjectAltName=%s\nkeyUsage=critical,%s\nextendedKeyUsage=%s\n' \
		"$san" "$ku" "$eku" >"$certs/$name.ext"
	ossl x509 -req -in "$certs/$name.csr" -CA "$certs/ca.pem" \
		-CAkey "$certs/ca.key" -CAcreateserial -days 825 -sha256 \
		-extfile "$certs/$name.ext" -out "$certs/$name.pem"
	rm -f "$certs/$name.csr" "$certs/$name.ext"
}
srv_ku="digitalSignature,keyEncipherment"
issue pcscf "pcscf.$domain" "DNS:pcscf.$domain,IP:$PCSCF_IP" "$srv_ku" "serverAuth,clientAuth"
issue ps "ps.$domain" "DNS:ps.$domain,IP:$PS_IP,URI:sip:ps.$domain" "$srv_ku" "serverAuth,clientAuth,emailProtection"
issue xcap "xcap.$domain" "DNS:xcap.$domain,IP:$PS_IP" "$srv_ku" "serverAuth"
# a peer of the trust domain that the P-CSCF knows by its certificate
# (sip_privacy trusted_tls "dns:peer.example.com"), not by its address
issue peer "peer.$domain" "DNS:peer.$domain" "$srv_ku" "serverAuth,clientAuth"

users=$(grep -v '^#' "$top/etc/demo/users" | awk 'NF == 2')
while read -r user pass; do
	issue "$user" "$user@$domain" "URI:sip:$user@$domain,email:$user@$domain" \
		"digitalSignature,keyEncipherment" "clientAuth,emailProtection"
done <<<"$users"

# ---- databases ----------------------------------------------------------
sqlq() { printf '%s' "$1" | sed "s/'/''/g"; }
users_sql() {
	while read -r user pass; do
		ha1=$(printf '%s' "$user:$domain:$pass" | md5sum | cut -d' ' -f1)
		ha1b=$(printf '%s' "$user@$domain:$domain:$pass" | md5sum | cut -d' ' -f1)
		echo "INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('$user', '$domain', '$pass', '$ha1', '$ha1b');"
	done <<<"$users"
}
mkdb() {
	local db=$1
	shift
	{
		# WAL: readers never block the one writer, nor the writer them
		echo "PRAGMA journal_mode=WAL;"
		for t in "$@"; do cat "$schema/$t-create.sql"; done
		users_sql
	} | sqlite3 -batch -bail "$db" >/dev/null
}
mkdb "$run/pcscf/pcscf.db" standard auth_db registrar usrloc topos
mkdb "$run/ps/ps.db" standard auth_db presence
# sip_privacy's subscriber tables at the P-CSCF: each demo user owns her
# sip identity (the default) and a tel identity; no network blocking.
{
	cat "$top/modules/sip_privacy/sip_privacy-create.sql"
	n=0
	while read -r user pass; do
		n=$((n + 1))
		echo "INSERT INTO sp_identity (username, domain, identity, is_default) VALUES ('$user', '$domain', 'sip:$user@$domain', 1);"
		echo "INSERT INTO sp_identity (username, domain, identity, is_default) VALUES ('$user', '$domain', 'tel:+1555010$(printf %04d $n)', 0);"
	done <<<"$users"
} | sqlite3 -batch -bail "$run/pcscf/pcscf.db" >/dev/null
sqlite3 -batch -bail "$run/ps/ps.db" <"$top/modules/notify_smime/notify_smime-create.sql"
# sip_privacy: the PS's anonymous subscriptions, and the secret of the
# opaque ids anonymous watchers get in winfo (stable across restarts)
sqlite3 -batch -bail "$run/ps/ps.db" <"$top/modules/sip_privacy/sip_privacy-winfo-create.sql"
openssl rand -hex 32 >"$run/ps/winfo.secret"
# the operator's S/MIME certificate store: every demo user's certificate
while read -r user pass; do
	pem=$(sqlq "$(cat "$certs/$user.pem")")
	sqlite3 -batch -bail "$run/ps/ps.db" \
		"INSERT INTO smime_cert (aor, cert) VALUES ('sip:$user@$domain', '$pem');"
done <<<"$users"
rules=$(sqlq "$(cat "$top/etc/demo/alice-pres-rules.xml")")
sqlite3 -batch -bail "$run/ps/ps.db" \
	"INSERT INTO xcap (username, domain, doc, doc_type, etag, source, doc_uri, port)
	 VALUES ('alice', '$domain', '$rules', 2, 'demo-1', 1,
	 '/xcap-root/pres-rules/users/sip:alice@$domain/index', 0);"

# ---- TLS ----------------------------------------------------------------
# The P-CSCF asks every TLS client for a certificate (verify_certificate)
# without requiring one: a UE may have none, a peer of the trust domain
# proves itself with one the demo CA issued (sip_privacy trusted_tls).
cat >"$run/pcscf/tls.cfg" <<TLS
[server:default]
method = TLSv1.2+
verify_certificate = yes
require_certificate = no
private_key = $certs/pcscf.key
certificate = $certs/pcscf.pem
ca_list = $certs/ca.pem

[client:default]
method = TLSv1.2+
verify_certificate = yes
require_certificate = yes
ca_list = $certs/ca.pem
TLS
cat >"$run/ps/tls.cfg" <<TLS
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = $certs/ps.key
certificate = $certs/ps.pem
ca_list = $certs/ca.pem

# Ut interface: its own profile and certificate
[server:$PS_IP:$XCAP_PORT]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = $certs/xcap.key
certificate = $certs/xcap.pem
ca_list = $certs/ca.pem

[client:default]
method = TLSv1.2+
verify_certificate = yes
require_certificate = yes
ca_list = $certs/ca.pem
TLS

touch "$run/.provisioned"
echo "provision: run folder ready in $run"
