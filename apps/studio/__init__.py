"""keras_gen studio: a small Flask app to explore exported generators in a browser.

    python -m apps.studio --exported exported --port 8765

See `apps/studio/app.py`.
"""

from apps.studio.app import create_app, latent_for_seed, load_models

__all__ = ["create_app", "latent_for_seed", "load_models"]
