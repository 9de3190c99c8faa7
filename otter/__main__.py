import sys

from otter.cli.main import main

sys.exit(main())
