"""The site's URLs with the account views of crm.views in front (until crm/urls.py routes to them)."""

from django.urls import path

from crm import urls, views

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    *urls.urlpatterns,
]
handler400, handler403, handler404, handler500 = urls.handler400, urls.handler403, urls.handler404, urls.handler500
