from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, created, raw=False, **kwargs):
    """Every user has a profile (time zone, hourly rate) from the moment they exist."""
    if created and not raw:
        from .models import Profile

        Profile.objects.get_or_create(user=instance)
