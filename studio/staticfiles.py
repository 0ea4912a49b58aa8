"""How static files are stored and named: WhiteNoise's compressed, hashed copies."""

from __future__ import annotations

from django.contrib.staticfiles import apps as staticfiles_apps
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """``collectstatic`` writes each file under a name with its content's hash, with a gzip
    copy (and a brotli one where the Brotli package is installed), and WhiteNoise serves those
    cached for good. A file not collected (unit
    tests, a checkout where ``collectstatic`` has not run yet) is linked by its plain name, which
    WhiteNoise serves from the source folders, cached briefly: pages never fail for it."""

    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:  # not in the manifest, and not in STATIC_ROOT to hash
            return name


class StaticFilesConfig(staticfiles_apps.StaticFilesConfig):
    """``django.contrib.staticfiles``, leaving out what no page loads: Django REST framework's
    browsable API (its files are half of the rest; the API answers JSON only)."""

    ignore_patterns = [*staticfiles_apps.StaticFilesConfig.ignore_patterns, "rest_framework"]
