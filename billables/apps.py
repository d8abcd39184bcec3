from django.apps import AppConfig


class BillablesConfig(AppConfig):
    name = "billables"
