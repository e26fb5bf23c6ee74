"""Pre-labeling with a language model: the client of an OpenAI-compatible endpoint, the prompt and the runs."""
