"""`python -m resumefuzz`: the CLI with the interpreter that runs it (finding replay scripts use this)."""

import sys

from .cli import main

sys.exit(main())
