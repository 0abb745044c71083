"""The simulated camera: a folder of images, delivered in name order as if they were frames."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np

from drivers.camera.base import DEFAULT_TIMEOUT, Camera, CameraConfig, CameraUnavailable
from drivers.camera.images import IMAGE_SUFFIXES, read_image_file
from drivers.errors import DriverConfigError, ImageError


class FolderCamera(Camera):
    def __init__(self, folder: str | Path, timeout: float = DEFAULT_TIMEOUT, loop: bool = False) -> None:
        super().__init__(timeout)
        self.folder = Path(folder)
        self.loop = loop
        self.label = "simulated camera (image folder)"
        self._files: list[Path] = []
        self._next = 0

    @classmethod
    def from_config(cls, config: CameraConfig) -> Self:
        """``folder:PATH``."""
        if not config.rest:
            raise DriverConfigError(f"A folder camera needs a path, e.g. folder:/srv/frames; got {config.source!r}.")
        return cls(config.rest, config.timeout)

    def _open(self) -> None:
        if not self.folder.is_dir():
            raise CameraUnavailable(f"{self.label}: {self.folder} is not a folder")
        self._files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self._files:
            raise CameraUnavailable(f"{self.label}: {self.folder} holds no images")
        self._next = 0

    def _read(self) -> np.ndarray | None:
        if self._next >= len(self._files):
            if not self.loop:
                return None
            self._next = 0
        path = self._files[self._next]
        self._next += 1
        try:
            return read_image_file(path)
        except ImageError as err:
            raise CameraUnavailable(f"{self.label}: {err}") from err

    def _close(self) -> None:
        self._files = []
