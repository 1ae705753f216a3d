"""`make bench`: our engine against the tutorial baseline and libvips (issue 5). Never shipped."""
