"""DOCX -> PDF through LibreOffice headless, one private profile directory per conversion.

Two soffice processes sharing a profile silently drop PDFs, so every conversion gets its own
``-env:UserInstallation`` (copied from a warmed-up profile kept in the data dir, which saves
LibreOffice's first-start work) and its own HOME. It runs in its own process group with a time
limit; a stuck or crashed LibreOffice is killed with its children and reported as a failure.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from otdel.core.conf import int_setting


class ConversionFailed(Exception):
    def __init__(self, message: str, *, code: str = "conversion_failed") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def soffice_path() -> str | None:
    configured = getattr(settings, "OTDEL_SOFFICE", None) or os.environ.get("OTDEL_SOFFICE")
    return configured or shutil.which("soffice") or shutil.which("libreoffice")


def _command(soffice: str, profile: Path, source: Path, outdir: Path) -> list[str]:
    return [
        soffice,
        "--headless",
        "--norestore",
        "--nolockcheck",
        "--nodefault",
        "--nologo",
        f"-env:UserInstallation={profile.as_uri()}",
        "--convert-to",
        "pdf:writer_pdf_Export",
        "--outdir",
        str(outdir),
        str(source),
    ]


def _run(command: list[str], *, home: Path, timeout: float) -> subprocess.CompletedProcess[bytes]:
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "SAL_USE_VCLPLUGIN": "svp",
    }
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True, cwd=home
        )
    except OSError as exc:
        raise ConversionFailed(
            _("LibreOffice could not be started (%(error)s).") % {"error": exc.strerror or exc},
            code="no_soffice",
        ) from exc
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise ConversionFailed(
            _("LibreOffice did not finish the PDF within %(seconds)s s and was stopped.")
            % {"seconds": timeout},
            code="timeout",
        ) from None
    finally:
        if process.poll() is None:
            _kill_group(process)
    _kill_group(process)  # soffice.bin may outlive the launcher script
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, ValueError):
        process.communicate(timeout=5)


def _base_profile(soffice: str, timeout: float) -> Path | None:
    """A profile LibreOffice has initialised once; copied for each conversion (own dir each time)."""
    base = Path(settings.DATA_DIR) / "soffice-profile"
    if (base / "user").is_dir():
        return base
    with tempfile.TemporaryDirectory(prefix="otdel-soffice-init-") as tmp:
        work = Path(tmp)
        profile = work / "profile"
        sample = work / "empty.txt"
        sample.write_text("init")
        try:
            _run(_command(soffice, profile, sample, work), home=work, timeout=timeout)
        except ConversionFailed:
            return None
        if not (profile / "user").is_dir():
            return None
        staging = base.with_name(f"soffice-profile.{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(profile, staging, symlinks=True)
        try:
            staging.rename(base)
        except OSError:  # another worker made it first
            shutil.rmtree(staging, ignore_errors=True)
    return base if (base / "user").is_dir() else None


def docx_to_pdf(data: bytes, *, timeout: float | None = None) -> bytes:
    soffice = soffice_path()
    if not soffice:
        raise ConversionFailed(
            _("LibreOffice is not installed on the server (package libreoffice-writer-nogui)."),
            code="no_soffice",
        )
    timeout = timeout or int_setting("OTDEL_SOFFICE_TIMEOUT", 120)
    with tempfile.TemporaryDirectory(prefix="otdel-soffice-") as tmp:
        work = Path(tmp)
        profile = work / "profile"
        base = _base_profile(soffice, timeout)
        if base is not None:
            shutil.copytree(base, profile, symlinks=True)
        source = work / "document.docx"
        source.write_bytes(data)
        outdir = work / "out"
        outdir.mkdir()
        result = _run(_command(soffice, profile, source, outdir), home=work, timeout=timeout)
        pdf = outdir / "document.pdf"
        if result.returncode < 0:
            raise ConversionFailed(
                _("LibreOffice crashed (signal %(signal)s) while making the PDF.")
                % {"signal": -result.returncode},
                code="crashed",
            )
        if result.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
            detail = (result.stderr or result.stdout or b"").decode("utf-8", "replace").strip()[-300:]
            raise ConversionFailed(
                _("LibreOffice could not make the PDF (exit code %(code)s). %(detail)s")
                % {"code": result.returncode, "detail": detail},
                code="conversion_failed",
            )
        return pdf.read_bytes()


def pdf_pages(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def pdf_preview(data: bytes) -> bytes | None:
    """PNG of the first page (poppler's pdftoppm); None when it is not installed or fails."""
    pdftoppm = shutil.which("pdftoppm")
    if not pdftoppm:
        return None
    with tempfile.TemporaryDirectory(prefix="otdel-preview-") as tmp:
        source = Path(tmp) / "doc.pdf"
        source.write_bytes(data)
        try:
            subprocess.run(
                [
                    pdftoppm,
                    "-png",
                    "-r",
                    "40",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    "-singlefile",
                    str(source),
                    str(Path(tmp) / "p"),
                ],
                check=True,
                capture_output=True,
                timeout=int_setting("OTDEL_PREVIEW_TIMEOUT", 20),
            )
        except (subprocess.SubprocessError, OSError):
            return None
        png = Path(tmp) / "p.png"
        return png.read_bytes() if png.exists() else None


def max_pages() -> int:
    return int_setting("OTDEL_DOCUMENT_MAX_PAGES", 500)
