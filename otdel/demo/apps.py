from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Hosts ``manage.py load_demo``; no models."""

    name = "otdel.demo"
    label = "demo"
