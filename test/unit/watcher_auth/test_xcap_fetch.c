/*
 * Unit tests: watcher_auth's XCAP client (xcap_fetch.c). A URL table with
 * negative rows, then real fetches over HTTPS against
 * xcap_test_server.py, started as a child on 127.0.5.1 and 127.0.5.2 (one
 * free port) with a throwaway CA and server certificate made here with the
 * `openssl` command; a second CA that never signed anything checks
 * verification, 127.0.5.2 (not in the certificate) the name check, a bound
 * but not listening socket on 127.0.5.3 a refused connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "xcap_fetch.h"

extern char **environ;

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define L(lit) (lit), sizeof(lit) - 1

#define PYTHON "/usr/bin/python3"
#define SRV_IP "127.0.5.1"	/* the server, named by its certificate */
#define ALT_IP "127.0.5.2"	/* the same server, not in its certificate */
#define DEAD_IP "127.0.5.3" /* a bound socket that never listens */
#define CONNECT_MS 400
#define TIMEOUT_MS 600
#define MAX_BODY 65536 /* BIG in xcap_test_server.py */
#define READY_MS 10000

#define POLICY                                     \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<cr:ruleset xmlns:cr=\"urn:ietf:params:xml:ns:common-policy\"/>\n"

static struct
{
	char dir[64];
	char ca[128];	 /* signed the server's certificate */
	char other[128]; /* signed nothing */
	char root[64];	 /* https://127.0.5.1:port/xcap-root */
	int port;
	int dead_fd;
	int dead_port;
	pid_t pid;
} g = {.dead_fd = -1, .pid = -1};

