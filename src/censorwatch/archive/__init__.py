"""The archive: blocking orders, requests and leaks, kept byte for byte, searchable in Russian,
Chinese and English, and linked to the targets they name (docs/archive.md)."""
