from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self):
        from . import links, signals  # noqa: F401

        links.register("individual", "crm.Individual", "Individual", ("first_name", "last_name", "email"))
        links.register("organization", "crm.Organization", "Organization", ("name", "email", "website"))
        links.register("ticket", "crm.Ticket", "Ticket", ("subject",))
        links.register("opportunity", "crm.Opportunity", "Opportunity", ("name",))
        from . import entity_tabs  # noqa: F401  (registers Overview and related-record tabs)
        from . import views_history  # noqa: F401  (registers the History and Activity tabs)
