"""Knowledge: text out of files (`extract`), chunks (`chunking`), embeddings (`embeddings`) and the
hybrid index a turn searches (`index`). No HTTP here: the files API and the indexing job call in."""
