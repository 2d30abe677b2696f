# mooncake.deploy: `make lab` and `make test` are all a newcomer needs (as root, on Debian).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
LAB_INVENTORY := inventories/lab

.PHONY: help bootstrap lab lab-destroy lab-report test lint sanity unit molecule bench build artifact bundle clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

bootstrap: ## Install the controller's tools (apt + .venv)
	@scripts/bootstrap.sh

lab: bootstrap ## Build the lab image, start the lab, deploy site.yml, print the verification report
	@scripts/lab.sh $(LAB_INVENTORY)

lab-destroy: bootstrap ## Remove the lab hosts, network and keys; restore host settings
	ansible-playbook -i $(LAB_INVENTORY) playbooks/lab_destroy.yml

test: bootstrap lint sanity unit molecule ## Every test: lint, sanity, unit, molecule

lint: bootstrap ## ansible-lint (profile production) and shellcheck
	ansible-lint
	shellcheck scripts/*.sh scripts/lab/labctl scripts/lab/*.sh roles/*/files/*.sh .ci/run

sanity: bootstrap ## ansible-test sanity on a copy of the collection
	scripts/sanity.sh

unit: bootstrap ## pytest: unit tests and the agent against a real etcd
	scripts/unit.sh

molecule: bootstrap ## molecule test for every scenario
	scripts/molecule.sh

bench: bootstrap ## Figures: lab creation, fresh deploy and no-op re-run wall times, task counts, throughput
	scripts/bench.sh $(LAB_INVENTORY)

artifact: bootstrap ## Build the lab's engine package (reproducible .deb + manifest) into dist/
	scripts/artifact.sh

bundle: bootstrap ## Offline bundle: every package + the engine as one apt repository in dist/
	ansible-playbook playbooks/offline_bundle.yml

build: bootstrap ## Build the collection tarball into dist/
	ansible-galaxy collection build --force --output-path dist

clean: ## Remove the lab, its images, caches and build outputs
	-ansible-playbook -i $(LAB_INVENTORY) playbooks/lab_destroy.yml
	scripts/lab/labctl purge
	rm -rf dist reports tests/output $(HOME)/.cache/mooncake-deploy
