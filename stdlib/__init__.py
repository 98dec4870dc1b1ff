"""The .kta include library, installed as the package ktasm.stdlib (no Python here)."""
