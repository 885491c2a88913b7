#!/usr/bin/env python
"""Write the locked install cell (lenet_ref/install.py, the book's html.baseurl) into every
notebook of solutions/: lenet_ref.release.sync_install_cells. Then regenerate exercises/
(make install-cells does both)."""

import argparse

from lenet_ref.release import ROOT, sync_install_cells

argparse.ArgumentParser(description=__doc__).parse_args()
for path in sync_install_cells():
    print(f"updated {path.relative_to(ROOT)}")
