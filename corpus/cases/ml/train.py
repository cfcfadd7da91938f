from huggingface_hub import login
from googleapiclient.discovery import build

login(token="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")
service = build("customsearch", "v1", developerKey="AIzaBwR03ZxBcj8xOHdPwth1_hYvCJoaI1wLIy5")
