"""Tokens follow their user: a new password revokes the personal API tokens, switching a user off
revokes every token acting as them (integration ones included)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from otdel.accounts.models import ApiToken, User
from otdel.accounts.services import tokens_revoke_for


@receiver(post_save, sender=User, dispatch_uid="accounts-user-tokens")
def user_tokens_follow(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if created:
        return
    if not instance.is_active:
        tokens_revoke_for(user=instance, kinds=(ApiToken.Kind.USER, ApiToken.Kind.INTEGRATION))
    elif getattr(instance, "_password_changed", False) and kwargs.get("update_fields") != {"password"}:
        # (Only the password saved alone is Django re-hashing it with a stronger hasher at sign-in.)
        tokens_revoke_for(user=instance, kinds=(ApiToken.Kind.USER,))
    instance._password_changed = False
