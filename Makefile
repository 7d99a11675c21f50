# ispc: two commands set everything up on a fresh machine.
#   make demo   -- create .venv, install the core and every plugin (editable), run `ispc demo`
#   make test   -- the same install (plus the Node tools the interop tests use), then every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PLUGINS := $(sort $(wildcard plugins/*))
NODE_TOOLS := tools/node
STAMP  := $(VENV)/.installed
# setuptools' editable builds print a multi-line BuildBackendWarning per package; it says nothing
# about this project, so the install stays quiet (errors still print)
PIP    := PYTHONWARNINGS=ignore::UserWarning,ignore::DeprecationWarning $(BIN)/python -m pip

.PHONY: install demo test proto contracts node-tools bench clean

$(STAMP): pyproject.toml setup.py ispc_core/zk/_native/poseidon.c requirements-nodeps.txt $(wildcard plugins/*/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]' $(foreach p,$(PLUGINS),-e '$(p)[test]')
	$(PIP) install -q --no-deps -r requirements-nodeps.txt
	touch $@

install: $(STAMP)

demo: install
	$(BIN)/ispc demo

ifneq ($(wildcard $(NODE_TOOLS)/package.json),)
node-tools: $(NODE_TOOLS)/node_modules/.installed
$(NODE_TOOLS)/node_modules/.installed: $(NODE_TOOLS)/package.json $(NODE_TOOLS)/package-lock.json
	npm ci --prefix $(NODE_TOOLS) --no-audit --no-fund --loglevel=error
	touch $@
else
node-tools:
endif

test: install node-tools
	$(BIN)/python -m pytest

# Regenerate the committed protobuf module from ispc_core/proto/transaction.proto.
proto: install
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/gen_proto.sh

# Rebuild the example WebAssembly contracts from source (needs clang + lld).
contracts:
	$(MAKE) -C contracts

bench: install
	$(BIN)/python bench/coordinator/run.py

clean:
	rm -rf $(VENV) .ispc-demo
