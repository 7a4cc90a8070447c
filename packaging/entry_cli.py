"""PyInstaller entry script for the console ``ganstyle-cli`` executable (see ganstyle.spec)."""

import multiprocessing
import sys

from ganstyle_desktop.cli import main

if __name__ == "__main__":
    # A frozen app re-executes itself for multiprocessing children (torch DataLoader workers).
    multiprocessing.freeze_support()
    sys.exit(main())
