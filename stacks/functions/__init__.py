"""Application functions of the reference stacks, inlined into their templates (``ZipFile``)."""
