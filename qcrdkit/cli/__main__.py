"""``python -m qcrdkit.cli``: the ``qcrd`` command."""
import sys

from qcrdkit.cli.commands import main

sys.exit(main())
