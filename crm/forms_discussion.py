"""Forms for comments, attachments and notification preferences."""

from django import forms

from .discussion import BODY_MAX
from .models import Comment
from .notifications import EMAIL_EVENTS


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Message", max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 3}), strip=True,
        help_text="Mention someone with @username.",
        error_messages={"required": "Write something first.",
                        "max_length": f"A comment can be at most {BODY_MAX} characters."},
    )
    kind = forms.ChoiceField(label="Kind", choices=Comment.Kind.choices, initial=Comment.Kind.COMMENT)

    def __init__(self, *args, kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        if kinds is not None:
            self.fields["kind"].choices = [(k.value, k.label) for k in kinds]
            self.fields["kind"].error_messages["invalid_choice"] = (
                "Choose one of: " + ", ".join(str(k.label).lower() for k in kinds) + ".")


class CommentEditForm(forms.Form):
    body = CommentForm.base_fields["body"]


class AttachmentForm(forms.Form):
    file = forms.FileField(label="File", error_messages={
        "required": "Choose a file to attach.", "empty": "The file is empty.",
        "invalid": "No file was sent: choose a file to attach.",
    })


class NotificationSettingsForm(forms.Form):
    """One checkbox per email event: checked means "send me an email"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for event, label in EMAIL_EVENTS.items():
            self.fields[event] = forms.BooleanField(label=label, required=False)

    def email_events(self):
        return {event for event in EMAIL_EVENTS if self.cleaned_data.get(event)}
