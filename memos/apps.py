from django.apps import AppConfig


class MemosConfig(AppConfig):
    name = "memos"

    def ready(self):
        from crm import attachments, links, object_access

        from . import access, entity_tab
        from .models import Memo

        def _owners(memo):
            # Comments reach the other side: the author and the recipient (never the commenter).
            return [u for u in (memo.author, memo.recipient) if u is not None and u.is_active]

        object_access.register("memos.Memo", object_access.Hooks(
            can_view=access.can_view, can_moderate=access.can_moderate, owners=_owners,
            select_related=("author", "recipient"), noun="memo",
        ))
        attachments.delete_with(Memo)
        links.register_dependent(links.Dependent(
            label="memos", count=entity_tab.count_linked, detach=entity_tab.detach_linked,
            delete=entity_tab.delete_linked,
        ))
