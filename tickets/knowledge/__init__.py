"""Knowledge search: the use case the API and the UI both run over the search engine."""
