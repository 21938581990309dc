"""stridekeeper."""
