"""Lambda@Edge origin-response function that resizes images on the first request for a size."""
