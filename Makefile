# The two commands: `make demo` and `make test`. Both set everything up first (idempotent).
.PHONY: setup demo test bench clean

DEMO_STORE := $(CURDIR)/build/demo

setup:
	./scripts/setup.sh

demo: setup
	.venv/bin/otter --root $(DEMO_STORE)/root --runroot $(DEMO_STORE)/run load -i build/busybox.tar
	.venv/bin/otter --root $(DEMO_STORE)/root --runroot $(DEMO_STORE)/run images

test: setup
	.venv/bin/python -m pytest -q tests

bench: setup
	.venv/bin/python bench/bench.py

clean:
	rm -rf build .venv
