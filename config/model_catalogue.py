"""The video models Riff knows, and where each one's weights are: local directories only,
never a hub. Read by config/settings.py into RIFF_MODELS."""

import os
from pathlib import Path
from typing import Any


def riff_models(*, models_dir: Path, base_dir: Path) -> dict[str, dict[str, Any]]:
    """Each model's family, label, weights directory (an environment variable overrides it),
    output sizes and caps."""
    return {
        "tiny-wan": {
            "family": "wan",
            "label": "Tiny Wan (test model, random weights)",
            "path": os.environ.get("RIFF_TINY_WAN_PATH", str(models_dir / "tiny-wan")),
            # Output size per aspect and frame rate; real models use their native ones.
            "sizes": {"9:16": (64, 112), "16:9": (112, 64), "1:1": (80, 80)},
            "fps": 8,
            # Tests run long jobs on it; a step of a tiny model costs nothing.
            "max_steps": 100,
        },
        "tiny-ltx": {
            "family": "ltx",
            "label": "Tiny LTX (test model, random weights)",
            "path": os.environ.get("RIFF_TINY_LTX_PATH", str(models_dir / "tiny-ltx")),
            "sizes": {"9:16": (64, 96), "16:9": (96, 64), "1:1": (64, 64)},
            "fps": 8,
            "max_steps": 100,
        },
        "wan2.1-t2v-1.3b": {
            "family": "wan",
            "label": "Wan 2.1 1.3B",
            "path": os.environ.get(
                "RIFF_WAN21_PATH", str(models_dir / "Wan2.1-T2V-1.3B-Diffusers")
            ),
            "vae_tiling": True,
            # What it was trained for (480p, 81 frames); more costs GPU time and memory for nothing.
            "max_steps": 50,
            "max_frames": 81,
            "max_width": 832,
            "max_height": 832,
        },
        "ltx-video": {
            "family": "ltx",
            "label": "LTX-Video",
            "path": os.environ.get("RIFF_LTX_PATH", str(models_dir / "LTX-Video")),
            "vae_tiling": True,
            # Its own advice: under 720x1280 and 257 frames.
            "max_steps": 50,
            "max_frames": 257,
            "max_width": 1280,
            "max_height": 1280,
        },
        "riff-house": {
            "family": "house",
            "label": "Riff house model (small, trained here)",
            # Trained by `manage.py train_house_model` and shipped inside the repository.
            "path": os.environ.get(
                "RIFF_HOUSE_PATH", str(base_dir / "generation" / "house" / "weights")
            ),
            # Display sizes and frame rate: the model's 32x32 clips (8 frames, 2 s) are upscaled
            # and centred on a blurred fill, and blended to 24 fps (generation/backends/house.py).
            "sizes": {"9:16": (512, 912), "16:9": (912, 512), "1:1": (512, 512)},
            "fps": 24,
            # Its 8 frames play over 2 seconds; a longer clip is refused with a reason.
            "max_seconds": 2.0,
            "max_steps": 50,
            "max_width": 912,
            "max_height": 912,
        },
    }
