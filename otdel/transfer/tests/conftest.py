import pytest


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _batches_by_rows_only(settings):
    # Batches also end after OTDEL_IMPORT_BATCH_SECONDS; tests that count batches must not depend
    # on how busy the machine is.
    settings.OTDEL_IMPORT_BATCH_SECONDS = 600
