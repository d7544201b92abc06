"""What error reports (Django's debug page, error e-mails) may show: never a password."""

import re
from pprint import pformat

from django.views.debug import SafeExceptionReporterFilter

# Django hides a value only when its name looks secret (SafeExceptionReporterFilter's
# hidden_settings): DATABASE_URL and a connection's `conninfo` carry passwords under other
# names. Passwords inside URLs (RFC 3986 §3.2.1 userinfo) and libpq key=value strings
# (PostgreSQL docs, "Connection Strings") are masked wherever they appear.
URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^\s/@:]*:)[^\s/@]+(?=@)", re.I)
CONNINFO_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?:'(?:\\.|[^'\\])*'|[^\s'\"]+)")
# A dict shown by its repr: a key named like a password, then its quoted value.
QUOTED_PASSWORD = re.compile(
    r"(?P<head>['\"][^'\"]*(?:pass|secret|token)[^'\"]*['\"]\s*:\s*)(?:'[^']*'|\"[^\"]*\")",
    re.I,
)


class PasswordFilter(SafeExceptionReporterFilter):
    """Django's filter, also masking passwords found in values, and in traceback variables."""

    def cleanse_setting(self, key, value):
        """Return the value Django would show, with passwords inside strings masked."""
        cleansed = super().cleanse_setting(key, value)
        return self.mask(cleansed) if isinstance(cleansed, str) else cleansed

    def get_traceback_frame_variables(self, request, tb_frame) -> list:
        """Return each frame's variables cleansed as settings are, shown with passwords masked.

        Django shows locals in full unless the function is marked @sensitive_variables; a
        failed connection's frames hold the connection parameters, password included.
        """
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [
            (name, _Masked(self, self._cleanse_variable(name, value))) for name, value in variables
        ]

    def _cleanse_variable(self, name, value):
        try:
            return self.cleanse_setting(name, value)
        except RecursionError:  # a structure that contains itself: its masked repr is shown
            return value

    def mask(self, text: str) -> str:
        """Return text with every password-looking value replaced by the substitute."""
        replacement = rf"\g<head>{self.cleansed_substitute}"
        for pattern in (URL_PASSWORD, CONNINFO_PASSWORD, QUOTED_PASSWORD):
            text = pattern.sub(replacement, text)
        return text


class _Masked:
    """A value the report shows through repr(): its pretty form, passwords masked."""

    def __init__(self, report_filter: PasswordFilter, value) -> None:
        self._filter = report_filter
        self._value = value

    def __repr__(self) -> str:
        return self._filter.mask(pformat(self._value))
