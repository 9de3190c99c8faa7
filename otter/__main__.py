from otter.cli.main import run

run()
