# ocfrs: build, install and uninstall.
#
#   make                      build release binaries
#   make install              install agents under $(DESTDIR)$(OCF_RA_DIR)/$(PROVIDER)/
#   make install-rgmanager    also expose the agents to rgmanager under $(DESTDIR)$(RGMANAGER_DIR)/
#   make uninstall            remove exactly what install and install-rgmanager put there
#   make metadata             regenerate metadata/ and metadata/man/ (checked in; a test fails
#                             when stale)
#   make deb                  build the Debian package (debian/; .deb in target/debian/)
#   make demo / make test     the README's two commands (see tests/run.sh)
#
# Variables: PROVIDER (ocfrs), PREFIX (/usr), DESTDIR, OCF_RA_DIR, LIBEXECDIR, SBINDIR, MANDIR,
# RGMANAGER_DIR, BASHCOMPDIR, ZSHCOMPDIR, FISHCOMPDIR, PROFILE (release), OCF_TESTER_LINK
# (auto: add the `ocf-tester` name where it is free; no: never, as for the Debian package,
# whose maintainer scripts decide on the installed system instead).
#
# The rgmanager importer is installed as $(SBINDIR)/ocfrs-import-rgmanager with its man page
# ocfrs-import-rgmanager.8 (built with the agents' package: `cargo build -p ocfrs-agents`).
#
# The tester is installed as $(SBINDIR)/ocfrs-tester with its man page ocfrs-tester.8 and
# completions for bash, zsh and fish (all generated from its clap definition); the
# `ocf-tester` symlink (and ocf-tester.8) are added only where those names are free, so
# resource-agents' shell ocf-tester is never replaced.
#
# Every agent is its own binary (ocfrs-<Agent>, built by `cargo build -p ocfrs-agents` next to
# the multicall ocfrs-agents, from the same library: an agent's start-up pays only for its own
# code, bench/README.md "Start-up cost against the floor"), installed once as
# $(LIBEXECDIR)/ocfrs-<Agent> and hard-linked (copied when a link is impossible) under the
# agent type's name. The multicall binary is installed as $(LIBEXECDIR)/ocfrs-agents for its
# tool commands (--list, --generate, `ocfrs-agents AGENT ACTION`). A manifest of every
# installed path is kept in $(LIBEXECDIR)/installed-files so that uninstall removes exactly
# those and nothing else.

PROVIDER      ?= ocfrs
PREFIX        ?= /usr
DESTDIR       ?=
OCF_ROOT_DIR  ?= $(PREFIX)/lib/ocf
OCF_RA_DIR    ?= $(OCF_ROOT_DIR)/resource.d
LIBEXECDIR    ?= $(PREFIX)/lib/ocfrs
SBINDIR       ?= $(PREFIX)/sbin
MANDIR        ?= $(PREFIX)/share/man
RGMANAGER_DIR ?= $(PREFIX)/share/cluster
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR    ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR   ?= $(PREFIX)/share/fish/vendor_completions.d
CARGO         ?= cargo
PROFILE       ?= release

TARGET_DIR  ?= target
BIN_DIR      = $(TARGET_DIR)/$(PROFILE)
AGENTS_BIN  ?= $(BIN_DIR)/ocfrs-agents
TESTER_BIN  ?= $(BIN_DIR)/ocf-tester
# Built by the agents package: next to the agents binary (also every ocfrs-<Agent>).
AGENT_BINS_DIR   ?= $(dir $(AGENTS_BIN))
SWITCH_CHECK_BIN ?= $(dir $(AGENTS_BIN))ocfrs-switch-check
IMPORT_BIN  ?= $(dir $(AGENTS_BIN))ocfrs-import-rgmanager
OCF_TESTER_LINK  ?= auto
# NO_BUILD=1 installs already-built binaries (AGENTS_BIN/TESTER_BIN) without running cargo.
NO_BUILD    ?=
MANIFEST     = $(DESTDIR)$(LIBEXECDIR)/installed-files

CARGO_PROFILE_FLAG = $(if $(filter release,$(PROFILE)),--release,--profile $(PROFILE))

.PHONY: all build install install-rgmanager uninstall metadata deb demo test clean

all: build

build:
	$(CARGO) build $(CARGO_PROFILE_FLAG) -p ocfrs-agents -p ocf-tester

