from huggingface_hub import login
from googleapiclient.discovery import build

login(token="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")
service = build("customsearch", "v1", developerKey="AIzajz5EOOcv9CG4b1xfMRXsdrPb4fpBi5Da_zk")
