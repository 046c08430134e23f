"""Where the tests find the project and the reference data published by others.

``REFDATA`` is the workplace's ``shared/refdata`` folder that sits beside the checkout (in CI too):
vendors' vectors and real formats that nobody on this project wrote.
"""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
REFDATA = REPO_ROOT.parent / "shared" / "refdata"
FIXTURES = REPO_ROOT / "tests" / "fixtures"

#: The public D0010 sample flow, not redistributed (no licence): in the reference data when the
#: workplace provides it, or wherever ``QUANTIFY_D0010_SAMPLE`` points on a machine that has a copy.
D0010_PUBLIC_SAMPLE = Path(
    os.environ.get("QUANTIFY_D0010_SAMPLE", REFDATA / "d0010" / "DTC5259515123502080915D0010.uff")
)