install: $(if $(NO_BUILD),,build)
	@set -e; \
	mkdir -p $(DESTDIR)$(LIBEXECDIR); \
	touch $(MANIFEST); cp $(MANIFEST) $(MANIFEST).tmp; \
	install -D -m 0755 $(AGENTS_BIN) $(DESTDIR)$(LIBEXECDIR)/ocfrs-agents; \
	echo "$(DESTDIR)$(LIBEXECDIR)/ocfrs-agents" >> $(MANIFEST).tmp; \
	dir=$(DESTDIR)$(OCF_RA_DIR)/$(PROVIDER); mkdir -p $$dir; \
	for a in $$($(AGENTS_BIN) --list); do \
	  src=$(AGENT_BINS_DIR)ocfrs-$$a; \
	  if [ ! -x $$src ]; then \
	    echo "make install: $$src is missing (cargo build -p ocfrs-agents builds one binary per agent next to ocfrs-agents)" >&2; \
	    rm -f $(MANIFEST).tmp; exit 1; \
	  fi; \
	  install -m 0755 $$src $(DESTDIR)$(LIBEXECDIR)/ocfrs-$$a; \
	  echo "$(DESTDIR)$(LIBEXECDIR)/ocfrs-$$a" >> $(MANIFEST).tmp; \
	  rm -f $$dir/$$a; \
	  ln $(DESTDIR)$(LIBEXECDIR)/ocfrs-$$a $$dir/$$a 2>/dev/null || install -m 0755 $$src $$dir/$$a; \
	  echo "$$dir/$$a" >> $(MANIFEST).tmp; \
	  echo "installed $$dir/$$a"; \
	done; \
	install -D -m 0755 $(TESTER_BIN) $(DESTDIR)$(SBINDIR)/ocfrs-tester; \
	echo "$(DESTDIR)$(SBINDIR)/ocfrs-tester" >> $(MANIFEST).tmp; \
	install -D -m 0755 $(SWITCH_CHECK_BIN) $(DESTDIR)$(SBINDIR)/ocfrs-switch-check; \
	echo "$(DESTDIR)$(SBINDIR)/ocfrs-switch-check" >> $(MANIFEST).tmp; \
	if [ "$(OCF_TESTER_LINK)" = no ]; then \
	  echo "no ocf-tester name (OCF_TESTER_LINK=no); ours is ocfrs-tester"; \
	elif [ ! -e $(DESTDIR)$(SBINDIR)/ocf-tester ]; then \
	  ln -s ocfrs-tester $(DESTDIR)$(SBINDIR)/ocf-tester; \
	  echo "$(DESTDIR)$(SBINDIR)/ocf-tester" >> $(MANIFEST).tmp; \
	  echo "installed $(DESTDIR)$(SBINDIR)/ocf-tester -> ocfrs-tester"; \
	else \
	  echo "kept existing $(DESTDIR)$(SBINDIR)/ocf-tester; ours is ocfrs-tester"; \
	fi; \
	mandir=$(DESTDIR)$(MANDIR)/man7; mkdir -p $$mandir; \
	tmp=$$(mktemp -d); $(AGENTS_BIN) --generate man $$tmp; \
	for f in $$tmp/*.7; do \
	  install -m 0644 $$f $$mandir/; echo "$$mandir/$$(basename $$f)" >> $(MANIFEST).tmp; \
	done; rm -rf $$tmp; \
	man8=$(DESTDIR)$(MANDIR)/man8; mkdir -p $$man8; \
	$(SWITCH_CHECK_BIN) --man > $$man8/ocfrs-switch-check.8; chmod 0644 $$man8/ocfrs-switch-check.8; \
	echo "$$man8/ocfrs-switch-check.8" >> $(MANIFEST).tmp; \
	tmp=$$(mktemp -d); $(TESTER_BIN) --generate man $$tmp >/dev/null; \
	install -m 0644 $$tmp/ocf-tester.8 $$man8/ocfrs-tester.8; echo "$$man8/ocfrs-tester.8" >> $(MANIFEST).tmp; \
	if [ -L $(DESTDIR)$(SBINDIR)/ocf-tester ] && [ "$$(readlink $(DESTDIR)$(SBINDIR)/ocf-tester)" = ocfrs-tester ] \
	   && [ ! -e $$man8/ocf-tester.8 ] && [ ! -e $$man8/ocf-tester.8.gz ]; then \
	  install -m 0644 $$tmp/ocf-tester.8 $$man8/ocf-tester.8; echo "$$man8/ocf-tester.8" >> $(MANIFEST).tmp; \
	  f=$(DESTDIR)$(BASHCOMPDIR)/ocf-tester; \
	  if [ ! -e $$f ]; then mkdir -p $$(dirname $$f); \
	    $(TESTER_BIN) --generate completions bash ocf-tester > $$f; chmod 0644 $$f; echo "$$f" >> $(MANIFEST).tmp; fi; \
	fi; rm -rf $$tmp; \
	for sh_name in bash:$(BASHCOMPDIR)/ocfrs-tester zsh:$(ZSHCOMPDIR)/_ocfrs-tester fish:$(FISHCOMPDIR)/ocfrs-tester.fish; do \
	  sh=$${sh_name%%:*}; f=$(DESTDIR)$${sh_name#*:}; mkdir -p $$(dirname $$f); \
	  $(TESTER_BIN) --generate completions $$sh ocfrs-tester > $$f; chmod 0644 $$f; echo "$$f" >> $(MANIFEST).tmp; \
	done; \
	install -D -m 0755 $(IMPORT_BIN) $(DESTDIR)$(SBINDIR)/ocfrs-import-rgmanager; \
	echo "$(DESTDIR)$(SBINDIR)/ocfrs-import-rgmanager" >> $(MANIFEST).tmp; \
	$(IMPORT_BIN) --man > $$man8/ocfrs-import-rgmanager.8; chmod 0644 $$man8/ocfrs-import-rgmanager.8; \
	echo "$$man8/ocfrs-import-rgmanager.8" >> $(MANIFEST).tmp; \
	sort -u $(MANIFEST).tmp > $(MANIFEST); rm -f $(MANIFEST).tmp; \
	echo "provider $(PROVIDER): $$($(AGENTS_BIN) --list | tr '\n' ' ')"

install-rgmanager: install
	@set -e; \
	cp $(MANIFEST) $(MANIFEST).tmp; \
	mkdir -p $(DESTDIR)$(RGMANAGER_DIR); \
	for a in $$($(AGENTS_BIN) --list); do \
	  f=$(DESTDIR)$(RGMANAGER_DIR)/$$a.sh; rm -f $$f; \
	  ln $(DESTDIR)$(LIBEXECDIR)/ocfrs-$$a $$f 2>/dev/null || install -m 0755 $(AGENT_BINS_DIR)ocfrs-$$a $$f; \
	  echo "$$f" >> $(MANIFEST).tmp; echo "installed $$f"; \
	done; \
	sort -u $(MANIFEST).tmp > $(MANIFEST); rm -f $(MANIFEST).tmp

uninstall:
	@set -e; \
	if [ ! -f $(MANIFEST) ]; then echo "nothing installed under $(DESTDIR)$(LIBEXECDIR)"; exit 0; fi; \
	while read -r f; do \
	  case "$$f" in "$(DESTDIR)"*) rm -f "$$f"; echo "removed $$f";; esac; \
	done < $(MANIFEST); \
	rm -f $(MANIFEST); \
	rmdir $(DESTDIR)$(OCF_RA_DIR)/$(PROVIDER) $(DESTDIR)$(LIBEXECDIR) 2>/dev/null || true

metadata: build
	rm -rf metadata/*.xml metadata/ocf-1.1 metadata/rgmanager metadata/man
	$(AGENTS_BIN) --generate metadata metadata
	$(AGENTS_BIN) --generate man metadata/man

# The Debian package, with debhelper (see debian/rules and the README's "Debian package").
# NO_BUILD=1 AGENTS_BIN=... TESTER_BIN=... SWITCH_CHECK_BIN=... packages given binaries;
# DEB_COMPRESS="-Zgzip -z1" compresses faster (dpkg-deb options).
DEB_DESTDIR ?= $(TARGET_DIR)/debian
deb:
	DEB_RULES_REQUIRES_ROOT=no NO_BUILD=$(NO_BUILD) AGENTS_BIN=$(AGENTS_BIN) \
	  TESTER_BIN=$(TESTER_BIN) SWITCH_CHECK_BIN=$(SWITCH_CHECK_BIN) DEB_DESTDIR=$(DEB_DESTDIR) \
	  DEB_COMPRESS="$(DEB_COMPRESS)" \
	  debian/rules binary
	DEB_RULES_REQUIRES_ROOT=no debian/rules clean
	@ls -1 $(DEB_DESTDIR)/ocfrs_*.deb

demo:
	bash tests/run.sh demo

test:
	bash tests/run.sh test

clean:
	$(CARGO) clean
