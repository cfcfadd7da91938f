#!/usr/bin/env python3
"""Writes corpus/cases/: a small tree of realistic files with planted, made-up secrets.

Run once; the output is committed. Every value is random (generated here, never a real
credential); GitHub and npm tokens get valid CRC32 tails so the checksum validators accept them.
The seed is fixed so re-running reproduces the same tree. Expected findings: cases/EXPECTED.tsv.
"""
import base64, binascii, os, random, string, subprocess

random.seed(20261126)
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")


def r(n, alphabet=B62):
    return "".join(random.choice(alphabet) for _ in range(n))


def b62(n, w):
    s = ""
    while n:
        n, m = divmod(n, 62)
        s = B62[m] + s
    return s.rjust(w, "0")


def checksummed(prefix):
    body = r(30)
    return prefix + body + b62(binascii.crc32(body.encode()) & 0xFFFFFFFF, 6)


def write(path, text):
    full = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", newline="") as f:
        f.write(text)


gh = checksummed("ghp_")
gho = checksummed("gho_")
npm = checksummed("npm_")
akid = "AKIA" + r(16, string.ascii_uppercase + "234567")
aws_secret = r(40, string.ascii_letters + string.digits + "+/")
stripe = "sk_live_" + r(24)
slack_hook = "https://hooks.slack.com/services/T%s/B%s/%s" % (r(8, string.ascii_uppercase + string.digits), r(10, string.ascii_uppercase + string.digits), r(24))
pg_pass = r(18)
openai = "sk-proj-" + r(74, B62 + "_-") + "T3BlbkFJ" + r(74, B62 + "_-")
google = "AIza" + r(35, B62 + "_-")
sendgrid = "SG." + r(22, B62 + "_-") + "." + r(43, B62 + "_-")
hf = "hf_" + r(34, string.ascii_letters)
glpat = "glpat-" + r(20, B62 + "_-")

write("webapp/src/github.js", f"""'use strict';
const {{ Octokit }} = require('@octokit/rest');

// TODO: move to the secret store before release
const octokit = new Octokit({{ auth: '{gh}' }});

module.exports = octokit;
""")
write("webapp/config/settings.py", f"""import os

DEBUG = False
ALLOWED_HOSTS = ["app.example.com"]
DATABASES = {{"default": "postgres://app_user:{pg_pass}@db.internal.example:5432/app"}}
OPENAI_API_KEY = "{openai}"
SENDGRID_API_KEY = os.environ.get("SENDGRID_API_KEY", "{sendgrid}")
""")
write("webapp/.env", f"""NODE_ENV=production\r
AWS_ACCESS_KEY_ID={akid}\r
AWS_SECRET_ACCESS_KEY={aws_secret}\r
STRIPE_SECRET_KEY={stripe}\r
""")
write("pkg/.npmrc", f"""registry=https://registry.npmjs.org/
//registry.npmjs.org/:_authToken={npm}
""")
write("ci/notify.yml", f"""name: notify
on: [push]
jobs:
  ping:
    runs-on: ubuntu-latest
    steps:
      - run: curl -X POST -d '{{"text":"built"}}' {slack_hook}
""")
write("ml/train.py", f"""from huggingface_hub import login
from googleapiclient.discovery import build

login(token="{hf}")
service = build("customsearch", "v1", developerKey="{google}")
""")
write("tests/fixtures/oauth.json", f"""{{
  "provider": "github",
  "access_token": "{gho}",
  "scope": "repo"
}}
""")
write("infra/gitlab.tf", f"""provider "gitlab" {{
  token = "{glpat}"
}}
""")
key = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"], capture_output=True, text=True).stdout
write("deploy/deploy_key.pem", key)
# Hard negatives: documented placeholders, hashes and UUIDs that must stay quiet.
write("clean/placeholders.py", """# Values from provider docs and templates: none of these is a secret.
AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
password = "${DB_PASSWORD}"
api_key = "<your-api-key>"
token = "xxxxxxxxxxxxxxxxxxxxxxxx"
secret = "changeme"
commit = "3f786850e387550fdab836ed7e6dc881de23001b"
request_id = "123e4567-e89b-12d3-a456-426614174000"
GITHUB_TOKEN = os.environ["GITHUB_TOKEN"]
""")
write("clean/package-lock.json", """{
  "name": "clean",
  "lockfileVersion": 3,
  "packages": {
    "node_modules/left-pad": {
      "version": "1.3.0",
      "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
      "integrity": "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQbHjuA2lTNJsbqaa7KafPjs0mYVh5Vd6PCAnoPjWRILILmxA=="
    }
  }
}
""")
write("clean/app.min.js", "!function(e){var t={};function n(r){if(t[r])return t[r].exports;var o=t[r]={i:r,l:!1,exports:{}};return e[r].call(o.exports,o,o.exports,n),o.l=!0,o.exports}n.token=function(e){return e.accessToken||e.token},n.password=e.password}([]);\n")

expected = [
    ("webapp/src/github.js", 5, "github.pat"),
    ("webapp/config/settings.py", 5, "db.postgres-url"),
    ("webapp/config/settings.py", 6, "openai.project-key"),
    ("webapp/config/settings.py", 7, "sendgrid.api-key"),
    ("webapp/.env", None, "credential-file.dotenv"),
    ("webapp/.env", 2, "aws.access-key-id"),
    ("webapp/.env", 3, "aws.secret-access-key"),
    ("webapp/.env", 4, "stripe.secret-key"),
    ("pkg/.npmrc", None, "credential-file.npmrc"),
    ("pkg/.npmrc", 2, "npm.access-token"),
    ("ci/notify.yml", 7, "slack.webhook-url"),
    ("ml/train.py", 4, "huggingface.token"),
    ("ml/train.py", 5, "gcp.api-key"),
    ("tests/fixtures/oauth.json", 3, "github.oauth-token"),
    ("infra/gitlab.tf", 2, "gitlab.pat"),
    ("deploy/deploy_key.pem", 1, "private-key.pem"),
]
with open(os.path.join(HERE, "EXPECTED.tsv"), "w") as f:
    f.write("# path\tline ('-': the whole file)\trule id\n")
    for path, line, rule in expected:
        f.write(f"{path}\t{line or '-'}\t{rule}\n")
