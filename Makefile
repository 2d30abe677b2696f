# mooncake.deploy: `make lab` and `make test` are all a newcomer needs (as root, on Debian).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
LAB_INVENTORY := inventories/lab
COLLECTION_VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := dist/mooncake-deploy-$(COLLECTION_VERSION).tar.gz
# The lab runs on mitogen's mitogen_linear strategy (requirements.txt; scripts/lab.sh sets it up);
# `make lab MITOGEN=0` runs it on Ansible's default strategy. CI's molecule scenarios choose their
# own strategy in their molecule.yml; the collection itself needs no mitogen.
MITOGEN ?= 1
# make importer's own ansible-lint pass on the tarball (about 35 s; make lint covers the clone).
IMPORTER_LINT ?= true

.PHONY: help bootstrap lab lab-destroy lab-report test lint sanity unit importer molecule bench build artifact bundle clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

bootstrap: ## Install the controller's tools (apt + .venv)
	@scripts/bootstrap.sh

lab: bootstrap ## Build the lab image, start the lab, deploy site.yml (mitogen; MITOGEN=0: without), print the report
	@MITOGEN=$(MITOGEN) scripts/lab.sh $(LAB_INVENTORY)

lab-destroy: bootstrap ## Remove the lab hosts, network and keys; restore host settings
	ansible-playbook -i $(LAB_INVENTORY) playbooks/lab_destroy.yml

test: bootstrap ## Every test: lint, sanity, unit, importer beside molecule (scripts/test.sh)
	scripts/test.sh

lint: bootstrap ## ansible-lint (profile production) and shellcheck
	ansible-lint
	shellcheck scripts/*.sh scripts/bench/*.sh scripts/lab/labctl scripts/lab/*.sh roles/*/files/*.sh .ci/run

sanity: bootstrap ## ansible-test sanity on a copy of the collection
	scripts/sanity.sh

unit: bootstrap ## pytest: unit tests and the agent against a real etcd
	scripts/unit.sh

# Galaxy's own import checks (galaxy-importer: metadata, docs via ansible-doc, ansible-lint
# production, changelog) on the tarball, run locally: no container (run_ansible_test off), no
# network (ansible-lint --offline), no site config (GALAXY_IMPORTER_CONFIG=/dev/null), a HOME of
# its own (ansible-lint and molecule install collections under ~/.ansible/collections: another
# run's copy of mooncake.deploy there would be linted instead). Fails on a failed import and on
# any warning or error it reports.
importer: build ## galaxy-importer on the built tarball (as Galaxy would import it)
	@work=$$(mktemp -d) && trap 'rm -rf "$$work"' EXIT && cd "$$work" && \
	  HOME="$$work" GALAXY_IMPORTER_CONFIG=/dev/null GALAXY_IMPORTER_RUN_ANSIBLE_TEST=false \
	  GALAXY_IMPORTER_LOCAL_IMAGE_DOCKER=false GALAXY_IMPORTER_ANSIBLE_TEST_LOCAL_IMAGE=false \
	  GALAXY_IMPORTER_RUN_ANSIBLE_LINT=$(IMPORTER_LINT) GALAXY_IMPORTER_OFFLINE_ANSIBLE_LINT=true \
	  GALAXY_IMPORTER_CHECK_CHANGELOG=true GALAXY_IMPORTER_TMP_ROOT_DIR="$$work" \
	  python -m galaxy_importer.main "$(CURDIR)/$(TARBALL)" >importer.log 2>&1; rc=$$?; \
	  if [ $$rc -ne 0 ] || grep -Eq '^(WARNING|ERROR|CRITICAL):' importer.log || ! grep -q 'Importer processing completed successfully' importer.log; then \
	    cat importer.log; echo "importer: $(TARBALL) failed galaxy-importer (exit $$rc)" >&2; exit 1; fi; \
	  echo "importer: $(TARBALL) passes galaxy-importer $$(python -c 'import importlib.metadata as m; print(m.version("galaxy-importer"))')"

molecule: bootstrap ## molecule test for every scenario
	scripts/molecule.sh

bench: bootstrap ## Figures: fresh deploy and no-op re-runs, 1 and 3 hosts, default vs mitogen, old vs new code
	scripts/bench.sh

artifact: bootstrap ## Build the lab's engine package (reproducible .deb + manifest) into dist/
	scripts/artifact.sh

bundle: bootstrap ## Offline bundle: every package + the engine as one apt repository in dist/
	ansible-playbook playbooks/offline_bundle.yml

build: bootstrap ## Build the collection tarball into dist/ (galaxy.yml's build_ignore keeps it to the collection)
	ansible-galaxy collection build --force --output-path dist

clean: ## Remove the lab, its images, caches and build outputs
	-ansible-playbook -i $(LAB_INVENTORY) playbooks/lab_destroy.yml
	scripts/lab/labctl purge
	rm -rf dist reports tests/output $(HOME)/.cache/mooncake-deploy
