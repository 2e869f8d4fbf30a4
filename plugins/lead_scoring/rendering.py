"""The one Jinja environment every HTML page the product writes is rendered with.

Autoescaping is on for every template, whatever its file name, and for templates made
from strings: a value from the data (a lead id, a name, a rule, a signal) can never
become markup. Values the data can place in ``href``/``src`` go through ``safe_url``,
which keeps only http(s), file and relative URLs (``javascript:`` and ``data:`` links
become no link at all).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import urlsplit

from jinja2 import BaseLoader, Environment

SAFE_SCHEMES = frozenset({"http", "https", "file"})
# Browsers ignore these inside a URL's scheme ("java\tscript:" is "javascript:").
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f]")


def safe_url(value) -> str:
    """``value`` as a URL that is safe in ``href``/``src``, or "" when it is not one.

    http(s) and file URLs and relative references are kept; an absolute file path becomes
    a file URL; any other scheme (``javascript:``, ``data:``, ``vbscript:``) gives "".
    """
    if value is None:
        return ""
    text = str(value).strip()
    if not text:
        return ""
    if PurePosixPath(text).is_absolute() and not text.startswith("//"):
        return Path(text).as_uri()
    if PureWindowsPath(text).drive and PureWindowsPath(text).is_absolute():
        return PureWindowsPath(text).as_uri()
    scheme = urlsplit(_IGNORED_IN_SCHEME.sub("", text)).scheme.lower()
    if scheme and scheme not in SAFE_SCHEMES:
        return ""
    if ":" in text.split("/", 1)[0] and not scheme:
        return ""  # a colon before the first slash that urlsplit did not read as a scheme
    return text


def _pct(value) -> str:
    return "-" if value is None or value != value else f"{100 * float(value):.1f}%"


def _num(value, digits: int = 1) -> str:
    return "-" if value is None or value != value else f"{float(value):,.{digits}f}"


def html_environment(loader: BaseLoader | None = None) -> Environment:
    """A Jinja environment for HTML: every value escaped, ``safe_url``/``pct``/``num``."""
    env = Environment(loader=loader, autoescape=True)
    env.filters["safe_url"] = safe_url
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    return env
