"""Where the tests find the project and the reference data published by others.

``REFDATA`` is the workplace's ``shared/refdata`` folder that sits beside the checkout (in CI too):
vendors' vectors and real formats that nobody on this project wrote.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
REFDATA = REPO_ROOT.parent / "shared" / "refdata"
FIXTURES = REPO_ROOT / "tests" / "fixtures"
