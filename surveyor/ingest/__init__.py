"""Reading survey files into samples: one reader per format, recognised by content
(:mod:`surveyor.ingest.detect`), and the merge that writes what they read into the store."""
