"""A CSV import between its preview and its confirmation.

The uploaded file is parsed once into `rows` (the raw cell values of each line,
with the errors found) and kept here, not on the web server's disk, so the
preview and the confirmation may be served by different web processes. Only
the user who uploaded it may see or confirm it; confirming claims the row with a
conditional update on `status`, so a double submit imports once.
"""

from django.conf import settings
from django.db import models


class TaskImport(models.Model):
    class Status(models.TextChoices):
        PREVIEW = "preview", "Waiting for confirmation"
        IMPORTED = "imported", "Imported"
        DISCARDED = "discarded", "Discarded"

    class Mode(models.TextChoices):
        VALID_ROWS = "valid", "Import the valid rows, skip the invalid ones"
        ALL_OR_NOTHING = "all", "Import only if every row is valid"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_imports")
    filename = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREVIEW)
    # The file's columns, and those it has that the import does not know (reported, ignored).
    columns = models.JSONField(default=list)
    unknown_columns = models.JSONField(default=list)
    # [{"line": 2, "values": {"title": "...", ...}, "errors": {"status": ["..."]}}, ...]
    rows = models.JSONField(default=list)
    row_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)
    mode = models.CharField(max_length=8, choices=Mode.choices, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    imported_count = models.PositiveIntegerField(default=0)
    # Lines skipped at confirmation (their errors are in `rows`).
    skipped_lines = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "status"], name="taskimport_user_status")]

    def __str__(self):
        return f"Import of {self.filename or 'a CSV file'} by {self.user} ({self.get_status_display()})"

    @property
    def valid_count(self):
        return self.row_count - self.invalid_count
