"""Keep credentials sent in a URL's query string out of the receiver's access log.

uvicorn logs every request line with its query string (``POST /alerts/generic?token=...``).
A sender that puts its token in the URL would otherwise write it to the log in clear; the same
redaction as for kept dead letters (:func:`alerts.dead_letters.redact_query`) applies here.
"""

from __future__ import annotations

import logging

from alerts.dead_letters import redact_query


class RedactQuerySecrets(logging.Filter):
    """A logging filter: credential-like query values in the record's text are replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        return True
