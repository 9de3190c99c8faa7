# The two commands: `make demo` and `make test`. Both set everything up first (idempotent).
.PHONY: setup demo test bench clean

DEMO_STORE := $(CURDIR)/build/demo

setup:
	./scripts/setup.sh

OTTER_DEMO := .venv/bin/otter --root $(DEMO_STORE)/root --runroot $(DEMO_STORE)/run

demo: setup
	$(OTTER_DEMO) load -q -i build/busybox.tar
	$(OTTER_DEMO) images
	$(OTTER_DEMO) run --rm busybox echo "Hello from an otter container"

test: setup
	.venv/bin/python -m pytest -q tests
	./scripts/test-rootless.sh

bench: setup
	.venv/bin/python bench/bench.py

clean:
	rm -rf build .venv
