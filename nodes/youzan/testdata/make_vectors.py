# Builds the push bodies and their Event-Sign values (see README.md). Run with Python 3 in this directory.
import hashlib, json, urllib.parse

CLIENT_ID = "8d0d2f7c1a2b3c4d5e"
CLIENT_SECRET = "ferry-test-youzan-client-secret-7f3a"
KDT_ID = 42583152

full_order_info = {
    "order_info": {
        "tid": "E20261120180203040500017", "status": "WAIT_SELLER_SEND_GOODS", "status_str": "待发货",
        "type": 0, "created": "2026-11-20 18:01:40", "update_time": "2026-11-20 18:02:03",
        "pay_time": "2026-11-20 18:02:03", "consign_time": "", "success_time": "", "refund_state": 0,
        "close_type": 0, "express_type": 0, "order_tags": {"is_payed": True, "is_secured_transactions": True},
    },
    "buyer_info": {"yz_open_id": "yzo_8FQq1x2LbDl", "buyer_phone": "13800138000", "outer_user_id": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "fans_nickname": "小周"},
    "address_info": {"receiver_name": "周小芳", "receiver_tel": "13800138000", "delivery_province": "浙江省",
                     "delivery_city": "杭州市", "delivery_district": "西湖区", "delivery_address": "文三路 90 号"},
    "pay_info": {"total_fee": "157.00", "post_fee": "8.00", "payment": "145.00", "real_payment": "145.00"},
    "orders": [
        {"oid": "1533766114261606211", "item_id": 468812, "sku_id": 400818034, "title": "西湖龙井 250g 礼盒", "num": 2,
         "price": "68.00", "total_fee": "136.00", "payment": "126.00", "outer_sku_id": "LJ-250", "outer_item_id": "LJ"},
        {"oid": "1533766114261606212", "item_id": 468813, "sku_id": 0, "title": "紫砂杯 + 杯垫", "num": 1,
         "price": "21.00", "total_fee": "21.00", "payment": "19.00", "outer_sku_id": "", "outer_item_id": "ZS-CUP"},
    ],
    "remark_info": {"buyer_message": "周末送到", "trade_memo": ""},
}

def push(msg_type, status, msg, version, msg_id):
    # Youzan's server is Java: msg is URLEncoder.encode(json, "UTF-8"), a space written as +.
    return {"client_id": CLIENT_ID, "kdt_id": KDT_ID, "kdt_name": "周记茶铺", "root_kdt_id": KDT_ID,
            "id": msg.get("tid") or msg["full_order_info"]["order_info"]["tid"], "type": msg_type, "status": status,
            "msg": urllib.parse.quote_plus(json.dumps(msg, ensure_ascii=False, separators=(",", ":"))),
            "msg_id": msg_id, "version": version, "mode": 1, "test": False}

bodies = {
    "push-trade-paid.json": ("trade_TradePaid", push("trade_TradePaid", "WAIT_SELLER_SEND_GOODS", {"full_order_info": full_order_info},
                                                    1763632923123, "a1d466ad-f9db-4a58-b805-f2a4dd65fa56")),
    "push-trade-close.json": ("trade_TradeClose", push("trade_TradeClose", "TRADE_CLOSED",
                                                      {"tid": "E20261121090000040500018", "close_type": 4, "close_reason": "买家取消",
                                                       "update_time": "2026-11-21 09:05:00"},
                                                      1763687100456, "6dc15f0b-8682-4812-b635-ab66e199f330")),
}
vectors = []
for name, (msg_type, body) in bodies.items():
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    open(name, "wb").write(raw)
    sign = hashlib.md5(CLIENT_ID.encode("utf-8") + raw + CLIENT_SECRET.encode("utf-8")).hexdigest()
    vectors.append({"name": name.removesuffix(".json"), "file": name, "type": msg_type, "sign": sign})
json.dump({"algorithm": "hashlib.md5(client_id + raw body + client_secret).hexdigest()", "clientId": CLIENT_ID,
           "clientSecret": CLIENT_SECRET, "kdtId": str(KDT_ID), "vectors": vectors}, open("vectors.json", "w"), ensure_ascii=False, indent=2)
json.dump({"full_order_info": full_order_info}, open("trade-detail.json", "w"), ensure_ascii=False, indent=2)
