# presence-security: Kamailio modules for a secure SIP presence service.
#
#   make            install missing Debian packages, fetch and configure
#                   Debian's kamailio source, build every module in modules/
#   make run        both roles on loopback, in the foreground (Ctrl-C stops)
#   make test       unit and end-to-end tests; last line "N passed, N failed"
#   make bench      benchmarks (ratios side by side, callgrind instructions)
#   make fuzz       every libFuzzer harness, FUZZ_SECONDS each (default 60)
#   make sanitize   end-to-end suite, modules built with ASan and UBSan
#   make memcheck   end-to-end suite under Kamailio's debug allocator (qm)
#   make soak       both roles under a mixed load for SOAK_SECONDS (default
#                   600); failed transactions, memory before and after
#   make check-cfg  kamailio -c for both roles
#   make test-cluster  the cluster suite alone (2 PS + 2 P-CSCF, PostgreSQL)
#   make format / check-format
#
# Everything generated lives in build/ (and run/ for `make run`).

BUILD   := $(CURDIR)/build
KSRC    := $(BUILD)/ksrc
MODULES := $(patsubst modules/%/Makefile,%,$(wildcard modules/*/Makefile))
# SANITIZE=1: the modules built with ASan and UBSan into build/san/
# (scripts/sanitize.sh, `make sanitize`); MODOUT is where objects and .so go.
ifneq ($(SANITIZE),)
MODOUT  := $(BUILD)/san
MODSAN   = CC_EXTRA_OPTS="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined" \
	MOD_LDFLAGS="$(shell sed -n 's/^MOD_LDFLAGS= *//p' $(KSRC)/src/config.mak) -fsanitize=address,undefined"
else
MODOUT  := $(BUILD)
MODSAN  :=
endif
MODSO   := $(foreach m,$(MODULES),$(MODOUT)/modules/$(m).so)
SOURCES := $(shell git ls-files --cached --others --exclude-standard 'modules/*.c' 'modules/*.h' 'lib/*.c' 'lib/*.h' 'test/*.c' 'test/*.h' 'fuzz/*.c' 2>/dev/null)

.PHONY: all deps ksrc modules run test test-cluster unit e2e bench fuzz check-cfg format \
	check-format clean distclean sanitize memcheck soak

all: modules

deps:
	@scripts/deps.sh

$(KSRC)/.configured: scripts/ksrc.sh | deps
	@scripts/ksrc.sh $(BUILD)

ksrc: deps $(KSRC)/.configured

modules: ksrc $(MODSO)

# Out-of-tree module build: the module's files are mirrored into
# build/obj/<mod> (timestamps kept, so a second make is a no-op) and built
# with Kamailio's own Makefile.modules from the configured Debian source.
# The .so is installed by rename, so a running kamailio keeps the file it
# mapped (rewriting it in place crashes it).
# A module's Makefile names the shared pure C files of lib/ it links with a
# line "# lib: name ..." (lib/name.h, and lib/name.c unless the piece is a
# header only); they are mirrored too.
modlib = $(foreach n,$(shell sed -n 's/^\# lib: *//p' modules/$(1)/Makefile),$(wildcard lib/$(n).c) lib/$(n).h)
.SECONDEXPANSION:
$(MODOUT)/modules/%.so: $$(wildcard modules/$$*/*.c modules/$$*/*.h modules/$$*/Makefile) $$(call modlib,$$*) $(KSRC)/.configured
	@mkdir -p $(MODOUT)/obj/$* $(MODOUT)/modules
	@cp -p $(filter modules/% lib/%,$^) $(MODOUT)/obj/$*/
	@$(MAKE) --no-print-directory -C $(MODOUT)/obj/$* COREPATH=$(KSRC)/src \
		PROJECT_MODULE_DIR=$(CURDIR)/modules/$* quiet=silent $(MODSAN)
	@cp -p $(MODOUT)/obj/$*/$*.so $@.tmp && mv -f $@.tmp $@
	@echo "built $@"

run: modules
	@scripts/run.sh $(CURDIR)/run

check-cfg: modules
	@scripts/check-cfg.sh $(BUILD)/check-run

test: modules
	@test/run.sh

# issue 7: two nodes of each role on one PostgreSQL (scripts/pg.sh)
test-cluster: modules
	@/usr/bin/python3 -m pytest -p no:cacheprovider -q -rfEs test/cluster

bench: modules
	@bench/run.sh

fuzz: deps
	@scripts/fuzz.sh

# Memory safety on the real server (RELIABILITY.md): the end-to-end suite
# with the modules built with ASan and UBSan into build/san/, and with
# Kamailio's debug allocator and its memory summaries at exit.
sanitize: ksrc
	@scripts/sanitize.sh

memcheck: ksrc
	@scripts/memcheck.sh

# bench/soak.py; the timeout is only a guard (step-up, soak, drain)
soak: modules
	@timeout --foreground -k 30 $$(( $${SOAK_SECONDS:-600} + 1800 )) /usr/bin/python3 bench/soak.py

format:
	@clang-format -i $(SOURCES)

check-format:
	@bad=0; for f in $(SOURCES); do \
		clang-format --dry-run -Werror $$f >/dev/null 2>&1 || { echo "needs format: $$f"; bad=1; }; \
	done; [ $$bad = 0 ] && echo "format ok"

clean:
	rm -rf $(BUILD)/obj $(BUILD)/modules $(BUILD)/unit $(BUILD)/test-run \
		$(BUILD)/san $(BUILD)/memcheck

distclean:
	rm -rf $(BUILD) run
