"""DOCX templates: checking an upload, listing its variables, rendering it (docxtpl) under limits.

Rendering runs in a forked child process with a time limit and a memory cap, so a template that
loops forever or balloons is cut off with a clear message instead of hanging a web or task worker.
The Jinja2 environment is sandboxed and strict: an unknown variable is an error that names it.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import re
import zipfile
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _
from jinja2 import TemplateSyntaxError, nodes
from jinja2.runtime import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from otdel.core.conf import int_setting

MAX_TEMPLATE_BYTES = 10 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 60 * 1024 * 1024
MAX_ZIP_ENTRIES = 2000
MAX_OUTPUT_BYTES = 50 * 1024 * 1024
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


# Names Jinja itself provides inside templates.
LOCAL_NAMES = {
    "loop",
    "range",
    "caller",
    "varargs",
    "kwargs",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
}


class TemplateProblem(Exception):
    """A template or its rendering is not acceptable; ``message`` says what to fix."""

    def __init__(self, message: str, *, code: str = "invalid_template") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- the upload --------------------------------------------------------------------------------


def docx_check(data: bytes, filename: str) -> None:
    """Refuse what is not a plain DOCX: other extensions, macros, oversize files and zip bombs."""
    lower = (filename or "").lower()
    if lower.endswith((".docm", ".dotm")):
        raise TemplateProblem(
            _("Macro-enabled Word files (.docm) are not accepted; save it as .docx."), code="macros"
        )
    if not lower.endswith(".docx"):
        raise TemplateProblem(_("Upload a Word document in .docx format."), code="not_docx")
    if len(data) > int_setting("OTDEL_TEMPLATE_MAX_BYTES", MAX_TEMPLATE_BYTES):
        raise TemplateProblem(_("The file is too large for a template."), code="too_large")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise TemplateProblem(_("The file is not a valid .docx document."), code="not_docx") from exc
    if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > int_setting(
        "OTDEL_TEMPLATE_MAX_UNCOMPRESSED_BYTES", MAX_UNCOMPRESSED_BYTES
    ):
        raise TemplateProblem(_("The document unpacks to too much data; it is refused."), code="too_large")
    names = {i.filename for i in infos}
    try:
        content_types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
    except KeyError as exc:
        raise TemplateProblem(_("The file is not a valid .docx document."), code="not_docx") from exc
    if any(n.lower().endswith("vbaproject.bin") for n in names) or "macroEnabled" in content_types:
        raise TemplateProblem(
            _("Macro-enabled Word files (.docm) are not accepted; save it as .docx."), code="macros"
        )
    if "word/document.xml" not in names or DOCX_MAIN not in content_types:
        raise TemplateProblem(_("The file is not a valid .docx document."), code="not_docx")


# --- the context: strict namespaces that know their path, for error messages -----------------


class Ns:
    """A context object: ``deal.title`` reads ``data["title"]``; a missing name is a strict error."""

    def __init__(self, path: str, data: dict[str, Any]) -> None:
        self._path = path
        self._data = data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __str__(self) -> str:
        return str(self._data.get("name", ""))


def wrap(context: dict[str, Any]) -> dict[str, Any]:
    """Dicts -> Ns (lists of dicts too), so strict errors can say ``deal.titel``, ``items[].nam``."""

    def convert(path: str, value: Any) -> Any:
        if isinstance(value, dict):
            return Ns(path, {k: convert(f"{path}.{k}", v) for k, v in value.items()})
        if isinstance(value, list):
            return [convert(f"{path}[]", v) for v in value]
        return value

    return {key: convert(key, value) for key, value in context.items()}


class UnknownVariable(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _Strict(StrictUndefined):
    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        owner = self._undefined_obj
        path = getattr(owner, "_path", None) if isinstance(owner, Ns) else None
        name = self._undefined_name or "?"
        raise UnknownVariable(f"{path}.{name}" if path else str(name))

    __str__ = __iter__ = __len__ = __bool__ = _fail_with_undefined_error  # type: ignore[assignment]
    __eq__ = __ne__ = __hash__ = __getattr__ = _fail_with_undefined_error  # type: ignore[assignment]


def jinja_env() -> SandboxedEnvironment:
    from otdel.documents.money import money_ru

    env = SandboxedEnvironment(undefined=_Strict, autoescape=True)
    env.filters["money"] = money_ru
    return env


# --- variables a template uses --------------------------------------------------------------------


def _xml_parts(template: Any) -> list[str]:
    template.init_docx()
    parts = [template.patch_xml(template.get_xml())]
    for _rel, part in [
        *template.get_headers_footers(template.HEADER_URI),
        *template.get_headers_footers(template.FOOTER_URI),
    ]:
        parts.append(template.patch_xml(template.get_part_xml(part)))
    return parts


def _dotted(node: nodes.Node, loops: dict[str, str]) -> str | None:
    if isinstance(node, nodes.Name):
        if node.name in LOCAL_NAMES or loops.get(node.name) == "=":
            return None
        return loops.get(node.name, node.name)
    if isinstance(node, nodes.Getattr):
        base = _dotted(node.node, loops)
        return f"{base}.{node.attr}" if base else None
    if (
        isinstance(node, nodes.Getitem)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        base = _dotted(node.node, loops)
        return f"{base}.{node.arg.value}" if base else None
    return None


def _names(target: nodes.Node) -> list[nodes.Name]:
    return [target] if isinstance(target, nodes.Name) else list(target.find_all(nodes.Name))


def _collect(node: nodes.Node, loops: dict[str, str], found: set[str]) -> None:
    if isinstance(node, (nodes.Assign, nodes.AssignBlock)):
        for name in _names(node.target):
            loops[name.name] = "="  # assigned in the template: not a context variable
    if isinstance(node, nodes.For):
        source = _dotted(node.iter, loops)
        _collect(node.iter, loops, found)
        inner = dict(loops)
        for target in _names(node.target):
            inner[target.name] = f"{source}[]" if source and isinstance(node.target, nodes.Name) else "="
        for child in [*node.body, *node.else_]:
            _collect(child, inner, found)
        if node.test is not None:
            _collect(node.test, inner, found)
        return
    if isinstance(node, (nodes.Getattr, nodes.Getitem, nodes.Name)):
        dotted = _dotted(node, loops)
        if dotted and not (isinstance(node, nodes.Name) and node.ctx != "load"):
            found.add(dotted)
            return
    for child in node.iter_child_nodes():
        _collect(child, loops, found)


def template_variables(data: bytes) -> list[str]:
    """Dotted names the template reads (``deal.title``, ``items[].name``), loop variables resolved.

    Raises TemplateProblem for a broken tag, naming the line of the document's XML it is on.
    """
    from docxtpl import DocxTemplate

    template = DocxTemplate(io.BytesIO(data))
    env = jinja_env()
    found: set[str] = set()
    try:
        for xml in _xml_parts(template):
            _collect(env.parse(xml), {}, found)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(
            _("Broken template tag: %(message)s") % {"message": exc.message}, code="syntax_error"
        ) from exc
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise TemplateProblem(_("The file is not a valid .docx document."), code="not_docx") from exc
    # "items" alone is implied by "items[].name"; keep only the leaves.
    leaves = {
        name
        for name in found
        if not any(other.startswith(name + ".") or other.startswith(name + "[]") for other in found)
    }
    return sorted(leaves)


# --- rendering in a child process --------------------------------------------------------------------


def _render_in_child(conn: Any, data: bytes, context: dict[str, Any], memory_mb: int) -> None:
    try:
        try:
            import resource

            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ImportError, ValueError, OSError):
            pass
        from docxtpl import DocxTemplate

        template = DocxTemplate(io.BytesIO(data))
        template.render(wrap(context), jinja_env=jinja_env(), autoescape=True)
        out = io.BytesIO()
        template.save(out)
        result = out.getvalue()
        if len(result) > MAX_OUTPUT_BYTES:
            conn.send(("error", "too_large", ""))
        else:
            conn.send(("ok", result))
    except UnknownVariable as exc:
        conn.send(("error", "unknown_variable", exc.name))
    except TemplateSyntaxError as exc:
        conn.send(("error", "syntax_error", exc.message or ""))
    except MemoryError:
        conn.send(("error", "too_large", ""))
    except Exception as exc:  # any other template fault: report it, never crash the caller
        conn.send(("error", "render_error", f"{type(exc).__name__}: {exc}"[:300]))
    finally:
        conn.close()
        os._exit(0)


def render_docx(data: bytes, context: dict[str, Any], *, timeout: float | None = None) -> bytes:
    """Render a DOCX template with ``context``; TemplateProblem on any fault or when cut off."""
    timeout = timeout or int_setting("OTDEL_DOCUMENT_RENDER_SECONDS", 30)
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_render_in_child,
        args=(child, data, context, int_setting("OTDEL_DOCUMENT_RENDER_MEMORY_MB", 2048)),
        daemon=True,
    )
    process.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise TemplateProblem(
                _(
                    "The template took longer than %(seconds)s s to fill in and was stopped (an endless or huge loop?)."
                )
                % {"seconds": timeout},
                code="render_timeout",
            )
        try:
            result = parent.recv()
        except EOFError as exc:
            raise TemplateProblem(
                _("Filling in the template failed: it used too much memory or crashed."), code="render_error"
            ) from exc
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        parent.close()
    if result[0] == "ok":
        return bytes(result[1])
    _status, code, detail = result
    messages = {
        "unknown_variable": _("Unknown variable “%(detail)s” in the template."),
        "syntax_error": _("Broken template tag: %(detail)s"),
        "too_large": _("The filled-in document is too large; it is refused."),
        "render_error": _("Filling in the template failed: %(detail)s"),
    }
    raise TemplateProblem(messages[code] % {"detail": detail}, code=code)


def docx_text(data: bytes) -> str:
    """Plain text of a DOCX (paragraphs and table cells), for tests and search."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    xml = archive.read("word/document.xml").decode("utf-8")
    xml = re.sub(r"</w:p>", "\n", xml)
    return re.sub(r"<[^>]+>", "", xml)


def known_variables(reference: Iterable[tuple[str, str, str]]) -> set[str]:
    return {name for name, _description, _example in reference}
