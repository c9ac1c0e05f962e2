"""An AccountBackend for Django's auth ``User``: mount the portal in a Django ASGI project.

Customers sign in with Django (``login_url="/accounts/login/"``); the portal reads the Django
session cookie to know who they are, checks and sets passwords with Django's hashers, and
reads orders and invoices from your own models (``Order``/``Invoice`` below are examples —
adapt ``_order`` and ``invoices`` to yours). Django's ORM is synchronous, so every call goes
through ``sync_to_async``.

    # asgi.py
    import django
    from django.core.asgi import get_asgi_application
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from selfservice import Settings, create_portal

    django.setup()
    from examples.django_accounts import DjangoAccounts

    portal = create_portal(Settings(
        content_dirs=["kb_articles"], secret_key="...", base_url="https://example.com/help",
        account_backend=DjangoAccounts(login_url="/accounts/login/"),
        payment_url="https://example.com/pay",
    ))
    application = Starlette(routes=[Mount("/help", app=portal), Mount("/", app=get_asgi_application())])

Django is only imported when a method runs, so this module imports without Django installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from selfservice.accounts import Account, Address, Invoice, Money, Order, OrderEvent, ProfileChanges

__all__ = ["DjangoAccounts"]


def _sync(fn: Any) -> Any:
    from asgiref.sync import sync_to_async

    return sync_to_async(fn, thread_sensitive=True)


def _account(user: Any) -> Account:
    profile = getattr(user, "profile", None)  # your own one-to-one model, if any
    return Account(
        id=str(user.pk),
        username=user.get_username(),
        email=user.email,
        name=user.get_full_name(),
        phone=getattr(profile, "phone", "") or "",
        address=Address(**{k: getattr(profile, k, "") or "" for k in ("line1", "line2", "city", "postcode", "country")}),
        preferences=dict(getattr(profile, "preferences", None) or {}),
        password_fingerprint=user.password,  # Django's own reset tokens use the hash the same way
        last_login=user.last_login,
        active=user.is_active,
    )


class DjangoAccounts:
    """:class:`selfservice.accounts.AccountBackend` over ``django.contrib.auth``."""

    def __init__(self, login_url: str | None = "/accounts/login/") -> None:
        self.login_url = login_url

    @staticmethod
    def _model() -> Any:
        from django.contrib.auth import get_user_model

        return get_user_model()

    async def get_by_id(self, account_id: str) -> Account | None:
        def find() -> Account | None:
            user = self._model().objects.filter(pk=account_id).first() if account_id.isdigit() else None
            return _account(user) if user is not None else None

        return await _sync(find)()

    async def get_by_email(self, email: str) -> Account | None:
        def find() -> Account | None:
            user = self._model().objects.filter(email__iexact=email, is_active=True).first()
            return _account(user) if user is not None else None

        return await _sync(find)()

    async def get_by_username(self, username: str) -> Account | None:
        def find() -> Account | None:
            model = self._model()
            user = model.objects.filter(**{f"{model.USERNAME_FIELD}__iexact": username}).first()
            return _account(user) if user is not None else None

        return await _sync(find)()

    async def current_user(self, request: Request) -> Account | None:
        """The user of the Django session cookie (the same cookie Django's own pages use)."""
        from django.conf import settings

        key = request.cookies.get(settings.SESSION_COOKIE_NAME)
        if not key:
            return None

        def find() -> Account | None:
            from importlib import import_module

            from django.contrib.auth import SESSION_KEY

            store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
            uid = store.get(SESSION_KEY)
            user = self._model().objects.filter(pk=uid, is_active=True).first() if uid else None
            return _account(user) if user is not None else None

        return await _sync(find)()

    async def check_password(self, account: Account, password: str) -> bool:
        def check() -> bool:
            user = self._model().objects.filter(pk=account.id).first() if account.id else None
            if user is None:
                self._model()().set_password(password)  # same work for unknown users (timing)
                return False
            return bool(user.check_password(password))

        return await _sync(check)()

    async def set_password(self, account: Account, password: str) -> Account:
        def change() -> Account:
            user = self._model().objects.get(pk=account.id)
            user.set_password(password)
            user.save(update_fields=["password"])
            return _account(user)

        return await _sync(change)()

    async def record_login(self, account: Account) -> Account:
        def touch() -> Account:
            from django.contrib.auth.models import update_last_login

            user = self._model().objects.get(pk=account.id)
            update_last_login(None, user)
            return _account(user)

        return await _sync(touch)()

    async def update_profile(self, account: Account, changes: ProfileChanges) -> Account:
        def update() -> Account:
            user = self._model().objects.get(pk=account.id)
            if changes.name is not None:
                first, _, last = changes.name.partition(" ")
                user.first_name, user.last_name = first, last
                user.save(update_fields=["first_name", "last_name"])
            profile = getattr(user, "profile", None)
            if profile is not None:
                if changes.phone is not None:
                    profile.phone = changes.phone
                if changes.address is not None:
                    for k in ("line1", "line2", "city", "postcode", "country"):
                        setattr(profile, k, getattr(changes.address, k))
                if changes.preferences is not None:
                    profile.preferences = dict(changes.preferences)
                profile.save()
            return _account(user)

        return await _sync(update)()

    async def set_email(self, account: Account, email: str) -> Account:
        def update() -> Account:
            user = self._model().objects.get(pk=account.id)
            user.email = email
            user.save(update_fields=["email"])
            return _account(user)

        return await _sync(update)()

    # -- your shop's models: adapt these three ------------------------------------------------
    async def orders(self, account: Account) -> Sequence[Order]:
        def load() -> list[Order]:
            from shop.models import Order as OrderModel  # type: ignore[import-not-found]

            return [_order(o) for o in OrderModel.objects.filter(user_id=account.id).order_by("-placed_at")]

        return await _sync(load)()

    async def find_order(self, number: str) -> Order | None:
        def load() -> Order | None:
            from shop.models import Order as OrderModel  # type: ignore[import-not-found]

            found = OrderModel.objects.filter(number__iexact=number).first()
            return _order(found) if found is not None else None

        return await _sync(load)()

    async def invoices(self, account: Account) -> Sequence[Invoice]:
        def load() -> list[Invoice]:
            from shop.models import Invoice as InvoiceModel  # type: ignore[import-not-found]

            return [
                Invoice(i.number, i.issued_at, i.due_at, Money(i.amount_pence, i.currency), i.status)
                for i in InvoiceModel.objects.filter(user_id=account.id).order_by("-issued_at")
            ]

        return await _sync(load)()

    async def balance(self, account: Account) -> Money:
        due = [i.amount.minor for i in await self.invoices(account) if i.payable]
        return Money(sum(due))


def _order(o: Any) -> Order:
    return Order(
        number=o.number,
        status=o.status,
        placed_at=o.placed_at,
        email=o.email,
        postcode=o.postcode,
        summary=o.summary,
        total=Money(o.total_pence, o.currency),
        events=tuple(OrderEvent(e.at, e.status, e.note) for e in o.events.order_by("at")),
        account_id=str(o.user_id) if o.user_id else None,
    )
