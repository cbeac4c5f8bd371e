"""URLs of the web shell (the start page "home" belongs to crm; error pages are templates here)."""

urlpatterns: list = []
