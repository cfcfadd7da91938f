# Values from provider docs and templates: none of these is a secret.
AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
password = "${DB_PASSWORD}"
api_key = "<your-api-key>"
token = "xxxxxxxxxxxxxxxxxxxxxxxx"
secret = "changeme"
commit = "3f786850e387550fdab836ed7e6dc881de23001b"
request_id = "123e4567-e89b-12d3-a456-426614174000"
GITHUB_TOKEN = os.environ["GITHUB_TOKEN"]
