"""Adapters that hand messages to the dairy: a drop folder (atomic file writes) and/or an HTTP POST."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from cc.services.dairy import DairyLinkError


class FileDrop:
    """Writes ``<order_code>-<kind>.json|csv`` into a folder: temp file + fsync + rename, so the dairy never
    reads half a file, and a retry overwrites the same name (idempotent)."""

    def __init__(self, folder: str | Path, fmt: str = "json") -> None:
        self.folder = Path(folder)
        self.fmt = fmt

    def deliver(self, message: dict) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{message['order_code']}-{message['kind']}.{self.fmt}"
            body = self._render(message)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(body)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.folder / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise DairyLinkError(f"cannot write to dairy folder {self.folder}: {exc.strerror or exc}") from None

    def _render(self, message: dict) -> bytes:
        if self.fmt == "json":
            return (json.dumps(message, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        from cc.csvio import neutralise

        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["kind", "order_code", "customer_name", "phone", "address", "zone", "sku", "product",
                         "quantity", "start_date", "frequency", "deliveries", "end_date", "idempotency_key"])
        customer, plan = message["customer"], message["plan"]
        # Text people typed could run as an Excel formula (=, +, -, @ first): neutralised like `order export`.
        name, address, zone = (neutralise(customer.get(k, "")) for k in ("name", "address", "zone"))
        for line in message["lines"]:
            writer.writerow([message["kind"], message["order_code"], name, customer["phone"],
                             address, zone, line["sku"], neutralise(line["name"]),
                             line["quantity"], plan["start_date"], plan["frequency"], plan["deliveries"],
                             plan["end_date"], message["idempotency_key"]])
        return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: the dairy opens it in Excel


class HttpPost:
    """POSTs the message as JSON with an ``Idempotency-Key`` header; any 2xx is success."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def deliver(self, message: dict) -> None:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            self.url, data=json.dumps(message, ensure_ascii=False).encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message["idempotency_key"]},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if not 200 <= response.status < 300:
                    raise DairyLinkError(f"dairy endpoint answered HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            raise DairyLinkError(f"dairy endpoint answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise DairyLinkError(f"dairy endpoint {self.url} unreachable: {getattr(exc, 'reason', exc)}") from None


class AllOf:
    """Both a folder and a URL configured: the message counts as delivered when both took it."""

    def __init__(self, *links: object) -> None:
        self.links = links

    def deliver(self, message: dict) -> None:
        for link in self.links:
            link.deliver(message)


def link_from_config(config) -> object:  # noqa: ANN001
    settings = config.dairy
    links: list[object] = []
    if settings.drop_dir or not settings.url:
        links.append(FileDrop(settings.drop_dir or config.data_dir / "dairy", settings.format))
    if settings.url:
        links.append(HttpPost(settings.url, settings.timeout_seconds))
    return links[0] if len(links) == 1 else AllOf(*links)
