"""Built-in readers, one module per platform; each registers its readers on import."""
