"""Personal data in the demo app (read by ``otdel.privacy.register``): none; the manifest holds table
names and row keys of the invented demo records."""

PD_REGISTER = {"demo.DemoManifest": {"not_pd": ["loaded_at", "rows"]}}
