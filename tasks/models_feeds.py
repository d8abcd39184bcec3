"""The secret token behind a user's personal calendar feed (/calendar/feed/<token>.ics).

A feed URL is opened by calendar apps that cannot sign in, so the token is the
only credential: 32 random bytes (secrets.token_urlsafe). It is looked up by its
SHA-256 digest, never by the token itself, so the time an index lookup takes
reveals nothing about the token (the digest of a guess shares no prefix with the
digest of the real token); the stored token is then compared in constant time.
The token itself is kept so the settings page can show the URL again.

A user has at most one active token (a partial unique constraint). Regenerating
revokes the active one and creates a new one; revoking only revokes. Revoked
rows are kept as a record of when a URL stopped working.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeedToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed_tokens")
    token = models.CharField(max_length=64)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=models.Q(revoked_at__isnull=True),
                                    name="one_active_calendar_feed_token"),
        ]

    def __str__(self):
        state = "revoked" if self.revoked_at else "active"
        return f"Calendar feed of {self.user} ({state})"

    @property
    def is_active(self):
        return self.revoked_at is None

    def save(self, *args, **kwargs):
        # The digest is derived from the token (a lookup column, not a rule).
        self.digest = token_digest(self.token)
        super().save(*args, **kwargs)
