"""``python -m segmento.activation``: run the deliverer as its own process (see deliver.main)."""

import sys

from segmento.activation.deliver import main

sys.exit(main())
