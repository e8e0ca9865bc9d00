"""The SOP catalogue: definition files on disk and the seeds shipped with the ledger."""

from ledger.catalogue.loader import load_file, load_seeds, seed_paths

__all__ = ["load_file", "load_seeds", "seed_paths"]
