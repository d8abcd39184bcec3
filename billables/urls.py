"""Billing URLs (namespace "billables"): /billables/ (items, rates, conversion, CSV) and /invoices/."""

from django.urls import path

from . import views

app_name = "billables"

urlpatterns = [
    path("billables/", views.item_list, name="list"),
    path("billables/export.csv", views.export_csv, name="export"),
    path("billables/convert/", views.convert, name="convert"),
    path("billables/fixed/new/", views.fixed_item_create, name="fixed_create"),
    path("billables/<int:pk>/delete/", views.item_delete, name="item_delete"),
    path("billables/rates/", views.rates, name="rates"),
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/new/", views.invoice_create, name="invoice_create"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/edit/", views.invoice_edit, name="invoice_edit"),
    path("invoices/<int:pk>/items/", views.invoice_add_items, name="invoice_add_items"),
    path("invoices/<int:pk>/lines/<int:line_pk>/remove/", views.invoice_remove_line, name="invoice_remove_line"),
    path("invoices/<int:pk>/issue/", views.invoice_issue, name="invoice_issue"),
    path("invoices/<int:pk>/paid/", views.invoice_paid, name="invoice_paid"),
    path("invoices/<int:pk>/unpaid/", views.invoice_unpaid, name="invoice_unpaid"),
    path("invoices/<int:pk>/void/", views.invoice_void, name="invoice_void"),
    path("invoices/<int:pk>/delete/", views.invoice_delete, name="invoice_delete"),
    path("invoices/<int:pk>/print/", views.invoice_print, name="invoice_print"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
]
