"""The ceilings: bare programs doing a benchmark's work minus Portal (docs/performance.md)."""
