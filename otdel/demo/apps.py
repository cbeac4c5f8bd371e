from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Hosts ``manage.py load_demo`` and ``remove_demo``; the manifest of what the demo wrote."""

    name = "otdel.demo"
    label = "demo"
