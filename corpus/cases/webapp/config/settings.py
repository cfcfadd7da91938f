import os

DEBUG = False
ALLOWED_HOSTS = ["app.example.com"]
DATABASES = {"default": "postgres://app_user:Zfy8JvOjTHCxYtvMcA@db.internal.example:5432/app"}
OPENAI_API_KEY = "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"
SENDGRID_API_KEY = os.environ.get("SENDGRID_API_KEY", "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")
