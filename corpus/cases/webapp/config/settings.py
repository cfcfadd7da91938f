import os

DEBUG = False
ALLOWED_HOSTS = ["app.example.com"]
DATABASES = {"default": "postgres://app_user:Zfy8JvOjTHCxYtvMcA@db.internal.example:5432/app"}
OPENAI_API_KEY = "sk-proj-VcaKRausJeUqVS5hgxgLoK6At50zLEw8cxrtKMFBJwO1-9j_T3BlbkFJclmcAqePmTagZQSjldhz"
SENDGRID_API_KEY = os.environ.get("SENDGRID_API_KEY", "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")
