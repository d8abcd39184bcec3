from django.apps import AppConfig


class MemosConfig(AppConfig):
    name = "memos"
