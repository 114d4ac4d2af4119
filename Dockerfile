# The inbox service image: one image for the web processes and the workers.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY inbox ./inbox
COPY email_templates ./email_templates
RUN pip install --no-cache-dir .
# Templates are read from /app/email_templates (INBOX_EMAIL_TEMPLATES_DIR may point elsewhere).
ENV INBOX_EMAIL_TEMPLATES_DIR=/app/email_templates
EXPOSE 8000
CMD ["inbox", "serve", "--host", "0.0.0.0", "--port", "8000"]
