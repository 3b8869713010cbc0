FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY tickets tickets
COPY intake intake
COPY search search
COPY api api
COPY ui ui
COPY migrations migrations
RUN pip install --no-cache-dir -e .
ENV SEDNO_DATA_DIR=/data
EXPOSE 8000
CMD ["sedno", "serve", "--host", "0.0.0.0", "--port", "8000"]
