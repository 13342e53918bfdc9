"""Compute: reading tables (checked before they are read) and model files (loaded and run only in the sandbox), the exact allow-list."""
