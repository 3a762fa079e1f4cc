# Signs custom-robot requests exactly as DingTalk's 加签 guide does in Python (hmac, hashlib, base64,
# urllib.parse.quote_plus), independently of the Go code: python3 sign_vectors.py > sign_vectors.json
import base64, hashlib, hmac, json, urllib.parse

def sign(timestamp, secret):
    string_to_sign = '{}\n{}'.format(timestamp, secret)
    hmac_code = hmac.new(secret.encode('utf-8'), string_to_sign.encode('utf-8'), digestmod=hashlib.sha256).digest()
    return base64.b64encode(hmac_code).decode(), urllib.parse.quote_plus(base64.b64encode(hmac_code))

cases = [(1700000000000, 'secret'), (1577836800000, 'this is secret'),
         (1796688000000, 'SEC5a3ecf88f2b3eb50db30ecfc00f53033ac909c99bf7f88fd612bda89d7f3a9dc'), (1796688000123, '密钥')]
out = []
for ts, secret in cases:
    b64, encoded = sign(ts, secret)
    out.append({'timestamp': ts, 'secret': secret, 'sign': b64, 'urlEncoded': encoded})
print(json.dumps(out, ensure_ascii=False, indent=2))
