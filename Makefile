# presence-security: Kamailio modules for a secure SIP presence service.
#
#   make            install missing Debian packages, fetch and configure
#                   Debian's kamailio source, build every module in modules/
#   make run        both roles on loopback, in the foreground (Ctrl-C stops)
#   make test       unit and end-to-end tests; last line "N passed, N failed"
#   make bench      benchmarks (ratios side by side, callgrind instructions)
#   make fuzz       every libFuzzer harness, FUZZ_SECONDS each (default 60)
#   make check-cfg  kamailio -c for both roles
#   make format / check-format
#
# Everything generated lives in build/ (and run/ for `make run`).

BUILD   := $(CURDIR)/build
KSRC    := $(BUILD)/ksrc
MODULES := $(patsubst modules/%/Makefile,%,$(wildcard modules/*/Makefile))
MODSO   := $(foreach m,$(MODULES),$(BUILD)/modules/$(m).so)
SOURCES := $(shell git ls-files --cached --others --exclude-standard 'modules/*.c' 'modules/*.h' 'lib/*.c' 'lib/*.h' 'test/*.c' 'test/*.h' 'fuzz/*.c' 2>/dev/null)

.PHONY: all deps ksrc modules run test unit e2e bench fuzz check-cfg format \
	check-format clean distclean

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
# line "# lib: name ..." (lib/name.c and lib/name.h); they are mirrored too.
modlib = $(foreach n,$(shell sed -n 's/^\# lib: *//p' modules/$(1)/Makefile),lib/$(n).c lib/$(n).h)
.SECONDEXPANSION:
$(BUILD)/modules/%.so: $$(wildcard modules/$$*/*.c modules/$$*/*.h modules/$$*/Makefile) $$(call modlib,$$*) $(KSRC)/.configured
	@mkdir -p $(BUILD)/obj/$* $(BUILD)/modules
	@cp -p $(filter modules/% lib/%,$^) $(BUILD)/obj/$*/
	@$(MAKE) --no-print-directory -C $(BUILD)/obj/$* COREPATH=$(KSRC)/src \
		PROJECT_MODULE_DIR=$(CURDIR)/modules/$* quiet=silent
	@cp -p $(BUILD)/obj/$*/$*.so $@.tmp && mv -f $@.tmp $@
	@echo "built $@"

run: modules
	@scripts/run.sh $(CURDIR)/run

check-cfg: modules
	@scripts/check-cfg.sh $(BUILD)/check-run

test: modules
	@test/run.sh

bench: modules
	@bench/run.sh

fuzz: deps
	@scripts/fuzz.sh

format:
	@clang-format -i $(SOURCES)

check-format:
	@bad=0; for f in $(SOURCES); do \
		clang-format --dry-run -Werror $$f >/dev/null 2>&1 || { echo "needs format: $$f"; bad=1; }; \
	done; [ $$bad = 0 ] && echo "format ok"

clean:
	rm -rf $(BUILD)/obj $(BUILD)/modules $(BUILD)/unit $(BUILD)/test-run

distclean:
	rm -rf $(BUILD) run
