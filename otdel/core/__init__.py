"""Cross-cutting pieces: model mixins, change log, identity normalization, scoping, events."""
