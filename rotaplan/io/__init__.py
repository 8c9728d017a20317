"""File formats: one reader and one writer per format."""
