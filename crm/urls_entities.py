from django.urls import path

from . import views
from .entities import SPECS

app_name = "crm"

urlpatterns = [
    path("entities/search/", views.entity_search, name="entity_search"),
    path("settings/profile/", views.profile_edit, name="profile"),
    path("teams/", views.team_list, name="team_list"),
]

for _key, _spec in SPECS.items():
    _p = _spec.url_prefix
    urlpatterns += [
        path(f"{_p}/", views.entity_list, {"key": _key}, name=f"{_key}_list"),
        path(f"{_p}/new/", views.entity_create, {"key": _key}, name=f"{_key}_create"),
        path(f"{_p}/<int:pk>/", views.entity_detail, {"key": _key}, name=f"{_key}_detail"),
        path(f"{_p}/<int:pk>/tabs/<slug:tab>/", views.entity_detail, {"key": _key}, name=f"{_key}_tab"),
        path(f"{_p}/<int:pk>/edit/", views.entity_edit, {"key": _key}, name=f"{_key}_edit"),
        path(f"{_p}/<int:pk>/delete/", views.entity_delete, {"key": _key}, name=f"{_key}_delete"),
    ]