/* ---- helpers ---------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static pid_t spawn(char *const argv[])
{
	pid_t pid;

	if(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	return pid;
}

/* Runs a shell command; 0 when it exited with 0. */
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	va_list ap;
	pid_t pid;
	int n, st;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if(n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	pid = spawn(argv);
	if(pid < 0)
		return -1;
	while(waitpid(pid, &st, 0) < 0)
		if(errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* A socket bound to ip:0; its port in *port. */
static int bind_any(const char *ip, int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if(fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sa.sin_addr);
	if(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0
			|| getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static int can_connect(const char *ip, int port)
{
	struct sockaddr_in sa;
	int fd, ok;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if(fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	inet_pton(AF_INET, ip, &sa.sin_addr);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void stop_server(void)
{
	int st, i;

	if(g.pid <= 0)
		return;
	kill(g.pid, SIGTERM);
	for(i = 0; i < 100; i++) { /* 5 s */
		if(waitpid(g.pid, &st, WNOHANG) == g.pid)
			break;
		usleep(50000);
	}
	if(i == 100) {
		kill(g.pid, SIGKILL);
		waitpid(g.pid, &st, 0);
	}
	g.pid = -1;
}

static int make_certs(void)
{
	static const char ec[] =
			"-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
	static const char ca_ext[] =
			"-addext basicConstraints=critical,CA:TRUE "
			"-addext keyUsage=critical,keyCertSign,cRLSign";

	return sh("cd %s && exec 2>>openssl.log >/dev/null"
			  " && openssl req -x509 %s -keyout ca.key -out ca.pem -days 1"
			  "    -subj /CN=wa-xcap-test-ca %s"
			  " && openssl req -x509 %s -keyout other.key -out other.pem"
			  "    -days 1 -subj /CN=wa-xcap-test-ca %s"
			  " && openssl req %s -keyout srv.key -out srv.csr"
			  "    -subj /CN=" SRV_IP " && printf 'basicConstraints=CA:FALSE\\n"
			  "subjectAltName=IP:" SRV_IP "\\n"
			  "keyUsage=critical,digitalSignature\\n"
			  "extendedKeyUsage=serverAuth\\n' >srv.ext"
			  " && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key"
			  "    -set_serial 1 -days 1 -sha256 -extfile srv.ext"
			  "    -out srv.pem",
			g.dir, ec, ca_ext, ec, ca_ext, ec);
}

static int setup_all(void)
{
	char script[512], cert[128], key[128], port[16];
	char *argv[] = {PYTHON, script, cert, key, port, SRV_IP, ALT_IP, NULL};
	const char *env = getenv("WA_XCAP_TEST_SERVER");
	const char *slash = strrchr(__FILE__, '/');
	double deadline;
	int fd, st;

	if(env)
		snprintf(script, sizeof(script), "%s", env);
	else if(slash)
		snprintf(script, sizeof(script), "%.*s/xcap_test_server.py",
				(int)(slash - __FILE__), __FILE__);
	else
		snprintf(script, sizeof(script), "xcap_test_server.py");

	strcpy(g.dir, "/tmp/wa_xcap_test_XXXXXX");
	if(mkdtemp(g.dir) == NULL) {
		g.dir[0] = '\0';
		return -1;
	}
	snprintf(g.ca, sizeof(g.ca), "%s/ca.pem", g.dir);
	snprintf(g.other, sizeof(g.other), "%s/other.pem", g.dir);
	snprintf(cert, sizeof(cert), "%s/srv.pem", g.dir);
	snprintf(key, sizeof(key), "%s/srv.key", g.dir);
	if(make_certs() != 0) {
		fprintf(stderr, "openssl failed, see %s/openssl.log\n", g.dir);
		return -1;
	}

	/* a free port (the server binds it on both addresses) */
	fd = bind_any(SRV_IP, &g.port);
	if(fd < 0)
		return -1;
	close(fd);
	snprintf(port, sizeof(port), "%d", g.port);
	snprintf(g.root, sizeof(g.root), "https://%s:%d/xcap-root", SRV_IP, g.port);
	g.dead_fd = bind_any(DEAD_IP, &g.dead_port);
	if(g.dead_fd < 0)
		return -1;

	if(wa_xcap_global_init() != 0)
		return -1;
	g.pid = spawn(argv);
	if(g.pid < 0)
		return -1;
	deadline = now_ms() + READY_MS;
	while(!can_connect(SRV_IP, g.port) || !can_connect(ALT_IP, g.port)) {
		if(waitpid(g.pid, &st, WNOHANG) == g.pid) {
			g.pid = -1;
			fprintf(stderr, "%s exited early\n", script);
			return -1;
		}
		if(now_ms() > deadline) {
			fprintf(stderr, "%s not ready on port %d\n", script, g.port);
			return -1;
		}
		usleep(20000);
	}
	return 0;
}

static int group_teardown(void **state)
{
	stop_server();
	if(g.dead_fd >= 0)
		close(g.dead_fd);
	g.dead_fd = -1;
	wa_xcap_global_cleanup();
	if(g.dir[0])
		sh("rm -rf %s", g.dir);
	g.dir[0] = '\0';
	return 0;
}

/* cmocka skips the group teardown when the setup fails: clean up here */
static int group_setup(void **state)
{
	if(setup_all() == 0)
		return 0;
	group_teardown(state);
	return -1;
}

static wa_xcap_client_t *client_any(const char *ca, int any_content)
{
	wa_xcap_cfg_t cfg = {ca, CONNECT_MS, TIMEOUT_MS, MAX_BODY, any_content};
	wa_xcap_client_t *c = wa_xcap_client_new(&cfg);

	assert_non_null(c);
	return c;
}

static wa_xcap_client_t *client_with(const char *ca)
{
	return client_any(ca, 0);
}

/* The document URL of `aor` under `root`. */
static void url_of(const char *root, const char *aor, char *out, size_t size)
{
	int n = wa_xcap_url(root, strlen(root), aor, strlen(aor), out, size);

	assert_true(n > 0);
}

/* ---- URL building ----------------------------------------------------- */

#define DOC(root, seg) root "/pres-rules/users/" seg "/index"

static void test_url_table(void **state)
{
	static const struct
	{
		const char *root;
		size_t root_len;
		const char *aor;
		size_t aor_len;
		const char *want; /* NULL: -1 */
	} rows[] = {
			{L("https://xcap.example.com/xcap-root"),
					L("sip:alice@example.com"),
					DOC("https://xcap.example.com/xcap-root",
							"sip:alice@example.com")},
			/* trailing slashes dropped */
			{L("https://xcap.example.com/xcap-root/"),
					L("sip:alice@example.com"),
					DOC("https://xcap.example.com/xcap-root",
							"sip:alice@example.com")},
			{L("https://xcap.example.com/xcap-root///"),
					L("sip:alice@example.com"),
					DOC("https://xcap.example.com/xcap-root",
							"sip:alice@example.com")},
			/* no path, a port, the scheme in any case */
			{L("HTTPS://xcap.example.com:8443"), L("sip:alice@example.com"),
					DOC("HTTPS://xcap.example.com:8443",
							"sip:alice@example.com")},
			{L("https://xcap.example.com:8443/"), L("tel:+1-555-0100"),
					DOC("https://xcap.example.com:8443", "tel:+1-555-0100")},
			/* sub-delims, ':' and '@' stay; '/', '?', '#', '%', space go */
			{L("https://h/r"), L("sip:a!$&'()*+,;=~_.-b@example.com"),
					DOC("https://h/r", "sip:a!$&'()*+,;=~_.-b@example.com")},
			{L("https://h/r"), L("sip:a/b c?d#e%f@example.com"),
					DOC("https://h/r",
							"sip:a%2Fb%20c%3Fd%23e%25f@example.com")},
			{L("https://h/r"), L("sip:\"x\"<y>[z]\\^`{|}@h"),
					DOC("https://h/r",
							"sip:%22x%22%3Cy%3E%5Bz%5D%5C%5E%60%7B%7C%7D@h")},
			/* non-ASCII (UTF-8 bytes), controls, an embedded NUL */
			{L("https://h/r"), L("sip:j\xc3\xbcrgen@example.com"),
					DOC("https://h/r", "sip:j%C3%BCrgen@example.com")},
			{L("https://h/r"), L("sip:a\r\nb\x7f\x01@h"),
					DOC("https://h/r", "sip:a%0D%0Ab%7F%01@h")},
			{L("https://h/r"), L("sip:a\0b@h"),
					DOC("https://h/r", "sip:a%00b@h")},
			/* dots: only the whole segments "." and ".." are refused */
			{L("https://h/r"), L("..."), DOC("https://h/r", "...")},
			{L("https://h/r"), L(".a"), DOC("https://h/r", ".a")},
			{L("https://h/r"), L("."), NULL},
			{L("https://h/r"), L(".."), NULL},
			/* credentials and policies never in clear, nor other schemes */
			{L("http://xcap.example.com/xcap-root"), L("sip:alice@example.com"),
					NULL},
			{L("HTTP://xcap.example.com"), L("sip:alice@example.com"), NULL},
			{L("ftp://xcap.example.com"), L("sip:alice@example.com"), NULL},
			{L("httpsx://xcap.example.com"), L("sip:alice@example.com"), NULL},
			{L("xcap.example.com/xcap-root"), L("sip:alice@example.com"), NULL},
			/* no host */
			{L("https://"), L("sip:alice@example.com"), NULL},
			{L("https:///"), L("sip:alice@example.com"), NULL},
			{L("https:///xcap-root"), L("sip:alice@example.com"), NULL},
			{L("https:/"), L("sip:alice@example.com"), NULL},
			/* what a root must not hold */
			{L("https://h/xcap root"), L("sip:alice@example.com"), NULL},
			{L("https://h/xcap-root?x=1"), L("sip:alice@example.com"), NULL},
			{L("https://h/xcap-root#f"), L("sip:alice@example.com"), NULL},
			{L("https://h/r\r\n"), L("sip:alice@example.com"), NULL},
			{L("https://h/r\xc3\xa9"), L("sip:alice@example.com"), NULL},
			{L("https://h\0/r"), L("sip:alice@example.com"), NULL},
			/* empty */
			{L(""), L("sip:alice@example.com"), NULL},
			{L("https://h/r"), L(""), NULL},
	};
	char out[512];
	size_t i;
	int n;

	for(i = 0; i < NROWS(rows); i++) {
		memset(out, 'X', sizeof(out));
		n = wa_xcap_url(rows[i].root, rows[i].root_len, rows[i].aor,
				rows[i].aor_len, out, sizeof(out));
		if(rows[i].want == NULL) {
			if(n != -1)
				fail_msg("row %zu: %d (%s), expected -1", i, n, out);
			continue;
		}
		if(n < 0 || strcmp(out, rows[i].want) != 0)
			fail_msg("row %zu: %d\n  got  %.*s\n  want %s", i, n, n < 0 ? 0 : n,
					out, rows[i].want);
		assert_int_equal(n, strlen(rows[i].want));
	}
}

static void test_url_bounds(void **state)
{
	static const char root[] = "https://xcap.example.com/xcap-root";
	static const char aor[] = "sip:a b@example.com";
	static const char want[] =
			DOC("https://xcap.example.com/xcap-root", "sip:a%20b@example.com");
	char out[sizeof(want) + 8], big[600];
	size_t len = sizeof(want) - 1;

	/* exactly fits (with its NUL), one byte short */
	memset(out, 'X', sizeof(out));
	assert_int_equal(wa_xcap_url(L(root), L(aor), out, len + 1), (int)len);
	assert_string_equal(out, want);
	assert_int_equal(wa_xcap_url(L(root), L(aor), out, len), -1);
	assert_int_equal(wa_xcap_url(L(root), L(aor), out, 1), -1);
	assert_int_equal(wa_xcap_url(L(root), L(aor), out, 0), -1);
	/* percent-encoding triples the room an AOR needs */
	memset(big, ' ', sizeof(big));
	assert_int_equal(wa_xcap_url(L(root), big, 200, out, sizeof(out)), -1);
	/* NULLs */
	assert_int_equal(wa_xcap_url(NULL, 0, L(aor), out, sizeof(out)), -1);
	assert_int_equal(wa_xcap_url(L(root), NULL, 0, out, sizeof(out)), -1);
	assert_int_equal(wa_xcap_url(L(root), L(aor), NULL, sizeof(out)), -1);
}

/* ---- fetches ---------------------------------------------------------- */

static void test_fetch_ok_and_304(void **state)
{
	wa_xcap_client_t *c = client_with(g.ca);
	wa_xcap_doc_t doc;
	char url[256];

	url_of(g.root, "sip:alice@example.com", url, sizeof(url));

	assert_int_equal(wa_xcap_fetch(c, url, NULL, &doc), WA_XCAP_OK);
	assert_int_equal(doc.status, 200);
	assert_int_equal(doc.len, sizeof(POLICY) - 1);
	assert_memory_equal(doc.body, POLICY, doc.len);
	assert_int_equal(doc.body[doc.len], '\0');
	assert_string_equal(doc.etag, "\"alice-1\"");
	assert_string_equal(doc.err, "");
	wa_xcap_doc_free(&doc);
	assert_null(doc.body);

	/* If-None-Match with the ETag as received */
	assert_int_equal(
			wa_xcap_fetch(c, url, "\"alice-1\"", &doc), WA_XCAP_NOT_MODIFIED);
	assert_int_equal(doc.status, 304);
	assert_null(doc.body);
	assert_int_equal(doc.len, 0);
	assert_string_equal(doc.etag, "\"alice-1\"");
	wa_xcap_doc_free(&doc);

	/* a stale ETag gets the document; "" is no ETag */
	assert_int_equal(wa_xcap_fetch(c, url, "\"alice-0\"", &doc), WA_XCAP_OK);
	assert_int_equal(doc.len, sizeof(POLICY) - 1);
	wa_xcap_doc_free(&doc);
	assert_int_equal(wa_xcap_fetch(c, url, "", &doc), WA_XCAP_OK);
	assert_string_equal(doc.etag, "\"alice-1\"");
	wa_xcap_doc_free(&doc);

	wa_xcap_client_free(c);
}

static void test_fetch_table(void **state)
{
	static const struct
	{
		const char *aor;
		const char *etag;
		int rc;
		long status;
		long len;			  /* body length when rc is OK, -1: don't care */
		const char *etag_out; /* NULL: don't care */
	} rows[] = {
			{"sip:nobody@example.com", NULL, WA_XCAP_NOT_FOUND, 404, -1, ""},
			{"sip:zed@example.com", NULL, WA_XCAP_NOT_FOUND, 404, -1, NULL},
			{"sip:error@example.com", NULL, WA_XCAP_E_HTTP, 500, -1, NULL},
			{"sip:redirect@example.com", NULL, WA_XCAP_E_HTTP, 302, -1, NULL},
			/* a 304 to a request that had no If-None-Match is bogus */
			{"sip:noinm@example.com", NULL, WA_XCAP_E_HTTP, 304, -1, NULL},
			{"sip:noinm@example.com", "\"y\"", WA_XCAP_NOT_MODIFIED, 304, -1,
					"\"x\""},
			/* Content-Type */
			{"sip:html@example.com", NULL, WA_XCAP_E_CONTENT, 200, -1, NULL},
			{"sip:notxml@example.com", NULL, WA_XCAP_E_CONTENT, 200, -1, NULL},
			{"sip:noct@example.com", NULL, WA_XCAP_E_CONTENT, 200, -1, NULL},
			{"sip:empty@example.com", NULL, WA_XCAP_E_CONTENT, 200, -1, NULL},
			{"sip:param@example.com", NULL, WA_XCAP_OK, 200, sizeof(POLICY) - 1,
					""},
			{"sip:plus@example.com", NULL, WA_XCAP_OK, 200, sizeof(POLICY) - 1,
					NULL},
			{"sip:text@example.com", NULL, WA_XCAP_OK, 200, sizeof(POLICY) - 1,
					NULL},
			/* size: the bound itself passes, one byte more does not,
			 * announced (Content-Length) or not (chunked); an oversized
			 * error page is still the error */
			{"sip:exact@example.com", NULL, WA_XCAP_OK, 200, MAX_BODY, NULL},
			{"sip:big@example.com", NULL, WA_XCAP_E_TOO_BIG, 200, -1, NULL},
			{"sip:chunked@example.com", NULL, WA_XCAP_E_TOO_BIG, 200, -1, NULL},
			{"sip:bigerror@example.com", NULL, WA_XCAP_NOT_FOUND, 404, -1,
					NULL},
			/* an ETag over WA_XCAP_ETAG_MAX is not kept */
			{"sip:longetag@example.com", NULL, WA_XCAP_OK, 200,
					sizeof(POLICY) - 1, ""},
			/* the server answers only when the AOR is encoded on the wire */
			{"sip:a/b c?@example.com", NULL, WA_XCAP_OK, 200,
					sizeof(POLICY) - 1, NULL},
	};
	wa_xcap_client_t *c = client_with(g.ca);
	wa_xcap_doc_t doc;
	char url[256];
	size_t i;
	int rc;

	for(i = 0; i < NROWS(rows); i++) {
		url_of(g.root, rows[i].aor, url, sizeof(url));
		rc = wa_xcap_fetch(c, url, rows[i].etag, &doc);
		if(rc != rows[i].rc || doc.status != rows[i].status)
			fail_msg("row %zu (%s): %d (%s) status %ld, expected %d status "
					 "%ld; err \"%s\"",
					i, rows[i].aor, rc, wa_xcap_strerror(rc), doc.status,
					rows[i].rc, rows[i].status, doc.err);
		if(rc == WA_XCAP_OK) {
			assert_non_null(doc.body);
			assert_string_equal(doc.err, "");
			if(rows[i].len >= 0)
				assert_int_equal(doc.len, rows[i].len);
		} else {
			assert_null(doc.body);
			assert_int_equal(doc.len, 0);
		}
		if(rc < 0 && doc.err[0] == '\0')
			fail_msg("row %zu: no error text", i);
		if(rows[i].etag_out)
			assert_string_equal(doc.etag, rows[i].etag_out);
		wa_xcap_doc_free(&doc);
	}
	wa_xcap_client_free(c);

	/* any_content (a credential server): the type is the caller's
	 * business, an empty body is still refused */
	c = client_any(g.ca, 1);
	for(i = 0; i < 4; i++) {
		static const char *const aors[] = {"sip:html@example.com",
				"sip:notxml@example.com", "sip:noct@example.com",
				"sip:empty@example.com"};
		url_of(g.root, aors[i], url, sizeof(url));
		rc = wa_xcap_fetch(c, url, NULL, &doc);
		if(i < 2)
			assert_int_equal(rc, WA_XCAP_OK);
		else
			assert_int_equal(rc, WA_XCAP_E_CONTENT);
		wa_xcap_doc_free(&doc);
	}
	wa_xcap_client_free(c);
}

/* One client keeps its connection: the server sees the same source port,
 * also after a 404 whose body was read and dropped. */
static void test_fetch_keepalive(void **state)
{
	wa_xcap_client_t *c = client_with(g.ca);
	wa_xcap_doc_t a, b;
	char who[256], nobody[256];

	url_of(g.root, "sip:whoami@example.com", who, sizeof(who));
	url_of(g.root, "sip:nobody@example.com", nobody, sizeof(nobody));
	assert_int_equal(wa_xcap_fetch(c, who, NULL, &a), WA_XCAP_OK);
	assert_int_equal(wa_xcap_fetch(c, nobody, NULL, &b), WA_XCAP_NOT_FOUND);
	wa_xcap_doc_free(&b);
	assert_int_equal(wa_xcap_fetch(c, who, NULL, &b), WA_XCAP_OK);
	assert_true(strncmp(a.body, "<port>", 6) == 0);
	assert_string_equal(a.body, b.body);
	wa_xcap_doc_free(&a);
	wa_xcap_doc_free(&b);
	wa_xcap_client_free(c);
}

static void test_fetch_timeout(void **state)
{
	wa_xcap_client_t *c = client_with(g.ca);
	wa_xcap_doc_t doc;
	char url[256];
	double t0, dt;

	url_of(g.root, "sip:slow@example.com", url, sizeof(url));
	t0 = now_ms();
	assert_int_equal(wa_xcap_fetch(c, url, NULL, &doc), WA_XCAP_E_TIMEOUT);
	dt = now_ms() - t0;
	assert_int_equal(doc.status, 0);
	assert_null(doc.body);
	assert_non_null(strstr(doc.err, "timed out"));
	if(dt < TIMEOUT_MS - 50 || dt > TIMEOUT_MS + 1000)
		fail_msg("timed out after %.0f ms, limit %d ms", dt, TIMEOUT_MS);
	wa_xcap_doc_free(&doc);

	/* the client is still usable */
	url_of(g.root, "sip:alice@example.com", url, sizeof(url));
	assert_int_equal(wa_xcap_fetch(c, url, NULL, &doc), WA_XCAP_OK);
	wa_xcap_doc_free(&doc);
	wa_xcap_client_free(c);
}

static void test_fetch_tls(void **state)
{
	wa_xcap_client_t *c;
	wa_xcap_doc_t doc;
	char url[256], alt[128], missing[160];

	/* a CA that did not sign the server's certificate */
	c = client_with(g.other);
	url_of(g.root, "sip:alice@example.com", url, sizeof(url));
	assert_int_equal(wa_xcap_fetch(c, url, NULL, &doc), WA_XCAP_E_TLS);
	assert_int_equal(doc.status, 0);
	assert_null(doc.body);
	assert_non_null(strstr(doc.err, "unable to get local issuer certificate"));
	wa_xcap_doc_free(&doc);
	wa_xcap_client_free(c);

	/* the right CA, an address the certificate does not name */
	c = client_with(g.ca);
	snprintf(alt, sizeof(alt), "https://%s:%d/xcap-root", ALT_IP, g.port);
	url_of(alt, "sip:alice@example.com", url, sizeof(url));
	assert_int_equal(wa_xcap_fetch(c, url, NULL, &doc), WA_XCAP_E_TLS);
	assert_int_equal(doc.status, 0);
	assert_non_null(strstr(doc.err, "subject name matches target host"));
	wa_xcap_doc_free(&doc);
	wa_xcap_client_free(c);

	/* a CA file that does not exist: nothing is trusted */
	snprintf(missing, sizeof(missing), "%s/missing.pem", g.dir);
	c = client_with(missing);
	url_of(g.root, "sip:alice@example.com", url, sizeof(url));
	assert_int_equal(wa_xcap_fetch(c, url, NULL, &doc), WA_XCAP_E_TLS);
	assert_non_null(strstr(doc.err, "error setting certificate file"));
	wa_xcap_doc_free(&doc);
	wa_xcap_client_free(c);
}

static void test_fetch_connect(void **state)
{
	wa_xcap_client_t *c = client_with(g.ca);
	wa_xcap_doc_t doc;
	char root[128], url[256];

	snprintf(root, sizeof(root), "https://%s:%d/xcap-root", DEAD_IP,
			g.dead_port);
	url_of(root, "sip:alice@example.com", url, sizeof(url));
	assert_int_equal(wa_xcap_fetch(c, url, NULL, &doc), WA_XCAP_E_CONNECT);
	assert_int_equal(doc.status, 0);
	assert_null(doc.body);
	assert_non_null(strstr(doc.err, "Couldn't connect to server"));
	wa_xcap_doc_free(&doc);
	wa_xcap_client_free(c);
}

/* A proxy from the environment is never used (it would refuse). */
static void test_fetch_ignores_proxy_env(void **state)
{
	static const char *const vars[] = {
			"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
	wa_xcap_client_t *c;
	wa_xcap_doc_t doc;
	char proxy[64], url[256];
	size_t i;
	int rc;

	snprintf(proxy, sizeof(proxy), "http://%s:%d", DEAD_IP, g.dead_port);
	for(i = 0; i < NROWS(vars); i++)
		setenv(vars[i], proxy, 1);
	c = client_with(g.ca);
	url_of(g.root, "sip:alice@example.com", url, sizeof(url));
	rc = wa_xcap_fetch(c, url, NULL, &doc);
	for(i = 0; i < NROWS(vars); i++)
		unsetenv(vars[i]);
	assert_int_equal(rc, WA_XCAP_OK);
	wa_xcap_doc_free(&doc);
	wa_xcap_client_free(c);
}

static void test_fetch_args(void **state)
{
	wa_xcap_cfg_t cfg = {NULL, CONNECT_MS, TIMEOUT_MS, MAX_BODY, 0};
	wa_xcap_client_t *c = client_with(g.ca);
	wa_xcap_doc_t doc;
	char url[256], http[256], longtag[WA_XCAP_ETAG_MAX + 2];
	int rc;

	url_of(g.root, "sip:alice@example.com", url, sizeof(url));
	snprintf(http, sizeof(http), "http://%s:%d/xcap-root/x", SRV_IP, g.port);

	assert_int_equal(wa_xcap_fetch(NULL, url, NULL, &doc), WA_XCAP_E_ARG);
	assert_int_equal(wa_xcap_fetch(c, NULL, NULL, &doc), WA_XCAP_E_ARG);
	assert_int_equal(wa_xcap_fetch(c, url, NULL, NULL), WA_XCAP_E_ARG);
	assert_int_equal(wa_xcap_fetch(c, http, NULL, &doc), WA_XCAP_E_ARG);
	assert_true(doc.err[0] != '\0');
	assert_int_equal(
			wa_xcap_fetch(c, "ftp://127.0.5.1/x", NULL, &doc), WA_XCAP_E_ARG);
	/* an ETag that would inject a header, or too long to be one of ours */
	assert_int_equal(
			wa_xcap_fetch(c, url, "\"a\"\r\nX-Evil: 1", &doc), WA_XCAP_E_ARG);
	assert_int_equal(wa_xcap_fetch(c, url, "\"a b\"", &doc), WA_XCAP_E_ARG);
	memset(longtag, 'e', sizeof(longtag) - 1);
	longtag[sizeof(longtag) - 1] = '\0';
	assert_int_equal(wa_xcap_fetch(c, url, longtag, &doc), WA_XCAP_E_ARG);
	longtag[WA_XCAP_ETAG_MAX] = '\0'; /* the longest one kept: accepted */
	rc = wa_xcap_fetch(c, url, longtag, &doc);
	assert_int_equal(rc, WA_XCAP_OK);
	wa_xcap_doc_free(&doc);
	wa_xcap_client_free(c);

	/* the CA file is required, timeouts are not negative */
	assert_null(wa_xcap_client_new(NULL));
	assert_null(wa_xcap_client_new(&cfg));
	cfg.ca_file = "";
	assert_null(wa_xcap_client_new(&cfg));
	cfg.ca_file = g.ca;
	cfg.timeout_ms = -1;
	assert_null(wa_xcap_client_new(&cfg));
	/* zeros are the defaults */
	memset(&cfg, 0, sizeof(cfg));
	cfg.ca_file = g.ca;
	c = wa_xcap_client_new(&cfg);
	assert_non_null(c);
	wa_xcap_client_free(c);
	wa_xcap_client_free(NULL);
	wa_xcap_doc_free(NULL);
}

static void test_strerror(void **state)
{
	int rc;

	for(rc = WA_XCAP_E_OTHER; rc <= WA_XCAP_NOT_FOUND; rc++)
		assert_string_not_equal(wa_xcap_strerror(rc), "unknown error");
	assert_string_equal(wa_xcap_strerror(42), "unknown error");
	assert_string_equal(wa_xcap_strerror(WA_XCAP_OK), "ok");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_url_table),
			cmocka_unit_test(test_url_bounds),
			cmocka_unit_test(test_strerror),
			cmocka_unit_test(test_fetch_ok_and_304),
			cmocka_unit_test(test_fetch_table),
			cmocka_unit_test(test_fetch_keepalive),
			cmocka_unit_test(test_fetch_timeout),
			cmocka_unit_test(test_fetch_tls),
			cmocka_unit_test(test_fetch_connect),
			cmocka_unit_test(test_fetch_ignores_proxy_env),
			cmocka_unit_test(test_fetch_args),
	};
	return cmocka_run_group_tests_name(
			"watcher_auth_xcap_fetch", tests, group_setup, group_teardown);
}
