"""URLs of the crm app."""

urlpatterns: list = []
