"""Root pytest configuration: nbval compares cells that declare a ``tolerance`` numerically.

See ``tools/nbval_tolerance.py``. It lives at the root so that it applies to ``chapters/*.ipynb``.
"""

import nbval_tolerance

nbval_tolerance.install()
