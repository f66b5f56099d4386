"""The kernels of ``qcrd dashboard``: culled once their page has gone, never while a page is arriving.

Voilà pre-starts a kernel for the next visitor; jupyter_server culls a kernel that has been idle for
``cull_idle_timeout`` with no page connected. A pre-started kernel that waited in the pool longer than that is
"idle" the moment a visitor takes it, and has no page connected for the second or two before the page's websocket
opens: a cull check in that window would stop the kernel under the page (its widgets never appear). This manager
culls only a kernel that has had no page for :data:`UNCONNECTED_GRACE` seconds in a row.
"""
from __future__ import annotations

import time

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

#: seconds a kernel must be without a page, at successive cull checks, before it may be culled
UNCONNECTED_GRACE = 15.0


class PageKernelManager(AsyncMappingKernelManager):
    """jupyter_server's kernel manager with the grace above (Voilà wraps it with its pool of pre-started kernels)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._without_page_since: dict[str, float] = {}

    async def cull_kernel_if_idle(self, kernel_id):
        if self._kernel_connections.get(kernel_id, 0):
            self._without_page_since.pop(kernel_id, None)
            return None
        since = self._without_page_since.setdefault(kernel_id, time.monotonic())
        if time.monotonic() - since < UNCONNECTED_GRACE:
            return None
        self._without_page_since.pop(kernel_id, None)
        return await super().cull_kernel_if_idle(kernel_id)
