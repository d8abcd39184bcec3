"""Error pages in the site's layout (used when DEBUG is off)."""

from django.shortcuts import render


def _page(request, status, title, message):
    return render(request, "error.html", {"status": status, "title": title, "message": message}, status=status)


def bad_request(request, exception=None):
    return _page(request, 400, "Bad request", "The request could not be understood.")


def permission_denied(request, exception=None):
    return _page(request, 403, "Not allowed", str(exception) if exception and str(exception) else
                 "You are not allowed to do that.")


def page_not_found(request, exception=None):
    return _page(request, 404, "Not found", "There is nothing here, or you are not allowed to see it.")


def server_error(request):
    return render(request, "500.html", status=500)
