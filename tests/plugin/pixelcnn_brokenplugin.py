"""A plug-in that fails to import (tests/test_plugins.py installs it beside the working one)."""

raise ImportError("this plug-in is broken on purpose")
