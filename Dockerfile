# glossary-bot: the Slack app over HTTP, with our starter glossary baked in.
# Mount your own glossary at /app/terms (or set GLOSSARY_TERMS_DIR) to replace it.

# --- build: install the package and its runtime dependencies into a virtual environment ---
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN /opt/venv/bin/pip install ".[postgres]"

# --- runtime: the virtual environment and the glossary, run as an unprivileged user ---
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 glossary \
    && mkdir -p /data /app/cache \
    && chown glossary /data /app/cache
COPY --from=build /opt/venv /opt/venv
COPY terms /app/terms
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GLOSSARY_TERMS_DIR=/app/terms \
    GLOSSARY_CACHE_DIR=/app/cache \
    GLOSSARY_DATABASE_URL=sqlite:////data/glossary-bot.db \
    GLOSSARY_LOG_FORMAT=json
WORKDIR /app
USER 10001
# The glossary parsed and indexed now, as the user the bot runs as (the cache only trusts
# files of its own user): every container started from the image answers within a second.
RUN python -m bot cache
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2)"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]
