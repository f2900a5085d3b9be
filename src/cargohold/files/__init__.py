"""Uploaded files: the blob store (`blobs.py`), the content use cases (`service.py`), indexing one
file (`indexing.py`; the loop is `jobs/indexing.py`), names made safe (`names.py`)."""
