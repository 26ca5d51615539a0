/*
 * make bench: micro-benchmark of watcher_auth's policy engine against what
 * presence_xml pays for the same pres-rules document, in instructions
 * (run under valgrind --tool=callgrind by bench/bench.py, which compiles it
 * against modules/watcher_auth/policy.c and libxml2).
 *
 *   policy_bench WATCHER FILE ITERS [FILE ITERS ...]
 *
 * For every FILE (a pres-rules document, as bench.py writes them) three
 * loops of ITERS iterations each (the eval loop 100 times more), each
 * measured on its own: callgrind's counters are zeroed before the loop and
 * dumped after it (CALLGRIND_DUMP_STATS_AT, one callgrind output file per
 * loop, named by the dump's description "<kind> <file>"):
 *
 *   compile  wa_policy_compile() + free(): the cold cost, what watcher_auth
 *            pays once per version of the document (parse + compile)
 *   eval     wa_policy_eval() for WATCHER on the compiled policy: the warm,
 *            per-SUBSCRIBE cost of watcher_auth's evaluation (no libxml2)
 *   parse    xmlReadMemory() + xmlFreeDoc() of the same bytes: what
 *            presence_xml pays on every parse of the document
 *            (xmlParseMemory() there, the same parser without options)
 *
 * Outside valgrind the client requests do nothing; the program then only
 * checks that every document compiles and that WATCHER is granted by it.
 * One untimed round of each operation runs first, so that libxml2's
 * one-off initialisation is not counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <valgrind/callgrind.h>

#include "policy.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if(f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
			|| fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		exit(2);
	}
	buf = malloc((size_t)n + 1);
	if(buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(2);
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void dump(const char *kind, const char *path)
{
	char desc[512];

	snprintf(desc, sizeof(desc), "%s %s", kind, path);
	CALLGRIND_DUMP_STATS_AT(desc);
}

int main(int argc, char **argv)
{
	/* the limits the bench gives the PS for its 1000-rule policy; the
	 * defaults (65536 bytes, 256 rules) refuse it */
	wa_policy_limits_t lim = {.max_size = 4 * 1024 * 1024,
			.max_depth = 0,
			.max_rules = 100000};
	const char *watcher;
	time_t now = time(NULL);
	int i, a;

	if(argc < 4 || argc % 2 != 0) {
		fprintf(stderr, "usage: %s WATCHER FILE ITERS [FILE ITERS ...]\n",
				argv[0]);
		return 2;
	}
	watcher = argv[1];
	xmlInitParser();
	for(a = 2; a + 1 < argc; a += 2) {
		const char *path = argv[a];
		int iters = atoi(argv[a + 1]);
		wa_policy_errinfo_t ei;
		wa_policy_result_t res;
		wa_policy_t *pol = NULL;
		size_t len, size;
		char *xml = slurp(path, &len);
		xmlDocPtr doc;
		int rc;

		if(iters <= 0) {
			fprintf(stderr, "bad iteration count %s\n", argv[a + 1]);
			return 2;
		}
		/* untimed round: libxml2 and the allocator warmed up, and the
		 * document checked */
		rc = wa_policy_compile(xml, len, &lim, NULL, &pol, &size, &ei);
		if(rc != 0) {
			fprintf(stderr, "%s does not compile: %s (line %d)\n", path,
					wa_policy_strerror(rc), ei.line);
			return 1;
		}
		if(wa_policy_eval(pol, watcher, strlen(watcher), NULL, now, &res) != 0
				|| res.sub_handling != WA_POLICY_SUB_ALLOW
				|| !res.authenticate || res.ncreds != 1) {
			fprintf(stderr, "%s: %s is not granted with authentication\n",
					path, watcher);
			return 1;
		}
		doc = xmlReadMemory(xml, (int)len, NULL, NULL, 0);
		if(doc == NULL) {
			fprintf(stderr, "%s: xmlReadMemory failed\n", path);
			return 1;
		}
		xmlFreeDoc(doc);

		/* compile: parse + compile + free, the cold cost */
		CALLGRIND_ZERO_STATS;
		for(i = 0; i < iters; i++) {
			wa_policy_t *p = NULL;
			if(wa_policy_compile(xml, len, &lim, NULL, &p, &size, &ei) != 0)
				return 1;
			free(p);
		}
		dump("compile", path);

		/* eval: the warm cost, 100 times as many iterations */
		CALLGRIND_ZERO_STATS;
		for(i = 0; i < iters * 100; i++) {
			if(wa_policy_eval(pol, watcher, strlen(watcher), NULL, now, &res)
					!= 0)
				return 1;
		}
		dump("eval", path);

		/* parse: presence_xml's cost of reading the document once */
		CALLGRIND_ZERO_STATS;
		for(i = 0; i < iters; i++) {
			doc = xmlReadMemory(xml, (int)len, NULL, NULL, 0);
			if(doc == NULL)
				return 1;
			xmlFreeDoc(doc);
		}
		dump("parse", path);

		printf("%s: %zu bytes, %u rules, compiled %zu bytes, %d iterations"
			   " (eval %d)\n",
				path, len, wa_policy_rule_count(pol), size, iters,
				iters * 100);
		free(pol);
		free(xml);
	}
	return 0;
}
