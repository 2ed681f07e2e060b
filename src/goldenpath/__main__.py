import sys

from goldenpath.cli import main

sys.exit(main())
