"""One module per platform: ``declare(env, config) -> dict`` declares its resources and returns its exports."""
