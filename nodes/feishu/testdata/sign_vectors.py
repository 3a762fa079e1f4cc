# Writes sign_vectors.json: Feishu custom bot signatures computed exactly as the Python example of
# Feishu's custom bot guide (https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot, 签名校验):
# the HMAC-SHA256 key is "{timestamp}\n{secret}", the message is empty, the digest is base64-encoded.
import base64, hashlib, hmac, json

def gen_sign(timestamp, secret):
    string_to_sign = '{}\n{}'.format(timestamp, secret)
    hmac_code = hmac.new(string_to_sign.encode("utf-8"), digestmod=hashlib.sha256).digest()
    return base64.b64encode(hmac_code).decode('utf-8')

cases = [
    # The guide's example timestamp, with a secret shaped like the one the bot settings show.
    {"timestamp": 1599360473, "secret": "demo-secret-from-the-bot-settings"},
    {"timestamp": 1733616000, "secret": "qNkYd8GzAxBDyLx0nDmT7e"},
    {"timestamp": 1733616000, "secret": "密钥-non-ascii"},
]
for c in cases:
    c["sign"] = gen_sign(c["timestamp"], c["secret"])
print(json.dumps(cases, ensure_ascii=False, indent=2))
