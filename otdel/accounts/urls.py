"""URLs of the accounts app."""

urlpatterns: list = []
