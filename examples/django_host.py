"""A Django project (ASGI) with its own page and the help centre at /help.

Django cannot mount ASGI apps, so :func:`selfservice.hosting.dispatch` sends ``/help/...``
to the portal and everything else to Django. A real project keeps its settings module and
uses the last three lines in its ``asgi.py``.

Run:  uvicorn examples.django_host:app     then open http://127.0.0.1:8000/help/
"""

from __future__ import annotations

import os
from pathlib import Path

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret"),
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
    )
    django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from selfservice import Settings, create_portal  # noqa: E402
from selfservice.hosting import dispatch  # noqa: E402


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse('<!doctype html><html lang="en"><title>Larkspur Home</title><p><a href="/help/">Help centre</a></p></html>')


urlpatterns = [path("", home)]

# The host's look: its brand colour and header/footer (examples/host_templates). To share the
# host's login too, pass account_backend=DjangoAccounts() from examples/django_accounts.py,
# which reads Django's own session cookie (it needs django.contrib.auth and sessions).
portal = create_portal(
    Settings(
        site_name="Larkspur Help",
        secret_key=os.environ.get("SELFSERVICE_SECRET_KEY"),
        demo=True,
        theme_variables={"--ss-accent": "#1d6b4f", "--ss-accent-hover": "#154d39", "--ss-accent-dark": "#7fd6b0"},
        template_dirs=[Path(__file__).resolve().parent / "host_templates"],
    )
)
app = dispatch("/help", portal, get_asgi_application())
