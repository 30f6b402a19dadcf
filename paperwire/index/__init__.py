"""Indexes over the stored papers: dense embeddings (``embedder``) so far."""
